"""The Path explorer from clickstream_path_nodes (whole sessions) gives exactly the rows of its
event-level walk over clickstream_path_view, every chart, in UTC and in zones offset by +5:45 and
-3:30, from and to a node, by event and by screen, at every step count.

The event-level rows come from the same report on a copy of the tests' warehouse whose model rows
say every session spans far past any range: each session is then cut by the range's edge and
walked event by event (the report's walk before the model, kept for those sessions)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream_console.studio.path import REPORT
from clickstream_console.studio.results import MAX_ROWS, TIMEOUT_SECONDS
from clickstream_console.studio.selection import Selection
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.console.studio_fixture import APP_ID, build_studio_warehouse

ZONES = ("UTC", "Asia/Kathmandu", "America/St_Johns")
# The tests' range (a session over UTC's midnight into its first day), one day, and the whole fixture;
# with, per zone, ranges whose edge cuts a session (midnight_ranges).
RANGES = ((date(2026, 1, 5), date(2026, 1, 14)), (date(2026, 1, 9), date(2026, 1, 9)), (date(2025, 12, 1), date(2026, 2, 28)))
# The default node, a node most sessions have, one few have (and one only the other node type has).
NODES = (None, "_page_view", "purchase", "Home")
# Far outside any range (epoch ms): every session looks cut by the range's edges.
LONG_AGO, FAR_AHEAD = 86_400_000, 4_102_444_800_000


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> tuple[Path, Path]:
    """The tests' warehouse, and its copy where the model sends every session to the event-level walk."""
    directory = tmp_path_factory.mktemp("studio-path-model")
    modelled = build_studio_warehouse(directory / "modelled.duckdb")
    event_level = directory / "event-level.duckdb"
    shutil.copy(modelled, event_level)
    with duckdb.connect(str(event_level)) as connection:
        connection.execute(
            f"""update "{APP_ID}".clickstream_path_nodes set
                event_date = date '1970-01-02', quarter_hour_timestamp = {LONG_AGO},
                last_event_date = date '2099-12-31', last_quarter_hour_timestamp = {FAR_AHEAD}"""
        )
    return modelled, event_level


def midnight_ranges(database: Path, zone: str) -> tuple[tuple[date, date], ...]:
    """Two ranges that cut a session over one of the zone's midnights: one ending on the day it
    starts, one starting on the day it ends (the fixture's sessions lie at random times)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        (day,) = connection.execute(
            f"""select min(first_day) from (
                    select
                        cast(timezone($zone, to_timestamp(quarter_hour_timestamp / 1000)) as date) as first_day,
                        cast(timezone($zone, to_timestamp(last_quarter_hour_timestamp / 1000)) as date) as last_day
                    from "{APP_ID}".clickstream_path_nodes
                    where node_type = 'event' and node_position = 1
                ) as spans
                where first_day < last_day""",
            {"zone": zone},
        ).fetchone()
    assert day is not None, f"no session over a midnight in {zone}: nothing would be cut"
    return (day - timedelta(days=2), day), (day + timedelta(days=1), day + timedelta(days=3))


def rows(database: Path, query, selection: Selection) -> list[list[object]]:
    result = DuckDBWarehouse(lambda: database).run(
        query, selection.query_parameters(REPORT), app_id=APP_ID, timeout_seconds=TIMEOUT_SECONDS, max_rows=MAX_ROWS
    )
    return [list(row) for row in result.rows]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("node_type", ["event", "screen"])
@pytest.mark.parametrize("direction", ["from", "to"])
def test_every_chart_from_the_model_equals_the_event_level_walk(warehouses, zone, node_type, direction):
    modelled, event_level = warehouses
    journeys = 0
    for (start, end), node, steps, platform in (
        *((span, node, "5", None) for span in (*RANGES, *midnight_ranges(modelled, zone)) for node in NODES),
        *((RANGES[0], None, steps, None) for steps in ("1", "10")),
        (RANGES[0], None, "10", "Web"),
    ):
        parameters = {"node_type": node_type, "direction": direction, "steps": steps} | ({"node": node} if node else {})
        selection = Selection(start, end, zone, False, {"platform": platform} if platform else {}, parameters)
        for name, query in ((chart.name, chart.query) for chart in REPORT.charts):
            expected = rows(event_level, query, selection)
            assert rows(modelled, query, selection) == expected, (name, start, end, node, steps, platform)
            if name == "kpis":
                journeys += expected[0][0]
    # Not an empty comparison: the ranges hold journeys.
    assert journeys > 0
