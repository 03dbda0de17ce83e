"""Freshness checks per stage, the quarantine-rate check on processed batches, and the spool
depth check against a /metrics page rendered by the ingestion service's own metrics module."""

import json
from contextlib import contextmanager
from datetime import timedelta

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time
from dagster._time import get_current_datetime

from clickstream_dagster.alerts.sensors import build_alert_sensors
from clickstream_dagster.definitions import defs
from clickstream_dagster.lake.resources import RawLakeResource
from clickstream_dagster.names import (
    FRESHNESS_CHECK_NAME,
    ODS_EVENTS_KEY,
    QUARANTINE_CHECK_KEY,
    RAW_EVENTS_KEY,
    SESSION_VIEW_MODEL,
    SPOOL_CHECK_KEY,
    app_asset_key,
)
from clickstream_dagster.processing.resources import SparkJobResource
from clickstream_dagster.quality.checks import (
    MIB,
    ingestion_health_job,
    metrics_urls,
    quarantine_rate_check,
    quarantine_verdict,
    spool_bytes,
    spool_depth_check,
)
from clickstream_dagster.quality.freshness import build_freshness_checks
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import CONFIG_ENV_VAR, save_config
from clickstream_project.operations_settings import AlertSettings, HealthSettings
from ingestion import metrics
from tests.conftest import make_config
from tests.dagster.lake_assets import ods_events, raw_events
from tests.dagster.receivers import webhook_receiver
from tests.http_stub import QuietHandler, serving

HOUR = "2026-11-21-13:00"


class ReportingSparkJob(SparkJobResource):
    """Answers with a fixed report, as plugins/job.py would after a run."""

    report_json: str

    def run_job(self, job_args, log=None, context=None) -> dict:
        return json.loads(self.report_json)


def report(events_read: int, quarantined: dict[str, int]) -> str:
    written = events_read - sum(quarantined.values())
    return json.dumps(
        {
            "requests": 10,
            "events_read": events_read,
            "written": written,
            "duplicates": 0,
            "quarantined": quarantined,
            "written_by_app": {"shop_web": written},
            "raw_files": 1,
            "output_files": 1,
            "duration_seconds": 1.0,
        }
    )


def project(tmp_path, **pipeline) -> ProjectResource:
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path, pipeline=pipeline), path)
    return ProjectResource(config_path=str(path))


# Quarantine rate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events_read", "quarantined", "passed", "text"),
    [
        (1000, 50, True, "50 of 1000 events quarantined (5.0%), within the 5.0% limit"),
        (1000, 51, False, "51 of 1000 events quarantined (5.1%), above the 5.0% limit"),
        (99, 99, True, "99 event(s) read, below the 100 needed"),
        (0, 0, True, "0 event(s) read"),
    ],
)
def test_quarantine_verdict(events_read, quarantined, passed, text):
    verdict, _, description = quarantine_verdict(events_read, quarantined, max_ratio=0.05, min_events=100)
    assert verdict is passed and description.startswith(text)


def process_hour(tmp_path, instance, events_read: int, quarantined: dict[str, int]) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ods_events, quarantine_rate_check],
        partition_key=HOUR,
        instance=instance,
        resources={"clickstream": project(tmp_path), "spark_job": ReportingSparkJob(report_json=report(events_read, quarantined))},
    )


def test_quarantine_check_reads_the_batch_just_processed(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    good = process_hour(tmp_path, instance, 1000, {"corrupt": 3, "stale": 7})
    [evaluation] = good.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["ratio"].value == pytest.approx(0.01)

    bad = process_hour(tmp_path, instance, 1000, {"unknown_app": 200})
    [evaluation] = bad.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.description == "200 of 1000 events quarantined (20.0%), above the 5.0% limit"
    assert evaluation.metadata["quarantined_by_reason"].value == {"unknown_app": 200}
    assert evaluation.metadata["partition"].value == HOUR


def test_a_bad_batch_reaches_the_webhook(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    with webhook_receiver() as (url, received):
        settings = AlertSettings.model_validate({"log": False, "webhook": {"url": url}})
        sensor = build_alert_sensors("test_project", settings)[1]
        resources = {"clickstream": project(tmp_path), "spark_job": ReportingSparkJob(report_json=report(1, {}))}
        definitions = dg.Definitions(assets=[ods_events], asset_checks=[quarantine_rate_check], resources=resources)
        start = sensor(dg.build_sensor_context(instance=instance, definitions=definitions))
        process_hour(tmp_path, instance, 500, {"future": 100})
        sensor(dg.build_sensor_context(instance=instance, cursor=start.cursor, definitions=definitions))
    [request] = received.requests
    body = json.loads(request["body"])
    assert body["alarm"] == "quarantine_rate" and body["asset_key"] == "lake/ods_events"
    assert body["description"] == "100 of 500 events quarantined (20.0%), above the 5.0% limit"


# Spool depth ---------------------------------------------------------------------------------


@contextmanager
def metrics_page(spool_mib: float):
    """An ingestion /metrics page with the given spool depth, rendered by ingestion.metrics."""
    metrics.configure(True)
    metrics.set_spool_depth(int(spool_mib * MIB), 3)
    body, content_type = metrics.render()
    metrics.configure(False)

    class Handler(QuietHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as url:
        yield f"{url}/metrics"


def run_spool_check(tmp_path, urls: list[str]) -> dg.AssetCheckEvaluation:
    definitions = dg.Definitions(
        assets=[raw_events],
        asset_checks=[spool_depth_check],
        jobs=[ingestion_health_job],
        resources={
            "clickstream": project(tmp_path, health={"ingestion_metrics_urls": urls, "spool_max_mib": 100}),
            "raw_lake": RawLakeResource(raw_root=str(tmp_path)),
        },
    )
    result = definitions.resolve_job_def("ingestion_health").execute_in_process()
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == SPOOL_CHECK_KEY
    return evaluation


def test_spool_within_the_limit_passes(tmp_path):
    with metrics_page(12.5) as first, metrics_page(40) as second:
        evaluation = run_spool_check(tmp_path, [first, second])
    assert evaluation.passed and evaluation.description == "deepest spool 40.0 MiB of 2 instance(s), limit 100 MiB"
    assert evaluation.metadata["spool_bytes"].value == {first: 12.5 * MIB, second: 40 * MIB}


def test_deep_or_unreachable_spools_fail(tmp_path):
    with metrics_page(150) as deep, metrics_page(1) as fine:
        evaluation = run_spool_check(tmp_path, [deep, fine, "http://127.0.0.1:9/metrics"])
    assert not evaluation.passed
    assert evaluation.description.startswith("spool above 100 MiB or unreadable on 2 of 3 instance(s): ")
    assert f"{deep}: 150.0 MiB" in evaluation.description and "http://127.0.0.1:9/metrics: unreadable" in evaluation.description


def test_a_page_without_the_spool_metric_is_an_error():
    with pytest.raises(ValueError, match="no clickstream_spool_bytes metric"):
        spool_bytes("# TYPE other gauge\nother 1\n")


def test_metrics_urls_default_to_the_local_service(tmp_path):
    assert metrics_urls(make_config(tmp_path)) == ["http://127.0.0.1:8088/metrics"]
    assert metrics_urls(make_config(tmp_path, pipeline={"ingestion": {"metrics": False}})) == []
    listed = ["http://10.0.1.5:8088/metrics", "http://10.0.2.7:8088/metrics"]
    assert metrics_urls(make_config(tmp_path, pipeline={"health": {"ingestion_metrics_urls": listed}})) == listed


# Freshness -----------------------------------------------------------------------------------


def test_freshness_checks_cover_every_stage_with_their_thresholds():
    checks = build_freshness_checks(HealthSettings(raw_events_max_lag_minutes=30), ["shop_web", "shop_ios"])
    keys = {key.asset_key for check in checks for key in check.check_keys}
    assert keys == {
        RAW_EVENTS_KEY,
        ODS_EVENTS_KEY,
        app_asset_key("shop_web", SESSION_VIEW_MODEL),
        app_asset_key("shop_ios", SESSION_VIEW_MODEL),
    }
    assert {key.name for check in checks for key in check.check_keys} == {"freshness_check"}


def test_raw_events_go_stale_after_their_threshold(tmp_path):
    checks = build_freshness_checks(HealthSettings(raw_events_max_lag_minutes=30, ods_events_max_lag_minutes=600), [])
    definitions = dg.Definitions(
        assets=[raw_events, ods_events],
        asset_checks=checks,
        jobs=[dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*checks))],
        resources={
            "raw_lake": RawLakeResource(raw_root=str(tmp_path)),
            "clickstream": project(tmp_path),
            "spark_job": ReportingSparkJob(report_json=report(10, {})),
        },
    )
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([raw_events], partition_key=HOUR, instance=instance, resources={"raw_lake": RawLakeResource(raw_root=str(tmp_path))})

    def evaluate() -> dict[str, bool]:
        result = definitions.resolve_job_def("freshness").execute_in_process(instance=instance)
        return {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}

    assert evaluate() == {"lake/raw_events": True, "lake/ods_events": False}  # ods never materialized
    with freeze_time(get_current_datetime() + timedelta(minutes=31)):
        assert evaluate() == {"lake/raw_events": False, "lake/ods_events": False}


# Wiring --------------------------------------------------------------------------------------


def test_definitions_wire_checks_sensors_and_jobs(tmp_path, monkeypatch):
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path, pipeline={"automation": {"micro_batch": {"minimum_interval_seconds": 10}}}), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    assert {QUARANTINE_CHECK_KEY, SPOOL_CHECK_KEY} <= graph.asset_check_keys
    assert dg.AssetCheckKey(app_asset_key("shop_web", SESSION_VIEW_MODEL), FRESHNESS_CHECK_NAME) in graph.asset_check_keys
    processing = definitions.resolve_job_def("process_raw_hours")
    checks_in_processing = set().union(*(data.assets_def.check_keys for data in processing.asset_layer.data))
    assert QUARANTINE_CHECK_KEY in checks_in_processing and SPOOL_CHECK_KEY not in checks_in_processing
    sensors = {sensor.name: sensor for sensor in definitions.sensors}
    assert {
        "raw_hours_sensor",
        "warehouse_after_processing_sensor",
        "freshness_checks_sensor",
        "alert_on_run_failure",
        "alert_on_failed_checks",
    } <= set(sensors)
    assert sensors["raw_hours_sensor"].minimum_interval_seconds == 10
    assert definitions.get_schedule_def("ingestion_health_schedule").cron_schedule == "*/5 * * * *"
