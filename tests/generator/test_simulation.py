"""The simulation: determinism, time window, sessions, SDK event shape, batching, ground truth."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from clickstream_tools.generator import simulate
from clickstream_tools.generator.simulate import MAX_REQUEST_BYTES, split_batches

from .conftest import END

SDK_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk-samples"
START_MS = int((END - timedelta(days=2)).timestamp() * 1000)
END_MS = int(END.timestamp() * 1000)
THIRTY_MINUTES_MS = 30 * 60 * 1000
CONTRACT_KEYS = {
    "event_type",
    "event_id",
    "app_id",
    "unique_id",
    "timestamp",
    "device_id",
    "device_unique_id",
    "platform",
    "os_version",
    "make",
    "brand",
    "model",
    "locale",
    "carrier",
    "network_type",
    "screen_height",
    "screen_width",
    "zone_offset",
    "system_language",
    "country_code",
    "sdk_version",
    "sdk_name",
    "app_version",
    "app_package_name",
    "app_title",
    "user",
    "attributes",
}
WEB_KEYS = {"host_name", "viewport_height", "viewport_width"}
SESSION_ATTRIBUTES = {"_session_id", "_session_start_timestamp", "_session_duration", "_session_number"}
LAUNCH_EVENTS = {"_first_open", "_first_visit", "_app_start", "_session_start"}


@pytest.fixture
def simulation(project_config):
    return simulate(project_config, end=END, days=2, users=30, seed=7)


def events_by_user(simulation) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for event in simulation.iter_events():
        grouped[event["unique_id"]].append(event)
    for events in grouped.values():
        events.sort(key=lambda e: e["timestamp"])
    return grouped


def test_same_seed_gives_identical_requests(project_config, simulation):
    again = simulate(project_config, end=END, days=2, users=30, seed=7)
    assert again.requests == simulation.requests
    assert [r.body() for r in again.requests] == [r.body() for r in simulation.requests]


def test_different_seed_gives_different_requests(project_config, simulation):
    other = simulate(project_config, end=END, days=2, users=30, seed=8)
    ids = {e["event_id"] for e in simulation.iter_events()}
    assert ids.isdisjoint(e["event_id"] for e in other.iter_events())


def test_an_apps_events_do_not_depend_on_the_other_apps(project_config, simulation):
    alone = simulate([project_config.app("shop_web")], end=END, days=2, users=30, seed=7)
    assert alone.requests == tuple(r for r in simulation.requests if r.app_id == "shop_web")


def test_every_timestamp_lies_inside_the_window(simulation):
    for event in simulation.iter_events():
        assert START_MS < event["timestamp"] < END_MS
        assert START_MS < event["attributes"]["_session_start_timestamp"] <= event["timestamp"]


def test_sessions_break_after_30_minutes_of_inactivity_and_only_then(simulation):
    for events in events_by_user(simulation).values():
        for before, after in itertools.pairwise(events):
            gap = after["timestamp"] - before["timestamp"]
            if after["attributes"]["_session_id"] == before["attributes"]["_session_id"]:
                assert gap < THIRTY_MINUTES_MS
            else:
                assert gap > THIRTY_MINUTES_MS
                assert after["event_type"] in LAUNCH_EVENTS
                assert after["attributes"]["_session_number"] == before["attributes"]["_session_number"] + 1


def test_session_attributes_are_consistent_and_ids_unique_per_session(simulation):
    owners: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for event in simulation.iter_events():
        attributes = event["attributes"]
        assert SESSION_ATTRIBUTES <= attributes.keys()
        assert attributes["_session_duration"] == event["timestamp"] - attributes["_session_start_timestamp"]
        owners[attributes["_session_id"]].add((event["unique_id"], attributes["_session_number"]))
    assert all(len(owner) == 1 for owner in owners.values())


def test_session_id_has_the_sdk_format(simulation):
    for event in simulation.iter_events():
        session_id = event["attributes"]["_session_id"]
        key, day, time_of_day = session_id.split("-")
        # Swift keeps the first 8 characters of the unique id, Android and web the last 8.
        expected_key = event["unique_id"][:8] if event["platform"] == "iOS" else event["unique_id"][-8:]
        assert key == expected_key
        start = event["attributes"]["_session_start_timestamp"]
        assert re.fullmatch(r"\d{8}", day) and re.fullmatch(r"\d{9}", time_of_day)
        assert int(time_of_day[-3:]) == start % 1000


def test_each_user_starts_with_a_first_open_or_first_visit(simulation):
    for events in events_by_user(simulation).values():
        first = events[0]
        assert first["event_type"] == ("_first_visit" if first["platform"] == "Web" else "_first_open")
        touch = first["timestamp"]
        for event in events:
            assert event["user"]["_user_first_touch_timestamp"]["value"] == touch
        assert sum(e["event_type"] in ("_first_open", "_first_visit") for e in events) == 1


def test_users_who_sign_in_carry_their_user_id_afterwards(simulation):
    signed_in = 0
    for events in events_by_user(simulation).values():
        names = [e["event_type"] for e in events]
        if "_profile_set" not in names:
            assert all("_user_id" not in e["user"] for e in events)
            continue
        signed_in += 1
        login = names.index("_profile_set")
        assert {"_user_id", "_user_name"} <= events[login]["user"].keys()
        assert all("_user_id" not in e["user"] for e in events[:login])
        user_id = events[login]["user"]["_user_id"]["value"]
        assert all(e["user"]["_user_id"]["value"] == user_id for e in events[login:])
    assert signed_in > 0


@pytest.mark.parametrize("platform, sample", [("Android", "android_event.json"), ("iOS", "ios_event.json")])
def test_mobile_events_have_the_sdk_samples_keys_and_types(simulation, platform, sample):
    reference = json.loads((SDK_SAMPLES / sample).read_text())
    events = [e for e in simulation.iter_events() if e["platform"] == platform]
    assert events
    for event in events:
        assert set(reference) <= event.keys()
        assert event.keys() - {"items"} == CONTRACT_KEYS | {"hashCode"}
        for key, value in reference.items():
            assert type(event[key]) is type(value), key


def test_web_events_have_the_contract_keys_and_browser_fields(simulation):
    events = [e for e in simulation.iter_events() if e["platform"] == "Web"]
    assert events
    for event in events:
        assert event.keys() - {"items"} == CONTRACT_KEYS | WEB_KEYS
        assert event["make"] is None and event["model"] is None
        assert event["host_name"] and event["viewport_width"] <= event["screen_width"]
        assert event["attributes"]["_page_url"].startswith(f"https://{event['host_name']}/")


def test_views_engagement_and_commerce_carry_their_attributes(simulation):
    names = Counter()
    for event in simulation.iter_events():
        name, attributes = event["event_type"], event["attributes"]
        names[name] += 1
        if name == "_screen_view":
            assert {"_screen_name", "_screen_id", "_entrances"} <= attributes.keys()
        elif name == "_page_view":
            assert {"_page_title", "_page_url", "_page_referrer", "_latest_referrer", "_entrances"} <= attributes.keys()
        elif name == "_user_engagement":
            assert attributes["_engagement_time_msec"] >= 1000
        elif name in ("view_item", "add_to_cart", "purchase"):
            assert event["items"] and attributes["_currency"] == "USD"
            assert attributes["_value"] == pytest.approx(sum(i["price"] * i["quantity"] for i in event["items"]))
        elif name == "search":
            assert attributes["search_term"]
    assert {
        "_screen_view",
        "_page_view",
        "_user_engagement",
        "_session_start",
        "view_item",
        "add_to_cart",
        "search",
        "_profile_set",
    } <= names.keys()


def test_traffic_sources_mark_how_a_session_started(simulation):
    for events in events_by_user(simulation).values():
        sessions: dict[str, list[dict]] = defaultdict(list)
        for event in events:
            sessions[event["attributes"]["_session_id"]].append(event)
        for session in sessions.values():
            mobile = session[0]["platform"] != "Web"
            campaign_key = "_traffic_source_name" if mobile else "_traffic_source_campaign"
            tagged = ["_traffic_source_source" in e["attributes"] for e in session]
            # Tagged events are a prefix of the session: the launch up to the first view.
            assert tagged == sorted(tagged, reverse=True)
            for event, has_source in zip(session, tagged):
                assert (campaign_key in event["attributes"]) == has_source
            if mobile:
                assert all(e["attributes"]["_channel"] for e in session)


def test_expected_counts_match_the_events_in_the_requests(simulation):
    events: Counter[str] = Counter()
    users: dict[str, set] = defaultdict(set)
    sessions: dict[str, set] = defaultdict(set)
    for request in simulation.requests:
        for event in request.events():
            assert event["app_id"] == request.app_id
            events[request.app_id] += 1
            users[request.app_id].add(event["unique_id"])
            sessions[request.app_id].add(event["attributes"]["_session_id"])
    assert simulation.expected_counts() == {
        app_id: {"events": events[app_id], "users": len(users[app_id]), "sessions": len(sessions[app_id])}
        for app_id in ("shop_android", "shop_ios", "shop_web")
    }
    assert all(counts["users"] == 30 for counts in simulation.expected_counts().values())
    event_ids = [e["event_id"] for e in simulation.iter_events()]
    assert len(event_ids) == len(set(event_ids)) == simulation.total_events


def test_requests_stay_within_sdk_limits_one_device_and_one_session(simulation):
    for request in simulation.requests:
        events = request.events()
        assert 1 <= request.event_count == len(events) <= 100
        assert len(request.payload.encode()) <= MAX_REQUEST_BYTES
        assert {e["device_id"] for e in events} == {request.device_id}
        assert len({e["attributes"]["_session_id"] for e in events}) == 1
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        if request.platform == "Web":
            assert request.event_count == 1 and not request.compress


def test_each_device_numbers_its_uploads_in_time_order(simulation):
    uploads: dict[str, list] = defaultdict(list)
    for request in simulation.requests:
        uploads[request.device_id].append(request)
    for device_requests in uploads.values():
        assert [r.sequence_id for r in device_requests] == list(range(1, len(device_requests) + 1))
        assert all(a.last_timestamp <= b.first_timestamp for a, b in itertools.pairwise(device_requests))


def test_web_batch_size_groups_web_events(project_config):
    simulation = simulate([project_config.app("shop_web")], end=END, users=10, web_batch_size=5)
    assert max(r.event_count for r in simulation.requests) == 5


def test_uncompressed_share_sets_how_many_mobile_installs_skip_gzip(project_config):
    mobile = [project_config.app("shop_android"), project_config.app("shop_ios")]
    assert all(r.compress for r in simulate(mobile, end=END, users=20, uncompressed_share=0.0).requests)
    assert not any(r.compress for r in simulate(mobile, end=END, users=20, uncompressed_share=1.0).requests)
    mixed = {r.compress for r in simulate(mobile, end=END, users=60, uncompressed_share=0.3).requests}
    assert mixed == {True, False}


def test_split_batches_respects_the_event_and_byte_limits():
    events = ['{"e":"' + "x" * 10_000 + '"}'] * 250
    chunks = list(split_batches(events, 100, 512 * 1024))
    assert [i for chunk in chunks for i in chunk] == list(range(250))
    for chunk in chunks:
        body = "[" + ",".join(events[i] for i in chunk) + "]"
        assert len(body) <= 512 * 1024 and len(chunk) <= 100
        if chunk.stop < len(events):
            # Full: one more event would have crossed the limit.
            assert len(body) + 1 + len(events[chunk.stop]) > 512 * 1024
    assert [len(c) for c in split_batches(['{"a":1}'] * 250, 100, 512 * 1024)] == [100, 100, 50]


def test_invalid_arguments_are_rejected(project_config):
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate(project_config, end=END.replace(tzinfo=None))
    with pytest.raises(ValueError, match="web_batch_size"):
        simulate(project_config, end=END, web_batch_size=101)
