"""The Alarms page and its changes: an alarm or a channel switched on or off in the project file,
then Dagster's code location reloaded so that the alert sensors read the new settings."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for

from clickstream_console.access import requires
from clickstream_console.alarms.settings import ALARM_DESCRIPTIONS, ALARMS, channel_views, with_alarm, with_channel
from clickstream_console.audit import record
from clickstream_console.dagster_api.alerts import last_alerts
from clickstream_console.dagster_api.automation import sensors_and_schedules
from clickstream_console.dagster_api.client import DagsterApiError
from clickstream_console.dagster_service import dagster, reload_dagster
from clickstream_console.identity.roles import Feature
from clickstream_console.pipeline.display import HELPERS
from clickstream_console.state import console_state, db, project
from clickstream_project.alert_records import FAILED_CHECKS_SENSOR, RUN_FAILURE_ALARM, RUN_FAILURE_SENSOR
from clickstream_project.config import ProjectConfig

blueprint = Blueprint("alarms", __name__)


@blueprint.get("/alarms")
@requires(Feature.OPERATION_AND_ALARM)
def overview():
    alerts = project().pipeline.alerts
    client = dagster()
    sent, sensors, dagster_problem = {}, {}, None
    try:
        sent = last_alerts(client)
        sensors = {item.name: item for item in sensors_and_schedules(client) if item.name in (RUN_FAILURE_SENSOR, FAILED_CHECKS_SENSOR)}
    except DagsterApiError as error:
        dagster_problem = str(error)
    alarms = [
        {
            "name": alarm,
            "description": ALARM_DESCRIPTIONS.get(alarm, ""),
            "enabled": getattr(alerts.alarms, alarm),
            "last_alert": sent.get(alarm),
            "sensor": sensors.get(RUN_FAILURE_SENSOR if alarm == RUN_FAILURE_ALARM else FAILED_CHECKS_SENSOR),
        }
        for alarm in ALARMS
    ]
    return render_template(
        "alarms/overview.html",
        alarms=alarms,
        channels=channel_views(alerts),
        dagster_problem=dagster_problem,
        dagster_url=client.ui_base_url,
        **HELPERS,
    )


@blueprint.post("/alarms/alarm")
@requires(Feature.OPERATION_AND_ALARM)
def switch_alarm():
    """Form fields: ``alarm`` and ``enabled`` ("on" or "off")."""
    alarm = request.form.get("alarm", "")
    return _switch(
        "alarm",
        alarm,
        f"pipeline.alerts.alarms.{alarm}",
        lambda config, on: with_alarm(config, alarm, on),
        lambda c: getattr(c.pipeline.alerts.alarms, alarm),
    )


@blueprint.post("/alarms/channel")
@requires(Feature.OPERATION_AND_ALARM)
def switch_channel():
    """Form fields: ``channel`` and ``enabled`` ("on" or "off")."""
    channel = request.form.get("channel", "")
    field = "pipeline.alerts.log" if channel == "log" else f"pipeline.alerts.{channel}.enabled"
    return _switch("alert channel", channel, field, lambda config, on: with_channel(config, channel, on), lambda c: _channel_on(c, channel))


def _switch(
    what: str,
    name: str,
    field: str,
    change: Callable[[ProjectConfig, bool], ProjectConfig],
    state_of: Callable[[ProjectConfig], bool],
):
    enabled = request.form.get("enabled")
    if enabled not in ("on", "off"):
        flash("Choose on or off.", "error")
        return redirect(url_for("alarms.overview"))
    wanted = enabled == "on"
    try:
        current = project()
        change(current, wanted)  # refuses an unknown name or an unconfigured channel before writing
        if state_of(current) == wanted:
            flash(f"The {what} {name} is {enabled} already.", "ok")
            return redirect(url_for("alarms.overview"))
        before, after = console_state().project.update(lambda config: change(config, wanted))
    except ValueError as error:
        flash(f"Nothing changed: {error}.", "error")
        return redirect(url_for("alarms.overview"))
    # The file is written: the audit entry follows (the file cannot join the transaction).
    record(
        f"{what.replace(' ', '_')}.{'enable' if wanted else 'disable'}", field, {field: {"old": state_of(before), "new": state_of(after)}}
    )
    db().commit()
    problem = reload_dagster()
    if problem:
        flash(f"The {what} {name} is {enabled} in the project file, but Dagster was not reloaded ({problem}): "
              "it applies once Dagster reloads its code location.", "error")  # fmt: skip
    else:
        flash(f"The {what} {name} is {enabled}; Dagster reloaded the project.", "ok")
    return redirect(url_for("alarms.overview"))


def _channel_on(config: ProjectConfig, channel: str) -> bool:
    alerts = config.pipeline.alerts
    if channel == "log":
        return alerts.log
    settings = getattr(alerts, channel, None)
    return bool(settings and settings.enabled)
