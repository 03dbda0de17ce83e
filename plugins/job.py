"""The processing job: raw hour partitions → ``ods_events`` Parquet (+ quarantine, + report).

Runs anywhere Spark runs, without Dagster::

    python -m plugins.job --raw-root lake/clickstream/p/data/buffer --ods-root ods \\
        --project-id p --app-id shop_web --from 2026-11-21T00 --to 2026-11-21T05
    spark-submit --py-files plugins.zip plugins/job.py ...   # e.g. on EMR Serverless

Steps: read the hours' raw files → decode and clean (quarantine the bad) → transformer →
enrichments → dedup by ``event_id`` per app → write Parquet and commit it per arrival hour.
A JSON report (counts, files, duration) is printed and optionally written to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from plugins.base import ElementEnrichment, ElementTransformer, Plugin, Transformer, load_plugin
from plugins.cleaning import (
    CORRUPT_FILE,
    EVENT_REASONS,
    QUARANTINE_COLUMNS,
    REASONS,
    Freshness,
    cleaned_events,
    file_quarantine_rows,
    quarantine_rows,
)  # fmt: skip
from plugins.commit import HOUR_TAG, commit_hours, replace_partitions
from plugins.elements import Rules
from plugins.load_manifests import write_load_manifests
from plugins.ods_schema import CONTEXT_COLUMNS, ODS_COLUMNS
from plugins.passes import EVENT, QUARANTINE, REQUEST, element_pass
from plugins.raw import read_raw
from plugins.raw_files import gzip_problems, is_read_failure, list_raw_files
from plugins.run_locks import STAGING, commit_lock, remove_dead_staging, staging_liveness, staging_lock
from plugins.storage import Storage, as_uri, base_name, join

HOUR_FORMAT = "%Y-%m-%dT%H"
# Columns whose values are (nearly) all distinct: a dictionary page would never pay off, and
# trying one first costs the write ~15% of its CPU (files grow ~9%).
NO_DICTIONARY = {
    f"parquet.enable.dictionary#{column}": "false"
    for column in ("event_id", "user_pseudo_id", "event_timestamp", "ingest_timestamp", "event_server_timestamp_offset",
                   "event_params.list.element.value.string_value")
}  # fmt: skip
# Up to this many repeated (app, event_id) keys are broadcast to the dedup's join (~50 MB).
BROADCAST_KEYS = 1_000_000
PARTITION_COLUMNS = ["partition_app", "partition_year", "partition_month", "partition_day"]


def parse_hour(text: str) -> datetime:
    try:
        return datetime.strptime(text, HOUR_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an hour like 2026-11-21T13 (UTC), got {text!r}") from None


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    if last < first:
        raise ValueError(f"--to ({last:%Y-%m-%dT%H}) is before --from ({first:%Y-%m-%dT%H})")
    count = int((last - first) / timedelta(hours=1)) + 1
    return [first + timedelta(hours=i) for i in range(count)]


def hour_dir(raw_root: str, hour: datetime) -> str:
    return join(raw_root, f"year={hour:%Y}", f"month={hour:%m}", f"day={hour:%d}", f"hour={hour:%H}")


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


def earlier_event_ids(spark: SparkSession, storage: Storage, dataset: str, keys: DataFrame, hour_keys: list[str]) -> DataFrame | None:
    """(partition_app, event_id) already written by runs of OTHER hours into the day
    partitions this batch touches. The hours being (re)processed are left out: their files are
    about to be replaced, which is what keeps a re-run idempotent."""
    replaced = tuple(HOUR_TAG.format(hour=hour) for hour in hour_keys)
    files: list[str] = []
    for row in keys.select(*PARTITION_COLUMNS).distinct().collect():
        directory = join(dataset, *(f"{column}={row[column]}" for column in PARTITION_COLUMNS))
        files += [file for file in storage.glob(join(directory, "*.parquet")) if not base_name(file).startswith(replaced)]
    if not files:
        return None
    return spark.read.parquet(*files).select(F.col("app_info.app_id").alias("partition_app"), "event_id")


def with_partition_columns(events: DataFrame) -> DataFrame:
    return events.select(
        "*",
        F.col("app_info.app_id").alias("partition_app"),
        # lpad of the parts: cheaper per row than date_format's formatter, same text.
        F.year("event_date").cast("string").alias("partition_year"),
        F.lpad(F.month("event_date").cast("string"), 2, "0").alias("partition_month"),
        F.lpad(F.dayofmonth("event_date").cast("string"), 2, "0").alias("partition_day"),
    )


def build_session(master: str | None, shuffle_partitions: int | None, driver_memory: str | None = None) -> SparkSession:
    builder = SparkSession.builder.appName("clickstream-ods-events").config("spark.sql.session.timeZone", "UTC")
    if master:
        builder = builder.master(master)
    if driver_memory:
        # Local mode runs everything in the driver JVM, whose default heap (1 GiB) is too small
        # for decoded bodies of a million events.
        builder = builder.config("spark.driver.memory", driver_memory)
    # Raw files are gzip (one task each, not splittable) and expand ~10x when decoded: packing
    # several into one task, as the 128 MiB default does, makes partitions too big to cache.
    builder = builder.config("spark.sql.files.maxPartitionBytes", str(16 * 1024 * 1024))
    # Each task writes the few day partitions it holds concurrently instead of sorting its wide
    # rows by partition first (the sort cost a third of the write).
    builder = builder.config("spark.sql.maxConcurrentOutputFileWriters", "64")
    # Rows per Arrow batch handed to the Python pass: raw records are ~1-15 KB, so the default
    # (10,000) would hold up to 150 MB of them per batch in each Python worker.
    builder = builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    # Files are committed by name, so Spark's own _SUCCESS markers would only be noise.
    builder = builder.config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    # Local runs: no .crc side files next to the Parquet that DuckDB and users read.
    builder = builder.config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
    return builder.getOrCreate()


def run(
    spark: SparkSession,
    *,
    raw_root: str | Path,
    ods_root: str | Path,
    project_id: str,
    app_ids: list[str],
    hours: list[datetime],
    transformer: str = "plugins.sdk_transformer.SdkTransformer",
    enrichments: list[str] | None = None,
    plugin_options: dict[str, dict] | None = None,
    freshness: Freshness = Freshness(),  # noqa: B008 (frozen, so one shared default is safe)
    load_manifests: bool = False,
    trusted_proxies: int = 0,
) -> dict:
    """Process the raw ``hours`` below ``raw_root`` into ``ods_root`` (local paths or URIs such
    as ``s3://bucket/prefix``); returns the run report. Runs of other hours may go on at the same
    time (plugins/run_locks.py). ``trusted_proxies`` is ``pipeline.ingestion.trusted_proxies``,
    handed to the plugins that declare it (the IP enrichment)."""
    # The locks a run takes (its staging's liveness, then the commit's) are held to its end,
    # and released however it ends.
    with ExitStack() as locks:
        started = time.monotonic()
        storage = Storage(spark)
        raw_root, ods_root = as_uri(raw_root), as_uri(ods_root)
        hour_keys = [f"{h:%Y%m%d%H}" for h in hours]
        # Exactly these files are read, and counted (plugins/raw_files.py).
        listings = {key: list_raw_files(storage, hour_dir(raw_root, h)) for key, h in zip(hour_keys, hours)}
        present = [file for files in listings.values() for file in files]
        report: dict = {
            "hours": [f"{h:{HOUR_FORMAT}}" for h in hours],
            "hours_with_data": sum(1 for files in listings.values() if files),
            "raw_files": len(present),
            "requests": 0,
            "events_read": 0,
            "written": 0,
            "duplicates": 0,
            "duplicates_of_earlier_runs": 0,
            "quarantined": {reason: 0 for reason in REASONS},
            "written_by_app": {},
            "output_files": 0,
            "corrupt_files": [],
        }
        run_id = uuid.uuid4().hex
        ods_dataset = join(ods_root, "ods_events")
        quarantine_dataset = join(ods_root, "quarantine")
        staging = join(ods_root, STAGING, run_id)
        with staging_lock(ods_root):
            # Left by killed runs; a live run's staging is kept (plugins/run_locks.py says how).
            report["removed_staging"] = remove_dead_staging(storage, ods_root, keep=staging)
            locks.enter_context(staging_liveness(staging))

        # Plugins are built before any data is read: a bad option or a missing dependency file
        # fails the run at once.
        options = resolve_shipped_files(plugin_options or {})
        settings = {"trusted_proxies": trusted_proxies}
        transformer_plugin = load_plugin(
            transformer, "transformer", job_settings=settings, project_id=project_id, **options.get(transformer, {})
        )
        enrichment_plugins = [load_plugin(name, "enrichment", job_settings=settings, **options.get(name, {})) for name in enrichments or []]

        step = time.monotonic()
        report["step_seconds"] = {}
        rules = Rules.of(transformer_plugin, app_ids, freshness)

        def decoded(corrupt: dict[str, tuple[str, str]]) -> tuple[DataFrame, list[Plugin]]:
            raw = read_raw(spark, raw_root, present, corrupt=corrupt)
            rows, remaining = python_pass(raw, rules, transformer_plugin, enrichment_plugins)
            # The Python pass is the costly step: it runs once and every later step reads its
            # materialised output. `_row` names a row for the dedup (stable once materialised).
            return checkpoint_rows(rows.withColumn("_row", F.monotonically_increasing_id())), remaining

        corrupt: dict[str, tuple[str, str]] = {}
        if present:
            held: list[DataFrame] = []
            try:
                rows, enrichment_plugins = decoded(corrupt)
            except Exception as error:
                # Files are whole gzip but for a rare accident, so they are checked only when
                # Spark's reader fails on one (checking every file first cost 10% of the job):
                # the corrupt ones are then quarantined as files, their readable lines processed
                # with the others. A read failure no file explains (a transient S3 error) fails
                # the run, to be retried.
                if not is_read_failure(error):
                    raise
                corrupt = gzip_problems(spark, present)
                if not corrupt:
                    raise
                step = lap(report, "check_raw_files", step)
                rows, enrichment_plugins = decoded(corrupt)
            report["corrupt_files"] = [
                {"path": path, "problem": problem, "detail": detail} for path, (problem, detail) in sorted(corrupt.items())
            ]
            report["quarantined"][CORRUPT_FILE] = len(corrupt)
            step = lap(report, "decode_clean_transform", step)
            # Everything but the write needs a few narrow columns: one scan of the wide rows keeps
            # them (quarantine rows are few; `raw` is null for events).
            narrow = checkpoint_rows(
                with_partition_columns(rows).select(
                    "_kind", "reason", "app_id", "raw", "ingest_hour", "_rid", *PARTITION_COLUMNS, "event_id", "ingest_timestamp", "_row"
                )
            )
            events_by_app: dict[str, int] = {}
            for row in narrow.groupBy("_kind", "reason", "partition_app").count().collect():
                if row["_kind"] == REQUEST:
                    report["requests"] += row["count"]
                elif row["_kind"] == QUARANTINE:
                    report["quarantined"][row["reason"]] += row["count"]
                else:
                    report["events_read"] += row["count"]
                    events_by_app[row["partition_app"]] = row["count"]
            good_events = report["events_read"]
            report["events_read"] += sum(report["quarantined"][reason] for reason in EVENT_REASONS)

            # Dedup works on the narrow keys only; duplicates are few, and only their row ids go
            # back to the wide rows, broadcast to the tasks of the write.
            keys = narrow.where(F.col("_kind") == EVENT)
            in_run = materialise(duplicate_rows(keys), held)
            losers = in_run
            # From here to the commit, one run at a time: the next one sees this one's output.
            locks.enter_context(commit_lock(ods_root))
            earlier = earlier_event_ids(spark, storage, ods_dataset, keys, hour_keys)
            if earlier is not None:
                of_earlier_runs = keys.join(earlier, on=["partition_app", "event_id"], how="left_semi").select("_row", "partition_app")
                of_earlier_runs = materialise(of_earlier_runs.join(in_run, on="_row", how="left_anti"), held)
                report["duplicates_of_earlier_runs"] = of_earlier_runs.count()
                losers = in_run.unionByName(of_earlier_runs)
            dropped_by_app = {row["partition_app"]: row["count"] for row in losers.groupBy("partition_app").count().collect()}
            for app, count in events_by_app.items():
                report["written_by_app"][app] = count - dropped_by_app.get(app, 0)
            report["written"] = sum(report["written_by_app"].values())
            report["duplicates"] = good_events - report["written"]
            step = lap(report, "count_and_dedup", step)

            events = rows.where(F.col("_kind") == EVENT).select(*ODS_COLUMNS, *CONTEXT_COLUMNS, "_row")
            # Usually nothing is dropped: then the wide rows skip the join altogether.
            if sum(dropped_by_app.values()):
                events = events.join(F.broadcast(losers.select("_row")), on="_row", how="left_anti")
            unique = events
            for plugin in enrichment_plugins:
                unique = plugin.transform(unique)
            (
                # No repartition by partition values: that would shuffle every wide row once more
                # for fewer files; each task writes its own file per partition instead.
                with_partition_columns(unique)
                .select("ingest_hour", *PARTITION_COLUMNS, *ODS_COLUMNS)
                .write.options(**NO_DICTIONARY)
                .mode("overwrite")
                .partitionBy("ingest_hour", *PARTITION_COLUMNS)
                .parquet(join(staging, "ods_events"))
            )
            step = lap(report, "enrich_and_write", step)
            quarantined = quarantine_rows(narrow).select(*QUARANTINE_COLUMNS)
            if corrupt:
                hour_of = {file: hour for hour, files in listings.items() for file in files}
                quarantined = quarantined.unionByName(
                    file_quarantine_rows(spark, {path: (hour_of[path], *problem) for path, problem in corrupt.items()})
                )
            (quarantined.repartition("ingest_hour").write.mode("overwrite").partitionBy("ingest_hour").parquet(join(staging, "quarantine")))
            for frame in held:
                frame.unpersist()
            step = lap(report, "write_quarantine", step)
        else:
            locks.enter_context(commit_lock(ods_root))

        # Hours without data are committed too: that removes what an earlier run left for them.
        output = commit_hours(storage, join(staging, "ods_events"), ods_dataset, hour_keys)
        replace_partitions(storage, join(staging, "quarantine"), quarantine_dataset, hour_keys)
        with staging_lock(ods_root):
            storage.delete(staging, recursive=True)
            if storage.is_empty_dir(join(ods_root, STAGING)):
                storage.delete(join(ods_root, STAGING))
        report["output_files"] = len(output)
        if load_manifests:
            report["load_manifests"] = write_load_manifests(storage, ods_root, output, hour_keys)
        lap(report, "commit", step)
        report["duration_seconds"] = round(time.monotonic() - started, 3)
        return report


def lap(report: dict, name: str, since: float) -> float:
    """Record how long a step took (operators read these in the run report); returns now."""
    now = time.monotonic()
    report["step_seconds"][name] = round(now - since, 3)
    return now


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


def checkpoint_rows(frame: DataFrame) -> DataFrame:
    """The Python pass's output, computed once and kept as rows in memory (spilling to disk).

    A local checkpoint stores the rows as they are; ``persist`` would re-encode them into its
    columnar cache, which costs as much again for nested columns. Under dynamic allocation (EMR)
    executors holding these blocks are not released (``cachedExecutorIdleTimeout`` defaults to
    infinity); an executor lost anyway fails the run, and the Dagster retry reruns it, which is
    safe because a run replaces its hours' output."""
    return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)


def materialise(frame: DataFrame, held: list[DataFrame] | None = None) -> DataFrame:
    """A small frame read several times, computed once (recomputed from lineage if lost)."""
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame.count()
    if held is not None:
        held.append(frame)
    return frame


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise argparse.ArgumentTypeError("expected a JSON object mapping plugin names to objects of options")
    return value


def _whole_number(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plugins.job",
        description="Turn raw clickstream hour partitions into ods_events Parquet. "
        "Re-running the same hours replaces their output (idempotent).",
    )
    parser.add_argument(
        "--raw-root", required=True, help="directory or URI (s3://bucket/prefix/) holding year=/month=/day=/hour=/ raw files"
    )
    parser.add_argument("--ods-root", required=True, help="output directory or URI; ods_events/ and quarantine/ go below it")
    parser.add_argument("--project-id", required=True, help="project id written to every row")
    parser.add_argument(
        "--app-id", action="append", required=True, help="a registered app id (repeat for each app); events of other apps are quarantined"
    )
    parser.add_argument("--from", dest="first", required=True, type=parse_hour, help="first arrival hour, UTC, like 2026-11-21T13")
    parser.add_argument("--to", dest="last", type=parse_hour, help="last arrival hour, inclusive (default: --from)")
    parser.add_argument("--transformer", default="plugins.sdk_transformer.SdkTransformer", help="dotted name of the transformer plugin")
    parser.add_argument(
        "--enrichment", action="append", default=[], help="dotted name of an enrichment plugin (repeatable, applied in order)"
    )
    parser.add_argument(
        "--plugin-options",
        type=_json_object,
        default={},
        help="JSON object: plugin dotted name -> keyword options for its constructor, e.g. "
        '\'{"plugins.enrich_ip.IpEnrichment": {"database": "GeoLite2-City.mmdb"}}\'',
    )
    parser.add_argument(
        "--event-freshness-hours", type=int, default=72, help="events older than this at arrival are quarantined as stale (default 72)"
    )
    parser.add_argument(
        "--future-tolerance-minutes",
        type=int,
        default=15,
        help="events this far ahead of their arrival are quarantined as future (default 15)",
    )
    parser.add_argument(
        "--trusted-proxies",
        type=_whole_number,
        default=0,
        help="pipeline.ingestion.trusted_proxies: proxies in front of ingestion that append to X-Forwarded-For; the IP "
        "enrichment takes the client that many entries from the right of the recorded header, as ingestion's access log "
        "does (default 0: the first entry)",
    )
    parser.add_argument(
        "--load-manifests",
        action="store_true",
        help="also write a Redshift COPY manifest of the committed files per app (ods-root/load_manifests/)",
    )
    parser.add_argument("--master", help="Spark master, e.g. local[2] (default: whatever spark-submit set)")
    parser.add_argument("--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (small data: 2-8)")
    parser.add_argument("--driver-memory", help="spark.driver.memory for local runs, e.g. 4g (default: Spark's)")
    parser.add_argument("--report", help="also write the JSON run report to this file or URI (s3:// on EMR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        hours = hours_between(args.first, args.last or args.first)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_session(args.master, args.shuffle_partitions, args.driver_memory)
    spark.sparkContext.setLogLevel("WARN")
    try:
        report = run(
            spark,
            raw_root=args.raw_root,
            ods_root=args.ods_root,
            project_id=args.project_id,
            app_ids=args.app_id,
            hours=hours,
            transformer=args.transformer,
            enrichments=args.enrichment,
            plugin_options=args.plugin_options,
            freshness=Freshness(args.event_freshness_hours, args.future_tolerance_minutes),
            load_manifests=args.load_manifests,
            trusted_proxies=args.trusted_proxies,
        )
        text = json.dumps(report, sort_keys=True)
        if args.report:
            write_report(spark, args.report, text)
    finally:
        spark.stop()
    print(text)
    return 0


def write_report(spark: SparkSession, target: str, text: str) -> None:
    """A local path, or any URI Hadoop can write (s3:// on EMR through EMRFS): written while the
    session is alive, because its Hadoop configuration carries the credentials."""
    if "://" not in target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    Storage(spark).write_text(target, text)


def resolve_shipped_files(options: dict[str, dict]) -> dict[str, dict]:
    """An option naming a file that is not on this machine may have been shipped with the job
    (spark-submit --files on EMR Serverless): it is then found through SparkFiles."""
    from pyspark import SparkFiles

    resolved: dict[str, dict] = {}
    for plugin, values in options.items():
        resolved[plugin] = {}
        for key, value in values.items():
            if isinstance(value, str) and value and "/" not in value and not Path(value).exists():
                shipped = Path(SparkFiles.get(value))
                value = str(shipped) if shipped.exists() else value
            resolved[plugin][key] = value
    return resolved


if __name__ == "__main__":
    sys.exit(main())
