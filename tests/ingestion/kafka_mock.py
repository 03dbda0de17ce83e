"""A Kafka cluster for the tests: librdkafka's built-in mock cluster, driven through ctypes.

The mock brokers speak the real Kafka protocol on localhost ports, so any client (the ingestion
server's producer in another process included) can use them as bootstrap servers. The Python
binding does not wrap the mock API, but the librdkafka it bundles exports it
(`rd_kafka_mock_*`, see librdkafka's src/rdkafka_mock.h); that is the same library the producer
under test runs, so no second Kafka implementation is involved. The API is marked experimental
upstream: a confluent-kafka upgrade that changes it fails here, loudly, in the first test.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka
from confluent_kafka import Consumer, TopicPartition

_RD_KAFKA_PRODUCER = 0
_ALL_BROKERS = -1


def _bundled_librdkafka() -> ctypes.CDLL:
    # The manylinux wheel vendors it next to the package (confluent_kafka.libs/librdkafka-<hash>.so.1);
    # importing confluent_kafka has loaded it already, so this is the same copy in memory.
    package = Path(confluent_kafka.__file__).resolve().parent
    candidates = sorted(package.parent.glob("confluent_kafka.libs/librdkafka*.so*"))
    if not candidates:
        raise RuntimeError(f"no bundled librdkafka next to {package}; the Kafka broker tests need the confluent-kafka wheel")
    lib = ctypes.CDLL(str(candidates[0]))
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    for name in ("rd_kafka_mock_broker_set_down", "rd_kafka_mock_broker_set_up"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int32]
    return lib


class MockCluster:
    """`brokers` mock brokers with ids 1..brokers; topics are created by the test (or
    auto-created on first use with the mock's default of 4 partitions)."""

    def __init__(self, brokers: int = 3) -> None:
        self._lib = _bundled_librdkafka()
        errors = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The handle only hosts the cluster's threads; it is never used to produce.
        self._lib.rd_kafka_conf_set(conf, b"log_level", b"0", errors, len(errors))
        self._handle = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errors, len(errors))
        if not self._handle:
            raise RuntimeError(f"rd_kafka_new failed: {errors.value.decode()}")
        self._cluster = self._lib.rd_kafka_mock_cluster_new(self._handle, brokers)
        if not self._cluster:
            self._lib.rd_kafka_destroy(self._handle)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstrap_servers = self._lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()

    def create_topic(self, topic: str, partitions: int = 3, replication_factor: int = 3) -> None:
        error = self._lib.rd_kafka_mock_topic_create(self._cluster, topic.encode(), partitions, replication_factor)
        if error:
            raise RuntimeError(f"rd_kafka_mock_topic_create({topic!r}) failed with error code {error}")

    def stop_brokers(self) -> None:
        """Every broker drops its connections and refuses new ones, keeping its data: an outage
        the cluster recovers from with `start_brokers`."""
        self._lib.rd_kafka_mock_broker_set_down(self._cluster, _ALL_BROKERS)

    def start_brokers(self) -> None:
        self._lib.rd_kafka_mock_broker_set_up(self._cluster, _ALL_BROKERS)

    def close(self) -> None:
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._lib.rd_kafka_destroy(self._handle)
            self._cluster = self._handle = None


@contextlib.contextmanager
def running_mock_cluster(brokers: int = 3) -> Iterator[MockCluster]:
    cluster = MockCluster(brokers)
    try:
        yield cluster
    finally:
        cluster.close()


def read_topic(bootstrap_servers: str, topic: str, timeout_seconds: float = 30.0) -> list[confluent_kafka.Message]:
    """Every message the topic holds, read by a plain consumer from each partition's start to its
    high watermark (what the brokers acknowledged, nothing in flight)."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": "test-reader", "enable.auto.commit": False, "log_level": 3})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_seconds)
        partitions = sorted(metadata.topics[topic].partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_seconds)[1] for p in partitions}
        wanted = {p: end for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in wanted])
        messages: list[confluent_kafka.Message] = []
        positions = {p: 0 for p in wanted}
        deadline = time.monotonic() + timeout_seconds
        while any(positions[p] < wanted[p] for p in wanted):
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {positions} of {wanted} messages of topic {topic!r} in {timeout_seconds:g} s")
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise RuntimeError(f"consumer error on {topic!r}: {message.error()}")
            messages.append(message)
            positions[message.partition()] = message.offset() + 1
        return messages
    finally:
        consumer.close()
