"""The Kafka destination against a broker: librdkafka's mock cluster (tests/ingestion/kafka_mock.py),
three brokers speaking the Kafka protocol on localhost, a topic of three partitions replicated
three times.

First the destination alone (produce, acks, a consumer reads the records back), then the real
server (gunicorn workers, spool, shipper) with the kafka sink: every request answered 200 is in
the topic and nothing else is, also across a broker outage that outlasts the allowed one (the
service answers 503 meanwhile and ships the backlog once the brokers are back).
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from destination_helpers import HOUR, finishes_within, make_segment, raw_record
from kafka_mock import MockCluster, read_topic, running_mock_cluster
from test_ingest_server import Server

from ingestion.records import encode_record
from ingestion.sinks.destination import DestinationError
from ingestion.sinks.kafka import KafkaDestination, record_timestamp_ms
from ingestion.sinks.layout import HOUR_MS

TOPIC = "clicks"
SHIPPED_AT = (HOUR * HOUR_MS + 20 * 60_000) / 1000  # 13:20 UTC, within the segments' hour


@pytest.fixture
def cluster() -> Iterator[MockCluster]:
    with running_mock_cluster(brokers=3) as mock:
        mock.create_topic(TOPIC, partitions=3, replication_factor=3)
        yield mock


def destination(cluster: MockCluster, **options: Any) -> KafkaDestination:
    return KafkaDestination(cluster.bootstrap_servers, TOPIC, clock=lambda: SHIPPED_AT, **options)


# The destination alone -------------------------------------------------------------------


def test_a_shipped_segment_is_in_the_topic_once_byte_for_byte(tmp_path, cluster):
    records = [raw_record(index) for index in range(200)]
    kafka = destination(cluster)

    kafka.ship(make_segment(tmp_path, records))
    finishes_within(30, kafka.close)

    messages = read_topic(cluster.bootstrap_servers, TOPIC)
    assert sorted(message.value() for message in messages) == sorted(encode_record(r).rstrip(b"\n") for r in records)
    assert {message.key() for message in messages} == {None}
    assert {message.timestamp()[1] for message in messages} == {record_timestamp_ms(HOUR, int(SHIPPED_AT * 1000))}


def test_a_broker_outage_fails_the_segment_and_the_retry_delivers_it_once(tmp_path, cluster):
    records = [raw_record(index) for index in range(50)]
    segment = make_segment(tmp_path, records)
    kafka = destination(cluster, producer_config={"message.timeout.ms": 2000}, flush_timeout_seconds=5)
    kafka.ship(make_segment(tmp_path, [raw_record(-1)], stem="before-the-outage"))  # connected, metadata known

    cluster.stop_brokers()
    with pytest.raises(DestinationError, match="failed for 50 of 50 records .*_MSG_TIMED_OUT"):
        finishes_within(30, lambda: kafka.ship(segment))
    cluster.start_brokers()
    finishes_within(60, lambda: kafka.ship(segment))  # what the shipper does after its backoff
    finishes_within(30, kafka.close)

    stored = Counter(json.loads(message.value())["rid"] for message in read_topic(cluster.bootstrap_servers, TOPIC))
    # Nothing reached a broker while they were down, so the retry adds no duplicate.
    assert stored == Counter({"rid--1": 1, **{record["rid"]: 1 for record in records}})


def test_a_record_over_the_message_limit_is_set_aside_and_the_rest_reaches_the_topic(tmp_path, cluster):
    records = [raw_record(0), raw_record(1, data="x" * 200_000), raw_record(2)]
    rejected = tmp_path / "rejected"
    kafka = destination(cluster, producer_config={"message.max.bytes": 100_000}, oversize_dir=rejected)

    kafka.ship(make_segment(tmp_path, records))
    finishes_within(30, kafka.close)

    topic = read_topic(cluster.bootstrap_servers, TOPIC)
    assert sorted(json.loads(message.value())["rid"] for message in topic) == ["rid-0", "rid-2"]
    [kept] = rejected.glob("*.gz")
    assert [json.loads(line)["rid"] for line in gzip.decompress(kept.read_bytes()).splitlines()] == ["rid-1"]


# The real server ---------------------------------------------------------------------------


def kafka_pipeline(cluster: MockCluster, **ingestion: Any) -> dict[str, Any]:
    # Segments of at most 20 records, sealed within a second: many shipments per test.
    kafka = {"bootstrap_servers": cluster.bootstrap_servers, "topic": TOPIC, "batch_size": 20, "max_interval_seconds": 0}
    return {"sink": {"type": "kafka", "kafka": kafka}, "ingestion": ingestion}


def topic_event_ids(cluster: MockCluster) -> Counter:
    """event_id -> how many times the topic holds it; each message must be one raw record
    whose timestamp lies in its arrival hour (what the S3 connector partitions by)."""
    ids: Counter = Counter()
    for message in read_topic(cluster.bootstrap_servers, TOPIC):
        record = json.loads(message.value())
        assert message.timestamp()[1] // HOUR_MS == record["ingest_time"] // HOUR_MS
        data = record["data"]
        if record["compression"] == "gzip":
            data = gzip.decompress(base64.b64decode(data))
        ids.update(event["event_id"] for event in json.loads(data))
    return ids


def test_every_acknowledged_request_reaches_the_topic_exactly_once(tmp_path, cluster):
    server = Server(tmp_path, threads=4, pipeline=kafka_pipeline(cluster))
    try:
        server.wait_until_ready()
        server.post_events(0, 300)
        assert len(server.acknowledged) == 300
        assert server.stop() == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()

    stored = topic_event_ids(cluster)
    assert set(stored) == server.acknowledged
    assert sum(stored.values()) == len(stored), "duplicates without any failure"
    assert server.in_flight() == []


OUTAGE_LIMIT_SECONDS = 10  # the smallest max_sink_outage_seconds the configuration allows


def post_one(server: Server, n: int, session: requests.Session) -> int:
    event = json.dumps([{"event_type": "_screen_view", "event_id": f"event-{n}", "app_id": "shop"}])
    response = session.post(f"{server.url}/collect", params={"appId": "shop", "platform": "Web"}, data=event, timeout=30)
    if response.status_code == 200:
        server.acknowledged.add(f"event-{n}")
    elif response.status_code == 503:
        assert response.headers.get("Retry-After", "").isdigit()
        assert response.json()["error"] == "sink_unavailable"
    else:
        pytest.fail(f"unexpected {response.status_code}: {response.text}")
    return response.status_code


def eventually_not_ready(server: Server, within_seconds: float) -> bool:
    """Whether /ready answers 503 six times in a row within the time, each probe on a new
    connection that either worker may accept."""
    deadline = time.monotonic() + within_seconds
    consecutive = 0
    while time.monotonic() < deadline:
        status = requests.get(f"{server.url}/ready", timeout=5).status_code
        consecutive = consecutive + 1 if status == 503 else 0
        if consecutive >= 6:
            return True
        time.sleep(0.1)
    return False


def test_a_broker_outage_answers_503_past_the_limit_then_ships_the_backlog(tmp_path, cluster):
    server = Server(tmp_path, threads=4, pipeline=kafka_pipeline(cluster, max_sink_outage_seconds=OUTAGE_LIMIT_SECONDS))
    session = requests.Session()
    n = 0
    try:
        server.wait_until_ready()
        for _ in range(40):
            assert post_one(server, n, session) == 200
            n += 1

        cluster.stop_brokers()
        stopped = time.monotonic()
        statuses: Counter = Counter()
        first_503: float | None = None
        # The outage counts from the first shipment left unconfirmed, which starts within a second
        # of the brokers stopping (segments seal every second), not from the moment that shipment
        # gives up (the 20 s flush timeout). 8 s past the limit is a margin for a loaded machine.
        deadline = stopped + OUTAGE_LIMIT_SECONDS + 8
        while first_503 is None and time.monotonic() < deadline:
            status = post_one(server, n, session)
            n += 1
            statuses[status] += 1
            if status == 503:
                first_503 = time.monotonic() - stopped
            time.sleep(0.05)
        accepted_during_outage = statuses[200]
        assert first_503 is not None, f"no 503 within {deadline - stopped:.0f} s of the brokers stopping: {statuses}"
        assert first_503 >= OUTAGE_LIMIT_SECONDS - 1, f"503 after {first_503:.1f} s, before the limit"
        assert accepted_during_outage > 20, "the spool should take requests while the outage is short"
        # Each worker's shipper keeps its own outage clock, started by its own first unconfirmed
        # shipment: the one that did not answer this request may get there a second or two later.
        assert eventually_not_ready(server, within_seconds=8), "/ready still answers 200 past the outage limit"

        cluster.start_brokers()
        restarted = time.monotonic()
        accepted_again = False
        while not accepted_again and time.monotonic() < restarted + 60:  # the shipper's backoff is at most 30 s
            accepted_again = post_one(server, n, session) == 200
            n += 1
            time.sleep(0.2)
        assert accepted_again, "the server did not accept again after the brokers came back"
        for _ in range(40):
            assert post_one(server, n, session) == 200
            n += 1
        assert server.stop() == 0  # graceful: seals and ships the rest
    finally:
        if server.process.poll() is None:
            server.process.kill()

    stored = topic_event_ids(cluster)
    duplicates = sum(stored.values()) - len(stored)
    print(
        f"kafka outage: {n} requests, {accepted_during_outage} accepted during the outage, first 503 after "
        f"{first_503:.1f} s, {len(server.acknowledged)} acknowledged, {duplicates} duplicates in the topic"
    )
    missing = server.acknowledged - stored.keys()
    assert not missing, f"{len(missing)} acknowledged events missing from the topic, e.g. {sorted(missing)[:5]}"
    assert set(stored) == server.acknowledged, "the topic holds events no request was acknowledged for"
    assert server.in_flight() == []


def test_a_server_stopped_during_an_outage_exits_gracefully_and_ships_the_backlog_at_the_next_start(tmp_path, cluster):
    pipeline = kafka_pipeline(cluster)
    server = Server(tmp_path, threads=4, pipeline=pipeline)
    session = requests.Session()
    try:
        server.wait_until_ready()
        server.post_events(0, 40)
        cluster.stop_brokers()
        for n in range(40, 100):
            assert post_one(server, n, session) == 200
        exit_code = server.stop()
        backlog = server.in_flight()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    log = server.log.read_text()
    assert exit_code == 0
    # Each worker got through its shutdown hook: not SIGKILLed by gunicorn at its graceful timeout
    # while waiting on the brokers.
    assert log.count("sealed its raw files") == 2, "a worker was killed before it had sealed and drained"
    assert backlog, "the outage should have left segments in the spool"

    cluster.start_brokers()
    restarted = Server(tmp_path, threads=4, pipeline=pipeline)  # same config, same spool
    try:
        restarted.wait_until_ready()
        assert restarted.stop() == 0
    finally:
        if restarted.process.poll() is None:
            restarted.process.kill()

    stored = topic_event_ids(cluster)
    duplicated = {event_id for event_id, copies in stored.items() if copies > 1}
    print(f"kafka stop during an outage: {len(backlog)} segments left, {len(duplicated)} duplicated events")
    assert set(stored) == server.acknowledged
    # At-least-once: a shipment cut off by the outage after a broker had written some of its
    # messages, but before their acknowledgements arrived, is sent again whole by the next start.
    # Only the requests shipped before the brokers stopped can be in such a shipment.
    assert duplicated <= {f"event-{n}" for n in range(40)}
    assert restarted.in_flight() == []
