"""Analytics Studio's Path explorer over HTTP, on the tests' DuckDB warehouse: the Sankey's links,
drop-offs and the table per step equal what a plain Python walk over the path view's rows
computes (an independent computation, not the report's SQL), for both node types, both
directions, a filter and a node with a quote; bad parameters name their field."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

BASE = f"/studio/{APP_ID}/path"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)
TOP_NODES = 10


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-path")
    app = console_app(write_studio_project(directory))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    rows = sql(
        directory / "studio.duckdb",
        "select user_pseudo_id, session_id, event_date, platform, event_rank, event_id, event_name, current_screen from clickstream_path_view",
    )
    return client, rows


def data(client, query: str) -> dict:
    response = client.get(f"{BASE}/data?{RANGE}&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@dataclass
class Walk:
    node: str
    # session -> its sessions' nodes in the range, in order
    sessions: dict[tuple[str, str], list[str]]
    # session -> {step: node} of its journey
    journeys: dict[tuple[str, str], dict[int, str]]
    links: Counter
    # step -> [sessions, drop_off, session_start]
    steps: dict[int, list[int]]


def walk(rows, node_type="event", node=None, direction="from", steps=5, platform=None, start=START, end=END) -> Walk:
    """The report's definition, step by step in Python."""
    events = defaultdict(list)
    for user, session, day, row_platform, rank, event_id, event_name, screen in rows:
        value = screen if node_type == "screen" else event_name
        if start <= day <= end and platform in (None, row_platform) and value is not None:
            events[(user, session)].append((rank, event_id, value))
    sessions = {key: [value for _, _, value in sorted(found)] for key, found in events.items()}
    if node is None:
        edges = Counter(nodes[-1] if direction == "to" else nodes[0] for nodes in sessions.values())
        node = min(edges, key=lambda name: (-edges[name], name))
    journeys = {}
    for key, nodes in sessions.items():
        if node not in nodes:
            continue
        at = nodes.index(node)
        if direction == "from":
            journeys[key] = {offset + 1: name for offset, name in enumerate(nodes[at : at + steps])}
        else:
            before = nodes[max(0, at - steps + 1) : at + 1]
            journeys[key] = {steps - len(before) + 1 + offset: name for offset, name in enumerate(before)}
    per_step = defaultdict(Counter)
    for journey in journeys.values():
        for step, name in journey.items():
            per_step[step][name] += 1
    top = {step: sorted(counts, key=lambda name: (-counts[name], name))[:TOP_NODES] for step, counts in per_step.items()}

    def label(step: int, name: str) -> str:
        return f"{step} · {name if name in top[step] else '(other)'}"

    links, table = Counter(), {step: [sum(counts.values()), 0, 0] for step, counts in per_step.items()}
    for journey in journeys.values():
        first, last = min(journey), max(journey)
        for step, name in journey.items():
            if step + 1 in journey:
                links[(label(step, name), label(step + 1, journey[step + 1]))] += 1
        if direction == "from" and last < steps:
            links[(label(last, journey[last]), f"{last + 1} · (drop-off)")] += 1
            table[last][1] += 1
        if direction == "to" and first > 1:
            links[(f"{first - 1} · (session start)", label(first, journey[first]))] += 1
            table[first][2] += 1
    return Walk(node, sessions, journeys, links, table)


def links_of(body: dict) -> Counter:
    chart = body["charts"]["journeys"]
    assert chart["columns"] == ["step", "source", "target", "sessions"]
    assert all(source.startswith(f"{step} · ") for step, source, _, _ in chart["rows"])
    return Counter({(source, target): sessions for _, source, target, sessions in chart["rows"]})


def steps_of(body: dict) -> dict[int, list[int]]:
    chart = body["charts"]["steps"]
    assert chart["columns"] == ["step", "top_node", "sessions", "drop_off", "drop_off_rate", "session_start"]
    for _, _, sessions, drop_off, rate, _ in chart["rows"]:
        assert rate == round(drop_off / sessions, 4)
    return {step: [sessions, drop_off, session_start] for step, _, sessions, drop_off, _, session_start in chart["rows"]}


def test_by_default_journeys_start_at_the_most_frequent_first_event(studio):
    client, rows = studio
    expected = walk(rows)
    body = data(client, "")

    assert links_of(body) == expected.links
    assert steps_of(body) == expected.steps
    assert body["charts"]["steps"]["rows"][0][1] == expected.node
    assert any(target.endswith("· (drop-off)") for _, target in expected.links), "some journeys stop short"
    [kpis] = body["charts"]["kpis"]["rows"]
    assert kpis == [len(expected.journeys), len(expected.sessions), round(len(expected.journeys) / len(expected.sessions), 4)]


def test_screen_journeys_from_a_page_group_the_rest_of_a_step_as_other(studio):
    client, rows = studio
    expected = walk(rows, node_type="screen", node="Home", steps=8)
    body = data(client, "node_type=screen&node=Home&steps=8")

    assert links_of(body) == expected.links
    assert steps_of(body) == expected.steps
    assert any("(other)" in source for source, _ in expected.links), "a step has more than ten screens in the fixture"
    assert {journey[1] for journey in expected.journeys.values()} == {"Home"}


def test_a_platform_filter_and_a_node_with_a_quote(studio):
    client, rows = studio
    expected = walk(rows, node_type="screen", node="Kid's corner", steps=3, platform="Android")
    body = client.get(
        f"{BASE}/data",
        query_string={
            "start": "2026-01-05",
            "end": "2026-01-14",
            "node_type": "screen",
            "node": "Kid's corner",
            "steps": "3",
            "f_platform": "Android",
        },
    ).get_json()

    assert expected.journeys and links_of(body) == expected.links
    assert steps_of(body) == expected.steps
    assert body["charts"]["kpis"]["rows"][0][:2] == [len(expected.journeys), len(expected.sessions)]


def test_journeys_to_an_end_node_come_from_session_starts(studio):
    client, rows = studio
    expected = walk(rows, node="purchase", direction="to", steps=4)
    body = data(client, "node=purchase&direction=to&steps=4")

    assert links_of(body) == expected.links
    assert steps_of(body) == expected.steps
    assert any(source.endswith("· (session start)") for source, _ in expected.links), "some sessions reach a purchase early"
    assert {journey[4] for journey in expected.journeys.values()} == {"purchase"}


def test_to_without_a_node_ends_at_the_most_frequent_last_screen(studio):
    client, rows = studio
    expected = walk(rows, node_type="screen", direction="to")
    body = data(client, "node_type=screen&direction=to")

    assert links_of(body) == expected.links
    assert body["charts"]["steps"]["rows"][-1][:2] == [5, expected.node]


def test_the_previous_period_has_its_own_journeys(studio):
    client, rows = studio
    now = walk(rows, node_type="screen", node="Product", steps=3)
    before = walk(rows, node_type="screen", node="Product", steps=3, start=date(2025, 12, 26), end=date(2026, 1, 4))
    body = data(client, "node_type=screen&node=Product&steps=3&compare=1")

    assert before.journeys and links_of(body) == now.links
    previous = body["charts"]["journeys"]["previous"]["rows"]
    assert Counter({(source, target): sessions for _, source, target, sessions in previous}) == before.links
    assert body["charts"]["kpis"]["previous"]["rows"][0][0] == len(before.journeys)


def test_the_csv_export_has_the_links(studio):
    client, _ = studio
    rows = data(client, "node_type=screen")["charts"]["journeys"]["rows"]
    response = client.get(f"{BASE}/journeys.csv?{RANGE}&node_type=screen")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines == [["step", "source", "target", "sessions"], *([str(value) for value in row] for row in rows)]


def test_one_step_has_no_links_but_its_sessions(studio):
    client, rows = studio
    expected = walk(rows, steps=1)
    body = data(client, "steps=1")

    assert body["charts"]["journeys"]["rows"] == []
    assert steps_of(body) == {1: [len(expected.journeys), 0, 0]}


def test_a_range_spanning_a_session_cuts_it_at_the_range(studio):
    client, rows = studio
    crossing = {session for _, session, day, *_ in rows if day == date(2026, 1, 4)} & {
        session for _, session, day, *_ in rows if day == START
    }
    assert crossing, "the fixture has a session over the midnight into the range"
    body = data(client, "node=_session_start")

    # Its session start was on the 4th: in the range it has no _session_start, so no journey.
    assert links_of(body) == walk(rows, node="_session_start").links


def test_an_empty_range_has_no_journeys(studio):
    client, _ = studio
    response = client.get(f"{BASE}/data?start=2025-06-01&end=2025-06-03")
    body = response.get_json()

    assert body["charts"]["journeys"]["rows"] == [] and body["charts"]["steps"]["rows"] == []
    assert body["charts"]["kpis"]["rows"] == [[0, 0, None]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("steps=11", "steps"),
        ("steps=0", "steps"),
        ("steps=five", "steps"),
        ("steps=2.5", "steps"),
        ("node_type=page", "node_type"),
        ("direction=back", "direction"),
        ("node=" + "x" * 300, "node"),
        ("f_event_name=purchase", "f_event_name"),
    ],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/journeys.csv"):
        response = client.get(f"{path}?{RANGE}&{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{RANGE}&{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)


def test_the_form_offers_the_parameters_choices(studio):
    client, _ = studio
    page = client.get(f"{BASE}?{RANGE}&node_type=screen&steps=7").get_data(as_text=True)

    assert '<select name="node_type"><option value="">event (default)</option>' in page and "<option selected>screen</option>" in page
    assert "<option selected>7</option>" in page and '<select name="direction">' in page
