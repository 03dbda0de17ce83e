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
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from plugins.base import load_plugin
from plugins.cleaning import EVENT_REASONS, QUARANTINE_COLUMNS, REASONS, Freshness, clean, decode
from plugins.commit import HOUR_TAG, commit_hours, replace_partitions
from plugins.ods_schema import ODS_COLUMNS
from plugins.raw import read_raw

HOUR_FORMAT = "%Y-%m-%dT%H"
PARTITION_COLUMNS = ["partition_app", "partition_year", "partition_month", "partition_day"]


def parse_hour(text: str) -> datetime:
    try:
        return datetime.strptime(text, HOUR_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an hour like 2026-11-21T13 (UTC), got {text!r}") from None


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    if last < first:
        raise ValueError(f"--to ({last:%Y-%m-%dT%H}) is before --from ({first:%Y-%m-%dT%H})")
    count = int((last - first) / timedelta(hours=1)) + 1
    return [first + timedelta(hours=i) for i in range(count)]


def hour_dir(raw_root: Path, hour: datetime) -> Path:
    return raw_root / f"year={hour:%Y}" / f"month={hour:%m}" / f"day={hour:%d}" / f"hour={hour:%H}"


def deduplicate(events: DataFrame) -> DataFrame:
    """One row per (app, event_id): the earliest arrival wins, ties broken by request id, so
    the surviving row is the same on every run.

    Duplicates are rare (SDK retries), so only their keys are shuffled to find them; the
    window that picks a winner then sorts just the repeated rows, not every wide event row.
    `events` is read three times: the caller persists it.
    """
    app = F.col("app_info.app_id")
    repeated_keys = (
        events.groupBy(app.alias("_dup_app"), F.col("event_id").alias("_dup_id")).count().where(F.col("count") > 1).drop("count")
    )
    same_key = (app == F.col("_dup_app")) & (F.col("event_id") == F.col("_dup_id"))
    singles = events.join(repeated_keys, same_key, how="left_anti")
    repeated = events.join(repeated_keys, same_key, how="left_semi")
    first_arrival = Window.partitionBy(app, F.col("event_id")).orderBy(F.col("ingest_timestamp").asc(), F.col("_rid").asc())
    winners = repeated.withColumn("_rank", F.row_number().over(first_arrival)).where(F.col("_rank") == 1).drop("_rank")
    return singles.unionByName(winners)


def earlier_event_ids(spark: SparkSession, dataset: Path, events: DataFrame, hour_keys: list[str]) -> DataFrame | None:
    """(partition_app, event_id) already written by runs of OTHER hours into the day
    partitions this batch touches. The hours being (re)processed are left out: their files are
    about to be replaced, which is what keeps a re-run idempotent."""
    replaced = tuple(HOUR_TAG.format(hour=hour) for hour in hour_keys)
    files: list[str] = []
    for row in events.select(*PARTITION_COLUMNS).distinct().collect():
        directory = dataset.joinpath(*(f"{column}={row[column]}" for column in PARTITION_COLUMNS))
        files += [str(path) for path in directory.glob("*.parquet") if not path.name.startswith(replaced)]
    if not files:
        return None
    return spark.read.parquet(*files).select(
        F.col("app_info.app_id").alias("partition_app"), "event_id"
    ).distinct()


def with_partition_columns(events: DataFrame) -> DataFrame:
    return events.select(
        "*",
        F.col("app_info.app_id").alias("partition_app"),
        F.date_format("event_date", "yyyy").alias("partition_year"),
        F.date_format("event_date", "MM").alias("partition_month"),
        F.date_format("event_date", "dd").alias("partition_day"),
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
    raw_root: Path,
    ods_root: Path,
    project_id: str,
    app_ids: list[str],
    hours: list[datetime],
    transformer: str = "plugins.sdk_transformer.SdkTransformer",
    enrichments: list[str] | None = None,
    plugin_options: dict[str, dict] | None = None,
    freshness: Freshness = Freshness(),
) -> dict:
    started = time.monotonic()
    hour_keys = [f"{h:%Y%m%d%H}" for h in hours]
    present = [hour_dir(raw_root, h) for h in hours if any(hour_dir(raw_root, h).glob("*.gz"))]
    raw_files = sum(len(list(d.glob("*.gz"))) for d in present)
    report: dict = {
        "hours": [f"{h:{HOUR_FORMAT}}" for h in hours],
        "hours_with_data": len(present),
        "raw_files": raw_files,
        "requests": 0,
        "events_read": 0,
        "written": 0,
        "duplicates": 0,
        "duplicates_of_earlier_runs": 0,
        "quarantined": {reason: 0 for reason in REASONS},
        "written_by_app": {},
        "output_files": 0,
    }
    run_id = uuid.uuid4().hex
    ods_dataset = ods_root / "ods_events"
    quarantine_dataset = ods_root / "quarantine"
    staging = ods_root / "_staging" / run_id

    # Plugins are built before any data is read: a bad option or a missing dependency file
    # fails the run at once.
    options = resolve_shipped_files(plugin_options or {})
    transformer_plugin = load_plugin(transformer, "transformer", project_id=project_id, **options.get(transformer, {}))
    enrichment_plugins = [load_plugin(name, "enrichment", **options.get(name, {})) for name in enrichments or []]

    if present:
        raw = read_raw(spark, str(raw_root), [str(d) for d in present])
        # Decoding (a Python UDF) and parsing are the costly steps; both outputs of the
        # cleaning read their result, so it is computed once.
        decoded = decode(raw).persist()
        report["requests"] = decoded.count()
        cleaned = clean(raw, app_ids, freshness, transformer_plugin, decoded=decoded)
        quarantine = cleaned.quarantine.persist()
        for row in quarantine.groupBy("reason").count().collect():
            report["quarantined"][row["reason"]] = row["count"]

        transformed = transformer_plugin.transform(cleaned.events)
        if enrichment_plugins:
            # Each enrichment reads its input twice (distinct values, then the join back).
            transformed = transformed.persist()
        events = transformed
        for plugin in enrichment_plugins:
            events = plugin.transform(events)
        events = events.persist()
        good_events = events.count()
        report["events_read"] = good_events + sum(report["quarantined"][reason] for reason in EVENT_REASONS)
        unique = with_partition_columns(deduplicate(events))
        earlier = earlier_event_ids(spark, ods_dataset, unique, hour_keys)
        if earlier is not None:
            in_run = unique.count()
            unique = unique.join(earlier, on=["partition_app", "event_id"], how="left_anti")
        unique = unique.persist()
        for row in unique.groupBy("partition_app").count().collect():
            report["written_by_app"][row["partition_app"]] = row["count"]
        report["written"] = sum(report["written_by_app"].values())
        report["duplicates"] = good_events - report["written"]
        if earlier is not None:
            report["duplicates_of_earlier_runs"] = in_run - report["written"]

        (
            # No repartition by partition values: that would shuffle every wide row once more
            # for fewer files; each task writes its own file per partition instead.
            unique.select("ingest_hour", *PARTITION_COLUMNS, *ODS_COLUMNS)
            .write.mode("overwrite")
            .partitionBy("ingest_hour", *PARTITION_COLUMNS)
            .parquet(str(staging / "ods_events"))
        )
        (
            quarantine.select(*QUARANTINE_COLUMNS)
            .repartition("ingest_hour")
            .write.mode("overwrite")
            .partitionBy("ingest_hour")
            .parquet(str(staging / "quarantine"))
        )
        for frame in (decoded, quarantine, transformed, events, unique):
            frame.unpersist()

    # Hours without data are committed too: that removes what an earlier run left for them.
    output = commit_hours(staging / "ods_events", ods_dataset, hour_keys)
    replace_partitions(staging / "quarantine", quarantine_dataset, hour_keys)
    for leftover in (staging, staging.parent):
        if leftover.exists() and not any(leftover.iterdir()):
            leftover.rmdir()
    report["output_files"] = len(output)
    report["duration_seconds"] = round(time.monotonic() - started, 3)
    return report


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise argparse.ArgumentTypeError("expected a JSON object mapping plugin names to objects of options")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plugins.job",
        description="Turn raw clickstream hour partitions into ods_events Parquet. "
        "Re-running the same hours replaces their output (idempotent).",
    )
    parser.add_argument("--raw-root", required=True, type=Path, help="directory holding year=/month=/day=/hour=/ raw files")
    parser.add_argument("--ods-root", required=True, type=Path, help="output root; ods_events/ and quarantine/ go below it")
    parser.add_argument("--project-id", required=True, help="project id written to every row")
    parser.add_argument("--app-id", action="append", required=True, help="a registered app id (repeat for each app); events of other apps are quarantined")
    parser.add_argument("--from", dest="first", required=True, type=parse_hour, help="first arrival hour, UTC, like 2026-11-21T13")
    parser.add_argument("--to", dest="last", type=parse_hour, help="last arrival hour, inclusive (default: --from)")
    parser.add_argument("--transformer", default="plugins.sdk_transformer.SdkTransformer", help="dotted name of the transformer plugin")
    parser.add_argument("--enrichment", action="append", default=[], help="dotted name of an enrichment plugin (repeatable, applied in order)")
    parser.add_argument(
        "--plugin-options",
        type=_json_object,
        default={},
        help='JSON object: plugin dotted name -> keyword options for its constructor, e.g. '
        '\'{"plugins.enrich_ip.IpEnrichment": {"database": "GeoLite2-City.mmdb"}}\'',
    )
    parser.add_argument("--event-freshness-hours", type=int, default=72, help="events older than this at arrival are quarantined as stale (default 72)")
    parser.add_argument("--future-tolerance-minutes", type=int, default=15, help="events this far ahead of their arrival are quarantined as future (default 15)")
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
            raw_root=args.raw_root.resolve(),
            ods_root=args.ods_root.resolve(),
            project_id=args.project_id,
            app_ids=args.app_id,
            hours=hours,
            transformer=args.transformer,
            enrichments=args.enrichment,
            plugin_options=args.plugin_options,
            freshness=Freshness(args.event_freshness_hours, args.future_tolerance_minutes),
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
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path(target)  # type: ignore[union-attr]
    stream = hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()).create(hadoop_path, True)  # type: ignore[union-attr]
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


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
