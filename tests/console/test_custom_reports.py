"""Custom reports over HTTP on the dashboards' test warehouse: an Analyst previews and saves SQL
with a chart, an Analyst Reader views it (numbers equal the same SQL run here), an Operator sees
nothing; every bad field is named and nothing is saved; warehouse errors keep their message and
point at the line and column; writes are refused by the read-only warehouse itself."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from html import unescape
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.db.models import AuditEntry, SavedReport
from clickstream_console.identity.roles import Role
from clickstream_console.studio.custom.definition import KIND_LABELS, KIND_RULES, MAX_SQL_LENGTH
from clickstream_console.studio.custom.errors import error_mark
from clickstream_console.studio.custom.seed import DEMO_REPORT, save_demo_reports
from clickstream_console.studio.model import ChartKind
from clickstream_console.warehouse.query import QueryError, SqlPosition
from clickstream_project.config import load_config
from clickstream_project.published_warehouse import current
from tests.console.console_helpers import add_user, console_app, console_state_of, csrf_of, sign_in
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

BASE = f"/studio/{APP_ID}/custom"
START, END = date(2026, 1, 5), date(2026, 1, 14)
RANGE = {"start": "2026-01-05", "end": "2026-01-14"}
BY_PLATFORM = (
    "select platform, count(*) as events, count(distinct user_pseudo_id) as users\n"
    "from clickstream_ods_event_view\n"
    "where event_date between :start_date and :end_date\n"
    "group by platform\n"
    "order by platform"
)
BY_PLATFORM_HERE = BY_PLATFORM.replace(":start_date", "?").replace(":end_date", "?")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    directory = tmp_path_factory.mktemp("custom")
    project_file = write_studio_project(directory)
    app = console_app(project_file)
    clients = {}
    for role in (Role.ANALYST, Role.ANALYST_READER, Role.OPERATOR):
        email = f"{role.value.replace(' ', '.').lower()}@example.com"
        add_user(app, email, [role])
        clients[role] = app.test_client()
        sign_in(clients[role], email)
    return app, clients, directory / "studio.duckdb", project_file


def form(client, **fields) -> dict:
    values = {"name": "", "sql": BY_PLATFORM, "chart_kind": "bar", "x_column": "platform", "y_columns": ["events"], **RANGE}
    values |= fields
    values["csrf_token"] = csrf_of(client, f"{BASE}/new")
    return values


def save(client, **fields):
    return client.post(f"{BASE}/new", data=form(client, action="save", **fields))


def saved_rows(app) -> list[SavedReport]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return list(session.scalars(select(SavedReport).order_by(SavedReport.id)))


def audit(app, action: str) -> list[AuditEntry]:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def report_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/custom/(\d+)\?", response.headers["Location"]).group(1))


def page_text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_an_analyst_saves_and_an_analyst_reader_sees_the_numbers_sql_gives(studio):
    app, clients, database, _ = studio
    response = save(clients[Role.ANALYST], name="Events by platform", y_columns=["events", "users"])
    saved = report_id(response)
    assert response.headers["Location"] == f"{BASE}/{saved}?start=2026-01-05&end=2026-01-14"

    reader = clients[Role.ANALYST_READER]
    body = reader.get(f"{BASE}/{saved}/data", query_string={**RANGE, "compare": "1"}).get_json()
    assert body["charts"]["result"]["columns"] == ["platform", "events", "users"]
    assert [tuple(row) for row in body["charts"]["result"]["rows"]] == sql(database, BY_PLATFORM_HERE, [START, END])
    previous = sql(database, BY_PLATFORM_HERE, [date(2025, 12, 26), date(2026, 1, 4)])
    assert [tuple(row) for row in body["charts"]["result"]["previous"]["rows"]] == previous
    assert body["name"] == "Events by platform" and body["data_up_to"].startswith("2026-01-")

    page = reader.get(f"{BASE}/{saved}?start=2026-01-05&end=2026-01-14").get_data(as_text=True)
    assert 'data-kind="bar" data-x="platform" data-y="events,users"' in page
    assert f'data-data-url="{BASE}/{saved}/data?start=2026-01-05&amp;end=2026-01-14"' in page
    assert 'data-testid="edit-link"' not in page
    listed = reader.get(BASE).get_data(as_text=True)
    assert f'href="{BASE}/{saved}"' in listed and "New custom report" not in listed
    [entry] = [entry for entry in audit(app, "custom_report.save") if entry.target == f"{APP_ID}/{saved}"]
    assert entry.actor == "analyst@example.com" and entry.detail["new"]["y_columns"] == ["events", "users"]

    csv = reader.get(f"{BASE}/{saved}/data.csv", query_string=RANGE)
    assert csv.status_code == 200 and csv.get_data(as_text=True).splitlines()[0] == "platform,events,users"


def test_the_dashboards_link_each_apps_custom_reports_keeping_the_range(studio):
    _, clients, _, _ = studio
    reader = clients[Role.ANALYST_READER]
    saved = report_id(save(clients[Role.ANALYST], name="Linked"))
    assert f'href="{BASE}"' in reader.get("/studio").get_data(as_text=True)
    activity = reader.get(f"/studio/{APP_ID}/activity?start=2026-01-05&end=2026-01-14&f_platform=Web").get_data(as_text=True)
    assert f'href="{BASE}?start=2026-01-05&amp;end=2026-01-14&amp;f_platform=Web"' in activity

    # Custom reports have no filters: their links keep the range, zone and comparison only.
    listed = reader.get(f"{BASE}?start=2026-01-05&end=2026-01-14&f_platform=Web&compare=1").get_data(as_text=True)
    assert f'href="{BASE}/{saved}?start=2026-01-05&amp;end=2026-01-14&amp;compare=1"' in listed
    assert reader.get(f"{BASE}/{saved}?start=2026-01-05&end=2026-01-14&compare=1").status_code == 200


def test_an_analyst_edits_and_deletes_and_each_change_is_audited(studio):
    app, clients, database, _ = studio
    analyst = clients[Role.ANALYST]
    saved = report_id(save(analyst, name="To change"))
    edit = f"{BASE}/{saved}/edit"
    assert 'value="To change"' in analyst.get(edit).get_data(as_text=True)

    changed = analyst.post(
        edit,
        data=form(
            analyst,
            action="save",
            name="Changed",
            chart_kind="kpi",
            sql="select count(*) as events from clickstream_ods_event_view",
            y_columns=["events"],
        ),
    )
    assert report_id(changed) == saved
    [(events,)] = sql(database, "select count(*) from clickstream_ods_event_view")
    assert analyst.get(f"{BASE}/{saved}/data").get_json()["charts"]["result"]["rows"] == [[events]]
    old, new = audit(app, "custom_report.save")[-1].detail["old"], audit(app, "custom_report.save")[-1].detail["new"]
    assert (old["name"], old["chart_kind"], new["name"], new["chart_kind"], new["x_column"]) == ("To change", "bar", "Changed", "kpi", None)

    deleted = analyst.post(f"{BASE}/{saved}/delete", data={"csrf_token": csrf_of(analyst, edit)})
    assert deleted.status_code == 302 and deleted.headers["Location"] == BASE
    assert analyst.get(f"{BASE}/{saved}").status_code == 404
    assert audit(app, "custom_report.delete")[-1].detail["old"]["name"] == "Changed"
    assert saved not in [row.id for row in saved_rows(app)]


def test_who_may_do_what(studio):
    _, clients, _, _ = studio
    saved = report_id(save(clients[Role.ANALYST], name="Permissions"))
    reader, operator = clients[Role.ANALYST_READER], clients[Role.OPERATOR]
    token = csrf_of(reader, BASE)
    for path in (f"{BASE}/new", f"{BASE}/{saved}/edit", f"{BASE}/{saved}/delete"):
        assert reader.post(path, data={**form(clients[Role.ANALYST], action="save", name="Nope"), "csrf_token": token}).status_code == 403
    assert reader.get(f"{BASE}/new").status_code == 403
    for path in (BASE, f"{BASE}/{saved}", f"{BASE}/{saved}/data", f"{BASE}/{saved}/data.csv"):
        assert reader.get(path).status_code == 200, path
        assert operator.get(path).status_code == 403, path
    assert "Nope" not in [row.name for row in saved_rows(studio[0])]


def test_preview_runs_the_sql_for_the_range_and_offers_its_columns(studio):
    app, clients, database, _ = studio
    before = len(saved_rows(app))
    response = clients[Role.ANALYST].post(f"{BASE}/new", data=form(clients[Role.ANALYST], action="preview", name="Not saved"))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = sql(database, BY_PLATFORM_HERE, [START, END])
    cells = re.findall(r'<td data-column="events">(\d+)</td>', page)
    assert [int(cell) for cell in cells] == [events for _, events, _ in rows]
    for column in ("platform", "events", "users"):
        assert f"<option >{column}</option>" in page or f"<option selected>{column}</option>" in page
    assert len(saved_rows(app)) == before


def test_preview_draws_the_chosen_chart_from_the_rows_it_read(studio):
    _, clients, database, _ = studio
    client = clients[Role.ANALYST]

    drawn = client.post(f"{BASE}/new", data=form(client, action="preview"))  # bar of events by platform, no name yet

    page = drawn.get_data(as_text=True)
    assert drawn.status_code == 200 and 'data-testid="chart-result"' in page and 'data-kind="bar"' in page
    [embedded] = re.findall(r'<script type="application/json" data-role="report-data">(.*?)</script>', page, re.S)
    data = json.loads(embedded)
    rows = sql(database, BY_PLATFORM_HERE, [START, END])
    assert data["charts"]["result"]["rows"] == [list(row) for row in rows] and data["range"]["start"] == str(START)

    # A chart that does not fit the result is not drawn, and says why; the table still shows.
    unfit = client.post(f"{BASE}/new", data=form(client, action="preview", chart_kind="pie", x_column="no_such_column"))
    text = page_text(unfit)
    assert unfit.status_code == 200 and 'data-testid="chart-result"' not in text
    assert 'data-field="x_column"' in text and "'no_such_column' is not a column of the result" in text
    assert 'data-testid="preview"' in text
    # A table preview is the table alone.
    table = page_text(client.post(f"{BASE}/new", data=form(client, action="preview", chart_kind="table")))
    assert 'data-testid="chart-result"' not in table and "chart-not-drawn" not in table


def test_the_row_cap_says_first_rows_only(studio):
    _, clients, _, _ = studio
    response = clients[Role.ANALYST].post(
        f"{BASE}/new", data=form(clients[Role.ANALYST], action="preview", sql="select * from range(20000)")
    )

    assert response.status_code == 200 and "first 10,000 rows only" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"sql": "   "}, "sql"),
        ({"sql": "select 1 as n " + " " * MAX_SQL_LENGTH + "-- long"}, "sql"),
        ({"chart_kind": "donut"}, "chart_kind"),
        ({"x_column": ""}, "x_column"),
        ({"x_column": "country"}, "x_column"),
        ({"y_columns": []}, "y_columns"),
        ({"y_columns": ["events", "revenue"]}, "y_columns"),
        ({"chart_kind": "pie", "y_columns": ["events", "users"]}, "y_columns"),
        ({"chart_kind": "heatmap", "series_column": ""}, "series_column"),
        ({"chart_kind": "sankey", "series_column": "nope"}, "series_column"),
        ({"range": "last365", "start": "", "end": ""}, "range"),
        ({"name": "Duplicate"}, "name"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_saved(studio, fields, field):
    app, clients, _, _ = studio
    analyst = clients[Role.ANALYST]
    if fields.get("name") == "Duplicate" and "Duplicate" not in [row.name for row in saved_rows(app)]:
        report_id(save(analyst, name="Duplicate"))
    before = [(row.id, row.name, row.updated_at) for row in saved_rows(app)]
    response = save(analyst, **{"name": "Bad input", **fields})

    assert response.status_code == 400
    assert f'data-field="{field}"' in response.get_data(as_text=True), page_text(response)
    assert [(row.id, row.name, row.updated_at) for row in saved_rows(app)] == before


def test_unknown_apps_and_reports_are_404(studio):
    _, clients, _, _ = studio
    analyst = clients[Role.ANALYST]
    for path in ("/studio/nope/custom", "/studio/nope/custom/new", f"{BASE}/999999", f"{BASE}/999999/data", f"{BASE}/999999/edit"):
        assert analyst.get(path).status_code == 404, path
    saved = report_id(save(analyst, name="Only in shop_web"))
    assert analyst.get(f"/studio/shop_android/custom/{saved}").status_code == 404


def test_a_syntax_error_shows_the_warehouse_message_and_marks_its_place(studio):
    _, clients, _, _ = studio
    response = clients[Role.ANALYST].post(
        f"{BASE}/new",
        data=form(clients[Role.ANALYST], action="preview", sql="select event_name\nfrom clickstream_ods_event_view\nwhere event_date >"),
    )

    assert response.status_code == 400
    page = page_text(response)
    assert "syntax error" in page.lower() and "Line 3, column" in page
    assert 'data-field="sql"' in page


def test_an_unknown_column_points_at_it_in_the_sql_as_written(studio):
    _, clients, _, _ = studio
    written = "select event_name,\n    no_such_column\nfrom clickstream_ods_event_view"
    response = clients[Role.ANALYST].post(f"{BASE}/new", data=form(clients[Role.ANALYST], action="preview", sql=written))

    assert response.status_code == 400
    page = page_text(response)
    assert 'Referenced column "no_such_column" not found' in page
    assert "Line 2, column 5:" in page
    mark = re.search(r'<pre class="error-mark" data-testid="error-mark">(.*)\n(.*)</pre>', page)
    assert mark.group(1) == "    no_such_column" and mark.group(2) == "    ^"


@pytest.mark.parametrize(
    ("statement", "engine_message"),
    [
        ("create table x as select 1", 'Cannot execute statement of type "CREATE"'),
        ("insert into clickstream_ods_event_view (event_id) values ('x')", 'Cannot execute statement of type "INSERT"'),
        ("copy (select 1) to '{target}'", "file system operations are disabled"),
        ("attach '{target}' as other", "file system operations are disabled"),
        ("install httpfs", "file system operations are disabled"),
    ],
)
def test_writes_are_refused_by_the_read_only_warehouse(studio, tmp_path, statement, engine_message):
    app, clients, database, _ = studio
    snapshot = current(database).path(database)
    digest = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    target = tmp_path / "x.out"
    before = len(saved_rows(app))

    for action in ("preview", "save"):
        response = clients[Role.ANALYST].post(
            f"{BASE}/new", data=form(clients[Role.ANALYST], action=action, name="Write", sql=statement.format(target=target))
        )
        assert response.status_code == 400
        assert engine_message in page_text(response)

    assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == digest
    assert not target.exists() and len(saved_rows(app)) == before


def test_the_demo_seed_saves_one_report_per_app_once(studio):
    app, clients, database, project_file = studio
    config = load_config(project_file)

    assert sorted(save_demo_reports(config, actor="demo")) == ["shop_android", "shop_web"]
    assert save_demo_reports(config, actor="demo") == []
    [saved] = [row for row in saved_rows(app) if row.app_id == APP_ID and row.name == DEMO_REPORT.name]
    body = clients[Role.ANALYST_READER].get(f"{BASE}/{saved.id}/data", query_string=RANGE).get_json()
    expected = sql(
        database,
        "select event_date, platform, count(*) from clickstream_ods_event_view where event_date between ? and ? group by 1, 2 order by 1, 2",
        [START, END],
    )
    assert [(date.fromisoformat(day), platform, events) for day, platform, events in body["charts"]["result"]["rows"]] == expected


def test_stacking_is_kept_for_a_series_and_dropped_elsewhere(studio):
    app, clients, _, _ = studio
    analyst = clients[Role.ANALYST]
    stacked = report_id(save(analyst, name="Stacked", sql=DEMO_REPORT.sql, x_column="event_date", series_column="platform", stacked="1"))
    flat = report_id(save(analyst, name="Not stacked", stacked="1"))

    rows = {row.id: row for row in saved_rows(app)}
    assert rows[stacked].stacked and rows[stacked].series_column == "platform" and not rows[flat].stacked
    page = analyst.get(f"{BASE}/{stacked}").get_data(as_text=True)
    assert 'data-series="platform" data-stacked="true"' in page
    # The editor opens with the saved choices and the range of the page it was opened from.
    editor = analyst.get(f"{BASE}/{stacked}/edit?start=2026-01-05&end=2026-01-14").get_data(as_text=True)
    assert 'name="stacked" value="1" checked' in editor and 'name="start" value="2026-01-05"' in editor


def test_a_parameter_other_than_the_range_is_named(studio):
    _, clients, _, _ = studio
    response = clients[Role.ANALYST].post(
        f"{BASE}/new",
        data=form(clients[Role.ANALYST], action="preview", sql="select * from clickstream_ods_event_view where platform = :platform"),
    )

    assert response.status_code == 400 and "missing value for parameter :platform" in page_text(response)


def test_a_saved_query_that_stops_working_says_where(studio):
    app, clients, _, _ = studio
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        broken = SavedReport(
            app_id=APP_ID,
            name="Broken",
            sql="select\n  gone_column\nfrom clickstream_ods_event_view",
            chart_kind="table",
            y_columns=["gone_column"],
            created_by="a",
            updated_by="a",
        )
        session.add(broken)
        session.commit()
        broken_id = broken.id

    response = clients[Role.ANALYST_READER].get(f"{BASE}/{broken_id}/data")
    assert response.status_code == 502
    assert 'gone_column" not found' in response.get_json()["error"] and "(line 2, column 3)" in response.get_json()["error"]


def test_an_error_mark_falls_back_to_the_sent_statement():
    sent = 'SELECT "x" FROM "shop"."clickstream_event_view" WHERE ' + "a = 1 AND " * 20 + "bad_word > 1"
    column = sent.index("bad_word") + 1

    written = error_mark(QueryError("no bad_word", SqlPosition(1, column), sent), "select x from clickstream_event_view where ...")
    assert not written.in_source and written.caret.endswith("^") and written.text[len(written.caret) - 1 :].startswith("bad_word")
    # The same word in the SQL as written: the second occurrence maps to the second.
    mapped = error_mark(QueryError("?", SqlPosition(1, sent.index("a = 1 AND a") + 11), sent), "select x\nfrom t\nwhere a = 1 and a = 1")
    assert (mapped.line, mapped.column, mapped.in_source) == (3, 17, True)
    assert error_mark(QueryError("no position"), "select 1") is None


def test_every_chart_kind_is_offered():
    assert set(KIND_RULES) == set(KIND_LABELS) == set(get_args(ChartKind))


@pytest.mark.parametrize(
    ("kind", "columns", "drawn"),
    [
        ("kpi", {"x_column": "platform", "y_columns": ["events", "users"]}, 'data-x="" data-y="events,users" data-series=""'),
        (
            "line",
            {"series_column": "platform", "x_column": "day", "y_columns": ["events"]},
            'data-x="day" data-y="events" data-series="platform"',
        ),
        ("pie", {"y_columns": ["events"]}, 'data-x="platform" data-y="events" data-series=""'),
        ("heatmap", {"x_column": "day", "series_column": "platform"}, 'data-x="day" data-y="events" data-series="platform"'),
        ("sankey", {"series_column": "version"}, 'data-x="platform" data-y="events" data-series="version"'),
        ("table", {"y_columns": []}, 'data-x="" data-y="platform,version,day,events,users" data-series=""'),
    ],
)
def test_each_chart_kind_saves_the_columns_it_draws(studio, kind, columns, drawn):
    _, clients, _, _ = studio
    analyst = clients[Role.ANALYST]
    grouped = (
        "select platform, app_info_version as version, event_date as day, count(*) as events, count(distinct user_pseudo_id) as users "
        "from clickstream_ods_event_view where event_date between :start_date and :end_date group by 1, 2, 3"
    )
    saved = report_id(save(analyst, name=f"Every kind: {kind}", sql=grouped, chart_kind=kind, **columns))

    page = analyst.get(f"{BASE}/{saved}").get_data(as_text=True)
    assert f'data-kind="{kind}" {drawn}' in page


def test_in_an_apps_time_zone_the_demo_report_counts_the_zones_days(tmp_path):
    zone = "America/New_York"
    apps = [{"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"], "time_zone": zone}]
    project_file = write_studio_project(tmp_path, apps=apps)
    app = console_app(project_file)
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    reader = app.test_client()
    sign_in(reader, "reader@example.com")
    save_demo_reports(load_config(project_file), actor="demo")
    [saved] = saved_rows(app)

    body = reader.get(f"{BASE}/{saved.id}/data", query_string=RANGE).get_json()
    events = sql(tmp_path / "studio.duckdb", "select event_timestamp, platform from clickstream_ods_event_view")
    per_day = Counter(
        (datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date().isoformat(), platform) for ms, platform in events
    )
    assert body["range"]["tz"] == zone
    assert [(day, platform, count) for day, platform, count in body["charts"]["result"]["rows"]] == sorted(
        (day, platform, count) for (day, platform), count in per_day.items() if RANGE["start"] <= day <= RANGE["end"]
    )
