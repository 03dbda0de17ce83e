"""Hour partitions shared by the raw lake and ``ods_events``, and the conversions between
Dagster partition keys and hours. The lake's own layout and hour formats are
clickstream_contract/raw_lake.py's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

# Dagster's default key format for hourly partitions, spelled out because keys are parsed here.
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"


def first_hour(start_date: date) -> datetime:
    """The first partition: 00:00 UTC of ``pipeline.processing.start_date``."""
    return datetime(start_date.year, start_date.month, start_date.day, tzinfo=UTC)


def hourly_partitions(start_date: date) -> dg.HourlyPartitionsDefinition:
    """From the project's first day, so the UI's partition bar holds the hours the project can
    have rather than years of missing ones (a "materialize all" would backfill each)."""
    # end_offset=1 makes the current, still-filling hour a valid partition, so fresh data can be
    # processed within minutes instead of after the hour closes.
    return dg.HourlyPartitionsDefinition(
        start_date=hour_to_partition_key(first_hour(start_date)), fmt=PARTITION_KEY_FORMAT, timezone="UTC", end_offset=1
    )


def partition_key_to_hour(key: str) -> datetime:
    return datetime.strptime(key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)


def hour_to_partition_key(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime(PARTITION_KEY_FORMAT)
