"""The Pipeline and Alarms pages in headless Chromium, served by `clickstream console` and reading
the real Dagster webserver of tests/console/dagster_webserver.py: what an operator sees, a sensor
switched on and off by its button, screenshots, and no error in the browser's console."""

from __future__ import annotations

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app
from tests.console.operations_helpers import ingestion_stub, point_console_at

OPERATOR = "operator@example.com"
SENSOR_SWITCH = "tr[data-name=orders_sensor] [data-testid=automation-switch]"


@pytest.fixture(scope="module")
def console(dagster_webserver, tmp_path_factory):
    directory = tmp_path_factory.mktemp("console")
    with ingestion_stub() as (ingestion_url, _):
        point_console_at(dagster_webserver, ingestion_url, directory / "console.db")
        app = console_app(dagster_webserver.project_file)  # migrates the database the server will use
        add_user(app, OPERATOR, [Role.OPERATOR])
        with running_console(dagster_webserver.project_file, directory / "console.log") as url:
            yield url


def test_the_pipeline_and_alarms_pages_in_the_browser(console, tmp_path):
    run = browse(
        console,
        [
            *local_sign_in_steps(OPERATOR, PASSWORD),
            {"goto": "/pipeline"},
            {"capture": "ingestion", "selector": "[data-testid=ingestion-state]"},
            {"capture": "runs", "selector": "[data-testid=run-status]"},
            {"capture": "sensor_before", "selector": "tr[data-name=orders_sensor] [data-testid=automation-state]"},
            {"screenshot": "console-pipeline"},
            {"click": SENSOR_SWITCH, "navigate": True},
            {"capture": "flash_on", "selector": ".flash"},
            {"capture": "sensor_on", "selector": "tr[data-name=orders_sensor] [data-testid=automation-state]"},
            {"click": SENSOR_SWITCH, "navigate": True},
            {"capture": "sensor_off", "selector": "tr[data-name=orders_sensor] [data-testid=automation-state]"},
            {"goto": "/alarms"},
            {"capture": "alarms", "selector": "[data-testid=alarm-state]"},
            {"capture": "subjects", "selector": "[data-testid=last-alert-subject]"},
            {"screenshot": "console-alarms"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    assert run.captures["ingestion"] == ["ready"]
    assert sorted(run.captures["runs"]) == ["failure", "success", "success", "success"]
    assert run.captures["sensor_before"] == ["off"] and run.captures["sensor_on"] == ["on"] and run.captures["sensor_off"] == ["off"]
    assert run.captures["flash_on"] == ["The sensor orders_sensor is running."]
    assert run.captures["alarms"] == ["on"] * 5
    assert sorted(run.captures["subjects"]) == [
        "ERROR console_test: run of always_fails failed",
        "WARN console_test: check orders_not_empty failed on orders",
    ]
