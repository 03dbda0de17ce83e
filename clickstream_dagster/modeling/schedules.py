"""dbt selections on their own schedules: the ``dim_users`` refresh and the data-range cleanup
(``pipeline.automation``). Each schedule builds its selection in every app's schema."""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from functools import reduce

import dagster as dg
from dagster_dbt import DbtProject, build_dbt_asset_selection
from dagster_dbt.utils import select_unique_ids

from clickstream_dagster.names import TRIGGER_TAG, WAREHOUSE_TAG
from clickstream_project.config import ConfigError
from clickstream_project.operations_settings import DbtSchedule


def selected_models(select: str, manifest: dict) -> set[str]:
    """dbt unique ids of the nodes a selection string picks from the manifest."""
    return set(select_unique_ids(select=select, exclude="", selector="", project=None, manifest_json=manifest))


def build_dbt_schedule(
    name: str,
    settings: DbtSchedule,
    app_assets: Sequence[dg.AssetsDefinition],
    project: DbtProject,
    then: Sequence[dg.AssetsDefinition] = (),
) -> dg.ScheduleDefinition | None:
    """A schedule running ``settings.select`` for every app, then the assets ``then`` (the
    published snapshot), or None when the selection picks nothing and the schedule is disabled
    (a model not written yet). Enabled and empty is a configuration error: a schedule that
    silently builds nothing is worse than none."""
    manifest = json.loads(project.manifest_path.read_text())
    if not selected_models(settings.select, manifest) or not app_assets:
        if settings.enabled:
            raise ConfigError(
                f"pipeline.automation.{name}.select: {settings.select!r} selects no dbt model"
                + ("" if app_assets else " (no app is registered)")
            )
        return None
    # One dbt assets definition per app, and the helper takes exactly one: union the apps.
    selection = reduce(operator.or_, (build_dbt_asset_selection([assets], dbt_select=settings.select) for assets in app_assets))
    selection |= dg.AssetSelection.assets(*then)
    return dg.ScheduleDefinition(
        name=f"{name}_schedule",
        cron_schedule=settings.cron,
        execution_timezone="UTC",
        job=dg.define_asset_job(name=f"{name}_job", selection=selection, tags={WAREHOUSE_TAG: "write"}),
        tags={TRIGGER_TAG: f"{name}_schedule"},
        default_status=dg.DefaultScheduleStatus.RUNNING if settings.enabled else dg.DefaultScheduleStatus.STOPPED,
        description=f"dbt build --select {settings.select} for every app (pipeline.automation.{name}).",
    )
