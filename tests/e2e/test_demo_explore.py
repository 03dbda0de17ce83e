"""Issue 15's "done when": in the demo a newcomer builds, saves and reopens each analysis type on
the demo's data, and sees the event catalogue of every demo app with its descriptions. In headless
Chromium against `clickstream console` on the demo's published snapshot: the administrator adds an
Analyst and an Analyst Reader on the Users page; the Analyst builds each analysis through the form
(event names typed into its event fields, which suggest the app's events by display name, an
option or two set), runs, saves and reopens it; the Reader opens the saved analyses read only. Every number on screen equals what this module
computes from the snapshot's views (SQL here, and the funnel, path and retention rules worked
through in Python on the events it selects), and no page logs an error."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import duckdb
import pytest
import requests

from clickstream_console.catalogue.seed import DEMO_DOCUMENTATION
from clickstream_project.config import load_config
from clickstream_project.published_warehouse import current
from tests.console.console_browser import BrowserRun, browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps

pytestmark = [pytest.mark.e2e]

ANALYST = "new.analyst@example.com"
READER = "new.reader@example.com"
NEWCOMER_PASSWORD = "a newcomer's first password"
READY = "[data-testid=report][data-state=ready]"
RESULT = "[data-testid=chart-result]"
LIST_EVENT = "[data-field={field}] [data-event]:nth-child({number}) input[data-path=event]"
ONE_EVENT = "[data-field={field}] input[data-path=event]"

# What the newcomer builds, per type: the events and options they choose in the form, and the
# result column the main chart's table shows the numbers of.
EVENT_EVENTS = ("view_item", "add_to_cart")
EVENT_BREAKDOWN = "device_system_language"
# Fewer than the demo's languages, whatever the hour it runs (a 1-day demo in the last 7 days can have
# only two): the rest are "(other)".
EVENT_TOP = 1
FUNNEL_STEPS = ("_session_start", "view_item", "add_to_cart")
FUNNEL_WINDOW_HOURS = 1
PATH_START = "_session_start"
PATH_STEPS = 4
RETENTION_START, RETENTION_RETURN = "_session_start", "view_item"
RETENTION_PERIODS = 3
NUMBER_COLUMN = {"event": "value", "funnel": "count", "path": "paths", "retention": "retained_users"}
KINDS = tuple(NUMBER_COLUMN)


def _build_steps(kind: str) -> list[dict[str, Any]]:
    """A person filling the builder of ``kind``: event names into its event fields, and an option or two."""
    if kind == "event":
        return [
            {"fill": LIST_EVENT.format(field="events", number=1), "value": EVENT_EVENTS[0]},
            {"click": "[data-action=add-events]"},
            {"fill": LIST_EVENT.format(field="events", number=2), "value": EVENT_EVENTS[1]},
            {"select": "[data-path=display]", "value": "total"},
            {"fill": '[data-path="breakdown.property"]', "value": EVENT_BREAKDOWN},
            {"fill": '[data-path="breakdown.top"]', "value": str(EVENT_TOP)},
        ]
    if kind == "funnel":
        return [
            {"fill": LIST_EVENT.format(field="steps", number=1), "value": FUNNEL_STEPS[0]},
            {"fill": LIST_EVENT.format(field="steps", number=2), "value": FUNNEL_STEPS[1]},
            {"click": "[data-action=add-steps]"},
            {"fill": LIST_EVENT.format(field="steps", number=3), "value": FUNNEL_STEPS[2]},
            {"fill": '[data-path="window.value"]', "value": str(FUNNEL_WINDOW_HOURS)},
            {"select": '[data-path="window.unit"]', "value": "hour"},
        ]
    if kind == "path":
        return [
            {"select": '[data-path="anchor.side"]', "value": "start"},
            {"fill": '[data-path="anchor.node"]', "value": PATH_START},
            {"fill": "[data-path=steps]", "value": str(PATH_STEPS)},
            # Every node shown: no "(other)" to work out.
            {"fill": "[data-path=top]", "value": "50"},
        ]
    return [
        {"fill": ONE_EVENT.format(field="start_event"), "value": RETENTION_START},
        {"fill": ONE_EVENT.format(field="return_event"), "value": RETENTION_RETURN},
        {"select": "[data-path=period]", "value": "day"},
        {"fill": "[data-path=periods]", "value": str(RETENTION_PERIODS)},
    ]


def _chosen(kind: str) -> dict[str, Any]:
    """The part of the analysis' spec the form steps above chose."""
    events = lambda names: [{"event": name, "filters": []} for name in names]  # noqa: E731
    return {
        "event": {"events": events(EVENT_EVENTS), "display": "total", "breakdown": {"property": EVENT_BREAKDOWN, "top": EVENT_TOP}},
        "funnel": {"steps": events(FUNNEL_STEPS), "window": {"value": FUNNEL_WINDOW_HOURS, "unit": "hour"}},
        "path": {"anchor": {"side": "start", "node_type": "event", "node": PATH_START}, "steps": PATH_STEPS, "top": 50},
        "retention": {
            "start_event": {"event": RETENTION_START, "filters": []},
            "return_event": {"event": RETENTION_RETURN, "filters": []},
            "period": "day",
            "periods": RETENTION_PERIODS,
        },
    }[kind]


def _name(kind: str) -> str:
    return f"Newcomer's {kind} analysis"


def _shown(run: BrowserRun, key: str) -> dict[str, Any]:
    """What a page showed of its analysis: its data (fetched from the page's own data URL) and the
    numbers its main result's table view displayed."""
    fetched = run.fetches[f"{key}/data"]
    assert fetched["status"] == 200, (key, fetched["body"][:500])
    return {"data": json.loads(fetched["body"]), "table": [float(text.replace(",", "")) for text in run.captures[f"{key}/numbers"]]}


def _look_steps(key: str, kind: str) -> list[dict[str, Any]]:
    return [
        {"waitFor": READY},
        {"fetch": f"{key}/data", "from": "[data-testid=report]", "attribute": "data-data-url"},
        {"click": f"{RESULT} [data-action=table]"},
        {"capture": f"{key}/numbers", "selector": f"{RESULT} td[data-column={NUMBER_COLUMN[kind]}]"},
    ]


def _analyst_steps(app_ids: list[str]) -> list[dict[str, Any]]:
    steps = []
    for app_id in app_ids:
        for kind in KINDS:
            built, reopened = f"{app_id}/{kind}/built", f"{app_id}/{kind}/reopened"
            steps += [
                {"goto": f"/explore/{app_id}/new/{kind}"},
                {"capture": f"{built}/suggested", "selector": f"#explore-events-{kind} option", "attribute": "value"},
                {"capture": f"{built}/suggested-labels", "selector": f"#explore-events-{kind} option"},
                *_build_steps(kind),
                {"click": "[data-testid=run-analysis]", "navigate": True},
                *_look_steps(built, kind),
                {"capture": f"{built}/labels", "selector": f"{RESULT} td[data-column=label]"},
                {"click": f"{RESULT} [data-action=table]"},  # back to the chart for the picture
                {"screenshot": f"demo-explore-{app_id}-{kind}"},
                {"click": "[data-testid=show-sql] summary"},
                {"capture": f"{built}/sql", "selector": "[data-testid=sql-result]"},
                {"fetch": f"{built}/csv", "from": f"{RESULT} a[download]", "attribute": "href"},
                {"fill": "[data-testid=save-name]", "value": _name(kind)},
                {"click": "[data-testid=save-analysis]", "navigate": True},
                {"url": f"{app_id}/{kind}/saved"},
                {"waitFor": READY},
                {"goto": "/explore"},
                {"click": f'[data-testid=saved-analyses-{app_id}] tr[data-name="{_name(kind)}"] a', "navigate": True},
                *_look_steps(reopened, kind),
                {"capture": f"{reopened}/spec", "selector": "[data-role=spec]"},
                {"capture": f"{reopened}/events", "selector": "[data-testid=analysis-form] input[data-path=event]", "property": "value"},
                {"fetch": f"{reopened}/csv", "from": f"{RESULT} a[download]", "attribute": "href"},
            ]
        steps += [
            {"goto": f"/studio/{app_id}/catalogue"},
            {"capture": f"{app_id}/catalogue/names", "selector": "[data-testid=catalogue-events] tbody tr", "attribute": "data-name"},
            {"capture": f"{app_id}/catalogue/descriptions", "selector": "[data-testid=catalogue-events] td[data-column=description]"},
            {"capture": f"{app_id}/catalogue/events", "selector": "[data-testid=catalogue-events] td[data-column=events_30d]"},
            {"capture": f"{app_id}/catalogue/users", "selector": "[data-testid=catalogue-events] td[data-column=users_30d]"},
            {"screenshot": f"demo-catalogue-{app_id}"},
        ]
    return steps


def _reader_steps(app_ids: list[str]) -> list[dict[str, Any]]:
    steps = [{"goto": "/explore"}, {"capture": "new-links", "selector": "[data-testid^=new-]"}]
    for app_id in app_ids:
        for kind in KINDS:
            key = f"{app_id}/{kind}/reader"
            steps += [
                {"goto": "/explore"},
                {"click": f'[data-testid=saved-analyses-{app_id}] tr[data-name="{_name(kind)}"] a', "navigate": True},
                *_look_steps(key, kind),
                {
                    "capture": f"{key}/writes",
                    "selector": "[data-testid=run-analysis], [data-testid=save-form], [data-testid=delete-analysis]",
                },
                {"capture": f"{key}/disabled", "selector": "[data-testid=analysis-form] [data-path]", "property": "disabled"},
            ]
        steps += [
            {"goto": f"/studio/{app_id}/catalogue"},
            {"capture": f"{app_id}/reader/catalogue", "selector": "[data-testid=catalogue-events] tbody tr", "attribute": "data-name"},
        ]
    # The builder itself is refused: building needs Analyzes (403, logged by the browser).
    return [*steps, {"goto": f"/explore/{app_ids[0]}/new/event"}, {"capture": "refused", "selector": "[data-testid=error] h1"}]


def _add_user_steps(email: str, role: str) -> list[dict[str, Any]]:
    """The administrator adds ``email`` with ``role`` and a password on System → Users."""
    return [
        {"goto": "/system/users"},
        {"fill": "[data-testid=add-user] input[name=email]", "value": email},
        {"check": f'[data-testid=add-user] input[name=roles][value="{role}"]'},
        {"fill": "[data-testid=add-user] input[name=password]", "value": NEWCOMER_PASSWORD},
        {"click": "[data-testid=add-user] button[type=submit]", "navigate": True},
    ]


def test_a_newcomer_builds_saves_and_reopens_each_analysis_and_reads_the_catalogue(demo_copy, tmp_path):
    project_file = demo_copy.project_file
    config = load_config(project_file)
    app_ids = list(config.app_ids)
    admin_password = demo_copy.admin_password
    shots = screenshot_dir(tmp_path)

    with running_console(project_file, tmp_path / "console.log") as url:
        analyst = browse(
            url,
            [
                *local_sign_in_steps("admin@example.com", admin_password),
                *_add_user_steps(ANALYST, "Analyst"),
                *_add_user_steps(READER, "Analyst Reader"),
                {"goto": "/system/users"},
                {"capture": "users", "selector": "[data-testid=user-row]", "attribute": "data-email"},
                *sign_out_steps(),
                *local_sign_in_steps(ANALYST, NEWCOMER_PASSWORD),
                *_analyst_steps(app_ids),
            ],
            shots,
        )
        analyst.assert_clean()
        reader = browse(url, [*local_sign_in_steps(READER, NEWCOMER_PASSWORD), *_reader_steps(app_ids)], shots)
        reader.assert_clean(expected_statuses=(403,))
        refused_writes, still_saved = _reader_writes(url, app_ids[0], analyst)

    assert {ANALYST, READER} <= set(analyst.captures["users"])
    snapshot = current(config.duckdb_path).path(config.duckdb_path)
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        for app_id in app_ids:
            connection.execute(f"set search_path = '{app_id}'")
            expected = _expected(connection)
            for kind in KINDS:
                _check_analysis(connection, analyst, reader, app_id, kind, expected[kind])
            _check_catalogue(connection, analyst, reader, app_id)

    assert reader.captures["new-links"] == []
    assert reader.captures["refused"] == ["403 · Forbidden"]
    assert refused_writes == {"save": 403, "delete": 403}
    assert set(still_saved) >= {_name(kind) for kind in KINDS}


def _check_analysis(connection, analyst: BrowserRun, reader: BrowserRun, app_id: str, kind: str, expected: list[tuple]) -> None:
    built = _shown(analyst, f"{app_id}/{kind}/built")
    spec = built["data"]["spec"]
    assert {key: spec[key] for key in _chosen(kind)} == _chosen(kind), (app_id, kind, spec)
    assert spec["range"] == "last7"
    assert expected, f"the demo gives {app_id}'s {kind} analysis no rows: the test would prove nothing"
    assert _rows(kind, built["data"]["charts"]["result"]) == expected, (app_id, kind)
    # The table view shows the result's rows as they came.
    chart = built["data"]["charts"]["result"]
    assert built["table"] == [float(row[chart["columns"].index(NUMBER_COLUMN[kind])]) for row in chart["rows"]], (app_id, kind)

    # The event fields suggest the app's events (its catalogue), with the demo's display names;
    # the funnel's steps show by display name.
    events = [name for (name,) in connection.execute("select event_name from clickstream_catalogue_events order by event_name").fetchall()]
    assert analyst.captures[f"{app_id}/{kind}/built/suggested"] == events, (app_id, kind)
    documented = {name: documentation.display_name for name, documentation in DEMO_DOCUMENTATION.items()}
    assert analyst.captures[f"{app_id}/{kind}/built/suggested-labels"] == [documented.get(name, "") for name in events]
    if kind == "funnel":
        labels = [f"{number}. {documented.get(name, name)}" for number, name in enumerate(FUNNEL_STEPS, start=1)]
        assert analyst.captures[f"{app_id}/{kind}/built/labels"] == labels, app_id

    sql = analyst.captures[f"{app_id}/{kind}/built/sql"]
    assert len(sql) == 1 and f'"{app_id}".' in sql[0] and "clickstream_" in sql[0], sql
    for key in (f"{app_id}/{kind}/built", f"{app_id}/{kind}/reopened"):
        download = analyst.fetches[f"{key}/csv"]
        assert download["status"] == 200 and download["headers"]["content-type"].startswith("text/csv"), download
        assert "attachment" in download["headers"]["content-disposition"]
        table = list(csv.reader(io.StringIO(download["body"])))
        assert table[0] == built["data"]["charts"]["result"]["columns"], (key, table[0])
        assert len(table) == 1 + len(built["data"]["charts"]["result"]["rows"]), key

    # Reopened from the saved list: the same analysis, the same numbers, the form filled from it.
    assert f"/explore/{app_id}/saved/" in analyst.urls[f"{app_id}/{kind}/saved"]
    reopened = _shown(analyst, f"{app_id}/{kind}/reopened")
    assert reopened["data"]["spec"] == spec and json.loads(analyst.captures[f"{app_id}/{kind}/reopened/spec"][0]) == spec
    assert reopened["data"]["charts"] == built["data"]["charts"] and reopened["table"] == built["table"], (app_id, kind)
    assert analyst.captures[f"{app_id}/{kind}/reopened/events"] == _event_inputs(kind)

    # The Reader sees the same numbers, and nothing to run, save or delete with.
    shown = _shown(reader, f"{app_id}/{kind}/reader")
    assert shown["data"]["charts"] == built["data"]["charts"] and shown["table"] == built["table"], (app_id, kind)
    assert reader.captures[f"{app_id}/{kind}/reader/writes"] == []
    disabled = reader.captures[f"{app_id}/{kind}/reader/disabled"]
    assert disabled and all(disabled), (app_id, kind, disabled)


def _event_inputs(kind: str) -> list[str]:
    return {
        "event": list(EVENT_EVENTS),
        "funnel": list(FUNNEL_STEPS),
        "path": [],
        "retention": [RETENTION_START, RETENTION_RETURN],
    }[kind]


def _rows(kind: str, chart: dict[str, Any]) -> list[tuple]:
    """The main result's rows as the reference gives them: each row's key columns, then its number."""
    keys = {
        "event": ("event", "breakdown", "value"),
        "funnel": ("step", "event", "count"),
        "path": ("step", "source", "target", "paths"),
        "retention": ("cohort", "k", "cohort_users", "retained_users"),
    }[kind]
    index = [chart["columns"].index(key) for key in keys]
    rows = [tuple(row[i] for i in index) for row in chart["rows"]]
    return sorted(rows, key=repr) if kind in ("event", "path") else rows


# ---- the reference: the demo's numbers from the snapshot's views ----------------------------


def _expected(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Each analysis' rows, for the default range (the last 7 days; the demo's apps are in UTC)."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=6)
    return {
        "event": _event_rows(connection, first, today),
        "funnel": _funnel_rows(connection, first, today),
        "path": _path_rows(connection, first, today),
        "retention": _retention_rows(connection, first, today),
    }


def _event_rows(connection, first: date, last: date) -> list[tuple]:
    """Events per event and language: the EVENT_TOP languages by events (ties by name), the others
    as "(other)", events without one as "(none)"."""
    events = connection.execute(
        f"select event_name, coalesce(cast({EVENT_BREAKDOWN} as varchar), '(none)') from clickstream_ods_event_view"
        " where event_date between ? and ? and event_name in (?, ?)",
        [first, last, *EVENT_EVENTS],
    ).fetchall()
    weights = Counter(value for _, value in events)
    top = sorted(weights, key=lambda value: (-weights[value], value))[:EVENT_TOP]
    assert len(weights) > EVENT_TOP, "the demo's events have too few languages for an (other)"
    counts = Counter((name, value if value in top else "(other)") for name, value in events)
    return sorted(((*key, count) for key, count in counts.items()), key=repr)


def _funnel_rows(connection, first: date, last: date) -> list[tuple]:
    """Per user, the furthest step of any attempt: from a step-1 event, each next step the earliest
    matching event at or after the previous step, all within the window of step 1."""
    window_ms = FUNNEL_WINDOW_HOURS * 3_600_000
    events: dict[str, list[tuple]] = defaultdict(list)
    for user, timestamp, event_id, name in connection.execute(
        "select user_pseudo_id, event_timestamp, event_id, event_name from clickstream_ods_event_view"
        " where event_date between ? and ? and event_name in (?, ?, ?)",
        [first, last, *FUNNEL_STEPS],
    ).fetchall():
        events[user].append((timestamp, event_id, name))
    reached = []
    for timeline in events.values():
        timeline.sort()
        furthest = 0
        for start, _, name in timeline:
            if name != FUNNEL_STEPS[0]:
                continue
            done, previous = 1, start
            for step in FUNNEL_STEPS[1:]:
                found = next((ts for ts, _, other in timeline if other == step and previous <= ts <= start + window_ms), None)
                if found is None:
                    break
                done, previous = done + 1, found
            furthest = max(furthest, done)
        if furthest:
            reached.append(furthest)
    return [(step, name, sum(1 for value in reached if value >= step)) for step, name in enumerate(FUNNEL_STEPS, start=1)]


def _path_rows(connection, first: date, last: date) -> list[tuple]:
    """Per session, from its first PATH_START the next nodes up to PATH_STEPS; a journey that ends
    short of them goes to "(drop-off)"."""
    sessions: dict[tuple, list[tuple]] = defaultdict(list)
    for user, session, timestamp, event_id, name in connection.execute(
        "select user_pseudo_id, session_id, event_timestamp, event_id, event_name from clickstream_path_view"
        " where event_date between ? and ? and event_name is not null",
        [first, last],
    ).fetchall():
        sessions[user, session].append((timestamp, event_id, name))
    links: Counter = Counter()
    for timeline in sessions.values():
        nodes = [name for _, _, name in sorted(timeline)]
        if PATH_START not in nodes:
            continue
        journey = nodes[nodes.index(PATH_START) :][:PATH_STEPS]
        for step, (source, target) in enumerate(pairwise(journey), start=1):
            links[step, f"step {step}: {source}", f"step {step + 1}: {target}"] += 1
        if len(journey) < PATH_STEPS:
            links[len(journey), f"step {len(journey)}: {journey[-1]}", f"step {len(journey) + 1}: (drop-off)"] += 1
    return sorted(((*key, count) for key, count in links.items()), key=repr)


def _retention_rows(connection, first: date, last: date) -> list[tuple]:
    """Cohorts by the day of a user's first start event; period k counts the users who did the
    return event on the k-th day after (k = 0: the cohort), for the periods the range has reached."""
    cohorts: dict[date, set[str]] = defaultdict(set)
    for user, day in connection.execute(
        "select user_pseudo_id, arg_min(event_date, (event_timestamp, event_id)) from clickstream_ods_event_view"
        " where event_date between ? and ? and event_name = ? group by 1",
        [first, last, RETENTION_START],
    ).fetchall():
        cohorts[day].add(user)
    returns = set(
        connection.execute(
            "select distinct user_pseudo_id, event_date from clickstream_ods_event_view where event_date between ? and ? and event_name = ?",
            [first, last, RETENTION_RETURN],
        ).fetchall()
    )
    rows = []
    for day, users in sorted(cohorts.items()):
        for k in range(min(RETENTION_PERIODS, (last - day).days) + 1):
            retained = len(users) if k == 0 else sum(1 for user in users if (user, day + timedelta(days=k)) in returns)
            rows.append((day.isoformat(), k, len(users), retained))
    return rows


# ---- the catalogue ---------------------------------------------------------------------------


def _check_catalogue(connection, analyst: BrowserRun, reader: BrowserRun, app_id: str) -> None:
    names = analyst.captures[f"{app_id}/catalogue/names"]
    descriptions = dict(zip(names, analyst.captures[f"{app_id}/catalogue/descriptions"], strict=True))
    counts = {
        name: (int(events.replace(",", "")), int(users.replace(",", "")))
        for name, events, users in zip(
            names, analyst.captures[f"{app_id}/catalogue/events"], analyst.captures[f"{app_id}/catalogue/users"], strict=True
        )
    }
    # The last 30 days up to the app's newest event date, from the events themselves.
    expected = {
        name: (events, users)
        for name, events, users in connection.execute(
            "select event_name, count(*), count(distinct user_pseudo_id) from clickstream_ods_event_view"
            " where event_date > (select max(event_date) from clickstream_ods_event_view) - 30 group by 1"
        ).fetchall()
    }
    assert counts == expected, app_id
    for name in ("_session_start", "view_item", "add_to_cart"):
        assert descriptions[name] == DEMO_DOCUMENTATION[name].description, (app_id, name)
    assert all(descriptions[name] == DEMO_DOCUMENTATION[name].description for name in names if name in DEMO_DOCUMENTATION)
    assert reader.captures[f"{app_id}/reader/catalogue"] == names


# ---- the Reader's refused writes ---------------------------------------------------------------


def _reader_writes(url: str, app_id: str, analyst: BrowserRun) -> tuple[dict[str, int], list[str]]:
    """The Reader's POSTs to save a new analysis and to delete the saved event analysis, with a
    valid session and CSRF token as a page's form would send them: the status codes answered, and
    the analyses the Explore page lists for ``app_id`` afterwards."""
    session = requests.Session()
    token = _csrf_token(session.get(f"{url}/login", timeout=30).text)
    form = {"csrf_token": token, "email": READER, "password": NEWCOMER_PASSWORD, "next": "/explore"}
    signed_in = session.post(f"{url}/login", data=form, timeout=30)
    assert signed_in.status_code == 200 and f"saved-analyses-{app_id}" in signed_in.text, signed_in.text[:500]
    token = _csrf_token(signed_in.text)
    saved = analyst.urls[f"{app_id}/event/saved"].split("/saved/")[1]
    spec = json.dumps({"range": "last7", "events": [{"event": EVENT_EVENTS[0]}]})
    save = session.post(f"{url}/explore/{app_id}/saved", data={"csrf_token": token, "kind": "event", "spec": spec, "name": "x"}, timeout=30)
    delete = session.post(f"{url}/explore/{app_id}/saved/{saved}/delete", data={"csrf_token": token}, timeout=30)
    listed = re.findall(r'<tr data-name="([^"]+)"', session.get(f"{url}/explore", timeout=30).text)
    return {"save": save.status_code, "delete": delete.status_code}, [html.unescape(name) for name in listed]


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)
