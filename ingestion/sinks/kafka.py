"""Kafka destination: every raw record of a segment becomes one message of the topic.

The Confluent S3 sink connector (deploy/sinks/) writes the topic back to gzip NDJSON files
under `<prefix><topic>/year=YYYY/month=MM/day=DD/hour=HH/`. Each message's timestamp lies in
the segment's arrival hour, so the connector's record-time partitioning puts a late-shipped
segment (after an outage) into the hour it arrived, like the S3 destination does.

Delivery is at-least-once: `ship` returns only when the broker acknowledged every message
(acks=all); otherwise the whole segment is sent again later, and processing drops the repeated
events by `event_id` (DATA_CONTRACT §4).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.layout import HOUR_MS
from ingestion.sinks.oversize import set_aside

logger = logging.getLogger(__name__)

ConfigValue = str | int | bool
# What "shipped" has to mean before the spool deletes a segment: every in-sync replica has the
# message, and a producer retry cannot write it twice. A producer_config that weakens these is
# refused rather than silently overridden.
REQUIRED_SETTINGS: dict[str, ConfigValue] = {"acks": "all", "enable.idempotence": True}
_EQUIVALENT_VALUES = {"acks": {"all", "-1"}, "enable.idempotence": {"true"}}
# Defaults the producer_config may override. lz4 costs a fraction of gzip's CPU on JSON and the
# connector compresses the files itself; a whole segment is produced at once, so a short
# linger already fills batches.
DEFAULT_SETTINGS: dict[str, ConfigValue] = {"compression.type": "lz4", "linger.ms": 20}
# How long a shipment waits for the brokers' acknowledgements. A healthy cluster confirms a
# 5,000-record segment in well under a second; the bound matters during an outage, when a worker
# being stopped waits out the shipment in progress: it must end within gunicorn's 30 s graceful
# timeout (ingestion.server.GRACEFUL_TIMEOUT_SECONDS), or the worker is killed mid-shutdown.
FLUSH_TIMEOUT_SECONDS = 20.0
# On close, what is still queued belongs to segments whose shipment failed and which stay in the
# spool; waiting for it only spares duplicates, and it must not stretch the shutdown.
CLOSE_FLUSH_SECONDS = 5.0
_BUFFER_FULL_POLL_SECONDS = 0.1


def producer_settings(
    bootstrap_servers: str, producer_config: Mapping[str, ConfigValue] | None, flush_timeout_seconds: float
) -> dict[str, ConfigValue]:
    """The librdkafka configuration: defaults < producer_config < the delivery guarantees."""
    user = dict(producer_config or {})
    if "bootstrap.servers" in user:
        raise ValueError("set the brokers in kafka.bootstrap_servers, not in kafka.producer_config")
    for key, required in REQUIRED_SETTINGS.items():
        if key in user and str(user[key]).lower() not in _EQUIVALENT_VALUES[key]:
            raise ValueError(
                f"kafka.producer_config {key}={user[key]!r} is not allowed: the spool deletes a segment once "
                f"Kafka confirmed it, which is only safe with {key}={required}"
            )
    return {
        **DEFAULT_SETTINGS,
        # A message still unsent when the flush gives up must fail, not linger in the queue and
        # arrive next to its retried copy; so it times out within the flush timeout.
        "message.timeout.ms": int(flush_timeout_seconds * 1000),
        **user,
        **REQUIRED_SETTINGS,
        "bootstrap.servers": bootstrap_servers,
    }


def record_timestamp_ms(hour: int, now_ms: int) -> int:
    """Now, kept inside the arrival hour: close to the true arrival time for a segment shipped
    promptly, and still the right hour for one shipped late."""
    start = hour * HOUR_MS
    return min(max(now_ms, start), start + HOUR_MS - 1)


@dataclass
class _Deliveries:
    """Delivery reports of one segment, filled by the callbacks that poll() and flush() run."""

    delivered: int = 0
    failed: int = 0
    first_error: str | None = None
    oversize: list[bytes] = field(default_factory=list)

    def report(self, error: KafkaError | None, message: Any) -> None:
        if error is None:
            self.delivered += 1
        elif error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            self.oversize.append(message.value())
        else:
            self.failed += 1
            if self.first_error is None:
                self.first_error = f"{error.name()}: {error.str()}"


class KafkaDestination:
    """Produces each line of a segment as one message with a null key.

    Null keys: the S3 connector ignores keys, nothing needs per-key ordering, and librdkafka's
    sticky partitioner then fills one partition's batch at a time (larger batches compress
    better). `producer` is for tests; otherwise one producer is created here and replaced after
    a fatal error (which makes an idempotent producer unusable).
    """

    kind = "kafka"

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        producer_config: Mapping[str, ConfigValue] | None = None,
        producer: Any | None = None,
        flush_timeout_seconds: float = FLUSH_TIMEOUT_SECONDS,
        oversize_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.flush_timeout_seconds = flush_timeout_seconds
        self.settings = producer_settings(bootstrap_servers, producer_config, flush_timeout_seconds)
        self.oversize_dir = oversize_dir
        self.oversize_records = 0
        self.last_error: str | None = None
        self._clock = clock
        self._fatal: str | None = None
        self._owns_producer = producer is None
        self._producer = producer if producer is not None else self._new_producer()

    def _new_producer(self) -> Producer:
        # librdkafka logs through Python logging (served by poll) instead of writing to stderr.
        return Producer({**self.settings, "error_cb": self._on_error, "logger": logging.getLogger("ingestion.sinks.librdkafka")})

    def _on_error(self, error: KafkaError) -> None:
        # Most errors here (broker down, all brokers down) are transient and librdkafka keeps
        # retrying; they surface to `ship` as failed deliveries, and librdkafka's own log line
        # already reports them. A fatal one ends the producer.
        self.last_error = f"{error.name()}: {error.str()}"
        if error.fatal():
            self._fatal = self.last_error
            logger.error("kafka: fatal producer error: %s (brokers %s)", self.last_error, self.bootstrap_servers)
        else:
            logger.debug("kafka: %s (brokers %s)", self.last_error, self.bootstrap_servers)

    def ship(self, segment: SealedSegment) -> None:
        producer = self._usable_producer()
        deliveries = _Deliveries()
        timestamp = record_timestamp_ms(segment.hour, int(self._clock() * 1000))
        produced = 0
        try:
            for line in segment.lines():
                if deliveries.failed:
                    break  # the segment fails anyway; queueing the rest would only delay that
                self._produce(producer, line, timestamp, deliveries, segment)
                produced += 1
            remaining = 0 if deliveries.failed else producer.flush(self.flush_timeout_seconds)
            self._check(segment, deliveries, produced, remaining)
        except DestinationError:
            self._discard_queued(producer)
            raise
        if deliveries.oversize:
            self.oversize_records += len(deliveries.oversize)
            set_aside(self.oversize_dir, segment, deliveries.oversize, limit=self._size_limit())
        self.last_error = None

    def _produce(self, producer: Any, line: bytes, timestamp: int, deliveries: _Deliveries, segment: SealedSegment) -> None:
        stalled_until: float | None = None
        while True:
            try:
                producer.produce(self.topic, value=line, timestamp=timestamp, on_delivery=deliveries.report)
                break
            except BufferError:
                # The local queue is full (queue.buffering.max.*): serve delivery reports, which
                # frees room, and try again; a queue that does not move for as long as a flush
                # may take means the brokers are not taking messages.
                now = time.monotonic()
                if stalled_until is None:
                    stalled_until = now + self.flush_timeout_seconds
                elif now >= stalled_until:
                    raise DestinationError(
                        f"Kafka producer queue for topic {self.topic!r} stayed full for "
                        f"{self.flush_timeout_seconds:g} s while shipping segment {segment.stem} "
                        f"(brokers {self.bootstrap_servers})"
                    ) from None
                producer.poll(_BUFFER_FULL_POLL_SECONDS)
            except KafkaException as exception:
                error = exception.args[0]
                if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    deliveries.oversize.append(line)
                    break
                if error.fatal():
                    self._fatal = f"{error.name()}: {error.str()}"
                raise DestinationError(
                    f"Kafka produce to topic {self.topic!r} failed for segment {segment.stem}: "
                    f"{error.name()}: {error.str()} (brokers {self.bootstrap_servers})"
                ) from exception
        producer.poll(0)

    def _check(self, segment: SealedSegment, deliveries: _Deliveries, produced: int, remaining: int) -> None:
        where = f"topic {self.topic!r} (brokers {self.bootstrap_servers})"
        if deliveries.failed:
            raise DestinationError(
                f"Kafka delivery to {where} failed for {deliveries.failed} of {produced} records sent from "
                f"segment {segment.stem}: {deliveries.first_error}"
            )
        confirmed = deliveries.delivered + len(deliveries.oversize)
        if remaining or confirmed < produced:
            raise DestinationError(
                f"Kafka did not confirm {produced - confirmed} of {produced} records of segment {segment.stem} "
                f"to {where} within {self.flush_timeout_seconds:g} s"
            )

    def _discard_queued(self, producer: Any) -> None:
        """Drop what the failed shipment left in the local queue: the segment is sent again
        whole, and stale copies would only add duplicates and fill the queue."""
        producer.purge(in_queue=True, in_flight=False)
        producer.poll(0)

    def _usable_producer(self) -> Any:
        if self._fatal is not None:
            if not self._owns_producer:
                raise DestinationError(f"Kafka producer for topic {self.topic!r} has failed: {self._fatal}")
            logger.warning("kafka: replacing the producer after a fatal error: %s", self._fatal)
            self._discard_queued(self._producer)
            self._producer = self._new_producer()
            self._fatal = None
        return self._producer

    def _size_limit(self) -> str:
        limit = self.settings.get("message.max.bytes", 1_000_000)
        return f"the {limit}-byte message limit of Kafka topic {self.topic!r}"

    def close(self) -> None:
        remaining = self._producer.flush(min(self.flush_timeout_seconds, CLOSE_FLUSH_SECONDS))
        if remaining:
            logger.warning("kafka: closing with %d messages unconfirmed; their segments stay in the spool", remaining)
            self._discard_queued(self._producer)
        if self._owns_producer:
            self._producer.close()

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "topic": self.topic,
            "bootstrap_servers": self.bootstrap_servers,
            # The protocol only (PLAINTEXT, SASL_SSL...); SASL and SSL secrets stay out.
            "security_protocol": str(self.settings.get("security.protocol", "plaintext")),
            "oversize_records": self.oversize_records,
            "last_error": self.last_error,
        }
