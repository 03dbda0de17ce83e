"""Kinesis Data Streams destination: every raw record of a segment becomes one stream record.

The stream does not store files; a Firehose delivery stream (deploy/sinks/) turns it back into
gzip NDJSON objects under the raw prefix. Each record's data is the JSON line plus "\n", so
Firehose only has to concatenate and compress.

Delivery is at-least-once: a segment whose shipment failed half-way is sent again whole, and
processing drops the repeated events by `event_id` (DATA_CONTRACT §4).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.oversize import set_aside

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
# PutRecords limits (Kinesis Data Streams quotas): 500 records and 5 MiB per call, 1 MiB per
# record; partition keys count towards both byte limits.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * MIB
MAX_RECORD_BYTES = MIB
MAX_PARTITION_KEY_CHARS = 256
# Entries a call rejected (mostly ProvisionedThroughputExceeded, i.e. a shard's 1 MiB/s or
# 1,000 records/s) are sent again after 0.1, 0.2, 0.4 ... s, capped at 5 s: 8 attempts wait
# about 11 s in all, enough for a throttled shard's next second, short enough to give the
# segment back to the spool when the stream is really unavailable.
MAX_ATTEMPTS = 8
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
# Whole-call failures (network, 5xx, throttling of the call itself) are retried by botocore.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=15,
    retries={"mode": "standard", "max_attempts": 3},
)


@dataclass
class _Entry:
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8"))


@dataclass
class _Shipment:
    """Counters of one `ship` call, for the log line and the oversize decision."""

    records: int = 0
    calls: int = 0
    oversize: list[bytes] = field(default_factory=list)


class KinesisDestination:
    """PutRecords in calls of at most `batch_size` (≤ 500) records and 5 MiB.

    A record over 1 MiB cannot enter a stream; it is set aside in `oversize_dir` (see
    `ingestion.sinks.oversize`) and counted in `oversize_records`.
    """

    kind = "kinesis"

    def __init__(
        self,
        stream_name: str,
        *,
        client: BaseClient | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        batch_size: int = MAX_RECORDS_PER_CALL,
        oversize_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.stream_name = stream_name
        self.region = region
        self.endpoint_url = endpoint_url
        # The configured batch size is the product's "records per batch" knob (up to 10,000);
        # a single PutRecords call cannot take more than 500.
        self.records_per_call = min(batch_size, MAX_RECORDS_PER_CALL)
        self.oversize_dir = oversize_dir
        self.oversize_records = 0
        self._sleep = sleep
        self._owns_client = client is None
        try:
            self._client = client or boto3.session.Session().client(
                "kinesis", region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
            )
        except NoRegionError:
            raise ValueError(f"Kinesis stream {stream_name!r}: no AWS region; set pipeline.sink.kinesis.region or AWS_REGION") from None

    def ship(self, segment: SealedSegment) -> None:
        shipment = _Shipment()
        for chunk in self._chunks(_entries(segment, shipment)):
            self._put_all(chunk, segment)
            shipment.records += len(chunk)
            shipment.calls += 1
        if shipment.oversize:
            self._set_aside(segment, shipment.oversize)
        logger.debug("kinesis: %s: %d records in %d calls to %s", segment.stem, shipment.records, shipment.calls, self.stream_name)

    def _chunks(self, entries: Iterable[_Entry]) -> Iterator[list[_Entry]]:
        chunk: list[_Entry] = []
        chunk_bytes = 0
        for entry in entries:
            if chunk and (len(chunk) == self.records_per_call or chunk_bytes + entry.size > MAX_BYTES_PER_CALL):
                yield chunk
                chunk, chunk_bytes = [], 0
            chunk.append(entry)
            chunk_bytes += entry.size
        if chunk:
            yield chunk

    def _put_all(self, entries: list[_Entry], segment: SealedSegment) -> None:
        """Send the entries, then again only those the stream rejected, until none is left."""
        pending = entries
        delay = BACKOFF_FIRST_SECONDS
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = self._put_records(pending, segment)
            if not response.get("FailedRecordCount"):
                return
            results = response["Records"]
            failed = [(entry, result) for entry, result in zip(pending, results) if result.get("ErrorCode")]
            pending = [entry for entry, _ in failed]
            if not pending:
                return
            if attempt == MAX_ATTEMPTS:
                codes = sorted({result["ErrorCode"] for _, result in failed})
                first_message = failed[0][1].get("ErrorMessage", "")
                raise DestinationError(
                    f"Kinesis stream {self.stream_name!r} rejected {len(pending)} records of segment "
                    f"{segment.stem} after {MAX_ATTEMPTS} attempts: {', '.join(codes)} ({first_message})"
                )
            # Jitter keeps the workers of one host from retrying in lockstep.
            self._sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    def _put_records(self, entries: list[_Entry], segment: SealedSegment) -> dict[str, Any]:
        try:
            return self._client.put_records(
                StreamName=self.stream_name,
                Records=[{"Data": entry.data, "PartitionKey": entry.partition_key} for entry in entries],
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            raise DestinationError(
                f"Kinesis PutRecords to stream {self.stream_name!r} failed for segment {segment.stem}: "
                f"{details.get('Code', 'unknown')}: {details.get('Message') or error}"
            ) from error
        except BotoCoreError as error:
            raise DestinationError(
                f"Kinesis PutRecords to stream {self.stream_name!r} failed for segment {segment.stem}: {error}"
            ) from error

    def _set_aside(self, segment: SealedSegment, lines: list[bytes]) -> None:
        self.oversize_records += len(lines)
        set_aside(self.oversize_dir, segment, lines, limit=f"the 1 MiB record limit of Kinesis stream {self.stream_name!r}")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stream_name": self.stream_name,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "records_per_call": self.records_per_call,
            "oversize_records": self.oversize_records,
        }


def _entries(segment: SealedSegment, shipment: _Shipment) -> Iterator[_Entry]:
    """One entry per raw record. The partition key is the record's position in the segment:
    stable across retries, spread evenly over the shards by Kinesis' MD5 hashing, and free to
    compute (the rid would mean parsing every line). No order is needed across records.
    Keys are limited to 256 characters; the index comes first so a cut keeps them distinct."""
    for index, line in enumerate(segment.lines()):
        entry = _Entry(line + b"\n", f"{index}-{segment.stem}"[:MAX_PARTITION_KEY_CHARS])
        if entry.size > MAX_RECORD_BYTES:
            shipment.oversize.append(line)
            continue
        yield entry
