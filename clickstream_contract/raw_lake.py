"""The raw lake's layout (DATA_CONTRACT §3), written once for the three parts that use it:
ingestion writes raw files there, Dagster lists them, the Spark job reads them.

    <prefix>[<topic>/]year=YYYY/month=MM/day=DD/hour=HH/<name>.gz
    <prefix>sources/<source name>/year=YYYY/month=MM/day=DD/hour=HH/<name>.gz

Files are partitioned by the UTC hour of their arrival at the ingestion server. ``<prefix>`` is
``pipeline.sink.prefix`` (``DEFAULT_PREFIX``); the Kafka S3 sink connector puts one more level,
the topic, below it (deploy/sinks/README.md). Sources read by the platform itself rather than
sent by the SDKs (``pipeline.sources``: a Cognito Streams Kinesis stream) write below
``sources/<name>/``, so their files never sit in the SDK hours that the sensor lists and the job
reads, and each source can be processed with its own transformer.

An hour is written two ways: ``HOUR_FORMAT`` (``2026-11-21T13``) where people read or type it
(the job's ``--from``/``--to``, metadata), ``HOUR_TAG_FORMAT`` (``2026112113``) inside names
(spool segments, output files, the ``ingest_hour`` column). Standard library only: the job runs
without Dagster, ingestion without Spark.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DEFAULT_PREFIX = "clickstream/{project_id}/data/buffer/"
HOUR_FORMAT = "%Y-%m-%dT%H"
HOUR_TAG_FORMAT = "%Y%m%d%H"
# The keys of the hour directories, outermost first; Spark's partition discovery turns them
# into columns of these names.
HOUR_PARTITION_KEYS = ("year", "month", "day", "hour")
RAW_FILE_SUFFIX = ".gz"
# The directory below the prefix that holds one directory per configured source.
SOURCES_DIR = "sources"
SOURCE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
_HOUR_PATH = re.compile(r"^year=(\d{4})/month=(\d{2})/day=(\d{2})/hour=(\d{2})$")


def day_path(day: datetime) -> str:
    """``year=YYYY/month=MM/day=DD`` of a day (one S3 listing covers a day's hours)."""
    day = day.astimezone(UTC)
    return f"year={day:%Y}/month={day:%m}/day={day:%d}"


def hour_path(hour: datetime) -> str:
    """``year=YYYY/month=MM/day=DD/hour=HH`` of an hour: relative, no trailing slash."""
    return f"{day_path(hour)}/hour={hour.astimezone(UTC):%H}"


def parse_hour_path(path: str) -> datetime | None:
    """The hour of a directory that :func:`hour_path` wrote, else None."""
    match = _HOUR_PATH.match(path)
    if match is None:
        return None
    try:
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
    except ValueError:  # month=13, hour=24, ...
        return None


def is_raw_file(name: str) -> bool:
    """A sealed raw file. Names starting with ``.`` or ``_`` are in-flight or marker files (the
    local sink's ``.<name>.tmp``, Hadoop's ``_SUCCESS``); anything else (``notes.txt``) is not
    ours."""
    return name.endswith(RAW_FILE_SUFFIX) and not name.startswith((".", "_"))


def raw_files_prefix(prefix: str, topic: str | None = None) -> str:
    """Where the hour directories start below the lake's root: the rendered prefix, plus the
    topic when the Kafka S3 sink connector delivers the files."""
    return f"{prefix}{topic}/" if topic else prefix


def source_files_prefix(prefix: str, source: str) -> str:
    """Where a configured source's hour directories start below the lake's root. Source names
    match ``SOURCE_NAME_PATTERN``: one path segment that is never ``year=...`` nor a dot name."""
    if not re.fullmatch(SOURCE_NAME_PATTERN, source):
        raise ValueError(f"source name {source!r} does not match {SOURCE_NAME_PATTERN}")
    return f"{prefix}{SOURCES_DIR}/{source}/"


def format_hour(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(HOUR_FORMAT)


def parse_hour(text: str) -> datetime:
    """The UTC hour of ``2026-11-21T13``; ValueError for anything else."""
    return datetime.strptime(text, HOUR_FORMAT).replace(tzinfo=UTC)


def hour_tag(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(HOUR_TAG_FORMAT)


def parse_hour_tag(text: str) -> datetime:
    return datetime.strptime(text, HOUR_TAG_FORMAT).replace(tzinfo=UTC)
