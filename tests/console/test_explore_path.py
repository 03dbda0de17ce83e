"""Explore's path analysis (clickstream_console/explore/path.py) on the hand-made events of
explore_paths_fixture (its docstring lists them): every expected link is worked out by hand in a
comment. Sessions s1..s6 belong to users u1..u5; "sv" is _screen_view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot

from clickstream_console.explore import path
from clickstream_console.explore.filters import BadSpec
from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile
from tests.console.explore_paths_fixture import APP, create_warehouse, run

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
FRAME = {"start": "2026-01-05", "end": "2026-01-06", "tz": "UTC"}
START = {"side": "start", "node_type": "event", "node": "_session_start"}
HOME = {"side": "start", "node_type": "screen", "node": "Home"}


def ms(hour: int, minute: int, day: int = 5) -> int:
    return int(datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return create_warehouse(tmp_path_factory.mktemp("explore_path") / "w.duckdb")


def links(warehouse, app_zone: str = "UTC", **options) -> list[tuple]:
    analysis = path.build(path.parse(FRAME | options, NOW, app_zone))
    return [(source, target, paths) for _step, source, target, paths in run(warehouse, analysis.query, analysis.params)]


def detail(warehouse, **options) -> list[tuple]:
    """The detail rows, each journey's first event time as epoch ms (the query gives the local time)."""
    analysis = path.build(path.parse(FRAME | options, NOW, "UTC"))
    query, _drawing = analysis.extra["detail"]
    return [(*row[:3], ms_of(row[3]), *row[4:]) for row in run(warehouse, query, analysis.params)]


def ms_of(local_time: datetime) -> int:
    return int(local_time.replace(tzinfo=UTC).timestamp() * 1000)


def test_from_an_event_by_session(warehouse):
    # s1: start sv sv | s2: start sv | s3: start sv sv | s4: start sv sv | s5: start search sv |
    # s6: start (its Home is on 7 Jan, outside the range): it drops off at step 2.
    assert links(warehouse, anchor=START, steps=3) == [
        ("step 1: _session_start", "step 2: _screen_view", 4),
        ("step 1: _session_start", "step 2: (drop-off)", 1),
        ("step 1: _session_start", "step 2: search", 1),
        ("step 2: _screen_view", "step 3: _screen_view", 3),
        ("step 2: _screen_view", "step 3: (drop-off)", 1),
        ("step 2: search", "step 3: _screen_view", 1),
    ]


def test_merging_repeats(warehouse):
    # Merged: s1: start sv add_to_cart | s2, s3, s4: start sv (s3's four views are one) | s5: start search sv | s6: start.
    assert links(warehouse, anchor=START, steps=3, merge_repeats=True) == [
        ("step 1: _session_start", "step 2: _screen_view", 4),
        ("step 1: _session_start", "step 2: (drop-off)", 1),
        ("step 1: _session_start", "step 2: search", 1),
        ("step 2: _screen_view", "step 3: (drop-off)", 3),
        ("step 2: _screen_view", "step 3: add_to_cart", 1),
        ("step 2: search", "step 3: _screen_view", 1),
    ]


def test_top_k_puts_the_rest_of_a_step_in_other(warehouse):
    # Step 2 has sv (4 journeys) and search (1): with top 1, search is "(other)"; drop-offs are no node.
    assert links(warehouse, anchor=START, steps=3, top=1) == [
        ("step 1: _session_start", "step 2: _screen_view", 4),
        ("step 1: _session_start", "step 2: (drop-off)", 1),
        ("step 1: _session_start", "step 2: (other)", 1),
        ("step 2: _screen_view", "step 3: _screen_view", 3),
        ("step 2: (other)", "step 3: _screen_view", 1),
        ("step 2: _screen_view", "step 3: (drop-off)", 1),
    ]


def test_from_a_screen_by_session(warehouse):
    # Screens only (other events are no nodes): s1: Home Home Product Cart | s2: Home | s3: Home
    # Product (same millisecond as Home: event id c2 before c3, though c3 arrived first) Cart Home.
    # s4 and s5 never show Home.
    assert links(warehouse, anchor=HOME, steps=3) == [
        ("step 1: Home", "step 2: (drop-off)", 1),
        ("step 1: Home", "step 2: Home", 1),
        ("step 1: Home", "step 2: Product", 1),
        ("step 2: Home", "step 3: Product", 1),
        ("step 2: Product", "step 3: Cart", 1),
    ]
    # Merged, s1 is Home Product Cart like s3.
    assert links(warehouse, anchor=HOME, steps=3, merge_repeats=True) == [
        ("step 1: Home", "step 2: Product", 2),
        ("step 1: Home", "step 2: (drop-off)", 1),
        ("step 2: Product", "step 3: Cart", 2),
    ]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # u1: Home Home Product Cart | 46 minutes | Home. u2: Home Product, Cart exactly 30 minutes
        # later (the same path: only more than 30 splits), Home 31 minutes later (a new path).
        (
            30,
            [
                ("step 1: Home", "step 2: (drop-off)", 2),
                ("step 1: Home", "step 2: Home", 1),
                ("step 1: Home", "step 2: Product", 1),
                ("step 2: Home", "step 3: Product", 1),
                ("step 2: Product", "step 3: Cart", 1),
            ],
        ),
        # With 29 minutes u2's Cart starts a path of its own: Home Product drops off at step 3.
        (
            29,
            [
                ("step 1: Home", "step 2: (drop-off)", 2),
                ("step 1: Home", "step 2: Home", 1),
                ("step 1: Home", "step 2: Product", 1),
                ("step 2: Home", "step 3: Product", 1),
                ("step 2: Product", "step 3: (drop-off)", 1),
            ],
        ),
    ],
)
def test_split_by_a_gap(warehouse, minutes, expected):
    assert links(warehouse, anchor=HOME, steps=3, split_by={"kind": "gap", "minutes": minutes}) == expected


def test_to_an_end_node(warehouse):
    cart = {"side": "end", "node_type": "screen", "node": "Cart"}
    # s1: Home [Home Product Cart] | s3: [Home Product Cart] Home. s5's Cart is on 4 Jan (outside).
    assert links(warehouse, anchor=cart, steps=3) == [("step 1: Home", "step 2: Product", 2), ("step 2: Product", "step 3: Cart", 2)]
    # Four steps: s3's path begins at step 2, so it comes from "(path start)".
    assert links(warehouse, anchor=cart, steps=4) == [
        ("step 1: (path start)", "step 2: Home", 1),
        ("step 1: Home", "step 2: Home", 1),
        ("step 2: Home", "step 3: Product", 2),
        ("step 3: Product", "step 4: Cart", 2),
    ]


def test_an_end_node_is_its_last_occurrence(warehouse):
    home = {"side": "end", "node_type": "screen", "node": "Home"}
    # s1: Home [Home] (its second Home) | s2: [Home] from the path start | s3: ... [Cart Home] (its last).
    assert links(warehouse, anchor=home, steps=2) == [
        ("step 1: (path start)", "step 2: Home", 1),
        ("step 1: Cart", "step 2: Home", 1),
        ("step 1: Home", "step 2: Home", 1),
    ]


def test_the_range_is_in_the_selection_zone(warehouse):
    # 5-6 Jan in Kolkata is 4 Jan 18:30 to 6 Jan 18:30 UTC: s5's Cart (4 Jan 23:50 UTC) is in, first
    # in its path, so its journey to Cart begins at step 3.
    cart = {"side": "end", "node_type": "screen", "node": "Cart"}
    assert links(warehouse, "Asia/Kolkata", anchor=cart, steps=3, tz="Asia/Kolkata") == [
        ("step 1: Home", "step 2: Product", 2),
        ("step 2: Product", "step 3: Cart", 2),
        ("step 2: (path start)", "step 3: Cart", 1),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # Web: s1, s2, s3 and s6 (which drops off).
        (
            [{"property": "platform", "operator": "eq", "value": "Web"}],
            [("step 1: _session_start", "step 2: _screen_view", 3), ("step 1: _session_start", "step 2: (drop-off)", 1)],
        ),
        # Gold users: u2 (s3).
        ([{"property": "user.tier", "operator": "eq", "value": "gold"}], [("step 1: _session_start", "step 2: _screen_view", 1)]),
        # Without a search term: s5's search is left out, its Product view follows the start.
        (
            [{"property": "event.term", "operator": "is_not_set"}],
            [("step 1: _session_start", "step 2: _screen_view", 5), ("step 1: _session_start", "step 2: (drop-off)", 1)],
        ),
    ],
)
def test_global_filters_select_the_events_of_the_paths(warehouse, filters, expected):
    assert links(warehouse, anchor=START, steps=2, filters=filters) == expected


def test_node_detail_lists_the_users_and_paths_behind_a_node(warehouse):
    # Every journey, earliest first; u3 has no user_id; s6 starts in the range's last hour.
    assert detail(warehouse, anchor=START, steps=2, detail={"step": 1, "node": "_session_start"}) == [
        ("u1", "id-1", "s1", ms(0, 0), 6),
        ("u2", "id-2", "s3", ms(0, 10), 6),
        ("u3", None, "s4", ms(0, 20), 6),
        ("u4", "id-4", "s5", ms(0, 30), 6),
        ("u1", "id-1", "s2", ms(0, 50), 6),
        ("u5", "id-5", "s6", ms(23, 30, day=6), 6),
    ]
    # s2 drops off after its Home; the detail gives when its journey began (its Home at 00:51).
    assert detail(warehouse, anchor=HOME, steps=3, detail={"step": 2, "node": "(drop-off)"}) == [("u1", "id-1", "s2", ms(0, 51), 1)]
    # With top 1, step 2's "(other)" is s5's search.
    assert detail(warehouse, anchor=START, steps=3, top=1, detail={"step": 2, "node": "(other)"}) == [("u4", "id-4", "s5", ms(0, 30), 1)]
    # Split by a gap, the path is the user's n-th in the range: u2's first walks Home -> Product.
    gap = {"kind": "gap", "minutes": 30}
    assert detail(warehouse, anchor=HOME, steps=3, split_by=gap, detail={"step": 2, "node": "Product"}) == [
        ("u2", "id-2", "1", ms(0, 11), 1)
    ]
    end_home = {"side": "end", "node_type": "screen", "node": "Home"}
    assert detail(warehouse, anchor=end_home, steps=2, detail={"step": 1, "node": "(path start)"}) == [("u1", "id-1", "s2", ms(0, 51), 1)]
    assert detail(warehouse, anchor=START, steps=2, detail={"step": 2, "node": "nowhere"}) == []


def test_node_detail_shows_when_each_journey_began_on_the_analysis_clock(warehouse):
    # s1 began at 00:00 UTC on 5 January: 05:30 in Kolkata, shown as such (not as epoch ms).
    spec = path.parse(
        FRAME | {"anchor": START, "steps": 2, "tz": "Asia/Kolkata", "detail": {"step": 1, "node": "_session_start"}}, NOW, "Asia/Kolkata"
    )
    analysis = path.build(spec)
    query, _drawing = analysis.extra["detail"]
    first = run(warehouse, query, analysis.params)[0]
    assert first[:4] == ("u1", "id-1", "s1", datetime(2026, 1, 5, 5, 30))


def test_node_detail_keeps_the_earliest_journeys_and_counts_them_all(warehouse, monkeypatch):
    monkeypatch.setattr(path, "DETAIL_ROWS", 2)
    assert detail(warehouse, anchor=START, steps=2, detail={"step": 1, "node": "_session_start"}) == [
        ("u1", "id-1", "s1", ms(0, 0), 6),
        ("u2", "id-2", "s3", ms(0, 10), 6),
    ]


def test_the_detail_query_is_only_built_when_asked():
    assert path.build(path.parse(FRAME | {"anchor": START}, NOW, "UTC")).extra == {}


def test_a_saved_path_reopens_the_same():
    spec = path.parse(
        FRAME | {"anchor": HOME, "steps": 4, "split_by": {"kind": "gap", "minutes": 45}, "merge_repeats": True, "top": 3, "filters": []},
        NOW,
        "UTC",
    )
    assert path.parse(spec.to_json(), NOW, "UTC") == spec


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"anchor": "Home"}, "anchor"),
        ({"anchor": START | {"node": 3}}, "anchor.node"),
        ({"anchor": START | {"node": " "}}, "anchor.node"),
        ({"anchor": START | {"side": "middle"}}, "anchor.side"),
        ({"anchor": START | {"node_type": "page"}}, "anchor.node_type"),
        ({"anchor": START | {"colour": "red"}}, "anchor"),
        ({"anchor": START, "steps": 0}, "steps"),
        ({"anchor": START, "steps": 11}, "steps"),
        ({"anchor": START, "steps": "5"}, "steps"),
        ({"anchor": START, "steps": True}, "steps"),
        ({"anchor": START, "split_by": "session"}, "split_by"),
        ({"anchor": START, "split_by": {"kind": "hour"}}, "split_by.kind"),
        ({"anchor": START, "split_by": {"kind": "gap", "minutes": 0}}, "split_by.minutes"),
        ({"anchor": START, "split_by": {"kind": "gap", "minutes": 1441}}, "split_by.minutes"),
        ({"anchor": START, "split_by": {"kind": "gap", "minutes": 2.5}}, "split_by.minutes"),
        ({"anchor": START, "split_by": {"kind": "session", "minutes": 5}}, "split_by"),
        ({"anchor": START, "merge_repeats": "yes"}, "merge_repeats"),
        ({"anchor": START, "top": 0}, "top"),
        ({"anchor": START, "top": 51}, "top"),
        ({"anchor": START, "breakdown": {"property": "platform"}}, "breakdown"),
        ({"anchor": START, "colour": "red"}, "colour"),
        ({"anchor": START, "detail": {"step": 0, "node": "x"}}, "detail.step"),
        ({"anchor": START, "detail": {"step": 1, "node": ""}}, "detail.node"),
        ({"anchor": START, "detail": {"step": 1, "node": "x", "user": "u1"}}, "detail"),
        ({"anchor": START, "filters": [{"property": "platform", "operator": "like", "value": "W"}]}, "filters[0].operator"),
        ({"anchor": START, "range": "last3"}, "range"),
    ],
)
def test_bad_paths_name_the_field(data, field):
    with pytest.raises(BadSpec) as caught:
        path.parse(data, NOW, "UTC")
    assert caught.value.field == field


def test_a_detail_past_the_last_step_is_refused():
    with pytest.raises(BadSpec) as caught:
        path.build(path.parse(FRAME | {"anchor": START, "steps": 3, "detail": {"step": 4, "node": "x"}}, NOW, "UTC"))
    assert caught.value.field == "detail.step"


FILTERS = [
    {"property": "geo_country", "operator": "neq", "value": "France"},
    {"property": "event.term", "operator": "contains", "value": "sho"},
    {"property": "user.tier", "operator": "in", "values": ["gold", "silver"]},
]


@pytest.mark.parametrize("dialect", ["redshift", "athena"])
@pytest.mark.parametrize(
    "options",
    [
        {"anchor": START, "detail": {"step": 2, "node": "(drop-off)"}},
        {
            "anchor": HOME | {"side": "end"},
            "split_by": {"kind": "gap", "minutes": 30},
            "merge_repeats": True,
            "detail": {"step": 1, "node": "Home"},
        },
    ],
)
def test_the_path_sql_is_written_for_the_cloud_warehouses(dialect, options):
    analysis = path.build(path.parse(FRAME | options | {"filters": FILTERS}, NOW, "UTC"))
    for query, _drawing in [(analysis.query, analysis.drawing), *analysis.extra.values()]:
        written = transpile(query, dialect, app_id=APP)
        # What the driver sends parses in the warehouse's dialect (placeholders as the driver's).
        sqlglot.parse_one(
            written.sql.replace("%(", "__").replace(")s", "__") if dialect == "athena" else written.sql, read=SQLGLOT_DIALECT[dialect]
        )
        assert set(written.parameter_names) <= set(analysis.params)
