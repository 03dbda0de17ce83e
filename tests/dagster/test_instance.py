"""The embedded Dagster instance configuration: valid for Dagster, limiting what must not run
concurrently, written once, with a command that says what it did."""

import dagster as dg
from dagster._core.instance.config import dagster_instance_config

from clickstream_dagster.jobs import build_warehouse, micro_batch
from clickstream_dagster.names import WAREHOUSE_TAG
from clickstream_tools.instance import main, prepare_dagster_home


def test_the_embedded_instance_is_valid_and_limits_warehouse_writers(tmp_path):
    prepare_dagster_home(tmp_path)
    config, _ = dagster_instance_config(str(tmp_path), "dagster.yaml")
    queue = config["run_queue"]
    assert queue["dequeue_interval_seconds"] == 1
    limits = {limit["key"]: limit for limit in queue["tag_concurrency_limits"]}
    # Every job that writes DuckDB carries the tag the queue limits to one run.
    assert limits[WAREHOUSE_TAG]["limit"] == 1
    assert build_warehouse.tags[WAREHOUSE_TAG] and micro_batch.tags[WAREHOUSE_TAG]
    assert limits["dagster/partition"] == {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 1


def test_the_ui_opens_without_the_first_visit_community_dialog(tmp_path):
    prepare_dagster_home(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert not instance.nux_enabled and not instance.telemetry_enabled


def test_an_existing_configuration_is_kept_unless_forced(tmp_path, capsys):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    assert main([str(tmp_path)]) == 1
    assert "exists; kept" in capsys.readouterr().err
    assert "enabled: true" in (tmp_path / "dagster.yaml").read_text()
    assert main([str(tmp_path), "--force"]) == 0
    assert "dequeue_interval_seconds: 1" in (tmp_path / "dagster.yaml").read_text()
    assert main([str(tmp_path / "new" / "home")]) == 0 and (tmp_path / "new" / "home" / "dagster.yaml").exists()


def test_hours_may_process_at_once_and_object_store_commits_have_a_pool(tmp_path):
    """Two processing runs of different hours may overlap here (their commits take turns through
    plugins/run_locks.py's file lock); on S3 there is no lock, and the asset's pool is what an
    operator limits to one (deploy/emr-serverless/README.md)."""
    from clickstream_dagster.names import ODS_COMMIT_POOL
    from tests.dagster.lake_assets import ods_events

    prepare_dagster_home(tmp_path)
    config, _ = dagster_instance_config(str(tmp_path), "dagster.yaml")
    assert config["run_queue"]["max_concurrent_runs"] == 2
    assert ods_events.op.pool == ODS_COMMIT_POOL
    # No pool limit on the embedded instance: the file lock suffices for its local ods root.
    assert "concurrency" not in config
