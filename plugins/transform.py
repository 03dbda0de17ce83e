"""The job's transform: raw records → unique events, quarantine rows and counts.

``transform(raw, rules, transformer, enrichments)`` reads and writes no files and takes no locks:
it builds frames from the raw frame it is given, and computes once the ones read several times,
so it runs the same on an inline test frame as on an hour of raw files. Before it, the job lists
and reads the raw files (plugins/job.py); after it, the load (plugins/load.py) drops the events
runs of other hours already wrote, then writes and commits.

Steps: the Python pass (decode, clean, map with an element transformer, the leading element
enrichments; plugins/passes.py) → counts by kind, reason and app → dedup by (app, ``event_id``)
within the batch → the remaining DataFrame enrichments, which run when the load writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from plugins.base import ElementEnrichment, ElementTransformer, Plugin, Transformer
from plugins.cleaning import QUARANTINE_COLUMNS, cleaned_events, quarantine_rows
from plugins.elements import Rules
from plugins.ods_schema import CONTEXT_COLUMNS, ODS_COLUMNS
from plugins.passes import EVENT, QUARANTINE, REQUEST, element_pass

# Up to this many repeated (app, event_id) keys are broadcast to the dedup's join (~50 MB).
BROADCAST_KEYS = 1_000_000
PARTITION_COLUMNS = ["partition_app", "partition_year", "partition_month", "partition_day"]


@dataclass(frozen=True)
class Counts:
    """What a batch held, for the run report."""

    requests: int
    # Quarantined requests and elements by reason (the pass's reasons only; files are the job's).
    quarantined: dict[str, int]
    # Good events per app, and of those the repeats of an earlier arrival in the same batch.
    events_by_app: dict[str, int]
    duplicates_by_app: dict[str, int]


NO_INPUT = Counts(requests=0, quarantined={}, events_by_app={}, duplicates_by_app={})


@dataclass(frozen=True)
class Transformed:
    """A batch ready to load.

    ``events``: each good event once (``ods_events`` columns, then ``CONTEXT_COLUMNS`` and
    ``_row``), enriched. ``quarantine``: ``QUARANTINE_COLUMNS``. For the dedup against earlier
    runs' output: ``keys``, the narrow columns (``_row``, ``event_id``, the partition columns...)
    of every good event, repeats included, and ``duplicates`` (``_row``, ``partition_app``), the
    repeats dropped here, held in memory until the load releases them."""

    events: DataFrame
    quarantine: DataFrame
    counts: Counts
    keys: DataFrame
    duplicates: DataFrame


def transform(
    raw: DataFrame,
    rules: Rules,
    transformer: Transformer,
    enrichments: Sequence[Plugin] = (),
    lap: Callable[[str], object] = lambda step: None,
) -> Transformed:
    """Raw records (``value`` text lines or typed raw columns, plus ``ingest_hour``; plugins/raw.py)
    → the batch. ``lap(step)`` is told when a step of the run report's timings ends."""
    rows, remaining = python_pass(raw, rules, transformer, list(enrichments))
    # The Python pass is the costly step: it runs once and every later step reads its
    # materialised output. `_row` names a row for the dedup (stable once materialised).
    rows = checkpoint_rows(rows.withColumn("_row", F.monotonically_increasing_id()))
    lap("decode_clean_transform")
    # Everything but the write needs a few narrow columns: one scan of the wide rows keeps
    # them (quarantine rows are few; `raw` is null for events).
    narrow = checkpoint_rows(
        with_partition_columns(rows).select(
            "_kind", "reason", "app_id", "raw", "ingest_hour", "_rid", *PARTITION_COLUMNS, "event_id", "ingest_timestamp", "_row"
        )
    )
    requests, quarantined, events_by_app = 0, {}, {}
    for row in narrow.groupBy("_kind", "reason", "partition_app").count().collect():
        if row["_kind"] == REQUEST:
            requests += row["count"]
        elif row["_kind"] == QUARANTINE:
            quarantined[row["reason"]] = quarantined.get(row["reason"], 0) + row["count"]
        else:
            events_by_app[row["partition_app"]] = row["count"]

    # Dedup works on the narrow keys only; duplicates are few, and only their row ids go back
    # to the wide rows, broadcast to the tasks of the write.
    keys = narrow.where(F.col("_kind") == EVENT)
    duplicates = materialise(duplicate_rows(keys))
    duplicates_by_app = count_by_app(duplicates)
    events = rows.where(F.col("_kind") == EVENT).select(*ODS_COLUMNS, *CONTEXT_COLUMNS, "_row")
    # Usually nothing is dropped: then the wide rows skip the join altogether.
    if duplicates_by_app:
        events = events.join(F.broadcast(duplicates.select("_row")), on="_row", how="left_anti")
    for plugin in remaining:
        events = plugin.transform(events)
    return Transformed(
        events=events,
        quarantine=quarantine_rows(narrow).select(*QUARANTINE_COLUMNS),
        counts=Counts(requests, quarantined, events_by_app, duplicates_by_app),
        keys=keys,
        duplicates=duplicates,
    )


def python_pass(raw: DataFrame, rules: Rules, transformer: Transformer, enrichments: list[Plugin]) -> tuple[DataFrame, list[Plugin]]:
    """The pass's rows with ``ods_events`` columns for good events, whatever the transformer,
    and the enrichments still to apply as DataFrame plugins.

    An element transformer maps inside the pass, followed there by the leading element
    enrichments of the list (order is kept: the first DataFrame enrichment and all after it
    run on DataFrames). A DataFrame transformer gets the cleaned elements (``event`` a VARIANT)
    and its output is put back beside the other rows."""
    if isinstance(transformer, ElementTransformer):
        fused: list[ElementEnrichment] = []
        for plugin in enrichments:
            if not isinstance(plugin, ElementEnrichment):
                break
            fused.append(plugin)
        return element_pass(raw, rules, transformer, fused), enrichments[len(fused) :]
    rows = checkpoint_rows(element_pass(raw, rules))  # read twice below
    events = transformer.transform(cleaned_events(rows)).select(*ODS_COLUMNS, *CONTEXT_COLUMNS)
    others = rows.where(F.col("_kind") != EVENT).select("_kind", *CONTEXT_COLUMNS, "reason", "app_id", "raw")
    return events.withColumn("_kind", F.lit(EVENT)).unionByName(others, allowMissingColumns=True), enrichments


def duplicate_rows(keys: DataFrame) -> DataFrame:
    """``_row`` (and app) of every event that is not the first of its (app, event_id) in this
    batch: the earliest arrival wins, ties broken by request id then row id, so the surviving
    row is the same on every run. Only narrow key columns are shuffled: one hash aggregation
    finds the repeated keys, and only their rows are ranked."""
    repeated = keys.groupBy("partition_app", "event_id").count().where(F.col("count") > 1).drop("count")
    repeated = repeated.localCheckpoint()
    # SDK retries make a handful; a replayed batch can repeat every key, then a shuffle join it is.
    if repeated.count() <= BROADCAST_KEYS:
        repeated = F.broadcast(repeated)
    candidates = keys.join(repeated, on=["partition_app", "event_id"], how="left_semi")
    first_arrival = Window.partitionBy("partition_app", "event_id").orderBy("ingest_timestamp", "_rid", "_row")
    return candidates.withColumn("_rank", F.row_number().over(first_arrival)).where(F.col("_rank") > 1).select("_row", "partition_app")


def count_by_app(rows: DataFrame) -> dict[str, int]:
    return {row["partition_app"]: row["count"] for row in rows.groupBy("partition_app").count().collect()}


def with_partition_columns(events: DataFrame) -> DataFrame:
    return events.select(
        "*",
        F.col("app_info.app_id").alias("partition_app"),
        # lpad of the parts: cheaper per row than date_format's formatter, same text.
        F.year("event_date").cast("string").alias("partition_year"),
        F.lpad(F.month("event_date").cast("string"), 2, "0").alias("partition_month"),
        F.lpad(F.dayofmonth("event_date").cast("string"), 2, "0").alias("partition_day"),
    )


def checkpoint_rows(frame: DataFrame) -> DataFrame:
    """The Python pass's output, computed once and kept as rows in memory (spilling to disk).

    A local checkpoint stores the rows as they are; ``persist`` would re-encode them into its
    columnar cache, which costs as much again for nested columns. Under dynamic allocation (EMR)
    executors holding these blocks are not released (``cachedExecutorIdleTimeout`` defaults to
    infinity); an executor lost anyway fails the run, and the Dagster retry reruns it, which is
    safe because a run replaces its hours' output."""
    return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)


def materialise(frame: DataFrame) -> DataFrame:
    """A small frame read several times, computed once (recomputed from lineage if lost); the
    caller unpersists it."""
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame.count()
    return frame
