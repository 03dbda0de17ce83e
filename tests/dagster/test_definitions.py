"""The definitions load, every job resolves, and the graph is raw → ods_events → dbt per app."""

import dagster as dg
import pytest

from clickstream_dagster.definitions import defs
from clickstream_project.environment import ENVIRONMENT_ENV_VAR


def test_every_job_resolves(config_file):
    definitions = defs()
    for job_name in ("process_raw_hours", "build_warehouse"):
        assert definitions.resolve_job_def(job_name) is not None
    assert definitions.get_sensor_def("raw_hours_sensor") is not None
    dg.Definitions.validate_loadable(definitions)


PRESET_OBJECTS = [
    "ods_events", "dim_users", "clickstream_ods_event_view", "clickstream_ods_event_attributes_view",
    "clickstream_user_dim_view", "clickstream_user_attr_view", "clickstream_session_view",
    "clickstream_retention_view", "clickstream_lifecycle_daily_view", "clickstream_lifecycle_weekly_view",
    "clickstream_path_view", "clickstream_device_view", "clickstream_user_acquisition_view",
]  # fmt: skip


def test_lineage_from_raw_to_every_apps_views(config_file):
    graph = defs().resolve_asset_graph()
    raw, ods = dg.AssetKey(["lake", "raw_events"]), dg.AssetKey(["lake", "ods_events"])
    assert graph.get(ods).parent_keys == {raw}
    for app_id in ("shop_android", "shop_ios", "shop_web"):
        staging = dg.AssetKey([app_id, "stg_ods_events"])
        new_events = dg.AssetKey([app_id, "base_new_events"])
        app_ods = dg.AssetKey([app_id, "ods_events"])
        assert graph.get(staging).parent_keys == {ods}
        assert graph.get(new_events).parent_keys == {staging}
        assert graph.get(app_ods).parent_keys == {new_events}
        # Incremental models read ods_events and take what is new from base_new_events.
        assert graph.get(dg.AssetKey([app_id, "clickstream_session_view"])).parent_keys == {app_ods, new_events}
        assert graph.get(dg.AssetKey([app_id, "clickstream_session_view"])).group_name == f"app_{app_id}"
        for name in PRESET_OBJECTS:
            assert graph.has(dg.AssetKey([app_id, name])), f"{app_id}/{name} missing from the asset graph"


def test_dbt_tests_become_asset_checks(config_file):
    graph = defs().resolve_asset_graph()
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == dg.AssetKey(["shop_web", "ods_events"])}
    assert "unique_ods_events_event_id" in checks


def test_unknown_environment_is_rejected(config_file, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_ENV_VAR, "staging")
    with pytest.raises(ValueError, match="expected one of local, production"):
        defs()


def test_workspace_file_loads(config_file):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_no_asset_waits_on_an_automation_condition(config_file):
    """The models were eager, which never fired: they depend on every hourly partition of
    lake/ods_events, most of which never exist. The warehouse sensor and micro_batch build them."""
    graph = defs().resolve_asset_graph()
    assert [key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition is not None] == []
    assert defs().get_sensor_def("warehouse_after_processing_sensor") is not None
