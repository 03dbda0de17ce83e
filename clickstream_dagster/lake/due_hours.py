"""Which raw hours are due for processing: hours whose sealed files changed since the last
``lake/raw_events`` materialization recorded them.

The raw asset records a fingerprint per hour in its materialization metadata; comparing it with
the lake's current fingerprint needs no cursor, so a batch schedule (which has none) gets the
same answer as the micro-batch sensor, and a missed or repeated tick neither loses nor repeats
work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import dagster as dg

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.lake.partitions import hour_to_partition_key, partition_key_to_hour
from clickstream_dagster.lake.resources import HourListing
from clickstream_dagster.names import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, RAW_EVENTS_KEY

# Records fetched per query while looking for each hour's latest materialization.
PAGE_SIZE = 500


def recorded_fingerprints(instance: dg.DagsterInstance, partition_keys: Iterable[str]) -> dict[str, str]:
    """partition key → the fingerprint the newest ``raw_events`` materialization of that hour
    recorded (hours never materialized are absent)."""
    wanted = set(partition_keys)
    found: dict[str, str] = {}
    cursor = None
    while wanted - found.keys():
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=RAW_EVENTS_KEY, asset_partitions=sorted(wanted)), limit=PAGE_SIZE, cursor=cursor
        )
        for record in result.records:
            materialization = record.asset_materialization
            key = record.partition_key
            if materialization is None or key is None or key in found:
                continue
            fingerprints = materialization.metadata.get("fingerprints")
            found[key] = _fingerprint_for(fingerprints.value if fingerprints else {}, key)
        if not result.has_more:
            break
        cursor = result.cursor
    return found


def _fingerprint_for(fingerprints: dict, partition_key: str) -> str:
    return str(fingerprints.get(format_hour(partition_key_to_hour(partition_key)), ""))


def due_hours(listings: list[HourListing], recorded: dict[str, str]) -> list[HourListing]:
    return [listing for listing in listings if recorded.get(hour_to_partition_key(listing.hour)) != listing.fingerprint]


def range_run_request(due: list[HourListing], tags: dict[str, str]) -> dg.RunRequest | None:
    """One run over the first to the last due hour (one Spark application for the whole batch;
    hours in between that did not change are processed again, which is idempotent). The run key
    is a digest of the due hours and their fingerprints: the same state of the lake never
    launches twice."""
    if not due:
        return None
    digest = hashlib.sha256(
        "".join(f"{hour_to_partition_key(listing.hour)}={listing.fingerprint};" for listing in due).encode()
    ).hexdigest()[:16]
    first, last = hour_to_partition_key(due[0].hour), hour_to_partition_key(due[-1].hour)
    return dg.RunRequest(
        run_key=f"{first}..{last}:{digest}",
        tags={
            **tags,
            PARTITION_RANGE_START_TAG: first,
            PARTITION_RANGE_END_TAG: last,
        },
    )
