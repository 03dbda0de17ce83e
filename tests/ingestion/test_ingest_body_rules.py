"""Ingestion and the job agree on what a body may be (clickstream_contract/request_body.py): a request
answered 200 is processed event for event, and what the job could not process is refused.

End to end without Spark: a POST through the Flask test client, the record the sink got encoded
the way the spool writes it, then the job's Python pass over that line (plugins/passes.py).
"""

from __future__ import annotations

import base64
import gzip
import json
import time

import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clickstream_contract.request_body import MAX_JSON_DEPTH
from ingestion import metrics
from ingestion.metrics import MULTIPROC_ENV
from ingestion.records import encode_record
from plugins.elements import Rules
from plugins.passes import EVENT, QUARANTINE, run_pass
from plugins.sdk_transformer import SdkTransformer

APPS = ["shop_android", "shop_ios", "shop_web"]


@pytest.fixture(autouse=True)
def in_memory_metrics(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    yield
    metrics.configure(False)


def acknowledged_events(client, app_id: str) -> float:
    """``clickstream_ingest_events``: the events of the requests answered 200."""
    text = client.get("/metrics").get_data(as_text=True)
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "clickstream_ingest_events_total" and sample.labels.get("app_id") == app_id
    )


def processed(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(event rows, quarantine entries) of the job's pass over the stored records."""
    lines = [encode_record(record).decode("utf-8").rstrip("\n") for record in records]
    batch = pa.RecordBatch.from_pydict({"value": lines, "ingest_hour": ["2024050112"] * len(lines)})
    transformer = SdkTransformer("proj")
    output = pa.Table.from_batches(list(run_pass(iter([batch]), Rules.of(transformer, APPS), transformer)))
    rows = output.to_pylist()
    return [row for row in rows if row["_kind"] == EVENT], [row for row in rows if row["_kind"] == QUARANTINE]


def events(*event_ids: str, **extra) -> list[dict]:
    now = int(time.time() * 1000)
    return [
        {"event_type": "_screen_view", "event_id": event_id, "app_id": "shop_android", "timestamp": now, **extra} for event_id in event_ids
    ]


def members(text: str, parts: int) -> bytes:
    """``text`` as a gzip stream of ``parts`` members (what `cat a.gz b.gz` or a streaming
    compressor that flushes members produces)."""
    size = -(-len(text) // parts)
    return b"".join(gzip.compress(text[i : i + size].encode()) for i in range(0, len(text), size))


@pytest.mark.parametrize("shape", ["base64_gzip", "content_encoding_gzip", "transport_gzip_around_base64_gzip"])
def test_every_event_of_a_multi_member_gzip_body_acknowledged_is_processed(client, sink, shape):
    text = json.dumps(events(*(f"e{i}" for i in range(7))))
    if shape == "base64_gzip":
        response = client.post("/collect?appId=shop_android&compression=gzip", data=base64.b64encode(members(text, 3)))
    elif shape == "content_encoding_gzip":
        response = client.post("/collect?appId=shop_android", data=members(text, 2), headers={"Content-Encoding": "gzip"})
    else:
        inner = base64.b64encode(members(text, 2))
        response = client.post(
            "/collect?appId=shop_android&compression=gzip", data=members(inner.decode(), 2), headers={"Content-Encoding": "gzip"}
        )
    assert response.status_code == 200

    rows, quarantined = processed(sink.records)
    assert quarantined == []
    assert sorted(row["event_id"] for row in rows) == [f"e{i}" for i in range(7)]
    assert len(rows) == acknowledged_events(client, "shop_android") == 7


def test_a_lone_surrogate_acknowledged_is_processed_as_the_replacement_character(client, sink):
    # What JSON.stringify sends for a string the web SDK cut in the middle of an emoji.
    body = json.dumps(events("cut", attributes={"title": "x" * 1023 + "\ud83d"}))
    assert "\\ud83d" in body

    assert client.post("/collect?appId=shop_web", data=body).status_code == 200

    [row], quarantined = processed(sink.records)
    assert quarantined == []
    assert row["event_params"][0]["value"]["string_value"] == "x" * 1023 + "\ufffd"


def nested_body(depth: int) -> str:
    """A one-event body nesting ``depth`` arrays/objects: array → event → attributes → value."""
    value = "[" * (depth - 3) + "]" * (depth - 3)
    return json.dumps(events("deep"))[:-2] + f', "attributes": {{"v": {value}}}}}]'


def test_a_body_nested_to_the_limit_is_accepted_and_processed(client, sink):
    assert client.post("/collect?appId=shop_web", data=nested_body(MAX_JSON_DEPTH)).status_code == 200

    [row], quarantined = processed(sink.records)
    assert quarantined == [] and row["event_id"] == "deep"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 1023, 1025])
def test_a_body_nested_deeper_than_the_limit_is_refused(client, sink, depth):
    response = client.post("/collect?appId=shop_web", data=nested_body(depth))

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "nested_too_deeply"
    assert f"more than {MAX_JSON_DEPTH} levels" in body["message"]
    assert sink.records == []


@pytest.mark.parametrize("depth, status", [(MAX_JSON_DEPTH, 200), (MAX_JSON_DEPTH + 1, 400)])
def test_the_nesting_limit_holds_where_a_big_body_is_read_element_by_element(client, sink, depth, status):
    # More containers than the event cap (1,000): ingestion reads such a body one element at a
    # time (payload._count_streaming), and that path must draw the same line as the whole parse.
    padding = events(*(f"p{i}" for i in range(600)), attributes={})
    deep = json.loads(nested_body(depth))
    body = json.dumps(padding + deep)
    assert body.count("{") + body.count("[") > 1001

    response = client.post("/collect?appId=shop_web", data=body)

    assert response.status_code == status
    if status == 400:
        assert response.get_json()["error"] == "nested_too_deeply" and sink.records == []
    else:
        rows, quarantined = processed(sink.records)
        assert quarantined == [] and len(rows) == 601


def test_the_decompressed_limit_never_exceeds_what_the_job_decodes(make_app):
    from clickstream_contract.request_body import MAX_DECODED_BYTES
    from ingestion.settings import EXTENSION_KEY

    app = make_app(max_body_bytes=64 * 1024 * 1024)  # the largest body the configuration allows

    assert app.extensions[EXTENSION_KEY].settings.decompressed_limit == MAX_DECODED_BYTES
