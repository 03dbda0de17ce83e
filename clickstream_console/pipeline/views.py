"""The Pipeline page and its one change: switching a Dagster sensor or schedule on or off."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for

from clickstream_console.access import requires
from clickstream_console.audit import record
from clickstream_console.dagster_api.automation import Instigator, sensors_and_schedules, start, stop
from clickstream_console.dagster_api.checks import CheckState, asset_checks
from clickstream_console.dagster_api.client import DagsterApiError
from clickstream_console.dagster_api.locations import CodeLocation, code_locations
from clickstream_console.dagster_api.runs import Run, last_runs
from clickstream_console.dagster_service import dagster
from clickstream_console.identity.roles import Feature
from clickstream_console.pipeline.display import HELPERS
from clickstream_console.pipeline.ingestion_health import ingestion_health
from clickstream_console.state import db, project

blueprint = Blueprint("pipeline", __name__)

# The name Dagster's build_last_update_freshness_checks gives every freshness check.
FRESHNESS_CHECK = "freshness_check"


@dataclass(frozen=True)
class DagsterOverview:
    locations: list[CodeLocation]
    # job -> its last run, or None when it never ran
    last_runs: dict[str, Run | None]
    automation: list[Instigator]
    freshness: list[CheckState]


@blueprint.get("/pipeline")
@requires(Feature.OPERATION_AND_ALARM)
def overview():
    client = dagster()
    overview: DagsterOverview | None = None
    dagster_problem = None
    try:
        overview = DagsterOverview(
            locations=code_locations(client),
            last_runs={job: (runs[0] if runs else None) for job, runs in last_runs(client).items()},
            automation=sensors_and_schedules(client),
            freshness=asset_checks(client, names={FRESHNESS_CHECK}),
        )
    except DagsterApiError as error:
        dagster_problem = str(error)
    return render_template(
        "pipeline/overview.html",
        ingestion=ingestion_health(project().pipeline.ingestion.public_endpoint),
        dagster=overview,
        dagster_problem=dagster_problem,
        dagster_url=client.ui_base_url,
        **HELPERS,
    )


@blueprint.post("/pipeline/automation")
@requires(Feature.OPERATION_AND_ALARM)
def switch_automation():
    """Form fields: ``key`` (Instigator.key) and ``running`` ("on" or "off")."""
    key, running = request.form.get("key", ""), request.form.get("running")
    if running not in ("on", "off"):
        flash("Choose on or off.", "error")
        return redirect(url_for("pipeline.overview"))
    client = dagster()
    try:
        found = next((item for item in sensors_and_schedules(client) if item.key == key), None)
        if found is None:
            flash("That sensor or schedule is not in Dagster's workspace any more.", "error")
            return redirect(url_for("pipeline.overview"))
        now_running = start(client, found) if running == "on" else stop(client, found)
    except DagsterApiError as error:
        flash(f"Nothing changed: {error}", "error")
        return redirect(url_for("pipeline.overview"))
    record(
        f"{found.kind}.{'start' if running == 'on' else 'stop'}",
        f"{found.location}/{found.name}",
        {"running": {"old": found.running, "new": now_running}},
    )
    db().commit()
    flash(f"The {found.kind} {found.name} is {'running' if now_running else 'stopped'}.", "ok")
    return redirect(url_for("pipeline.overview"))
