"""The console's Dagster client against a real dagster-webserver (tests/console/dagster_webserver.py):
runs, sensors and schedules switched on and off, a failed check, the last alerts, a reload; and
the errors when Dagster is not there."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from clickstream_console.dagster_api.alerts import last_alerts
from clickstream_console.dagster_api.automation import sensors_and_schedules, start, stop
from clickstream_console.dagster_api.checks import asset_checks
from clickstream_console.dagster_api.client import DagsterClient, DagsterError, DagsterUnavailable
from clickstream_console.dagster_api.locations import code_locations, reload_location
from clickstream_console.dagster_api.runs import Run, last_runs, recent_runs
from tests.conftest import free_port
from tests.console.dagster_definitions import CHECK_NAME, PROJECT_ID
from tests.dagster.receivers import webhook_receiver


@pytest.fixture
def dagster_client(dagster_webserver) -> DagsterClient:
    return dagster_webserver.client()


def test_last_runs_of_each_job_with_status_and_duration(dagster_client, dagster_webserver):
    runs = last_runs(dagster_client, ["load_orders", "build_orders", "always_fails", "never_ran"])
    assert {job: [run.status for run in found] for job, found in runs.items()} == {
        "load_orders": ["SUCCESS"],
        "build_orders": ["SUCCESS"],
        "always_fails": ["FAILURE"],
        "never_ran": [],
    }
    [run] = runs["build_orders"]
    assert run.job_name == "build_orders" and run.tags["outcome"] == "fail"
    assert run.created_at <= run.started_at < run.ended_at and run.duration == run.ended_at - run.started_at
    assert run.url == f"{dagster_webserver.url}/runs/{run.run_id}"
    # Without names: every job of the workspace, none of Dagster's hidden ones.
    assert set(last_runs(dagster_client)) == {"load_orders", "check_freshness", "build_orders", "always_fails"}


def test_recent_runs_are_newest_first(dagster_client):
    runs = recent_runs(dagster_client, limit=10)
    assert [run.job_name for run in runs] == ["always_fails", "build_orders", "check_freshness", "load_orders"]
    assert [run.job_name for run in recent_runs(dagster_client, job_name="load_orders")] == ["load_orders"]


@pytest.mark.parametrize(("kind", "name"), [("sensor", "orders_sensor"), ("schedule", "nightly_orders")])
def test_a_stopped_sensor_or_schedule_is_started_and_stopped_again(dagster_client, dagster_webserver, kind, name):
    def find():
        return next(item for item in sensors_and_schedules(dagster_client) if (item.kind, item.name) == (kind, name))

    item = find()
    assert not item.running and item.location == dagster_webserver.location
    assert item.url == f"{dagster_webserver.url}/locations/{dagster_webserver.location}/{kind}s/{name}"
    try:
        assert start(dagster_client, item) is True
        assert find().running
    finally:
        assert stop(dagster_client, find()) is False
    assert not find().running


def test_sensors_and_schedules_are_listed_with_their_state(dagster_client):
    listed = {item.name: item for item in sensors_and_schedules(dagster_client)}
    assert list(listed) == ["alert_on_failed_checks", "alert_on_run_failure", "orders_sensor", "nightly_orders"]
    assert listed["alert_on_failed_checks"].running and listed["alert_on_run_failure"].running  # RUNNING by default
    assert listed["nightly_orders"].cron == "0 3 * * *" and listed["nightly_orders"].timezone == "UTC"
    # No daemon runs in these tests, so no sensor has ticked.
    assert all(item.last_tick is None for item in listed.values())


def test_a_failed_check_is_shown_failed(dagster_client, dagster_webserver):
    [check] = asset_checks(dagster_client, names={CHECK_NAME})
    assert (check.asset, check.name, check.status, check.severity, check.message) == (
        "orders",
        CHECK_NAME,
        "FAILED",
        "WARN",
        "no orders today",
    )
    assert check.failed and check.evaluated_at is not None
    assert check.url == f"{dagster_webserver.url}/assets/orders?view=checks&checkDetail={CHECK_NAME}"
    [build] = recent_runs(dagster_client, job_name="build_orders")
    assert check.run_id == build.run_id and check.run_url == build.url


def test_freshness_checks_stale_and_fresh(dagster_client):
    stale, fresh = asset_checks(dagster_client, names={"freshness_check"})
    assert (stale.asset, stale.status, stale.severity) == ("orders_archive", "FAILED", "ERROR")
    assert stale.message == "Asset has never been observed/materialized."
    assert (fresh.asset, fresh.status, fresh.failed) == ("raw_orders", "SUCCEEDED", False)
    assert [check.asset for check in asset_checks(dagster_client)] == ["orders", "orders_archive", "raw_orders"]
    assert asset_checks(dagster_client, names={"no_such_check"}) == []


def test_the_last_alert_of_each_alarm(dagster_client):
    alerts = last_alerts(dagster_client)
    assert set(alerts) == {"data_tests", "run_failure"}
    assert alerts["data_tests"].subject == f"WARN {PROJECT_ID}: check {CHECK_NAME} failed on orders"
    assert alerts["run_failure"].subject == f"ERROR {PROJECT_ID}: run of always_fails failed"
    for alarm, job in (("data_tests", "build_orders"), ("run_failure", "always_fails")):
        assert alerts[alarm].delivered_to == ("log",) and alerts[alarm].failed == {}
        [run] = recent_runs(dagster_client, job_name=job)
        # Sent after its run began (the alert's time has whole seconds).
        assert run.created_at.replace(microsecond=0) <= alerts[alarm].sent_at <= datetime.now(UTC)


def test_the_code_location_reloads(dagster_client, dagster_webserver):
    reloaded = reload_location(dagster_client, dagster_webserver.location)
    assert reloaded.ok and reloaded.name == dagster_webserver.location
    assert [location.name for location in code_locations(dagster_client)] == [dagster_webserver.location]
    with pytest.raises(DagsterError, match="RepositoryLocationNotFound"):
        reload_location(dagster_client, "no_such_location")


def test_a_bad_query_is_a_dagster_error(dagster_client):
    with pytest.raises(DagsterError, match="Cannot query field 'nope'"):
        dagster_client.query("{ nope }")


# Dagster not there -------------------------------------------------------------------------


def test_nothing_listening_is_unavailable():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DagsterUnavailable, match=f"Dagster is not reachable at {url}"):
        recent_runs(DagsterClient(url))


def test_a_server_that_never_answers_is_unavailable_after_the_timeout():
    # Connections queue in the backlog of a socket that never accepts: connected, never answered.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(DagsterUnavailable, match=r"no answer within 0\.3 s"):
            sensors_and_schedules(DagsterClient(url, timeout=0.3))


def test_a_server_that_is_not_dagster_is_unavailable():
    with webhook_receiver() as (url, _):
        with pytest.raises(DagsterUnavailable, match="HTTP 200 .* is not a GraphQL answer"):
            asset_checks(DagsterClient(url))


# Links -------------------------------------------------------------------------------------


def test_links_go_to_the_ui_url_and_name_a_repository_only_when_there_are_several():
    client = DagsterClient("http://dagster:3000/", ui_url="https://dagster.example.com/")
    assert client.run_url("abc") == "https://dagster.example.com/runs/abc"
    assert client.location_url("clickstream", path="/sensors/s") == "https://dagster.example.com/locations/clickstream/sensors/s"
    assert client.location_url("my loc", "repo", "/jobs/j") == "https://dagster.example.com/locations/repo@my%20loc/jobs/j"
    assert client.asset_check_url(("app", "clickstream_session_view"), "freshness_check") == (
        "https://dagster.example.com/assets/app/clickstream_session_view?view=checks&checkDetail=freshness_check"
    )


def test_a_run_names_its_partition_or_range():
    def run(**tags):
        at = datetime(2026, 5, 1, tzinfo=UTC)
        return Run("r", "process_raw_hours", "STARTED", at, at, None, tags)

    assert run(**{"dagster/partition": "2026-05-01-10:00"}).partition == "2026-05-01-10:00"
    range_tags = {"dagster/asset_partition_range_start": "2026-05-01-00:00", "dagster/asset_partition_range_end": "2026-05-01-23:00"}
    assert run(**range_tags).partition == "2026-05-01-00:00..2026-05-01-23:00"
    assert run().partition is None and run().duration is None
