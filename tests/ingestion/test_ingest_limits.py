"""Amplification: a small body must not become millions of events or gigabytes of memory.

A 16 KB gzip body of `[{},{},…]` inflates to 16 MiB, 5.6 million empty events. The service
refuses it with a 413 naming the limit (the decompressed size is checked first, so the events
are never built), caps the events of one request (DATA_CONTRACT §1: SDKs send at most 100),
and the workers' memory stays bounded with eight such bodies at once.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from ingest_helpers import base64_gzip
from test_ingest_server import Server

from clickstream_project.config import IngestionSettings
from ingestion.settings import EXTENSION_KEY

# Just under the old 16 MiB decompressed limit (16 x the body limit), which it passed.
BOMB_EVENTS = 5_590_000
# Eight bombs at once took the workers from 48 MB to 3.3 GB before the limits.
RSS_GROWTH_BOUND_BYTES = 300 * 1024 * 1024


def bomb() -> bytes:
    """About 16 KB of base64 gzip text, inflating to 5.6 million empty objects."""
    inflated = b"[" + b"{}," * (BOMB_EVENTS - 1) + b"{}]"
    return base64.b64encode(gzip.compress(inflated, compresslevel=9))


def empty_events(count: int) -> bytes:
    return json.dumps([{"event_id": f"e-{n}"} for n in range(count)]).encode()


def test_the_gzip_bomb_is_refused_with_a_json_413_naming_the_limit(client, sink):
    body = bomb()
    assert len(body) < 24 * 1024

    response = client.post("/collect?appId=shop_web&compression=gzip", data=body)

    assert response.status_code == 413
    error = response.get_json()
    assert error["error"] == "decompressed_body_too_large"
    assert str(client.application.extensions[EXTENSION_KEY].settings.decompressed_limit) in error["message"]
    assert sink.records == []


def test_the_default_event_cap_admits_n_and_refuses_n_plus_one(client, sink):
    limit = IngestionSettings().max_events_per_request
    assert limit == 1000

    assert client.post("/collect?appId=shop_web", data=empty_events(limit)).status_code == 200
    response = client.post("/collect?appId=shop_web", data=empty_events(limit + 1))

    assert response.status_code == 413
    assert response.get_json()["error"] == "too_many_events"
    assert f"limit is {limit}" in response.get_json()["message"]
    assert len(sink.records) == 1


@pytest.mark.parametrize("compression", ["none", "gzip", "binary_gzip"])
def test_the_event_cap_is_configurable_and_holds_for_every_body_shape(make_app, sink, compression):
    client = make_app(max_events_per_request=3).test_client()
    events = [{"event_id": f"e-{n}", "attributes": {"nested": {"a": [1, {"b": 2}]}}} for n in range(4)]

    def post(values):
        if compression == "gzip":
            return client.post("/collect?appId=shop_web&compression=gzip", data=base64_gzip(values))
        if compression == "binary_gzip":
            return client.post(
                "/collect?appId=shop_web", data=gzip.compress(json.dumps(values).encode()), headers={"Content-Encoding": "gzip"}
            )
        return client.post("/collect?appId=shop_web", data=json.dumps(values))

    assert post(events[:3]).status_code == 200
    response = post(events)
    assert response.status_code == 413, response.get_json()
    assert "limit is 3" in response.get_json()["message"]
    assert len(sink.records) == 1


def test_a_body_of_many_empty_objects_within_the_size_limit_is_refused_by_count(client, sink):
    # 300,000 events in under 1 MiB: refused by count, without first building them all.
    body = b"[" + b"{}," * 299_999 + b"{}]"

    response = client.post("/collect?appId=shop_web", data=body)

    assert response.status_code == 413
    assert response.get_json()["error"] == "too_many_events"
    assert sink.records == []


def test_invalid_elements_past_the_cap_still_get_their_400(client):
    # The count check must not hide what is wrong with the body.
    body = b"[" + b"1," * 2000 + b"1]"

    response = client.post("/collect?appId=shop_web", data=body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_event"


def test_events_full_of_nested_objects_are_read_one_by_one_and_stored(client, sink):
    # More containers than the cap: the element-by-element path, which must agree with the other.
    events = [{"event_id": f"e-{n}", "user": {f"u{k}": {"value": k, "set_timestamp": 1} for k in range(150)}} for n in range(10)]

    response = client.post("/collect?appId=shop_web", data=json.dumps(events, indent=1))

    assert response.status_code == 200
    assert json.loads(sink.records[0]["data"]) == events


# 600 events of two objects each: under the event cap, over it in containers.
NESTED = b'{"a": {}},' * 599 + b'{"a": {}}'


@pytest.mark.parametrize(
    "body, error",
    [
        (b"[" + NESTED + b"] x", "invalid_json"),
        (b"[" + NESTED.replace(b",", b" ") + b"]", "invalid_json"),
        (b"[" + NESTED, "invalid_json"),
        (b"[" + NESTED + b",[]]", "invalid_event"),
        (b"[" + NESTED + b",{NaN: 1}]", "invalid_json"),
        (b'{"x": [' + NESTED + b"]}", "not_an_array"),
    ],
    ids=["trailing_data", "missing_commas", "unclosed", "non_object", "bad_element", "object"],
)
def test_the_element_by_element_path_refuses_what_the_parser_refuses(client, body, error):
    response = client.post("/collect?appId=shop_web", data=body)

    assert response.status_code == 400
    assert response.get_json()["error"] == error


def workers_peak_rss(server: Server) -> int:
    """The workers' resident memory high-water marks (VmHWM), summed, in bytes."""
    total = 0
    for pid in server.worker_pids():
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) * 1024
    return total


def test_eight_bombs_at_once_keep_the_workers_memory_bounded(tmp_path):
    server = Server(tmp_path, threads=4)
    server.wait_until_ready()
    deadline = time.monotonic() + 30
    while len(server.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(4):  # both workers have served a request: their baseline includes the app
        requests.post(f"{server.url}/collect?appId=shop", data=empty_events(1), timeout=10)
    pids_before = server.worker_pids()
    before = workers_peak_rss(server)
    body = bomb()

    def send(_: int) -> requests.Response:
        return requests.post(f"{server.url}/collect?appId=shop&compression=gzip", data=body, timeout=120)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(8)))

    after = workers_peak_rss(server)
    print(f"workers' peak RSS: {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after eight bombs")
    assert [r.status_code for r in responses] == [413] * 8
    assert all(r.json()["error"] == "decompressed_body_too_large" for r in responses)
    assert server.worker_pids() == pids_before, "a worker died (out of memory?)"
    assert after - before < RSS_GROWTH_BOUND_BYTES
    assert server.stop() == 0
    assert len(server.stored_event_ids()) == 4
