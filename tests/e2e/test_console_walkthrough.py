"""The console on the demo's result, as a newcomer meets it (issue 13's "done when"): the demo's
administrator signs in locally, registers an app and downloads its SDK configuration, sees the
demo's runs and alarm states (read from a real Dagster webserver over GraphQL), maps a group of
the identity provider to the Analyst role; then a person of that group signs in through the
provider (a real OpenID provider) and holds the Analyst role, which cannot open the Operator
pages. All in headless Chromium, against `clickstream console` as the README starts it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from clickstream_console.auth.provider import CALLBACK_PATH, SIGNED_OUT_PATH
from clickstream_project.config import CONFIG_ENV_VAR, load_config
from clickstream_project.published_warehouse import current
from tests.conftest import REPO_ROOT, free_port
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps
from tests.console.dagster_webserver import running_webserver
from tests.console.oidc_fixture import RegisteredClient, running_provider

pytestmark = [pytest.mark.e2e]

SECRET_VARIABLE = "CLICKSTREAM_WALKTHROUGH_OIDC_SECRET"
# A person in a group of the company's directory that no role names by default.
DANA = {"sub": "dana", "email": "dana@example.com", "email_verified": True, "name": "Dana Analyst", "cognito:groups": ["DataTeam"]}
OPERATOR_PAGES = ["/apps", "/pipeline", "/alarms", "/plugins"]


def _provider_sign_in(login: str) -> list[dict]:
    return [
        {"goto": "/login"},
        {"click": "[data-testid=oidc-login]", "navigate": True},
        {"fill": "input[name=login]", "value": login},
        {"fill": "input[name=password]", "value": "any password"},
        {"click": "button[type=submit]", "navigate": True},
        {"click": "button[type=submit]", "navigate": True},  # consent, then back to the console
    ]


def _demo_events_last_7_days(directory: Path, app_id: str) -> int:
    """The Activity report's default range (the last 7 UTC days, today included), by SQL."""
    duckdb_path = load_config(directory / "clickstream.yaml").duckdb_path
    today = datetime.now(UTC).date()
    with duckdb.connect(str(current(duckdb_path).path(duckdb_path)), read_only=True) as connection:
        return connection.execute(
            f'select count(*) from "{app_id}".clickstream_ods_event_view where event_date between ? and ?',
            [today - timedelta(days=6), today],
        ).fetchone()[0]


def test_a_newcomer_walks_the_console_on_the_demo(demo_copy, tmp_path):
    # A copy: the walkthrough registers an app, which the other demo tests must not see.
    directory = demo_copy.directory
    project_file = demo_copy.project_file
    admin_password = demo_copy.admin_password

    console_bind = f"127.0.0.1:{free_port()}"
    console_url = f"http://{console_bind}"
    client = RegisteredClient("console", [console_url + CALLBACK_PATH], "walkthrough-secret", [console_url + SIGNED_OUT_PATH])
    env = {CONFIG_ENV_VAR: str(project_file)}
    with (
        running_webserver(tmp_path, REPO_ROOT / "workspace.yaml", directory / "dagster", "clickstream", env) as dagster,
        running_provider(tmp_path / "provider", [client], [DANA]) as provider,
    ):
        data = yaml.safe_load(project_file.read_text())
        data["console"] = {
            "bind": console_bind,
            "dagster_url": dagster.url,
            "oidc": {"issuer": provider.issuer, "client_id": client.client_id, "client_secret_env": SECRET_VARIABLE},
        }
        project_file.write_text(yaml.safe_dump(data, sort_keys=False))
        with running_console(project_file, tmp_path / "console.log", env={SECRET_VARIABLE: client.client_secret}, bind=console_bind):
            run = browse(
                console_url,
                [
                    *local_sign_in_steps("admin@example.com", admin_password),
                    # Register an app and take its SDK configuration.
                    {"goto": "/apps"},
                    {"fill": "input[name=app_id]", "value": "blog"},
                    {"fill": "input[name=name]", "value": "Company blog"},
                    {"check": "input[name=platforms][value=Web]"},
                    {"click": "form.register button[type=submit]", "navigate": True},
                    {"url": "registered"},
                    {"capture": "snippet", "selector": "[data-testid=web-sdk-snippet]"},
                    {"fetch": "sdk_config", "path": "/apps/blog/amplifyconfiguration.json"},
                    # The demo's pipeline runs and alarm states.
                    {"goto": "/pipeline"},
                    {"capture": "runs", "selector": "[data-testid=run-row]"},
                    {"screenshot": "walkthrough-pipeline"},
                    {"goto": "/alarms"},
                    {"capture": "alarms", "selector": "[data-testid=alarm-row]"},
                    {"capture": "alarm_states", "selector": "[data-testid=alarm-row] [data-testid=alarm-state]"},
                    {"screenshot": "walkthrough-alarms"},
                    # The company's DataTeam group becomes Analysts.
                    {"goto": "/system/settings"},
                    {"fill": "input[name=analyst_groups]", "value": "ClickstreamAnalyst, DataTeam"},
                    {"click": "[data-testid=mapping-form] button.primary", "navigate": True},
                    *sign_out_steps(),
                    # Dana signs in through the provider.
                    *_provider_sign_in("dana"),
                    {"url": "dana_landing"},
                    {"capture": "dana_roles", "selector": "[data-testid=viewer-roles]"},
                    {"capture": "dana_menu", "selector": "nav.sidebar a"},
                    {"screenshot": "walkthrough-analyst"},
                    # Her dashboards: the demo's Activity report, from the published snapshot.
                    {"goto": "/studio/shop_web/activity"},
                    {"waitFor": "[data-testid=report][data-state=ready]"},
                    {"capture": "activity_events", "selector": "[data-testid=kpi-events]"},
                    {"screenshot": "walkthrough-activity"},
                    *[step for page in OPERATOR_PAGES for step in ({"goto": page}, {"capture": f"dana{page}", "selector": "main h1"})],
                    {"screenshot": "walkthrough-analyst-refused"},
                    *sign_out_steps(),
                    # The administrator sees her in System → Users, her role from the mapping.
                    *local_sign_in_steps("admin@example.com", admin_password),
                    {"goto": "/system/users"},
                    {"capture": "dana_row", "selector": "[data-testid=user-row][data-email='dana@example.com']"},
                    {"screenshot": "walkthrough-users"},
                ],
                screenshot_dir(tmp_path),
            )

    assert run.failed_step is None, run.failed_step
    mine = [error for error in run.console_errors if error["url"].startswith(console_url) and " status of 403 " not in error["text"]]
    assert mine == [] and [error for error in run.page_errors if error["url"].startswith(console_url)] == []

    assert run.urls["registered"] == f"{console_url}/apps/blog"
    assert load_config(project_file).app("blog").platforms == ["Web"]
    sdk = run.fetches["sdk_config"]
    assert sdk["status"] == 200 and "attachment" in sdk["headers"]["content-disposition"]
    plugin = json.loads(sdk["body"])["analytics"]["plugins"]["awsClickstreamPlugin"]
    assert plugin["appId"] == "blog" and plugin["endpoint"] == load_config(project_file).pipeline.ingestion.public_endpoint + "/collect"
    assert 'appId: "blog"' in run.captures["snippet"][0]

    runs = {row.split()[0]: row for row in run.captures["runs"]}
    assert "success" in runs["process_raw_hours"] and "success" in runs["build_warehouse"], runs
    assert len(run.captures["alarms"]) == 5 and set(run.captures["alarm_states"]) == {"on"}

    assert run.urls["dana_landing"] == f"{console_url}/"
    assert run.captures["dana_roles"] == ["Analyst"] and run.captures["dana_menu"] == ["Dashboards", "Explore", "Data Management"]
    assert int(run.captures["activity_events"][0].replace(",", "")) == _demo_events_last_7_days(directory, "shop_web")
    for page in OPERATOR_PAGES:
        assert run.captures[f"dana{page}"] == ["403 · Forbidden"], page
    assert "Analyst" in run.captures["dana_row"][0] and "from mapping" in run.captures["dana_row"][0]
    assert "DataTeam" in run.captures["dana_row"][0]
