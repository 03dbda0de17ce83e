"""The job's load: a transformed batch (plugins/transform.py) → committed Parquet below the ods root.

A run writes into its own staging directory, ``_staging/<run id>/``, then commits per arrival hour
(plugins/commit.py), so re-running hours replaces their output. Before writing it drops the
events that runs of other hours already committed; from that check to the end of the commit the
job holds the commit lock (plugins/run_locks.py), so the next run sees this one's output.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from plugins.commit import commit_hours, file_prefix, replace_partitions
from plugins.ods_schema import ODS_COLUMNS
from plugins.run_locks import STAGING, remove_dead_staging, staging_liveness, staging_lock
from plugins.slices import records_dir
from plugins.storage import Storage, base_name, join
from plugins.transform import PARTITION_COLUMNS, Transformed, materialise, with_partition_columns

# Columns whose values are (nearly) all distinct: a dictionary page would never pay off, and
# trying one first costs the write ~15% of its CPU (files grow ~9%).
NO_DICTIONARY = {
    f"parquet.enable.dictionary#{column}": "false"
    for column in ("event_id", "user_pseudo_id", "event_timestamp", "ingest_timestamp", "event_server_timestamp_offset",
                   "event_params.list.element.value.string_value")
}  # fmt: skip


class Output:
    """Where one run writes: the ods root's datasets, through this run's staging directory.

    A run of a configured ``source`` (pipeline.sources) shares ``ods_events`` with the SDK runs,
    under file names of its own (plugins/commit.py); its quarantine and slice records are kept
    apart (``quarantine/source=<name>/``, plugins/slices.py), since both are replaced per hour."""

    def __init__(self, storage: Storage, ods_root: str, source: str | None = None) -> None:
        self.storage, self.root, self.source = storage, ods_root, source
        self.events_dataset = join(ods_root, "ods_events")
        self.quarantine_dataset = join(ods_root, "quarantine", f"source={source}") if source else join(ods_root, "quarantine")
        self.slice_records = records_dir(ods_root, source)
        self.staging = join(ods_root, STAGING, uuid.uuid4().hex)

    def claim_staging(self, locks: ExitStack) -> list[str]:
        """Mark this run's staging live until ``locks`` close; returns the staging directories of
        dead runs, removed on the way."""
        with staging_lock(self.root):
            # Left by killed runs; a live run's staging is kept (plugins/run_locks.py says how).
            removed = remove_dead_staging(self.storage, self.root, keep=self.staging)
            locks.enter_context(staging_liveness(self.staging))
        return removed

    def earlier_copies(
        self, spark: SparkSession, batch: Transformed, hour_keys: list[str], parts: dict[str, str] | None = None
    ) -> DataFrame | None:
        """``_row`` and ``partition_app`` of the batch's events that runs of other hours (or
        other slices of these hours: ``parts``, plugins/slices.py) already committed (None when
        the days it touches hold no such output), held in memory until released. Call it under
        the commit lock."""
        earlier = earlier_event_ids(spark, self.storage, self.events_dataset, batch.keys, hour_keys, parts, self.source)
        if earlier is None:
            return None
        copies = batch.keys.join(earlier, on=["partition_app", "event_id"], how="left_semi").select("_row", "partition_app")
        return materialise(copies.join(batch.duplicates, on="_row", how="left_anti"))

    def write_events(self, events: DataFrame, dropped: DataFrame | None) -> None:
        """Stage ``events`` but the ``dropped`` rows (by ``_row``; None when there are none),
        partitioned by arrival hour and event day."""
        if dropped is not None:
            events = events.join(F.broadcast(dropped.select("_row")), on="_row", how="left_anti")
        (
            # No repartition by partition values: that would shuffle every wide row once more
            # for fewer files; each task writes its own file per partition instead.
            with_partition_columns(events)
            .select("ingest_hour", *PARTITION_COLUMNS, *ODS_COLUMNS)
            .write.options(**NO_DICTIONARY)
            .mode("overwrite")
            .partitionBy("ingest_hour", *PARTITION_COLUMNS)
            .parquet(join(self.staging, "ods_events"))
        )

    def write_quarantine(self, quarantine: DataFrame) -> None:
        quarantine.repartition("ingest_hour").write.mode("overwrite").partitionBy("ingest_hour").parquet(join(self.staging, "quarantine"))

    def commit(self, hour_keys: list[str], parts: dict[str, str] | None = None) -> list[str]:
        """Replace the output of the hours (of the hours' slices named in ``parts``) with the
        staged one, and remove the staging; returns the committed ``ods_events`` files. Hours
        without data are committed too: that removes what an earlier run left for them."""
        committed = commit_hours(self.storage, join(self.staging, "ods_events"), self.events_dataset, hour_keys, parts, self.source)
        replace_partitions(self.storage, join(self.staging, "quarantine"), self.quarantine_dataset, hour_keys, parts)
        with staging_lock(self.root):
            self.storage.delete(self.staging, recursive=True)
            if self.storage.is_empty_dir(join(self.root, STAGING)):
                self.storage.delete(join(self.root, STAGING))
        return committed


def earlier_event_ids(
    spark: SparkSession,
    storage: Storage,
    dataset: str,
    keys: DataFrame,
    hour_keys: list[str],
    parts: dict[str, str] | None = None,
    source: str | None = None,
) -> DataFrame | None:
    """(partition_app, event_id) already written by runs of OTHER hours (or other slices of the
    hours named in ``parts``) into the day partitions this batch touches. The hours (slices)
    being (re)processed are left out: their files are about to be replaced, which is what keeps
    a re-run idempotent."""
    parts = parts or {}
    replaced = tuple(file_prefix(hour, parts.get(hour), source) for hour in hour_keys)
    files: list[str] = []
    for row in keys.select(*PARTITION_COLUMNS).distinct().collect():
        directory = join(dataset, *(f"{column}={row[column]}" for column in PARTITION_COLUMNS))
        files += [file for file in storage.glob(join(directory, "*.parquet")) if not base_name(file).startswith(replaced)]
    if not files:
        return None
    return spark.read.parquet(*files).select(F.col("app_info.app_id").alias("partition_app"), "event_id")
