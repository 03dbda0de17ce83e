"""The console's Dagster queries on the project's own definitions (workspace.yaml, as the demo and
`dagster dev` load them), before anything ran: the jobs, sensors and freshness checks the pages
look for are there under the names the pages use, and every query holds on the real graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clickstream_console.dagster_api.alerts import last_alerts
from clickstream_console.dagster_api.automation import sensors_and_schedules
from clickstream_console.dagster_api.checks import asset_checks
from clickstream_console.dagster_api.locations import reload_location
from clickstream_console.dagster_api.runs import last_runs
from clickstream_dagster.names import BUILD_WAREHOUSE_JOB, FRESHNESS_CHECK_NAME, MICRO_BATCH_JOB, PROCESS_RAW_HOURS_JOB
from clickstream_dagster.quality.freshness import FRESHNESS_SENSOR_NAME
from clickstream_project.alert_records import FAILED_CHECKS_SENSOR, RUN_FAILURE_SENSOR
from clickstream_project.config import CONFIG_ENV_VAR, save_config
from tests.conftest import REPO_ROOT, make_config
from tests.console.dagster_webserver import DagsterWebserver, new_dagster_home, running_webserver

PROJECT_LOCATION = "clickstream"


@pytest.fixture(scope="module")
def project_webserver(tmp_path_factory) -> Iterator[DagsterWebserver]:
    directory = tmp_path_factory.mktemp("project")
    config = make_config(directory)
    save_config(config, directory / "clickstream.yaml")
    env = {CONFIG_ENV_VAR: str(directory / "clickstream.yaml")}
    with running_webserver(directory, REPO_ROOT / "workspace.yaml", new_dagster_home(directory), PROJECT_LOCATION, env) as server:
        yield server


def test_the_pages_find_the_projects_jobs_sensors_and_checks(project_webserver):
    client = project_webserver.client()
    pipeline_jobs = [PROCESS_RAW_HOURS_JOB, BUILD_WAREHOUSE_JOB, MICRO_BATCH_JOB]
    assert set(pipeline_jobs) <= set(last_runs(client))
    assert last_runs(client, pipeline_jobs) == {job: [] for job in pipeline_jobs}

    automation = {item.name: item for item in sensors_and_schedules(client)}
    assert {RUN_FAILURE_SENSOR, FAILED_CHECKS_SENSOR, FRESHNESS_SENSOR_NAME} <= set(automation)
    assert all(item.location == PROJECT_LOCATION for item in automation.values())

    checks = asset_checks(client, names={FRESHNESS_CHECK_NAME})
    apps = ["shop_android", "shop_ios", "shop_web"]
    assert [check.asset for check in checks] == ["lake/ods_events", "lake/raw_events", *(f"{app}/clickstream_session_view" for app in apps)]
    assert all(check.status is None and not check.failed for check in checks)  # never evaluated yet

    assert last_alerts(client) == {}
    assert reload_location(client, PROJECT_LOCATION).ok
