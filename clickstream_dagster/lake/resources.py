"""The raw lake as the sensor and the raw asset see it: which hours hold sealed files.

Behind a resource so that tests can hand the sensor a lake of their own, and so that the S3
listing of a scale-out deployment replaces only this class.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from clickstream_contract.raw_lake import day_path, hour_path, is_raw_file, parse_hour_path
from clickstream_dagster.lake.partitions import first_hour
from clickstream_project.config import ProcessingSettings, ProjectConfig


@dataclass(frozen=True)
class HourListing:
    hour: datetime
    files: int
    bytes: int
    # Changes whenever a file is added, replaced or removed; part of the sensor's run key.
    fingerprint: str


def hour_listing(hour: datetime, files: list[tuple[str, int]]) -> HourListing:
    """The listing of one hour from its files' (name, size): the same fingerprint whether the
    lake is a directory or a bucket."""
    digest = hashlib.sha256()
    total = 0
    for name, size in sorted(files):
        total += size
        digest.update(f"{name}:{size}\n".encode())
    return HourListing(hour=hour, files=len(files), bytes=total, fingerprint=digest.hexdigest()[:16])


def list_hour(raw_root: Path, hour: datetime) -> HourListing:
    files = [(file.name, file.stat().st_size) for file in (raw_root / hour_path(hour)).glob("*") if is_raw_file(file.name)]
    return hour_listing(hour, files)


class RawLakeResource(dg.ConfigurableResource):
    """A local directory laid out like ``s3://bucket/<prefix>year=/month=/day=/hour=/``."""

    raw_root: str

    def hours(self, since: datetime, until: datetime) -> list[HourListing]:
        """Hours in [since, until] that hold at least one sealed file, oldest first. Walks the
        hours of the window instead of the whole lake, so a tick costs the same after a year."""
        root = Path(self.raw_root)
        found: list[HourListing] = []
        hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            if (root / hour_path(hour)).is_dir():
                listing = list_hour(root, hour)
                if listing.files:
                    found.append(listing)
            hour += timedelta(hours=1)
        return found

    def hour(self, hour: datetime) -> HourListing:
        return list_hour(Path(self.raw_root), hour)


@dataclass(frozen=True)
class LookbackWindow:
    """The raw hours a tick of the sensor or the processing schedule lists. Late files for an
    hour keep arriving while SDKs retry (they hold events for days): the window is
    ``processing.event_freshness_hours``, beyond which events are stale anyway. It never starts
    before ``first_hour``, where the partitions start: an earlier hour is no partition, and a run
    requested for it would fail the tick."""

    hours: int
    first_hour: datetime

    @classmethod
    def of(cls, processing: ProcessingSettings) -> LookbackWindow:
        return cls(hours=processing.event_freshness_hours, first_hour=first_hour(processing.start_date))

    def start(self, now: datetime) -> datetime:
        back = (now.astimezone(UTC) - timedelta(hours=self.hours)).replace(minute=0, second=0, microsecond=0)
        return max(back, self.first_hour)


class S3RawLakeResource(RawLakeResource):
    """The raw lake in S3 (the S3 sink's bucket and prefix, or where Firehose / Kafka Connect
    deliver): ``raw_root`` is ``s3://bucket/prefix``. One paginated listing per day of the
    window instead of one per hour: a 72-hour lookback costs 4 requests per tick, not 72."""

    region: str | None = None
    endpoint_url: str | None = None

    def _client(self):
        import boto3

        return boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint_url)

    def _bucket_and_prefix(self) -> tuple[str, str]:
        bucket, _, prefix = self.raw_root.removeprefix("s3://").partition("/")
        return bucket, (prefix.rstrip("/") + "/") if prefix else ""

    def hours(self, since: datetime, until: datetime) -> list[HourListing]:
        bucket, prefix = self._bucket_and_prefix()
        first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        last = until.astimezone(UTC)
        by_hour: dict[datetime, list[tuple[str, int]]] = {}
        paginator = self._client().get_paginator("list_objects_v2")
        day = first.replace(hour=0)
        while day <= last:
            for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}{day_path(day)}/"):
                for item in page.get("Contents", []):
                    directory, _, name = item["Key"][len(prefix) :].rpartition("/")
                    hour = parse_hour_path(directory)
                    if hour is not None and is_raw_file(name) and first <= hour <= last:
                        by_hour.setdefault(hour, []).append((name, item["Size"]))
            day += timedelta(days=1)
        return [hour_listing(hour, files) for hour, files in sorted(by_hour.items())]

    def hour(self, hour: datetime) -> HourListing:
        found = self.hours(hour, hour)
        return found[0] if found else hour_listing(hour, [])


def raw_lake_for(config: ProjectConfig) -> RawLakeResource:
    """Where the sensor and the raw asset look for sealed files: the raw lake in S3 that EMR
    Serverless reads too (ProjectConfig.raw_uri: the S3 sink's bucket and prefix, or where
    Firehose or Kafka Connect deliver), else the local lake."""
    sink = config.pipeline.sink
    if config.raw_uri is None:
        return RawLakeResource(raw_root=config.raw_lake)
    if sink.type == "s3":
        return S3RawLakeResource(raw_root=config.raw_lake, region=sink.s3.region, endpoint_url=sink.s3.endpoint_url)
    return S3RawLakeResource(raw_root=config.raw_lake, region=config.pipeline.processing.emr_serverless.region)
