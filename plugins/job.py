"""The processing job: raw hour partitions → ``ods_events`` Parquet (+ quarantine, + report).

Runs anywhere Spark runs, without Dagster::

    python -m plugins.job --raw-root lake/clickstream/p/data/buffer --ods-root ods \\
        --project-id p --app-id shop_web --from 2026-11-21T00 --to 2026-11-21T05
    spark-submit --py-files plugins.zip plugins/job.py ...   # e.g. on EMR Serverless

Steps: extract (list the hours' raw files, read them) → transform (plugins/transform.py: decode
and clean, quarantine the bad, transformer, enrichments, dedup by ``event_id`` per app) → load
(plugins/load.py: drop events earlier runs wrote, write Parquet, commit it per arrival hour).
A JSON report (plugins/run_report.py: counts, files, duration) is printed and optionally written
to ``--report``.

``--only-new`` (the micro-batches): read only the raw files of each hour that no earlier run
committed, and add their output to the hour as a slice (plugins/slices.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from pyspark.sql import SparkSession

from clickstream_contract import raw_lake
from clickstream_contract.job_defaults import DEFAULT_EVENT_FRESHNESS_HOURS, DEFAULT_FUTURE_TOLERANCE_MINUTES, DEFAULT_TRANSFORMER
from plugins.base import Plugin, Transformer, load_plugin
from plugins.cleaning import Freshness, file_quarantine_rows
from plugins.elements import Rules
from plugins.load import Output
from plugins.load_manifests import write_load_manifests
from plugins.raw import read_raw
from plugins.raw_files import gzip_problems, is_read_failure, list_raw_files
from plugins.run_locks import commit_lock
from plugins.run_report import Laps, run_report
from plugins.slices import after_whole_hours, before_whole_hours, commit_slices, new_files, open_slices
from plugins.storage import Storage, as_uri, join
from plugins.transform import NO_INPUT, Transformed, count_by_app, transform


def parse_hour(text: str) -> datetime:
    try:
        return raw_lake.parse_hour(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an hour like 2026-11-21T13 (UTC), got {text!r}") from None


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    if last < first:
        raise ValueError(f"--to ({raw_lake.format_hour(last)}) is before --from ({raw_lake.format_hour(first)})")
    count = int((last - first) / timedelta(hours=1)) + 1
    return [first + timedelta(hours=i) for i in range(count)]


def hour_dir(raw_root: str, hour: datetime) -> str:
    return join(raw_root, raw_lake.hour_path(hour))


def build_session(
    master: str | None, shuffle_partitions: int | None, driver_memory: str | None = None, small_batch: bool = False
) -> SparkSession:
    builder = SparkSession.builder.appName("clickstream-ods-events").config("spark.sql.session.timeZone", "UTC")
    if master:
        builder = builder.master(master)
    if master and master.startswith("local"):
        # Nobody browses a local run's web UI; starting it and feeding it events costs every run.
        builder = builder.config("spark.ui.enabled", "false")
        if small_batch:
            # A micro-batch of a few files is mostly JVM start-up and first runs of code: the
            # quick (C1) compiler alone starts faster; long runs would lose by it, so only here.
            builder = builder.config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
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


@dataclass(frozen=True)
class Inputs:
    """What a run reads: the raw files of each arrival hour (``YYYYMMDDHH``), exactly as listed;
    the run reads, and its report counts, exactly these (plugins/raw_files.py)."""

    raw_root: str
    hours: list[datetime]
    files_by_hour: dict[str, list[str]]

    @property
    def hour_keys(self) -> list[str]:
        return [raw_lake.hour_tag(h) for h in self.hours]

    @property
    def files(self) -> list[str]:
        return [file for files in self.files_by_hour.values() for file in files]

    def hour_of(self, file: str) -> str:
        return next(hour for hour, files in self.files_by_hour.items() if file in files)


def plan_inputs(storage: Storage, raw_root: str, hours: list[datetime]) -> Inputs:
    return Inputs(raw_root, hours, {raw_lake.hour_tag(h): list_raw_files(storage, hour_dir(raw_root, h)) for h in hours})


def read_and_transform(
    spark: SparkSession, inputs: Inputs, rules: Rules, transformer: Transformer, enrichments: list[Plugin], laps: Laps
) -> tuple[Transformed, dict[str, tuple[str, str]]]:
    """The transformed batch of the inputs, and the raw files that are not whole gzip (path →
    (problem, detail)).

    Files are whole gzip but for a rare accident, so they are checked only when Spark's reader
    fails on one (checking every file first cost 10% of the job): the corrupt ones are then
    quarantined as files, their readable lines processed with the others. A read failure no
    file explains (a transient S3 error) fails the run, to be retried. Only the transform's
    first step reads the files, so the failure surfaces before anything else was done."""
    try:
        return transform(read_raw(spark, inputs.raw_root, inputs.files), rules, transformer, enrichments, laps), {}
    except Exception as error:
        if not is_read_failure(error):
            raise
        corrupt = gzip_problems(spark, inputs.files)
        if not corrupt:
            raise
        laps("check_raw_files")
        return transform(read_raw(spark, inputs.raw_root, inputs.files, corrupt=corrupt), rules, transformer, enrichments, laps), corrupt


def build_plugins(
    project_id: str, transformer: str, enrichments: list[str], plugin_options: dict[str, dict], trusted_proxies: int
) -> tuple[Transformer, list[Plugin]]:
    options = resolve_shipped_files(plugin_options)
    settings = {"trusted_proxies": trusted_proxies}
    transformer_plugin = load_plugin(
        transformer, "transformer", job_settings=settings, project_id=project_id, **options.get(transformer, {})
    )
    enrichment_plugins = [load_plugin(name, "enrichment", job_settings=settings, **options.get(name, {})) for name in enrichments]
    return cast(Transformer, transformer_plugin), enrichment_plugins


def run(
    spark: SparkSession,
    *,
    raw_root: str | Path,
    ods_root: str | Path,
    project_id: str,
    app_ids: list[str],
    hours: list[datetime],
    transformer: str = DEFAULT_TRANSFORMER,
    enrichments: list[str] | None = None,
    plugin_options: dict[str, dict] | None = None,
    freshness: Freshness = Freshness(),  # noqa: B008 (frozen, so one shared default is safe)
    load_manifests: bool = False,
    trusted_proxies: int = 0,
    only_new: bool = False,
    source: str | None = None,
) -> dict:
    """Process the raw ``hours`` below ``raw_root`` into ``ods_root`` (local paths or URIs such
    as ``s3://bucket/prefix``); returns the run report. Runs of other hours may go on at the same
    time (plugins/run_locks.py). ``trusted_proxies`` is ``pipeline.ingestion.trusted_proxies``,
    handed to the plugins that declare it (the IP enrichment). ``only_new``: process only the
    files no earlier run committed, as a slice of each hour (plugins/slices.py). ``source``: the
    raw lake is that configured source's (pipeline.sources), whose output files, quarantine and
    slice records are its own (plugins/load.py), so it and the SDK job can commit the same hours."""
    if only_new and load_manifests:
        # Redshift loads an hour by the list of its files (modeling/warehouses.py), not by slices.
        raise ValueError("only_new does not work with load_manifests")
    # The locks a run takes (its staging's liveness, then the commit's) are held to its end,
    # and released however it ends.
    with ExitStack() as locks:
        started = time.monotonic()
        storage = Storage(spark)
        inputs = plan_inputs(storage, as_uri(raw_root), hours)
        output = Output(storage, as_uri(ods_root), source)
        # The hours whose output this run replaces: every hour, or the hours with new files.
        hour_keys = inputs.hour_keys
        if only_new:
            inputs = Inputs(inputs.raw_root, inputs.hours, new_files(storage, output.slice_records, inputs.files_by_hour))
            hour_keys = [hour for hour in hour_keys if inputs.files_by_hour[hour]]
        removed_staging = output.claim_staging(locks)
        # Plugins are built before any data is read: a bad option or a missing dependency file
        # fails the run at once.
        transformer_plugin, enrichment_plugins = build_plugins(
            project_id, transformer, enrichments or [], plugin_options or {}, trusted_proxies
        )
        laps = Laps()
        rules = Rules.of(transformer_plugin, app_ids, freshness)

        counts, corrupt, earlier_by_app, slices, parts = NO_INPUT, {}, {}, {}, {}
        if inputs.files:
            batch, corrupt = read_and_transform(spark, inputs, rules, transformer_plugin, enrichment_plugins, laps)
            counts = batch.counts
            # From here to the commit, one run at a time: the next one sees this one's output.
            locks.enter_context(commit_lock(output.root))
            # Numbered under the lock: a run of the same hour may have committed a slice meanwhile.
            slices = open_slices(storage, output.slice_records, hour_keys) if only_new else {}
            parts = {hour: piece.tag for hour, piece in slices.items()}
            earlier = output.earlier_copies(spark, batch, hour_keys, parts)
            earlier_by_app = count_by_app(earlier) if earlier is not None else {}
            laps("count_and_dedup")
            output.write_events(batch.events, dropped=earlier if earlier_by_app else None)
            laps("enrich_and_write")
            quarantine = batch.quarantine
            if corrupt:
                problems = {path: (inputs.hour_of(path), *problem) for path, problem in corrupt.items()}
                quarantine = quarantine.unionByName(file_quarantine_rows(spark, problems))
            output.write_quarantine(quarantine)
            for frame in (batch.duplicates, earlier):
                if frame is not None:
                    frame.unpersist()
            laps("write_quarantine")
        else:
            locks.enter_context(commit_lock(output.root))

        if only_new:
            committed = output.commit(hour_keys, parts)
            # Last: the commit point of the slices (plugins/slices.py).
            commit_slices(storage, output.slice_records, slices, inputs.files_by_hour)
        else:
            before_whole_hours(storage, output.slice_records, hour_keys)
            committed = output.commit(hour_keys)
            after_whole_hours(storage, output.slice_records, inputs.files_by_hour)
        manifests = write_load_manifests(storage, output.root, committed, inputs.hour_keys, source) if load_manifests else None
        laps("commit")
        report = run_report(
            hours=[raw_lake.format_hour(h) for h in hours],
            files_by_hour=inputs.files_by_hour,
            corrupt=corrupt,
            counts=counts,
            earlier_copies_by_app=earlier_by_app,
            removed_staging=removed_staging,
            output_files=committed,
            load_manifests=manifests,
            laps=laps,
            duration_seconds=round(time.monotonic() - started, 3),
        )
        if only_new:
            report["slices"] = parts
        return report


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


def _source_name(text: str) -> str:
    if not re.fullmatch(raw_lake.SOURCE_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(f"expected a source name matching {raw_lake.SOURCE_NAME_PATTERN}, got {text!r}")
    return text


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
    parser.add_argument("--transformer", default=DEFAULT_TRANSFORMER, help="dotted name of the transformer plugin")
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
        "--event-freshness-hours",
        type=int,
        default=DEFAULT_EVENT_FRESHNESS_HOURS,
        help=f"events older than this at arrival are quarantined as stale (default {DEFAULT_EVENT_FRESHNESS_HOURS})",
    )
    parser.add_argument(
        "--future-tolerance-minutes",
        type=int,
        default=DEFAULT_FUTURE_TOLERANCE_MINUTES,
        help=f"events this far ahead of their arrival are quarantined as future (default {DEFAULT_FUTURE_TOLERANCE_MINUTES})",
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
    parser.add_argument(
        "--only-new",
        action="store_true",
        help="process only the raw files no earlier run committed, adding them to their hours as a slice "
        "(micro-batches; not with --load-manifests). Without it a run replaces its hours' whole output",
    )
    parser.add_argument(
        "--source",
        type=_source_name,
        help="the raw root is this configured source's (pipeline.sources, e.g. a Cognito stream): its output files, "
        "quarantine and slice records are kept apart from the SDK job's, so both can process the same hours",
    )
    parser.add_argument("--master", help="Spark master, e.g. local[2] (default: whatever spark-submit set)")
    parser.add_argument("--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (small data: 2-8)")
    parser.add_argument("--driver-memory", help="spark.driver.memory for local runs, e.g. 4g (default: Spark's)")
    parser.add_argument("--report", help="also write the JSON run report to this file or URI (s3:// on EMR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.only_new and args.load_manifests:
        parser.error("--only-new does not work with --load-manifests (Redshift loads whole hours by their file lists)")
    try:
        hours = hours_between(args.first, args.last or args.first)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_session(args.master, args.shuffle_partitions, args.driver_memory, small_batch=args.only_new)
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
            only_new=args.only_new,
            source=args.source,
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
