"""``lake/raw_events``: the sealed raw files the ingestion service delivered, per arrival hour.

The ingestion service writes the files; materialising a partition records what the hour holds
(files, bytes, a fingerprint) so that lineage and the UI show raw data as the first stage, and
so a later change of the hour's files is visible as a new materialisation.
"""

from datetime import timedelta

import dagster as dg

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.lake.resources import RawLakeResource
from clickstream_dagster.names import RAW_EVENTS_KEY


def build_raw_events(partitions_def: dg.HourlyPartitionsDefinition) -> dg.AssetsDefinition:
    """``partitions_def`` is ``hourly_partitions(pipeline.processing.start_date)``, shared with
    ``lake/ods_events``."""

    @dg.asset(
        key=RAW_EVENTS_KEY,
        group_name="ingestion",
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"file"},
        description="Raw request records (gzip NDJSON, DATA_CONTRACT §3) by UTC arrival hour.",
    )
    def raw_events(context: dg.AssetExecutionContext, raw_lake: RawLakeResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        # The window is [first hour, end of last hour); hours() takes the last hour's start.
        listings = raw_lake.hours(window.start, window.end - timedelta(hours=1))
        files = sum(listing.files for listing in listings)
        size = sum(listing.bytes for listing in listings)
        context.log.info(f"{len(context.partition_keys)} hour(s): {files} raw file(s), {size} bytes")
        return dg.MaterializeResult(
            metadata={
                "hours": len(context.partition_keys),
                "hours_with_data": len(listings),
                "files": files,
                "bytes": dg.MetadataValue.int(size),
                "fingerprints": dg.MetadataValue.json({format_hour(listing.hour): listing.fingerprint for listing in listings}),
            }
        )

    return raw_events
