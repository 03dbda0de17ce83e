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

from clickstream_contract.raw_lake import SOURCES_DIR, day_path, hour_path, is_raw_file, parse_hour_path
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


HourFiles = dict[datetime, list[tuple[str, int]]]


def source_label(name: str) -> str:
    """How a source's files are named in an hour's listing: apart from the SDK files, whose
    names (and so the fingerprint of an hour without source files) stay as they were."""
    return f"{SOURCES_DIR}/{name}/"


class RawLakeResource(dg.ConfigurableResource):
    """A local directory laid out like ``s3://bucket/<prefix>year=/month=/day=/hour=/``, and the
    configured sources' directories (``pipeline.sources``, ``<prefix>sources/<name>/``).

    An hour's listing covers the SDK files and every source's: a file a source landed changes
    the hour as much as an SDK file, so the sensor, the schedules and ``lake/raw_events`` need no
    second notion of what is due. ``lakes_with_files`` says whose files an hour range holds, so
    processing starts only the jobs that have something to read."""

    raw_root: str
    # Source name -> the root of its hour directories (ProjectConfig.source_raw_lake).
    source_roots: dict[str, str] = {}  # noqa: RUF012 (pydantic copies a default per instance)

    def hours(self, since: datetime, until: datetime) -> list[HourListing]:
        """Hours in [since, until] that hold at least one sealed file, oldest first. Walks the
        hours of the window instead of the whole lake, so a tick costs the same after a year."""
        by_hour: HourFiles = {}
        for label, files_by_hour in self._lakes(since, until).items():
            for hour, files in files_by_hour.items():
                by_hour.setdefault(hour, []).extend((f"{label}{name}", size) for name, size in files)
        return [hour_listing(hour, files) for hour, files in sorted(by_hour.items()) if files]

    def hour(self, hour: datetime) -> HourListing:
        found = self.hours(hour, hour)
        return found[0] if found else hour_listing(hour, [])

    def lakes_with_files(self, since: datetime, until: datetime) -> set[str | None]:
        """Whose raw files [since, until] holds: None for the SDK files, else source names."""
        lakes = self._lakes(since, until)
        return {name for name in (None, *self.source_roots) if any(lakes[source_label(name) if name else ""].values())}

    def _lakes(self, since: datetime, until: datetime) -> dict[str, HourFiles]:
        roots = {"": self.raw_root, **{source_label(name): root for name, root in sorted(self.source_roots.items())}}
        return {label: self.files_by_hour(root, since, until) for label, root in roots.items()}

    def files_by_hour(self, root: str, since: datetime, until: datetime) -> HourFiles:
        """(name, size) of the sealed files of each hour in [since, until] below ``root``."""
        found: HourFiles = {}
        hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            directory = Path(root) / hour_path(hour)
            if directory.is_dir():
                files = [(file.name, file.stat().st_size) for file in directory.glob("*") if is_raw_file(file.name)]
                if files:
                    found[hour] = files
            hour += timedelta(hours=1)
        return found


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

    @staticmethod
    def _bucket_and_prefix(root: str) -> tuple[str, str]:
        bucket, _, prefix = root.removeprefix("s3://").partition("/")
        return bucket, (prefix.rstrip("/") + "/") if prefix else ""

    def files_by_hour(self, root: str, since: datetime, until: datetime) -> HourFiles:
        bucket, prefix = self._bucket_and_prefix(root)
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
        return by_hour


def raw_lake_for(config: ProjectConfig) -> RawLakeResource:
    """Where the sensor and the raw asset look for sealed files: the raw lake in S3 that EMR
    Serverless reads too (ProjectConfig.raw_uri: the S3 sink's bucket and prefix, or where
    Firehose or Kafka Connect deliver), else the local lake."""
    sink = config.pipeline.sink
    sources = {source.name: config.source_raw_lake(source.name) for source in config.pipeline.sources}
    if config.raw_uri is None:
        return RawLakeResource(raw_root=config.raw_lake, source_roots=sources)
    if sink.type == "s3":
        return S3RawLakeResource(raw_root=config.raw_lake, source_roots=sources, region=sink.s3.region, endpoint_url=sink.s3.endpoint_url)
    # Firehose or Kafka Connect deliver the files; sources need the local or S3 sink (config.py).
    return S3RawLakeResource(raw_root=config.raw_lake, region=config.pipeline.processing.emr_serverless.region)
