"""Delivery against a real HTTP server (the stub in conftest.py): exact counting, retries, failures."""

from __future__ import annotations

import json
import socket
from collections import Counter, defaultdict

import pytest
from flask import Response

from clickstream_tools.generator import collect_url, send, simulate
from clickstream_tools.generator.send import SKIPPED
from clickstream_tools.generator.wire import hash_code

from .conftest import END


@pytest.fixture
def simulation(project_config):
    return simulate(project_config, end=END, days=1, users=4, seed=3)


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_every_event_arrives_once_in_sdk_format(ingestion_stub, simulation):
    report = send(simulation, ingestion_stub.url, "/collect", concurrency=4, progress=False)

    assert report.ok and report.retries == 0
    assert report.requests_acknowledged == len(simulation.requests) == len(ingestion_stub.received)
    assert report.events_acknowledged == {a: c["events"] for a, c in simulation.expected_counts().items()}
    received = [e["event_id"] for r in ingestion_stub.received for e in r.events()]
    assert Counter(received) == Counter(e["event_id"] for e in simulation.iter_events())

    sequences: dict[str, list[int]] = defaultdict(list)
    for r in ingestion_stub.received:
        assert r.args["hashCode"] == hash_code(r.body)
        assert r.args["upload_timestamp"].isdigit()
        assert r.headers["Content-Type"].startswith("application/json")
        assert "Content-Encoding" not in r.headers
        assert r.headers["User-Agent"]
        events = r.events()
        assert {e["app_id"] for e in events} == {r.args["appId"]}
        assert {e["platform"] for e in events} == {r.args["platform"]}
        if r.args["platform"] == "Web":
            assert "compression" not in r.args and r.body.startswith(b"[")
        else:
            assert r.args["compression"] in ("gzip", "")
        sequences[events[0]["device_id"]].append(int(r.args["event_bundle_sequence_id"]))
    for numbers in sequences.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_503_with_retry_after_is_retried_and_counted_once(ingestion_stub, simulation):
    def respond(args, n):
        if n == 0:
            return Response(
                json.dumps({"error": "unavailable", "message": "spool full"}),
                status=503,
                headers={"Retry-After": "2"},
                content_type="application/json",
            )
        return None

    ingestion_stub.respond = respond
    sleep = RecordingSleep()
    report = send(simulation, ingestion_stub.url, concurrency=1, progress=False, sleep=sleep)

    assert report.ok
    assert sleep.delays == [2.0]
    assert report.retries == 1
    assert [r.status for r in ingestion_stub.received].count(503) == 1
    assert len(ingestion_stub.accepted()) == len(simulation.requests)
    assert sum(report.events_acknowledged.values()) == simulation.total_events
    # The retry is the same body: same events, same hashCode.
    assert ingestion_stub.received[0].body == ingestion_stub.received[1].body


def test_403_is_a_hard_failure_with_the_servers_message(ingestion_stub, simulation):
    def respond(args, n):
        if args["appId"] == "shop_web":
            return Response(
                json.dumps({"error": "forbidden", "message": "unknown appId shop_web"}), status=403, content_type="application/json"
            )
        return None

    ingestion_stub.respond = respond
    sleep = RecordingSleep()
    report = send(simulation, ingestion_stub.url, progress=False, sleep=sleep)

    web = simulation.counts["shop_web"]
    assert not report.ok and sleep.delays == []
    assert len(report.failures) == web.requests
    assert {(f.status, f.error, f.message, f.attempts) for f in report.failures} == {(403, "forbidden", "unknown appId shop_web", 1)}
    assert report.events_failed["shop_web"] == web.events
    assert report.events_acknowledged["shop_web"] == 0
    assert report.events_acknowledged["shop_android"] == simulation.counts["shop_android"].events
    assert report.failure_groups() == [(("shop_web", 403, "forbidden", "unknown appId shop_web"), web.requests, web.events)]


def test_an_unreachable_endpoint_stops_after_one_request_used_its_retries(simulation):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleep = RecordingSleep()
    report = send(simulation, f"http://127.0.0.1:{port}", concurrency=1, max_attempts=3, progress=False, sleep=sleep)

    assert report.requests_acknowledged == 0 and len(report.failures) == len(simulation.requests)
    first, *rest = report.failures
    assert first.status is None and first.attempts == 3 and "Connection" in first.error
    assert len(sleep.delays) == 2 and all(0 < d <= 1.0 for d in sleep.delays)
    assert all(f.error == SKIPPED and f.attempts == 0 for f in rest)
    assert sum(report.events_failed.values()) == simulation.total_events


@pytest.mark.parametrize(
    "endpoint, expected",
    [
        ("http://127.0.0.1:8088", "http://127.0.0.1:8088/collect"),
        ("http://127.0.0.1:8088/", "http://127.0.0.1:8088/collect"),
        ("https://example.com/ingest/collect", "https://example.com/ingest/collect"),
    ],
)
def test_collect_url_appends_the_path_only_to_a_bare_endpoint(endpoint, expected):
    assert collect_url(endpoint, "/collect") == expected


def test_an_endpoint_that_is_not_an_http_url_is_rejected_before_sending(simulation):
    with pytest.raises(ValueError, match="http"):
        send(simulation, "127.0.0.1:8088", progress=False)
