"""The Kafka destination without a broker: the producer settings, delivery handling against a
scripted producer, and a real librdkafka producer facing a port nobody listens on.

Against a broker (librdkafka's mock cluster): test_ingest_sink_kafka_broker.py. Not covered: the
S3 sink connector (only its example file is checked).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from destination_helpers import HOUR, finishes_within, free_port, make_segment, raw_record

from ingestion.records import encode_record
from ingestion.sinks.destination import Destination, DestinationError
from ingestion.sinks.destinations import destination_from_config
from ingestion.sinks.kafka import KafkaDestination, producer_settings, record_timestamp_ms
from ingestion.sinks.layout import HOUR_MS
from tests.conftest import REPO_ROOT, make_config

CONNECTOR_EXAMPLE = REPO_ROOT / "deploy" / "sinks" / "kafka-s3-sink-connector.json"
HOUR_START_MS = HOUR * HOUR_MS
SHIPPED_AT = (HOUR_START_MS + 20 * 60_000) / 1000  # 13:20 UTC, within the segment's hour


# Producer settings --------------------------------------------------------------------------


def test_settings_guarantee_acknowledged_idempotent_delivery():
    settings = producer_settings("broker-1:9092,broker-2:9092", None, 30)

    assert settings == {
        "bootstrap.servers": "broker-1:9092,broker-2:9092",
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "lz4",
        "linger.ms": 20,
        "message.timeout.ms": 30_000,
    }


def test_producer_config_overrides_the_defaults_and_adds_security_settings():
    user = {"compression.type": "gzip", "linger.ms": 5, "message.timeout.ms": 10_000, "security.protocol": "SASL_SSL"}

    settings = producer_settings("broker:9092", user, 30)

    assert {key: settings[key] for key in user} == user


@pytest.mark.parametrize("value", ["all", "-1", -1])
def test_producer_config_may_restate_acks_all(value):
    assert producer_settings("broker:9092", {"acks": value, "enable.idempotence": "true"}, 30)["acks"] == "all"


@pytest.mark.parametrize("weaker", [{"acks": 1}, {"acks": "0"}, {"enable.idempotence": False}])
def test_producer_config_cannot_weaken_the_delivery_guarantees(weaker):
    key = next(iter(weaker))
    with pytest.raises(ValueError, match=f"{key}=.* is not allowed"):
        producer_settings("broker:9092", weaker, 30)


def test_brokers_come_from_bootstrap_servers_only():
    with pytest.raises(ValueError, match="kafka.bootstrap_servers"):
        producer_settings("broker:9092", {"bootstrap.servers": "other:9092"}, 30)


@pytest.mark.parametrize(
    ("now_ms", "expected"),
    [
        (HOUR_START_MS + 1_234, HOUR_START_MS + 1_234),  # shipped within the hour: now
        (HOUR_START_MS + 5 * HOUR_MS, HOUR_START_MS + HOUR_MS - 1),  # shipped late: the hour's last ms
        (HOUR_START_MS - 10, HOUR_START_MS),  # clock behind: the hour's first ms
    ],
)
def test_message_timestamps_stay_inside_the_arrival_hour(now_ms, expected):
    assert record_timestamp_ms(HOUR, now_ms) == expected


# Delivery handling with a scripted producer ------------------------------------------------


@dataclass
class FakeMessage:
    payload: bytes

    def value(self) -> bytes:
        return self.payload


class FakeProducer:
    """Records what is produced; `flush` serves the delivery reports from a script.

    `delivery_errors`: message position -> KafkaError for its report; `deliver=False` leaves
    every message unconfirmed; `buffer_errors`: how many produce calls raise BufferError first;
    `produce_errors`: message position -> KafkaError raised by produce(); `report_on_poll`:
    `poll` serves the reports too, as librdkafka does once the broker answered.
    """

    def __init__(
        self,
        *,
        delivery_errors: dict[int, KafkaError] | None = None,
        deliver: bool = True,
        buffer_errors: float = 0,
        produce_errors: dict[int, KafkaError] | None = None,
        report_on_poll: bool = False,
    ) -> None:
        self.delivery_errors = delivery_errors or {}
        self.deliver = deliver
        self.buffer_errors = buffer_errors
        self.produce_errors = produce_errors or {}
        self.report_on_poll = report_on_poll
        self.produced: list[dict[str, Any]] = []
        self.queue: list[tuple[Callable[..., None], FakeMessage, int]] = []
        self.polls: list[float] = []
        self.purges = 0
        self.attempts = 0

    def produce(self, topic: str, value: bytes, key: bytes | None = None, timestamp: int = 0, on_delivery=None) -> None:
        if self.buffer_errors > 0:
            self.buffer_errors -= 1
            raise BufferError("Local: Queue full")
        position = self.attempts
        self.attempts += 1
        if position in self.produce_errors:
            raise KafkaException(self.produce_errors[position])
        self.produced.append({"topic": topic, "value": value, "key": key, "timestamp": timestamp})
        self.queue.append((on_delivery, FakeMessage(value), position))

    def poll(self, timeout: float = -1) -> int:
        self.polls.append(timeout)
        if timeout > 0:
            time.sleep(min(timeout, 0.01))
        return self._serve() if self.report_on_poll else 0

    def flush(self, timeout: float = -1) -> int:
        if not self.deliver:
            return len(self.queue)
        self._serve()
        return 0

    def _serve(self) -> int:
        served, self.queue = self.queue, []
        for callback, message, position in served:
            callback(self.delivery_errors.get(position), message)
        return len(served)

    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        self.purges += 1
        self.queue.clear()


def kafka(producer: FakeProducer, **options: Any) -> KafkaDestination:
    return KafkaDestination("broker:9092", "clicks", producer=producer, clock=lambda: SHIPPED_AT, **options)


def three_records() -> list[dict[str, Any]]:
    return [raw_record(index) for index in range(3)]


def test_every_line_is_produced_once_with_a_null_key_and_a_timestamp_in_its_hour(tmp_path):
    producer = FakeProducer()
    records = three_records()

    kafka(producer).ship(make_segment(tmp_path, records))

    shipped_at_ms = int(SHIPPED_AT * 1000)
    assert producer.produced == [
        {"topic": "clicks", "value": encode_record(record).rstrip(b"\n"), "key": None, "timestamp": shipped_at_ms} for record in records
    ]
    assert producer.purges == 0


def test_a_failed_delivery_report_fails_the_segment(tmp_path):
    not_enough_replicas = KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, "Broker: Not enough in-sync replicas")
    producer = FakeProducer(delivery_errors={1: not_enough_replicas})

    with pytest.raises(DestinationError) as raised:
        kafka(producer).ship(make_segment(tmp_path, three_records()))

    message = str(raised.value)
    assert "topic 'clicks'" in message and "broker:9092" in message
    assert "failed for 1 of 3 records sent" in message
    assert "NOT_ENOUGH_REPLICAS" in message
    assert producer.purges == 1


def test_producing_stops_at_the_first_failed_delivery_report(tmp_path):
    producer = FakeProducer(
        delivery_errors={0: KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed")},
        report_on_poll=True,
    )

    with pytest.raises(DestinationError, match="failed for 1 of 1 records sent .*TOPIC_AUTHORIZATION_FAILED"):
        kafka(producer).ship(make_segment(tmp_path, three_records()))

    assert len(producer.produced) == 1


def test_messages_unconfirmed_after_the_flush_fail_the_segment_and_are_purged(tmp_path):
    producer = FakeProducer(deliver=False)

    with pytest.raises(DestinationError, match="did not confirm 3 of 3 records .* within 2 s"):
        kafka(producer, flush_timeout_seconds=2).ship(make_segment(tmp_path, three_records()))

    assert producer.purges == 1


def test_a_full_queue_is_drained_by_polling_and_the_message_produced_again(tmp_path):
    producer = FakeProducer(buffer_errors=2)

    kafka(producer).ship(make_segment(tmp_path, three_records()))

    assert len(producer.produced) == 3
    assert producer.polls.count(0.1) == 2


def test_a_queue_that_stays_full_fails_the_segment_instead_of_hanging(tmp_path):
    producer = FakeProducer(buffer_errors=float("inf"))
    destination = kafka(producer, flush_timeout_seconds=0.3)
    segment = make_segment(tmp_path, three_records())

    with pytest.raises(DestinationError, match="queue for topic 'clicks' stayed full"):
        finishes_within(20, lambda: destination.ship(segment))


def test_a_message_too_large_for_kafka_is_set_aside_and_the_rest_delivered(tmp_path):
    too_large = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large")
    # One rejected by produce() itself, one by the broker in its delivery report.
    producer = FakeProducer(produce_errors={0: too_large}, delivery_errors={2: too_large})
    records = three_records()
    rejected = tmp_path / "rejected"
    destination = kafka(producer, oversize_dir=rejected)

    destination.ship(make_segment(tmp_path, records))

    kept = gzip.decompress((rejected / "20240501T130500123Z-test-host-4242-0a1b2c3d.gz").read_bytes())
    assert sorted(json.loads(line)["rid"] for line in kept.splitlines()) == ["rid-0", "rid-2"]
    assert destination.describe()["oversize_records"] == 2


def test_a_fatal_producer_error_fails_this_and_later_shipments(tmp_path):
    fatal = KafkaError(KafkaError._FATAL, "Fatal error: producer fenced", fatal=True)
    producer = FakeProducer(produce_errors={0: fatal})
    destination = kafka(producer)
    segment = make_segment(tmp_path, three_records())

    with pytest.raises(DestinationError, match="_FATAL"):
        destination.ship(segment)
    # A producer handed in cannot be replaced; one created from the settings would be.
    with pytest.raises(DestinationError, match="producer for topic 'clicks' has failed"):
        destination.ship(segment)


def test_describe_names_topic_and_brokers_but_no_secrets():
    destination = KafkaDestination(
        "broker:9092",
        "clicks",
        producer=FakeProducer(),
        producer_config={"security.protocol": "SASL_SSL", "sasl.username": "ingest", "sasl.password": "s3cret"},
    )

    described = destination.describe()

    assert isinstance(destination, Destination)
    assert (described["kind"], described["topic"], described["bootstrap_servers"]) == ("kafka", "clicks", "broker:9092")
    assert described["security_protocol"] == "SASL_SSL"
    assert "s3cret" not in json.dumps(described)


# A real librdkafka producer, no broker ----------------------------------------------------


def test_an_unreachable_broker_fails_the_segment_within_the_message_timeout(tmp_path):
    destination = KafkaDestination(
        f"127.0.0.1:{free_port()}",
        "clicks",
        producer_config={"message.timeout.ms": 1500},
        flush_timeout_seconds=5,
    )
    segment = make_segment(tmp_path, three_records())

    with pytest.raises(DestinationError) as raised:
        finishes_within(20, lambda: destination.ship(segment))
    finishes_within(20, destination.close)

    assert "topic 'clicks'" in str(raised.value)
    assert "3 of 3 records" in str(raised.value)


def test_the_configuration_chooses_kafka_with_the_project_id_as_default_topic(tmp_path: Path):
    config = make_config(
        tmp_path,
        pipeline={"sink": {"type": "kafka", "kafka": {"bootstrap_servers": f"127.0.0.1:{free_port()}"}}},
    )

    destination = destination_from_config(config)
    try:
        assert isinstance(destination, KafkaDestination)
        assert destination.topic == "test_project"
        assert destination.oversize_dir == config.data_root / "rejected" / "kafka"
    finally:
        finishes_within(20, destination.close)


def test_the_connector_example_writes_the_raw_layout_with_the_topic_level():
    settings = json.loads(CONNECTOR_EXAMPLE.read_text(encoding="utf-8"))["config"]
    raw_prefix = make_config(Path("/"), project_id="my_project").raw_prefix

    # The connector writes <topics.dir>/<topic>/<path.format>/<topic>+<partition>+<offset><ext>.
    assert settings["topics.dir"] + "/" == raw_prefix
    assert settings["topics"] == "my_project"
    assert settings["partitioner.class"] == "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
    assert settings["path.format"] == "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"
    assert (settings["partition.duration.ms"], settings["timezone"], settings["timestamp.extractor"]) == (
        "3600000",
        "UTC",
        "Record",
    )
    # Values written byte for byte, one per line, in .json.gz files the processing job globs.
    assert settings["format.class"] == "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"
    assert settings["value.converter"] == "org.apache.kafka.connect.converters.ByteArrayConverter"
    assert (settings["format.bytearray.extension"], settings["s3.compression.type"]) == (".json", "gzip")
    assert settings["format.bytearray.separator"] == "\n"
