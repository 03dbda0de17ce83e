"""Hostile bodies through the job's Python pass: each element becomes a row or a quarantine
entry, never an exception that stops its hour (clickstream_contract/request_body.py has the rules).

The pass (plugins/passes.py ``run_pass``) is driven directly on Arrow batches of raw lines, the
way ``mapInArrow`` calls it, so hypothesis can try hundreds of bodies without Spark; one Spark
test runs a poisoned hour through the whole job.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream_contract.request_body import MAX_JSON_DEPTH
from plugins.elements import EVENT_REASONS, FUTURE_EVENT, NESTED_TOO_DEEPLY, NOT_AN_ARRAY, REASONS, STALE_EVENT, Rules
from plugins.enrich_ua import UserAgentEnrichment
from plugins.passes import EVENT, QUARANTINE, REQUEST, run_pass
from plugins.sdk_transformer import SdkTransformer
from tests.processing.conftest import INGEST_MS, event, raw_record, write_raw_hour

HOUR = "2023111422"
APPS = ["shop_android", "shop_web"]
TRANSFORMER = SdkTransformer("proj")
RULES = Rules.of(TRANSFORMER, APPS)


def run_lines(lines: list[str], transformer: SdkTransformer | None = TRANSFORMER) -> pa.Table:
    """The pass's output rows for raw file lines, as the job reads them (``value`` + hour)."""
    batch = pa.RecordBatch.from_pydict({"value": lines, "ingest_hour": [HOUR] * len(lines)})
    enrichments = [UserAgentEnrichment()] if transformer is not None else []
    batches = list(run_pass(iter([batch]), RULES, transformer, enrichments))
    for output in batches:
        output.validate(full=True)
    return pa.Table.from_batches(batches)


def line(data: str, **fields) -> str:
    # json.dumps escapes a lone surrogate as \udXXX, as ingestion's record encoder does.
    return json.dumps(raw_record(data, **fields))


def rows(table: pa.Table, kind: str) -> list[dict]:
    return [row for row in table.to_pylist() if row["_kind"] == kind]


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text of ``depth`` nested arrays and objects (objects every other level)."""
    opening = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return opening + leaf + closing


def body_with_attribute(value_text: str, event_id: str = "deep") -> str:
    # array → event → attributes → the value: the value's depth plus three.
    return f'[{{"event_type": "x", "event_id": "{event_id}", "app_id": "shop_android", "timestamp": {INGEST_MS - 60_000}, "attributes": {{"v": {value_text}}}}}]'


# --- lone surrogates ---------------------------------------------------------------------------


def test_a_lone_surrogate_is_read_as_the_replacement_character_and_the_event_kept():
    poisoned = event("poison", name="cut \ud83d", attributes={"title": "emoji cut at 1024 \ud83d", "\udc00key": "v"},
                     user={"_user_id": {"value": "u\ud800", "set_timestamp": 1}, "nick": {"value": "\udfff", "set_timestamp": 2}},
                     items=[{"id": "i\ud83d", "name": "n"}])  # fmt: skip
    table = run_lines([line(json.dumps([poisoned, event("good")]))])

    events = {row["event_id"]: row for row in rows(table, EVENT)}
    assert sorted(events) == ["good", "poison"] and rows(table, QUARANTINE) == []
    row = events["poison"]
    assert row["event_name"] == "cut \ufffd" and row["user_id"] == "u\ufffd"
    params = {param["key"]: param["value"]["string_value"] for param in row["event_params"]}
    assert params == {"title": "emoji cut at 1024 \ufffd", "\ufffdkey": "v"}
    assert [(prop["key"], prop["value"]["string_value"]) for prop in row["user_properties"]] == [("nick", "\ufffd")]
    assert row["items"][0]["id"] == "i\ufffd"


def test_an_escaped_surrogate_pair_stays_one_character():
    table = run_lines([line(f'[{{"event_type": "\\ud83d\\ude00", "event_id": "e", "app_id": "shop_android", "timestamp": {INGEST_MS}}}]')])
    assert [row["event_name"] for row in rows(table, EVENT)] == ["\U0001f600"]


def test_a_lone_surrogate_in_the_record_itself_is_replaced_too():
    record = json.loads(line(json.dumps([event("a")]), ua="Mozilla \udc80"))
    table = run_lines([json.dumps(record)])
    assert [row["_ua"] for row in rows(table, EVENT)] == ["Mozilla \ufffd"]


# --- nesting -------------------------------------------------------------------------------------


def test_a_body_nested_exactly_to_the_limit_is_processed():
    table = run_lines([line(body_with_attribute(nested(MAX_JSON_DEPTH - 3)))])
    [row] = rows(table, EVENT)
    assert row["event_params"][0]["value"]["string_value"].startswith('[{"k":[{"k":')


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 254, 300, 1023, 1100, 20_000])
def test_a_request_nested_deeper_than_the_limit_is_quarantined_whole(depth):
    deep = line(body_with_attribute(nested(depth - 3)), rid="deep")
    good = line(json.dumps([event("good")]), rid="good")
    table = run_lines([deep, good])

    assert [row["event_id"] for row in rows(table, EVENT)] == ["good"]
    [quarantined] = rows(table, QUARANTINE)
    assert (quarantined["reason"], quarantined["_rid"], quarantined["raw"]) == (NESTED_TOO_DEEPLY, "deep", deep)
    assert len(rows(table, REQUEST)) == 2


def test_a_deep_body_is_quarantined_by_the_dataframe_transformer_pass_too():
    table = run_lines([line(body_with_attribute(nested(300))), line(json.dumps([event("good")]))], transformer=None)
    assert [json.loads(row["event"])["event_id"] for row in rows(table, EVENT)] == ["good"]
    assert [row["reason"] for row in rows(table, QUARANTINE)] == [NESTED_TOO_DEEPLY]


# --- numbers the columns cannot hold --------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "reason"), [(253_402_300_800_000, FUTURE_EVENT), (2**62, FUTURE_EVENT), (-62_135_596_800_001, STALE_EVENT)]
)
@pytest.mark.parametrize("ingest_time", [INGEST_MS, None, "not a number"])
def test_an_event_time_without_a_date_is_quarantined_even_when_the_record_has_no_ingest_time(timestamp, reason, ingest_time):
    table = run_lines([line(json.dumps([event("no_date", timestamp=timestamp), event("good")]), ingest_time=ingest_time)])
    assert [row["event_id"] for row in rows(table, EVENT)] == ["good"]
    assert [row["reason"] for row in rows(table, QUARANTINE)] == [reason]


def test_a_set_timestamp_past_a_bigint_of_microseconds_is_null_alone():
    table = run_lines(
        [line(json.dumps([event("a", user={"n": {"value": 1, "set_timestamp": 2**62}, "m": {"value": 2, "set_timestamp": 5}})]))]
    )
    [row] = rows(table, EVENT)
    assert [(prop["key"], prop["value"]["set_timestamp_micros"]) for prop in row["user_properties"]] == [("m", 5000), ("n", None)]


# --- multi-member gzip ---------------------------------------------------------------------------


def test_every_member_of_a_multi_member_gzip_body_is_decoded():
    text = json.dumps([event("a"), event("b"), event("c")])
    cut = text.index(', {"event_type"', 100)
    members = gzip.compress(text[:cut].encode()) + gzip.compress(text[cut:].encode())
    table = run_lines([line(base64.b64encode(members).decode(), compression="gzip")])
    assert sorted(row["event_id"] for row in rows(table, EVENT)) == ["a", "b", "c"]
    assert rows(table, QUARANTINE) == []


# --- arbitrary JSON ------------------------------------------------------------------------------

# Every character, lone surrogates included (hypothesis leaves them out by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
# Integers at the edges of what the columns and the parsers hold (int64, uint64, a double, the
# date range), and past them.
edge_integers = st.sampled_from([
    2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**20, 10**400, -(10**400),
    -62_135_596_800_001, 253_402_300_800_000, 2**63 // 1000 + 1,
]) | st.integers()  # fmt: skip
scalars = st.none() | st.booleans() | edge_integers | st.floats(allow_nan=False, allow_infinity=False) | any_text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=12)
timestamps = st.one_of(st.integers(INGEST_MS - 80 * 3_600_000, INGEST_MS + 3_600_000), edge_integers, json_values)
EVENT_KEYS = ["event_type", "unique_id", "device_id", "device_unique_id", "platform", "os_version", "make", "brand", "model",
              "locale", "carrier", "network_type", "screen_height", "screen_width", "zone_offset", "system_language",
              "app_version", "app_package_name", "host_name"]  # fmt: skip
user_attributes = st.dictionaries(
    st.sampled_from(["_user_id", "_user_first_touch_timestamp", "_user_ltv_revenue", "_user_ltv_currency", "nick"]) | any_text,
    st.fixed_dictionaries({}, optional={"value": json_values, "set_timestamp": edge_integers | json_values}) | json_values,
    max_size=4,
)
items = st.lists(
    st.dictionaries(st.sampled_from(["id", "name", "price", "quantity", "category"]) | any_text, json_values, max_size=4) | json_values,
    max_size=3,
)
attributes = st.dictionaries(
    st.sampled_from(["_channel", "_traffic_source_source", "_traffic_source_name", "_privacy_info_ads", "_session_id"]) | any_text,
    json_values,
    max_size=5,
)
# Mostly events that pass the checks, so that the mapping sees the odd values.
app_ids = st.one_of(st.sampled_from(APPS), st.sampled_from(APPS), st.just("unknown"), json_values)
events = st.fixed_dictionaries(
    {"event_id": any_text | json_values, "app_id": app_ids, "timestamp": timestamps},
    optional={
        **{key: json_values for key in EVENT_KEYS},
        "attributes": attributes | json_values,
        "user": user_attributes | json_values,
        "items": items,
    },
)
bodies = st.lists(st.one_of(events, events, events, json_values), max_size=4)


@st.composite
def raw_lines(draw) -> tuple[str, tuple[str, int] | None]:
    """(one raw file line, what the pass must make of it: ("elements", n) for a body of n
    elements, ("request", reason) for a request quarantined whole, None when the test's own
    envelope changes leave it open)."""
    kind = draw(st.sampled_from(["body", "body", "body", "deep", "any_json"]))
    if kind == "body":
        body = draw(bodies)
        text, expected = json.dumps(body), ("elements", len(body))
    elif kind == "deep":
        depth = draw(st.integers(MAX_JSON_DEPTH - 6, 1100))
        text = body_with_attribute(nested(depth))
        expected = ("request", NESTED_TOO_DEEPLY) if depth + 3 > MAX_JSON_DEPTH else ("elements", 1)
    else:
        value = draw(json_values)
        text, expected = json.dumps(value), ("elements", len(value)) if type(value) is list else ("request", NOT_AN_ARRAY)
    compression = draw(st.sampled_from([None, "gzip", "gzip-members", "other"]))
    if compression == "gzip-members" and len(text) > 1:
        split = draw(st.integers(1, len(text) - 1))
        data = base64.b64encode(gzip.compress(text[:split].encode()) + gzip.compress(text[split:].encode())).decode()
        compression = "gzip"
    elif compression == "gzip":
        data = base64.b64encode(gzip.compress(text.encode())).decode()
    else:
        data = text
    record = raw_record(
        data, compression=compression, ingest_time=draw(st.one_of(st.just(INGEST_MS), st.none(), edge_integers, json_values))
    )
    for key in draw(st.lists(st.sampled_from(["uri", "ua", "ip", "rid", "appId", "data"]), max_size=2)):
        record[key] = draw(json_values)
        expected = None if key == "data" else expected
    return json.dumps(record), expected


@pytest.mark.parametrize("transformer", [TRANSFORMER, None], ids=["element_transformer", "dataframe_transformer"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(raw_lines(), min_size=1, max_size=3))
def test_each_element_becomes_a_row_or_a_quarantine_entry_never_an_exception(transformer, records):
    for text, expected in records:
        table = run_lines([text], transformer=transformer)

        events, quarantined = rows(table, EVENT), rows(table, QUARANTINE)
        assert len(rows(table, REQUEST)) == 1
        assert all(row["reason"] in REASONS and row["raw"] is not None for row in quarantined)
        whole = [row["reason"] for row in quarantined if row["reason"] not in EVENT_REASONS]
        if expected is None:
            assert whole == [] or (len(whole) == 1 and events == [] and len(quarantined) == 1)
        elif expected[0] == "request":
            assert (whole, events) == ([expected[1]], [])
        else:
            assert whole == [] and len(events) + len(quarantined) == expected[1]


# --- the whole job -------------------------------------------------------------------------------


@pytest.mark.spark
def test_a_poisoned_hour_still_writes_its_good_events(spark, tmp_path: Path):
    from plugins.job import run

    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, HOUR, [
        raw_record(json.dumps([event("good1"), event("good2")]), rid="good"),
        raw_record(json.dumps([event("poison", attributes={"title": "cut \ud83d"}), event("beside_poison")]), rid="poison"),
        raw_record(body_with_attribute(nested(600)), rid="deep"),
        raw_record(base64.b64encode(gzip.compress(b'[{"event_type": "x", ') + gzip.compress(
            f'"event_id": "two_members", "app_id": "shop_android", "timestamp": {INGEST_MS}}}]'.encode())).decode(),
            compression="gzip", rid="members"),
    ])  # fmt: skip
    report = run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[datetime(2023, 11, 14, 22, tzinfo=UTC)])

    assert report["requests"] == 4 and report["written"] == 5
    assert report["quarantined"][NESTED_TOO_DEEPLY] == 1 and sum(report["quarantined"].values()) == 1
    with duckdb.connect() as connection:
        written = connection.execute(
            f"select event_id, event_params from read_parquet('{ods}/ods_events/*/*/*/*/*.parquet') order by event_id"
        ).fetchall()
        quarantined = connection.execute(f"select reason, rid from read_parquet('{ods}/quarantine/*/*.parquet')").fetchall()
    assert [event_id for event_id, _ in written] == ["beside_poison", "good1", "good2", "poison", "two_members"]
    assert written[3][1][0]["value"]["string_value"] == "cut \ufffd"
    assert quarantined == [(NESTED_TOO_DEEPLY, "deep")]
