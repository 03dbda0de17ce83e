"""Hour partitions shared by the raw lake and ``ods_events``, and the conversions between
Dagster partition keys, raw-lake directories and the Spark job's hour arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"
JOB_HOUR_FORMAT = "%Y-%m-%dT%H"
# Early enough for archives replayed from the AWS solution; the UI only lists what is asked for.
PARTITIONS_START = "2024-01-01-00:00"

# end_offset=1 makes the current, still-filling hour a valid partition, so fresh data can be
# processed within minutes instead of after the hour closes.
hourly_partitions = dg.HourlyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)


def partition_key_to_hour(key: str) -> datetime:
    return datetime.strptime(key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)


def hour_to_partition_key(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(PARTITION_KEY_FORMAT)


def hour_to_job_arg(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(JOB_HOUR_FORMAT)


def raw_hour_dir(raw_root: Path, hour: datetime) -> Path:
    return raw_root / f"year={hour:%Y}" / f"month={hour:%m}" / f"day={hour:%d}" / f"hour={hour:%H}"
