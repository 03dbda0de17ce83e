"""The Pipeline and Alarms pages through the Flask test client, against the real Dagster webserver
of tests/console/dagster_webserver.py and a stand-in ingestion service: what they show, and each
switch from the form to its effect (Dagster's state or the project file, the audit log, Dagster
reloaded, the page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.alarms.settings import ALARM_DESCRIPTIONS, ALARMS
from clickstream_console.dagster_api.automation import sensors_and_schedules
from clickstream_console.dagster_api.locations import reload_location
from clickstream_console.db.models import AuditEntry
from clickstream_console.identity.roles import Role
from clickstream_console.pipeline.display import duration
from clickstream_console.pipeline.ingestion_health import ingestion_health
from clickstream_project.alert_records import FAILED_CHECKS_SENSOR
from clickstream_project.config import load_config
from tests.conftest import free_port
from tests.console.console_helpers import add_user, console_app, console_state_of, csrf_of, sign_in, write_project
from tests.console.operations_helpers import ingestion_stub, point_console_at

OPERATOR = "operator@example.com"


@dataclass
class Element:
    attrs: dict[str, str]
    text: str = ""
    # The marked elements inside it, at any depth.
    children: list[Element] = field(default_factory=list)


# Elements without an end tag.
VOID_ELEMENTS = frozenset({"br", "input", "img", "meta", "link", "hr"})


class Marked(HTMLParser):
    """Every element with a data-testid: its attributes and text, and the marked elements anywhere inside it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: dict[str, list[Element]] = {}
        self._open: list[tuple[str, Element | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in VOID_ELEMENTS:
            return
        values = {name: value or "" for name, value in attrs}
        element = Element(values) if "data-testid" in values else None
        if element is not None:
            self.found.setdefault(values["data-testid"], []).append(element)
            for _, outer in self._open:
                if outer is not None:
                    outer.children.append(element)
        self._open.append((tag, element))

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, element in self._open:
            if element is not None:
                element.text += data

    def rows(self, testid: str, key: str) -> dict[str, dict[str, str]]:
        """Rows marked ``testid``, by their ``key`` attribute: the text of each marked cell."""
        return {
            row.attrs[key]: {child.attrs["data-testid"]: " ".join(child.text.split()) for child in row.children}
            for row in self.found.get(testid, [])
        }

    def text(self, testid: str) -> str:
        return " ".join(" ".join(element.text.split()) for element in self.found.get(testid, []))


@pytest.fixture(scope="module")
def stub():
    with ingestion_stub() as running:
        yield running


@pytest.fixture(scope="module")
def ops_app(dagster_webserver, stub, tmp_path_factory):
    """A console on the project file the Dagster webserver's definitions read, pointed at it."""
    point_console_at(dagster_webserver, stub[0], tmp_path_factory.mktemp("console") / "console.db")
    app = console_app(dagster_webserver.project_file)
    add_user(app, OPERATOR, [Role.OPERATOR])
    return app


@pytest.fixture
def operator(ops_app):
    client = ops_app.test_client()
    sign_in(client, OPERATOR)
    return client


def audit_count(app) -> int:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return len(session.scalars(select(AuditEntry.id)).all())


def audit_entries(app, action: str) -> list[AuditEntry]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def page(client, path: str) -> Marked:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return Marked(response.get_data(as_text=True))


# Pipeline ----------------------------------------------------------------------------------


def test_the_pipeline_page_shows_runs_sensors_schedules_and_freshness(operator, dagster_webserver, stub):
    html = operator.get("/pipeline").get_data(as_text=True)
    shown = Marked(html)
    assert shown.text("ingestion-state") == "ready" and "sink: ok" in shown.text("ingestion")

    runs = shown.rows("run-row", "data-job")
    assert {job: cells.get("run-status") for job, cells in runs.items()} == {
        "always_fails": "failure",
        "build_orders": "success",
        "check_freshness": "success",
        "load_orders": "success",
    }
    assert all(cells["run-duration"].endswith(" s") for cells in runs.values())

    automation = shown.rows("automation-row", "data-name")
    assert {name: cells["automation-state"] for name, cells in automation.items()} == {
        "alert_on_failed_checks": "on",
        "alert_on_run_failure": "on",
        "orders_sensor": "off",
        "nightly_orders": "off",
    }
    freshness = shown.rows("freshness-row", "data-asset")
    assert {asset: cells["freshness-state"] for asset, cells in freshness.items()} == {
        "orders_archive": "failed",
        "raw_orders": "succeeded",
    }

    # Every item links into the Dagster UI.
    url = dagster_webserver.url
    assert f'href="{url}/runs/' in html
    assert f'href="{url}/locations/console_test/sensors/orders_sensor"' in html
    assert f'href="{url}/locations/console_test/schedules/nightly_orders"' in html
    assert f'href="{url}/assets/orders_archive?view=checks&amp;checkDetail=freshness_check"' in html


def test_a_sensor_and_a_schedule_switched_from_the_page(ops_app, operator, dagster_webserver):
    client = dagster_webserver.client()
    for kind, name in (("sensor", "orders_sensor"), ("schedule", "nightly_orders")):
        key = f"{kind}:console_test:__repository__:{name}"
        try:
            response = operator.post(
                "/pipeline/automation", data={"key": key, "running": "on", "csrf_token": csrf_of(operator, "/pipeline")}
            )
            assert response.status_code == 302
            assert next(item for item in sensors_and_schedules(client) if item.name == name).running
            assert page(operator, "/pipeline").rows("automation-row", "data-name")[name]["automation-state"] == "on"
        finally:
            operator.post("/pipeline/automation", data={"key": key, "running": "off", "csrf_token": csrf_of(operator, "/pipeline")})
        assert not next(item for item in sensors_and_schedules(client) if item.name == name).running
        [started] = audit_entries(ops_app, f"{kind}.start")
        [stopped] = audit_entries(ops_app, f"{kind}.stop")
        assert (started.actor, started.target, started.detail) == (
            OPERATOR,
            f"console_test/{name}",
            {"running": {"old": False, "new": True}},
        )
        assert stopped.detail == {"running": {"old": True, "new": False}}


def test_an_unknown_sensor_or_a_bad_switch_changes_nothing(ops_app, operator):
    entries = audit_count(ops_app)
    unknown = operator.post(
        "/pipeline/automation",
        data={"key": "sensor:x:y:z", "running": "on", "csrf_token": csrf_of(operator, "/pipeline")},
        follow_redirects=True,
    )
    assert "not in Dagster&#39;s workspace" in unknown.get_data(as_text=True)
    key = "sensor:console_test:__repository__:orders_sensor"
    bad = operator.post(
        "/pipeline/automation", data={"key": key, "running": "yes", "csrf_token": csrf_of(operator, "/pipeline")}, follow_redirects=True
    )
    assert "Choose on or off." in bad.get_data(as_text=True)
    assert audit_count(ops_app) == entries


def test_ingestion_not_ready_or_unreachable(stub):
    url, state = stub
    state.ready = False
    try:
        health = ingestion_health(url)
    finally:
        state.ready = True
    assert (health.live, health.ready, health.sink_status) == (True, False, "refusing")
    assert health.problem.startswith("the sink cannot store requests")
    down = ingestion_health(f"http://127.0.0.1:{free_port()}")
    assert not down.live and down.ready is None and "not reachable at" in down.problem


def test_without_dagster_both_pages_say_so(tmp_path):
    # Nothing listens at either address (write_project's Dagster URL is a closed port too).
    app = console_app(write_project(tmp_path, pipeline={"ingestion": {"public_endpoint": f"http://127.0.0.1:{free_port()}"}}))
    add_user(app, OPERATOR, [Role.OPERATOR])
    client = app.test_client()
    sign_in(client, OPERATOR)
    dagster_url = console_state_of(app).settings.dagster_url
    pipeline = page(client, "/pipeline")
    assert f"Dagster is not reachable at {dagster_url}" in pipeline.text("dagster-unavailable")
    assert pipeline.text("ingestion-state") == "unreachable"
    alarms = page(client, "/alarms")
    assert f"Dagster is not reachable at {dagster_url}" in alarms.text("dagster-unavailable")
    # The alarms and channels come from the project file, so they still show.
    assert set(alarms.rows("alarm-row", "data-alarm")) == {"run_failure", "freshness", "quarantine_rate", "spool_depth", "data_tests"}


# Alarms ------------------------------------------------------------------------------------


def check_sensor_description(dagster_webserver) -> str:
    return next(item for item in sensors_and_schedules(dagster_webserver.client()) if item.name == FAILED_CHECKS_SENSOR).description


def test_the_alarms_page_shows_each_alarm_and_its_last_alert(operator):
    rows = page(operator, "/alarms").rows("alarm-row", "data-alarm")
    assert {alarm: cells["alarm-state"] for alarm, cells in rows.items()} == dict.fromkeys(
        ("run_failure", "freshness", "quarantine_rate", "spool_depth", "data_tests"), "on"
    )
    assert rows["data_tests"]["last-alert-subject"] == "WARN console_test: check orders_not_empty failed on orders"
    assert rows["run_failure"]["last-alert-subject"] == "ERROR console_test: run of always_fails failed"
    assert "delivered to log" in rows["run_failure"]["last-alert"]
    assert rows["freshness"]["last-alert"] == "none yet"


def test_an_alarm_switched_off_and_on_reaches_the_file_the_audit_log_and_dagster(ops_app, operator, dagster_webserver):
    project_file = dagster_webserver.project_file
    try:
        response = operator.post("/alarms/alarm", data={"alarm": "freshness", "enabled": "off", "csrf_token": csrf_of(operator, "/alarms")})
        assert response.status_code == 302
        assert load_config(project_file).pipeline.alerts.alarms.freshness is False
        [entry] = audit_entries(ops_app, "alarm.disable")
        field = "pipeline.alerts.alarms.freshness"
        assert (entry.actor, entry.target, entry.detail) == (OPERATOR, field, {field: {"old": True, "new": False}})
        # Reloaded: the alert sensor was built from the new file.
        assert check_sensor_description(dagster_webserver).endswith("Disabled alarms: freshness.")
        shown = page(operator, "/alarms")
        assert shown.rows("alarm-row", "data-alarm")["freshness"]["alarm-state"] == "off"
    finally:
        operator.post("/alarms/alarm", data={"alarm": "freshness", "enabled": "on", "csrf_token": csrf_of(operator, "/alarms")})
    assert load_config(project_file).pipeline.alerts.alarms.freshness is True
    assert "Disabled alarms" not in check_sensor_description(dagster_webserver)
    assert len(audit_entries(ops_app, "alarm.enable")) == 1


def test_switching_to_the_current_state_or_an_unknown_alarm_changes_nothing(ops_app, operator, dagster_webserver):
    before, entries = dagster_webserver.project_file.read_text(), audit_count(ops_app)
    for alarm, enabled, message in (
        ("freshness", "on", "The alarm freshness is on already."),
        ("freshnes", "off", "Nothing changed: unknown alarm &#39;freshnes&#39;."),
        ("freshness", "maybe", "Choose on or off."),
    ):
        data = {"alarm": alarm, "enabled": enabled, "csrf_token": csrf_of(operator, "/alarms")}
        assert message in operator.post("/alarms/alarm", data=data, follow_redirects=True).get_data(as_text=True)
    assert dagster_webserver.project_file.read_text() == before and audit_count(ops_app) == entries


def test_a_channel_switched_and_its_secrets_never_shown(ops_app, operator, dagster_webserver, monkeypatch):
    project_file = dagster_webserver.project_file
    original = project_file.read_text()
    data = yaml.safe_load(original)
    data["pipeline"]["alerts"] = {
        "webhook": {
            "url": "https://bot:pa55word@hooks.example.com/services/T000/B000/s3cretpath?token=querysecret",
            "headers": {"X-Api-Key": "headersecret"},
            "headers_from_env": {"Authorization": "ALERT_WEBHOOK_TOKEN"},
        }
    }
    project_file.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        html = operator.get("/alarms").get_data(as_text=True)
        for secret in ("pa55word", "s3cretpath", "querysecret", "headersecret"):
            assert secret not in html
        channels = Marked(html).rows("channel-row", "data-channel")
        assert {name: cells["channel-state"] for name, cells in channels.items()} == {
            "log": "on",
            "webhook": "on",
            "email": "not configured",
            "sns": "not configured",
        }
        assert "hooks.example.com" in html and "ALERT_WEBHOOK_TOKEN" in html and "X-Api-Key" in html

        response = operator.post(
            "/alarms/channel", data={"channel": "webhook", "enabled": "off", "csrf_token": csrf_of(operator, "/alarms")}
        )
        assert response.status_code == 302
        assert load_config(project_file).pipeline.alerts.webhook.enabled is False
        [entry] = audit_entries(ops_app, "alert_channel.disable")
        assert entry.detail == {"pipeline.alerts.webhook.enabled": {"old": True, "new": False}}
        assert " Channels: log." in check_sensor_description(dagster_webserver)

        # A channel the file does not configure cannot be switched on from here.
        refused = operator.post(
            "/alarms/channel", data={"channel": "email", "enabled": "on", "csrf_token": csrf_of(operator, "/alarms")}, follow_redirects=True
        )
        assert "the email channel is not configured" in refused.get_data(as_text=True)
        assert load_config(project_file).pipeline.alerts.email is None
    finally:
        project_file.write_text(original)
        assert reload_location(dagster_webserver.client(), dagster_webserver.location).ok


def test_every_alarm_is_described_and_durations_read_well():
    assert set(ALARM_DESCRIPTIONS) == set(ALARMS)
    assert [duration(timedelta(seconds=s)) for s in (0.4, 42, 125, 3725)] == ["0 s", "42 s", "2 min 05 s", "1 h 02 min"]
    assert duration(None) == "—"
