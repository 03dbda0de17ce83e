"""The Cognito Streams source: reads a Kinesis stream of Cognito dataset syncs into the raw lake.

Every shard is read with GetShardIterator/GetRecords; each non-empty batch becomes one raw file
(gzip JSON lines, one raw record per Kinesis record, DATA_CONTRACT §3) delivered by the lake's
destination (local: temporary name, fsync, rename; S3: one PutObject) below
``<prefix>sources/<name>/`` (clickstream_contract/raw_lake.py). Only then is the shard's
sequence number written to the checkpoint. A crash between the two re-reads the batch on the
next run: at-least-once, and the transformer's event_id drops the repeats (as it drops Cognito's
own bulk-publish repeats).

After a resharding, a child shard is read only once its parents (``ParentShardId``,
``AdjacentParentShardId``) have been read to their end, so a key's updates land in order of
shards; a parent no longer listed (trimmed by retention) counts as read.

The raw record is the SDK one (``ingestion.records.build_raw_record``) with ``source_type``
``cognito_streams`` and ``data`` the JSON array ``[<Cognito record>]`` — the shape the cleaning
step decodes into elements. A ``payloadType: S3Url`` record is completed from its URL here
(ingestion/sources/payload_fetch.py). Kinesis data that is not a JSON object (garbage, another
producer) is landed anyway, ``data`` being its text as read: processing quarantines it with its
reason (``undecodable``/``not_an_array``/``missing_required_field``) and the raw input, so
nothing read from the stream disappears without a trace.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from clickstream_project.config import ProjectConfig
from clickstream_project.source_settings import CognitoStreamsSource
from ingestion.records import COGNITO_STREAMS_SOURCE_TYPE, build_raw_record, encode_record
from ingestion.sinks.destination import Destination, SealedSegment
from ingestion.sinks.layout import hour_of, new_file_stem
from ingestion.sources.checkpoint import Checkpoint
from ingestion.sources.payload_fetch import complete_record

CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5})
# Kinesis allows 5 GetRecords per shard and second.
MIN_SECONDS_BETWEEN_READS = 0.2
STAGING_DIR = "staging"


@dataclass
class RunReport:
    source: str
    records: int = 0
    files: int = 0
    shards_read: set[str] = field(default_factory=set)
    shards_finished: set[str] = field(default_factory=set)
    fetch_errors: int = 0
    not_json: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "files": self.files,
            "shards_read": sorted(self.shards_read),
            "shards_finished": sorted(self.shards_finished),
            "fetch_errors": self.fetch_errors,
            "not_json": self.not_json,
        }


def destination_for(config: ProjectConfig, source: CognitoStreamsSource) -> Destination:
    """The lake the source writes to: the local lake, or the S3 sink's bucket, below the
    source's own prefix."""
    sink = config.pipeline.sink
    prefix = config.source_raw_prefix(source.name)
    if sink.type == "local":
        from ingestion.sinks.local_lake import LocalLakeDestination

        return LocalLakeDestination(config.lake_root / prefix)
    if sink.type == "s3" and sink.s3 is not None:
        from ingestion.sinks.s3 import S3Destination

        return S3Destination(sink.s3.bucket, prefix, region=sink.s3.region, endpoint_url=sink.s3.endpoint_url)
    # Kinesis and Kafka sinks deliver through Firehose/Kafka Connect, outside the platform.
    raise ValueError(f"source {source.name!r}: pipeline.sink.type {sink.type!r} is not supported for sources (use 'local' or 's3')")


def kinesis_client(source: CognitoStreamsSource) -> BaseClient:
    return boto3.session.Session().client("kinesis", region_name=source.region, endpoint_url=source.endpoint_url, config=CLIENT_CONFIG)


class CognitoStreamsConsumer:
    """One source's reader. ``before_ship`` and ``before_checkpoint`` are for tests that stop
    the consumer at those two points, as a crash would."""

    def __init__(
        self,
        source: CognitoStreamsSource,
        destination: Destination,
        state_dir: Path,
        *,
        client: BaseClient | None = None,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        before_ship: Callable[[SealedSegment], None] | None = None,
        before_checkpoint: Callable[[str, str], None] | None = None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.state_dir = Path(state_dir)
        self.client = client or kinesis_client(source)
        self.http = http or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.before_ship = before_ship
        self.before_checkpoint = before_checkpoint
        self.checkpoint = Checkpoint.load(self.state_dir, source.stream_name)
        # A reader killed while shipping leaves its staging file; its records are re-read from
        # the checkpoint, so the file is only litter.
        for leftover in (self.state_dir / STAGING_DIR).glob("*.gz"):
            leftover.unlink(missing_ok=True)
        if source.initial_position == "latest" and self.checkpoint.started_ms is None:
            self.checkpoint.started_ms = int(clock() * 1000)
            self.checkpoint.save(self.state_dir)

    # The run loop ------------------------------------------------------------------------

    def run(self, max_seconds: float | None = None) -> RunReport:
        """Read every readable shard until all are caught up, or ``max_seconds``
        (``max_seconds_per_run``) have passed; either way stops at a checkpoint."""
        deadline = self.clock() + (max_seconds if max_seconds is not None else self.source.max_seconds_per_run)
        report = RunReport(self.source.name)
        while self.clock() < deadline:
            shards = self._list_shards()
            ready = self._readable(shards)
            finished_before = len(self.checkpoint.finished)
            behind = False
            for index, shard in enumerate(ready):
                now = self.clock()
                if now >= deadline:
                    break
                # Each shard gets its share of the time left, so a hot shard cannot starve the
                # others; one that catches up early leaves the rest of its share to the next.
                share_ends = now + (deadline - now) / (len(ready) - index)
                if not self._read_shard(shard, share_ends, report):
                    behind = True
            # A parent read to its end makes its children readable, and a shard stopped at the
            # end of its share may have time left over from the others: go round again.
            if len(self.checkpoint.finished) == finished_before and not behind:
                break
        return report

    def _list_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.source.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            shards.extend(page["Shards"])
            token = page.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    def _readable(self, shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        listed = {shard["ShardId"] for shard in shards}
        done = self.checkpoint.finished
        ready = []
        for shard in shards:
            if shard["ShardId"] in done:
                continue
            parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
            if all(parent is None or parent in done or parent not in listed for parent in parents):
                ready.append(shard)
        return ready

    def _iterator(self, shard: dict[str, Any]) -> str:
        shard_id = shard["ShardId"]
        kwargs: dict[str, Any] = {"StreamName": self.source.stream_name, "ShardId": shard_id}
        sequence = self.checkpoint.sequences.get(shard_id)
        if sequence is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)
        elif shard.get("ParentShardId") or self.source.initial_position == "trim_horizon":
            # A child of a resharding holds only records written after its parents closed.
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        else:
            started = datetime.fromtimestamp((self.checkpoint.started_ms or 0) / 1000, tz=UTC)
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=started)
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def _read_shard(self, shard: dict[str, Any], deadline: float, report: RunReport) -> bool:
        """Read the shard until it is caught up or finished (True), or until ``deadline`` (False)."""
        shard_id = shard["ShardId"]
        closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
        iterator: str | None = self._iterator(shard)
        report.shards_read.add(shard_id)
        while iterator is not None and self.clock() < deadline:
            try:
                response = self.client.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise
                # Iterators live 5 minutes; a batch of slow S3Url fetches can outlast one.
                iterator = self._iterator(shard)
                continue
            records = response.get("Records", [])
            if records:
                self._land(shard_id, records, report)
            iterator = response.get("NextShardIterator")
            caught_up = not records and response.get("MillisBehindLatest", 0) == 0
            # Kinesis ends a closed shard with no next iterator; some emulators (moto) keep
            # answering empty batches instead, which on a closed shard means the same.
            if iterator is None or (closed and caught_up):
                self.checkpoint.finished.add(shard_id)
                self.checkpoint.save(self.state_dir)
                report.shards_finished.add(shard_id)
                return True
            if caught_up:
                return True
            self.sleep(MIN_SECONDS_BETWEEN_READS)
        return iterator is None

    # Landing a batch ---------------------------------------------------------------------

    def _land(self, shard_id: str, records: list[dict[str, Any]], report: RunReport) -> None:
        arrival_ms = int(self.clock() * 1000)
        lines = [encode_record(self._raw_record(shard_id, record, arrival_ms, report)) for record in records]
        staging = self.state_dir / STAGING_DIR
        staging.mkdir(parents=True, exist_ok=True)
        stem = new_file_stem(f"{self.source.name}-{shard_id}", arrival_ms / 1000)
        path = staging / f"{stem}.gz"
        with open(path, "wb") as out:
            out.write(gzip.compress(b"".join(lines), compresslevel=6))
            out.flush()
            os.fsync(out.fileno())
        segment = SealedSegment(path=path, hour=hour_of(arrival_ms), stem=stem)
        try:
            if self.before_ship is not None:
                self.before_ship(segment)
            # Durable when ship returns (fsync + rename, or S3's confirmation).
            self.destination.ship(segment)
        finally:
            path.unlink(missing_ok=True)
        last = records[-1]["SequenceNumber"]
        if self.before_checkpoint is not None:
            self.before_checkpoint(shard_id, last)
        self.checkpoint.sequences[shard_id] = last
        self.checkpoint.save(self.state_dir)
        report.records += len(records)
        report.files += 1

    def _raw_record(self, shard_id: str, record: dict[str, Any], arrival_ms: int, report: RunReport) -> dict[str, Any]:
        data = self._data(record["Data"], report)
        sequence = record["SequenceNumber"]
        raw = build_raw_record(
            data=data,
            compression=None,
            ip=None,
            ua=None,
            method="GetRecords",
            path=f"/kinesis/{self.source.stream_name}/{shard_id}",
            query_string="",
            args={"appId": self.source.app_id},
            # Stable across replays: the same Kinesis record always has the same rid.
            rid=f"{shard_id}-{sequence}",
            arrival_ms=arrival_ms,
            source_type=COGNITO_STREAMS_SOURCE_TYPE,
        )
        arrived = record.get("ApproximateArrivalTimestamp")
        raw.update(
            source=self.source.name,
            stream_name=self.source.stream_name,
            shard_id=shard_id,
            sequence_number=sequence,
            partition_key=record.get("PartitionKey"),
            kinesis_arrival_time=int(arrived.timestamp() * 1000) if arrived is not None else None,
        )
        return raw

    def _data(self, data: bytes, report: RunReport) -> str:
        try:
            cognito = json.loads(data)
        except ValueError:
            cognito = None
        if not isinstance(cognito, dict):
            report.not_json += 1
            # Kept as read (invalid UTF-8 escaped): processing quarantines it with the reason.
            return data.decode("utf-8", "backslashreplace")
        completed = complete_record(cognito, self.source.payload_fetch, session=self.http, sleep=self.sleep)
        if "fetch_error" in completed:
            report.fetch_errors += 1
        return json.dumps([completed], separators=(",", ":"), ensure_ascii=False)


class SourceBusy(Exception):
    """Another process is reading this source now."""


@contextlib.contextmanager
def exclusive(state_dir: Path, name: str) -> Iterator[None]:
    """One reader per source at a time (a CLI and a Dagster run, two overlapping runs): two
    would read the same records and move the checkpoint back and forth. The lock goes with the
    process, so a crashed reader never leaves it held."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "reader.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SourceBusy(f"source {name!r} is being read by another process") from None
        yield


def run_source(config: ProjectConfig, source: CognitoStreamsSource, max_seconds: float | None = None) -> RunReport:
    """One bounded run of a configured source (the CLI and the Dagster job call this);
    SourceBusy when another process is reading it."""
    state_dir = config.source_state_dir(source.name)
    with exclusive(state_dir, source.name):
        destination = destination_for(config, source)
        try:
            return CognitoStreamsConsumer(source, destination, state_dir).run(max_seconds)
        finally:
            destination.close()
