"""The funnel (clickstream_console/explore/funnel.py) on small hand-made data sets: every expected
number below is counted by hand from the events listed beside it, following the rules of the
module's docstring. The SQL runs through the query layer on DuckDB and is written for Redshift and
Athena."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlglot
from explore_fixture import APP, Event, rows, warehouse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream_console.explore import event, funnel
from clickstream_console.explore.filters import BadSpec
from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
RANGE = {"start": "2026-01-05", "end": "2026-01-06", "tz": "UTC"}
VIEW_CART_PURCHASE = [{"event": "view"}, {"event": "cart"}, {"event": "purchase"}]
HOUR = {"value": 1, "unit": "hour"}


def run_funnel(events: list[Event], **data) -> list[tuple]:
    # The app's zone is the one asked for (a selection offers the app's zone and UTC).
    spec = funnel.parse(RANGE | data, NOW, data.get("tz", "UTC"))
    return rows(warehouse(events), funnel.build(spec))


def counts(events: list[Event], **data) -> list[int]:
    return [row[3] for row in run_funnel(events, **data)]


# u1 does the three steps; u2 two, with a scroll between; u3 only views; u4 (no user_id) views,
# purchases, then adds to cart; u5 adds to cart before viewing.
SHOP = [
    Event("a1", "view", "2026-01-05T10:00:00", "u1", user_id="ana"),
    Event("a2", "cart", "2026-01-05T10:10:00", "u1", user_id="ana"),
    Event("a3", "purchase", "2026-01-05T10:30:00", "u1", user_id="ana"),
    Event("b1", "view", "2026-01-05T10:00:00", "u2", user_id="bob"),
    Event("b2", "scroll", "2026-01-05T10:05:00", "u2", user_id="bob"),
    Event("b3", "cart", "2026-01-05T10:20:00", "u2", user_id="bob"),
    Event("c1", "view", "2026-01-05T10:00:00", "u3", user_id="cy"),
    Event("d1", "view", "2026-01-05T11:00:00", "u4"),
    Event("d2", "purchase", "2026-01-05T11:05:00", "u4"),
    Event("d3", "cart", "2026-01-05T11:10:00", "u4"),
    Event("e1", "cart", "2026-01-05T09:00:00", "u5", user_id="eve"),
    Event("e2", "view", "2026-01-05T10:00:00", "u5", user_id="eve"),
]


def test_ordered_steps_conversion_dropoff_and_median_times():
    # Step 1: u1..u5 = 5. Step 2: u1 (600 s), u2 (1200 s), u4 (600 s) = 3; u5's cart came before its
    # view. Step 3: u1 (1200 s after its cart); u4's purchase was before its cart. Medians: 600, 1200.
    assert run_funnel(SHOP, steps=VIEW_CART_PURCHASE, window=HOUR) == [
        (1, "view", None, 5, 100.0, None, None, None, "1. view"),
        (2, "cart", None, 3, 60.0, 60.0, 2, 600.0, "2. cart"),
        (3, "purchase", None, 1, 20.0, pytest.approx(100 / 3), 2, 1200.0, "3. purchase"),
    ]


def test_any_order_lets_later_steps_come_in_either_order():
    # u4's purchase (11:05) and cart (11:10) are both within the hour: it reaches step 3, done when
    # the last of them is (11:10, 0 s after its cart). u5's cart is before its view: still 1.
    result = run_funnel(SHOP, steps=VIEW_CART_PURCHASE, window=HOUR, order="any")
    assert [row[3] for row in result] == [5, 3, 2]
    # Step 3 times: u1 1200 s, u4 0 s: median 600.
    assert result[2][7] == 600.0


def test_strict_order_allows_no_other_event_between_steps():
    # u2 scrolled between view and cart; u4 purchased between view and cart: only u1 goes on.
    assert counts(SHOP, steps=VIEW_CART_PURCHASE, window=HOUR, order="strict") == [5, 1, 1]


def test_strict_order_ignores_events_in_the_same_millisecond_as_a_step():
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("a2", "scroll", "2026-01-05T10:00:00", "u1"),
        Event("a3", "cart", "2026-01-05T10:00:01", "u1"),
        Event("a4", "scroll", "2026-01-05T10:00:01", "u1"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR, order="strict") == [1, 1]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # u1's cart exactly 30 minutes after its view counts (inclusive); u2's, 1 ms later, does not.
        ({"value": 30, "unit": "minute"}, [3, 1]),
        # Within the hour: u1 and u2; u3's cart a day later is not.
        ({"value": 1, "unit": "hour"}, [3, 2]),
        # Exactly one day: u3 too, its cart on the day after the range (scanned for later steps).
        ({"value": 1, "unit": "day"}, [3, 3]),
    ],
)
def test_the_window_is_inclusive_and_measured_from_the_first_step(window, expected):
    events = [
        Event("a1", "view", "2026-01-05T10:00:00.000", "u1"),
        Event("a2", "cart", "2026-01-05T10:30:00.000", "u1"),
        Event("b1", "view", "2026-01-05T10:00:00.000", "u2"),
        Event("b2", "cart", "2026-01-05T10:30:00.001", "u2"),
        Event("c1", "view", "2026-01-06T12:00:00.000", "u3"),
        Event("c2", "cart", "2026-01-07T12:00:00.000", "u3"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=window) == expected


def test_the_window_counts_from_step_one_not_from_the_previous_step():
    # view 10:00, cart 10:40, purchase 11:20: the purchase is 40 minutes after the cart but 80
    # after the view, outside the hour.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("a2", "cart", "2026-01-05T10:40:00", "u1"),
        Event("a3", "purchase", "2026-01-05T11:20:00", "u1"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE, window=HOUR) == [1, 1, 0]


def test_a_repeated_step_needs_another_event():
    events = [
        # u1: A, B, A: all three steps.
        Event("a1", "A", "2026-01-05T10:00:00", "u1"),
        Event("a2", "B", "2026-01-05T10:01:00", "u1"),
        Event("a3", "A", "2026-01-05T10:02:00", "u1"),
        # u2: A, B: the only A is taken by step 1.
        Event("b1", "A", "2026-01-05T10:00:00", "u2"),
        Event("b2", "B", "2026-01-05T10:01:00", "u2"),
        # u3: A, A, B: no A after the B.
        Event("c1", "A", "2026-01-05T10:00:00", "u3"),
        Event("c2", "A", "2026-01-05T10:01:00", "u3"),
        Event("c3", "B", "2026-01-05T10:02:00", "u3"),
        # u4: A, B, A in one millisecond: the same millisecond counts as in order.
        Event("d3", "A", "2026-01-05T10:00:00", "u4"),
        Event("d2", "B", "2026-01-05T10:00:00", "u4"),
        Event("d1", "A", "2026-01-05T10:00:00", "u4"),
    ]
    repeated = run_funnel(events, steps=[{"event": "A"}, {"event": "B"}, {"event": "A"}], window=HOUR)
    assert [row[3] for row in repeated] == [4, 4, 2]
    # Each step is a bar of its own on the chart, though two share an event name.
    assert [row[8] for row in repeated] == ["1. A", "2. B", "3. A"]
    # A then A: u1, u3 and u4 have two A events; u2 one.
    assert counts(events, steps=[{"event": "A"}, {"event": "A"}], window=HOUR) == [4, 3]


def test_steps_in_the_same_millisecond_are_in_order_whatever_their_ids():
    # u1's cart has an event_id sorting before its view's, at the same millisecond: 0 s later.
    events = [Event("z", "view", "2026-01-05T10:00:00", "u1"), Event("a", "cart", "2026-01-05T10:00:00", "u1")]
    assert run_funnel(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR)[1][3:8] == (1, 100.0, 100.0, 0, 0.0)


def test_events_count_by_their_timestamp_not_their_arrival():
    # Loaded newest first (as late events arrive): u1's cart arrived first but happened after its
    # view; u2's cart arrived last but happened before its view.
    events = [
        Event("a2", "cart", "2026-01-05T10:05:00", "u1"),
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("b1", "view", "2026-01-05T10:00:00", "u2"),
        Event("b2", "cart", "2026-01-05T09:55:00", "u2"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR) == [2, 1]


def test_users_without_a_user_id_count_by_their_pseudonymous_id():
    # Two devices of one signed-in user and one anonymous device: three users, as the views count them.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1", user_id="ana"),
        Event("b1", "view", "2026-01-05T10:00:00", "u2", user_id="ana"),
        Event("b2", "cart", "2026-01-05T10:01:00", "u2", user_id="ana"),
        Event("c1", "view", "2026-01-05T10:00:00", "u3"),
        Event("c2", "cart", "2026-01-05T10:01:00", "u3"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR) == [3, 2]


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        # The UTC range ends at midnight on the 7th: u1's view at 23:30 enters and converts after
        # midnight (scanned past the range); u3 too; u2's view (00:05 on the 7th) is after the range.
        ("UTC", [2, 2]),
        # Tokyo (UTC+9): the range ends at 15:00 UTC on the 6th: only u3's view (14:30 UTC, 23:30
        # in Tokyo) is in it, and its cart at 15:20 UTC, after the range, converts.
        ("Asia/Tokyo", [1, 1]),
    ],
)
def test_a_first_step_in_the_last_hour_of_the_range_converts_after_it(tz, expected):
    events = [
        Event("a1", "view", "2026-01-06T23:30:00", "u1"),
        Event("a2", "cart", "2026-01-07T00:10:00", "u1"),
        Event("b1", "view", "2026-01-07T00:05:00", "u2"),
        Event("b2", "cart", "2026-01-07T00:10:00", "u2"),
        Event("c1", "view", "2026-01-06T14:30:00", "u3"),
        Event("c2", "cart", "2026-01-06T15:20:00", "u3"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR, tz=tz) == expected


def test_the_furthest_attempt_counts_and_gives_the_times():
    # u1 views at 10:00 and 10:50 and adds to cart at 11:10: the first attempt misses the hour, the
    # second converts after 1200 s.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("a2", "view", "2026-01-05T10:50:00", "u1"),
        Event("a3", "cart", "2026-01-05T11:10:00", "u1"),
    ]
    assert run_funnel(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR)[1][3:8] == (1, 100.0, 100.0, 0, 1200.0)


def test_by_session_each_session_is_its_own_funnel():
    # u1 views in session s1 and adds to cart in s2; u2 does both in s3. u3's events have no session.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1", params={"_session_id": "s1"}),
        Event("a2", "cart", "2026-01-05T10:10:00", "u1", params={"_session_id": "s2"}),
        Event("b1", "view", "2026-01-05T10:00:00", "u2", params={"_session_id": "s3"}),
        Event("b2", "cart", "2026-01-05T10:10:00", "u2", params={"_session_id": "s3"}),
        Event("c1", "view", "2026-01-05T10:00:00", "u3"),
    ]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR, count_by="session") == [2, 1]
    assert counts(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR) == [3, 2]


def test_a_breakdown_splits_by_the_first_steps_value_with_top_n_and_other():
    # Step-1 users by platform: Web 2 (u1, u2), iOS 1 (u3, whose cart is on Web), Android 1 (u4).
    # Top 1: Web; iOS and Android are "(other)".
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1", platform="Web"),
        Event("a2", "cart", "2026-01-05T10:01:00", "u1", platform="Web"),
        Event("b1", "view", "2026-01-05T10:00:00", "u2", platform="Web"),
        Event("c1", "view", "2026-01-05T10:00:00", "u3", platform="iOS"),
        Event("c2", "cart", "2026-01-05T10:02:00", "u3", platform="Web"),
        Event("d1", "view", "2026-01-05T10:00:00", "u4", platform="Android"),
    ]
    result = run_funnel(events, steps=VIEW_CART_PURCHASE[:2], window=HOUR, breakdown={"property": "platform", "top": 1})
    assert [(row[2], row[0], row[3], row[7]) for row in result] == [
        ("(other)", 1, 2, None),
        ("(other)", 2, 1, 120.0),
        ("Web", 1, 2, None),
        ("Web", 2, 1, 60.0),
    ]


def test_step_filters_apply_to_their_step_and_global_filters_to_every_event():
    # Step 1 is a Web view; every event must be in France. u1 converts; u2's view is iOS; u3's view
    # is in Germany; u4's cart is in Germany (so u4 stops at step 1).
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1", platform="Web", country="FR"),
        Event("a2", "cart", "2026-01-05T10:01:00", "u1", platform="iOS", country="FR"),
        Event("b1", "view", "2026-01-05T10:00:00", "u2", platform="iOS", country="FR"),
        Event("b2", "cart", "2026-01-05T10:01:00", "u2", platform="iOS", country="FR"),
        Event("c1", "view", "2026-01-05T10:00:00", "u3", platform="Web", country="DE"),
        Event("c2", "cart", "2026-01-05T10:01:00", "u3", platform="Web", country="FR"),
        Event("d1", "view", "2026-01-05T10:00:00", "u4", platform="Web", country="FR"),
        Event("d2", "cart", "2026-01-05T10:01:00", "u4", platform="Web", country="DE"),
    ]
    steps = [{"event": "view", "filters": [{"property": "platform", "operator": "eq", "value": "Web"}]}, {"event": "cart"}]
    assert counts(events, steps=steps, window=HOUR, filters=[{"property": "geo_country", "operator": "eq", "value": "FR"}]) == [2, 1]


def test_event_attribute_filters_on_steps():
    # Only carts of a book count: u1's; u2's cart is a game.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("a2", "cart", "2026-01-05T10:01:00", "u1", params={"category": "book"}),
        Event("b1", "view", "2026-01-05T10:00:00", "u2"),
        Event("b2", "cart", "2026-01-05T10:01:00", "u2", params={"category": "game"}),
    ]
    steps = [{"event": "view"}, {"event": "cart", "filters": [{"property": "event.category", "operator": "eq", "value": "book"}]}]
    assert counts(events, steps=steps, window=HOUR) == [2, 1]


def test_conversion_over_time_per_period_of_the_first_step():
    # 5 Jan: u1 enters and completes, u2 enters. 6 Jan: u1 enters again without completing, u3
    # enters and completes. Each day: 2 entered, 1 completed.
    events = [
        Event("a1", "view", "2026-01-05T10:00:00", "u1"),
        Event("a2", "cart", "2026-01-05T10:01:00", "u1"),
        Event("b1", "view", "2026-01-05T10:00:00", "u2"),
        Event("a3", "view", "2026-01-06T10:00:00", "u1"),
        Event("c1", "view", "2026-01-06T10:00:00", "u3"),
        Event("c2", "cart", "2026-01-06T10:30:00", "u3"),
    ]
    spec = funnel.parse(RANGE | {"steps": VIEW_CART_PURCHASE[:2], "window": HOUR}, NOW, "UTC")
    analysis = funnel.build(spec)
    assert rows(warehouse(events), analysis, "conversion_over_time") == [(date(2026, 1, 5), 2, 1, 50.0), (date(2026, 1, 6), 2, 1, 50.0)]
    # Over the whole range u1 completed: 3 entered, 2 completed.
    assert [row[3] for row in rows(warehouse(events), analysis)] == [3, 2]


# Random small event sets: three users, three event names, a few minutes apart (collisions at the
# same millisecond included), all inside the range.
EVENT_SETS = st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(["A", "B", "C"]), st.integers(min_value=0, max_value=40)),
    min_size=1,
    max_size=25,
)


def _events(drawn: list[tuple[str, str, int]]) -> list[Event]:
    start = int(datetime(2026, 1, 5, 10, tzinfo=UTC).timestamp() * 1000)
    return [Event(f"e{index:02d}", name, start + minute * 60_000, user) for index, (user, name, minute) in enumerate(drawn)]


def reference_counts(events: list[Event], steps: list[str], window_ms: int, order: str) -> list[int]:
    """The module docstring's rules, one attempt at a time in Python: the users reaching each step."""
    reached_by_user: dict[str, int] = {}
    for user in {each.user for each in events}:
        own = sorted((each for each in events if each.user == user), key=lambda each: (each.timestamp, each.event_id))
        for first in (each for each in own if each.name == steps[0]):
            used, previous, reached = {first.event_id}, first, 1
            for name in steps[1:]:
                start = first if order == "any" else previous
                matching = [each for each in own if each.name == name and each.timestamp >= start.timestamp and each.event_id not in used]
                if not matching or matching[0].timestamp > first.timestamp + window_ms:
                    break
                step = matching[0]
                if order == "strict" and any(previous.timestamp < each.timestamp < step.timestamp for each in own):
                    break
                used.add(step.event_id)
                previous, reached = step, reached + 1
            reached_by_user[user] = max(reached_by_user.get(user, 0), reached)
    if not reached_by_user:
        return []
    return [sum(1 for reached in reached_by_user.values() if reached >= number) for number in range(1, len(steps) + 1)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENT_SETS, st.sampled_from(funnel.ORDERS))
def test_step_counts_match_the_rules_never_increase_and_step_one_is_the_event_analysis_unique_users(drawn, order):
    events = _events(drawn)
    connection = warehouse(events)
    steps = [{"event": "A"}, {"event": "B"}, {"event": "A"}, {"event": "C"}]
    window = {"value": 20, "unit": "minute"}
    result = [
        row[3]
        for row in rows(connection, funnel.build(funnel.parse(RANGE | {"steps": steps, "window": window, "order": order}, NOW, "UTC")))
    ]
    assert result == sorted(result, reverse=True)
    assert result == reference_counts(events, ["A", "B", "A", "C"], 20 * 60_000, order)
    unique = rows(
        connection,
        event.build(event.parse(RANGE | {"events": [{"event": "A"}], "measure": "unique_users", "display": "total"}, NOW, "UTC")),
    )
    # No one did step 1: no rows, as the event analysis has none.
    assert (result[0] if result else 0) == (unique[0][1] if unique else 0)
    # A then A with a 90-day window: the users with two or more A events.
    twice = rows(
        connection, funnel.build(funnel.parse(RANGE | {"steps": [{"event": "A"}] * 2, "window": {"value": 90, "unit": "day"}}, NOW, "UTC"))
    )
    with_two = {user for user, _, _ in drawn if sum(1 for other, name, _ in drawn if other == user and name == "A") >= 2}
    assert (twice[1][3] if twice else 0) == len(with_two)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ("steps", "", "expected an object"),
        ({"steps": "view"}, "steps", "2 to 10 steps"),
        ({"steps": [{"event": "view"}]}, "steps", "2 to 10 steps"),
        ({"steps": [{"event": "view"}] * 11}, "steps", "2 to 10 steps"),
        ({"steps": [1, 2]}, "steps[0]", "expected an object"),
        ({"steps": [{"event": "view"}, {"name": "cart"}]}, "steps[1]", "unknown field name"),
        ({"steps": [{"event": "view"}, {"event": 3}]}, "steps[1].event", "expected an event name"),
        (
            {"steps": [{"event": "view"}, {"event": "cart", "filters": [{"property": "nope", "operator": "eq", "value": "x"}]}]},
            "steps[1].filters[0].property",
            "not a property",
        ),
        ({"steps": VIEW_CART_PURCHASE, "window": 3}, "window", "expected an object"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": 0, "unit": "day"}}, "window.value", "above 0"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": -5, "unit": "hour"}}, "window.value", "above 0"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": "5", "unit": "hour"}}, "window.value", "whole number"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": 91, "unit": "day"}}, "window.value", "longer than 90 days"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": 2161, "unit": "hour"}}, "window.value", "longer than 90 days"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": 5, "unit": "week"}}, "window.unit", "not one of"),
        ({"steps": VIEW_CART_PURCHASE, "window": {"value": 5, "unit": "day", "x": 1}}, "window", "unknown field x"),
        ({"steps": VIEW_CART_PURCHASE, "order": "random"}, "order", "not one of"),
        ({"steps": VIEW_CART_PURCHASE, "count_by": "device"}, "count_by", "not one of"),
        ({"steps": VIEW_CART_PURCHASE, "conversion": 1}, "conversion", "unknown field"),
        ({"steps": VIEW_CART_PURCHASE, "granularity": "year"}, "granularity", "not one of"),
    ],
)
def test_bad_funnels_name_the_field(data, field, words):
    with pytest.raises(BadSpec) as caught:
        funnel.parse(data if not isinstance(data, dict) else RANGE | data, NOW, "UTC")
    assert caught.value.field == field and words in caught.value.message


def test_a_spec_survives_saving():
    spec = funnel.parse(
        RANGE | {"steps": VIEW_CART_PURCHASE, "window": {"value": 30, "unit": "minute"}, "order": "strict", "count_by": "session"},
        NOW,
        "UTC",
    )
    assert funnel.parse(spec.to_json(), NOW, "UTC") == spec


@pytest.mark.parametrize("dialect", ["redshift", "athena"])
@pytest.mark.parametrize("order", funnel.ORDERS)
def test_the_funnel_sql_is_written_for_the_cloud_warehouses(dialect, order):
    spec = funnel.parse(
        RANGE
        | {
            "steps": [
                {"event": "view", "filters": [{"property": "event.category", "operator": "eq", "value": "book"}]},
                {"event": "cart", "filters": [{"property": "user.level", "operator": "gt", "value": 2}]},
                {"event": "view"},
            ],
            "filters": [{"property": "geo_country", "operator": "in", "values": ["FR", "DE"]}],
            "breakdown": {"property": "event.campaign"},
            "order": order,
            "count_by": "session",
            "granularity": "week",
        },
        NOW,
        "UTC",
    )
    analysis = funnel.build(spec)
    for query in (analysis.query, analysis.extra["conversion_over_time"][0]):
        written = transpile(query, dialect, app_id=APP)
        # What the driver sends parses in the warehouse's dialect (placeholders as the driver's).
        sqlglot.parse_one(
            written.sql.replace("%(", "__").replace(")s", "__") if dialect == "athena" else written.sql, read=SQLGLOT_DIALECT[dialect]
        )
        assert set(written.parameter_names) <= set(analysis.params)
