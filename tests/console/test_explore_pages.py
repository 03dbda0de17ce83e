"""Explore's pages: each analysis type builds, runs and shows its SQL from its URL alone; bad
analyses are refused with the field named; analyses are saved, listed, reopened and deleted by
Analysts, opened (not built or changed) by Analyst Readers; results download as CSV."""

from __future__ import annotations

import json
from urllib.parse import quote

import duckdb
import pytest
from sqlalchemy import select

from clickstream_console.db.models import AuditEntry, SavedAnalysis
from clickstream_console.identity.roles import Role
from clickstream_project.published_warehouse import publish
from tests.console.console_helpers import add_user, console_app, console_state_of, csrf_of, sign_in, write_project
from tests.console.explore_fixture import APP, Event, load

EVENTS = [
    Event("a1", "_session_start", "2026-01-05T10:00:00", "u1", params={"_session_id": "s1"}),
    Event("a2", "_page_view", "2026-01-05T10:01:00", "u1", params={"_session_id": "s1", "_page_title": "Home"}),
    Event("a3", "add_to_cart", "2026-01-05T10:02:00", "u1", params={"_session_id": "s1"}),
    Event("a4", "purchase", "2026-01-05T10:05:00", "u1", user_id="U1", params={"_session_id": "s1"}),
    Event("b1", "_session_start", "2026-01-05T11:00:00", "u2", platform="iOS", params={"_session_id": "s2"}),
    Event("b2", "add_to_cart", "2026-01-05T11:01:00", "u2", platform="iOS", params={"_session_id": "s2"}),
    # u3 pays 24.5 hours after adding to cart: outside a one-day window.
    Event("c1", "add_to_cart", "2026-01-06T09:00:00", "u3", country="=cmd|x", params={"_session_id": "s3"}),
    Event("c2", "purchase", "2026-01-07T09:30:00", "u3", params={"_session_id": "s4"}),
]
RANGE = {"start": "2026-01-05", "end": "2026-01-07", "tz": "UTC"}
SPECS = {
    "event": {**RANGE, "events": [{"event": "add_to_cart"}], "measure": "total", "display": "total"},
    "funnel": {**RANGE, "steps": [{"event": "add_to_cart"}, {"event": "purchase"}], "window": {"value": 1, "unit": "day"}},
    "path": {**RANGE, "anchor": {"side": "start", "node_type": "event", "node": "_session_start"}, "steps": 3},
    "retention": {**RANGE, "start_event": {"event": "add_to_cart"}, "return_event": {"event": "purchase"}, "period": "day", "periods": 3},
}


@pytest.fixture
def console(tmp_path):
    database = tmp_path / "explore.duckdb"
    with duckdb.connect(str(database)) as connection:
        load(connection, EVENTS)
        # The path analysis' screens (the fixture's path view has events only).
        connection.execute(f'alter table "{APP}".clickstream_path_view add column current_screen varchar')
        # The demo's event analysis breaks down by it (clickstream_console/explore/seed.py).
        connection.execute(f'alter table "{APP}".clickstream_ods_event_view add column device_system_language varchar')
    publish(database)
    app = console_app(write_project(tmp_path, pipeline={"modeling": {"duckdb_path": str(database)}}))
    clients = {}
    for role in (Role.ANALYST, Role.ANALYST_READER):
        email = f"{role.name.lower()}@example.com"
        add_user(app, email, [role])
        clients[role] = app.test_client()
        sign_in(clients[role], email)
    return app, clients


def url(kind: str, spec: dict, suffix: str = "") -> str:
    return f"/explore/{APP}/new/{kind}{suffix}?spec={quote(json.dumps(spec))}"


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_each_type_runs_from_its_url_and_shows_its_sql(console, kind):
    _app, clients = console
    analyst = clients[Role.ANALYST]
    page = analyst.get(url(kind, SPECS[kind]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert 'data-testid="report"' in html and 'data-testid="sql-result"' in html and f"&#34;{APP}&#34;." in html
    data = analyst.get(url(kind, SPECS[kind], "/data")).get_json()
    assert data["kind"] == kind and data["range"]["start"] == "2026-01-05" and data["charts"]["result"]["rows"]
    assert data["sql"]["result"]["dialect"] == "duckdb" and "$" in data["sql"]["result"]["sql"]


def test_the_numbers_are_the_analysis_numbers(console):
    _app, clients = console
    analyst = clients[Role.ANALYST]
    event = analyst.get(url("event", SPECS["event"], "/data")).get_json()["charts"]["result"]
    assert [row[-1] for row in event["rows"]] == [3]
    funnel = analyst.get(url("funnel", SPECS["funnel"], "/data")).get_json()["charts"]["result"]
    counts = [row[funnel["columns"].index("count")] for row in funnel["rows"]]
    # Three users add to cart; only u1 pays within a day (u3 after 24.5 hours).
    assert counts == [3, 1]


def test_a_builder_without_an_analysis_shows_the_empty_form(console):
    _app, clients = console
    page = clients[Role.ANALYST].get(f"/explore/{APP}/new/funnel")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="analysis-form"' in html and 'data-testid="report"' not in html


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("{not json", "spec"),
        ("[1, 2]", "spec"),
        (json.dumps({**SPECS["funnel"], "steps": [{"event": "a"}]}), "steps"),
        (json.dumps({**SPECS["event"], "colour": "red"}), "colour"),
        (json.dumps({**SPECS["event"], "granularity": "minute"}), "granularity"),
        (json.dumps({**SPECS["event"], "start": "2026-13-01"}), "start"),
        ("x" * 20_001, "spec"),
    ],
)
def test_a_bad_analysis_is_refused_with_its_field(console, spec, field):
    _app, clients = console
    analyst = clients[Role.ANALYST]
    kind = "funnel" if "steps" in spec else "event"
    data = analyst.get(f"/explore/{APP}/new/{kind}/data?spec={quote(spec)}")
    assert data.status_code == 400 and data.get_json()["field"].startswith(field), data.get_json()
    page = analyst.get(f"/explore/{APP}/new/{kind}?spec={quote(spec)}")
    assert page.status_code == 400 and 'data-testid="analysis-error"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/explore/nope/new/event", f"/explore/{APP}/new/cohorts", f"/explore/{APP}/saved/999", f"/explore/{APP}/saved/999/data"]
)
def test_unknown_apps_types_and_analyses_are_not_found(console, path):
    _app, clients = console
    assert clients[Role.ANALYST].get(path).status_code == 404


def test_saved_analyses_are_listed_reopened_and_deleted_and_readers_only_open_them(console):
    app, clients = console
    analyst, reader = clients[Role.ANALYST], clients[Role.ANALYST_READER]
    builder = url("funnel", SPECS["funnel"])
    saved = analyst.post(
        f"/explore/{APP}/saved",
        data={"csrf_token": csrf_of(analyst, builder), "name": "Cart to purchase", "kind": "funnel", "spec": json.dumps(SPECS["funnel"])},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    location = saved.headers["Location"]
    assert "Cart to purchase" in analyst.get("/explore").get_data(as_text=True)
    for client in (analyst, reader):
        page = client.get(location)
        assert page.status_code == 200 and 'data-testid="report"' in page.get_data(as_text=True)
        counts = client.get(f"{location}/data").get_json()["charts"]["result"]
        assert [row[counts["columns"].index("count")] for row in counts["rows"]] == [3, 1]
    reader_page = reader.get(location).get_data(as_text=True)
    assert 'data-read-only="true"' in reader_page and 'data-testid="save-form"' not in reader_page
    # Readers build nothing new and change nothing.
    token = csrf_of(reader, location)
    assert reader.get(builder).status_code == 403
    assert reader.get(url("funnel", SPECS["funnel"], "/data")).status_code == 403
    assert reader.post(f"/explore/{APP}/saved", data={"csrf_token": token, "name": "x", "kind": "funnel", "spec": "{}"}).status_code == 403
    assert reader.post(f"{location}/delete", data={"csrf_token": token}).status_code == 403
    # Saving again under the same name replaces it; a save without a token is refused.
    assert analyst.post(f"/explore/{APP}/saved", data={"name": "x", "kind": "funnel", "spec": "{}"}).status_code in (400, 403)
    deleted = analyst.post(f"{location}/delete", data={"csrf_token": csrf_of(analyst, location)})
    assert deleted.status_code == 302 and analyst.get(location).status_code == 404
    with app.app_context():
        session = console_state_of(app).sessions()
        assert session.scalars(select(SavedAnalysis)).all() == []
        assert [entry.action for entry in session.scalars(select(AuditEntry).where(AuditEntry.action.like("analysis.%")))] == [
            "analysis.save",
            "analysis.delete",
        ]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "kind": "funnel"}, "name"),
        ({"name": "n" * 201, "kind": "funnel"}, "name"),
        ({"name": "ok", "kind": "event"}, "steps"),
    ],
)
def test_a_bad_save_names_the_field(console, form, field):
    _app, clients = console
    analyst = clients[Role.ANALYST]
    spec = json.dumps(SPECS["funnel"])
    response = analyst.post(
        f"/explore/{APP}/saved", data={"csrf_token": csrf_of(analyst, url("funnel", SPECS["funnel"])), "spec": spec, **form}
    )
    assert response.status_code == 400 and f'data-field="{field}' in response.get_data(as_text=True)


def test_results_download_as_csv_with_formulas_kept_text(console):
    _app, clients = console
    spec = {**SPECS["event"], "breakdown": {"property": "geo_country", "top": 5}}
    response = clients[Role.ANALYST].get(url("event", spec, "/result.csv"))
    text = response.get_data(as_text=True)
    assert (
        response.status_code == 200
        and "'=cmd|x" in text
        and f'filename="{APP}-event-result-2026-01-05-2026-01-07.csv"' in response.headers["Content-Disposition"]
    )
    assert clients[Role.ANALYST].get(url("event", spec, "/nope.csv")).status_code == 404


def test_the_demo_saves_an_analysis_of_each_type_per_app_once_and_each_runs(console, tmp_path):
    from clickstream_console.explore.seed import DEMO_ANALYSES, save_demo_analyses
    from clickstream_project.config import load_config

    app, clients = console
    config = load_config(tmp_path / "clickstream.yaml")
    saved = save_demo_analyses(config, actor="demo")
    assert sorted(saved) == sorted(f"{each.app_id}/{name}" for each in config.apps for name, _kind, _spec in DEMO_ANALYSES)
    assert save_demo_analyses(config, actor="demo") == []
    assert {kind for _name, kind, _spec in DEMO_ANALYSES} == {"event", "funnel", "path", "retention"}
    with app.app_context():
        ids = [
            analysis.id for analysis in console_state_of(app).sessions().scalars(select(SavedAnalysis).where(SavedAnalysis.app_id == APP))
        ]
    for analysis_id in ids:
        assert clients[Role.ANALYST_READER].get(f"/explore/{APP}/saved/{analysis_id}/data").status_code == 200
