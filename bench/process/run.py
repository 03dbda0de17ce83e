"""Processing throughput: N generated events (default 1M) through the full Spark job
(decode + clean + SDK transformer + UA + IP enrichment + dedup → Parquet, committed per hour)
on local[2], compared with a plain JSON→Parquet Spark write of the same raw files in the same
session.

    .venv/bin/python bench/process/run.py [--events 1000000] [--keep DIR]

Goal (issue 4): >= 50,000 events/s and >= 0.7 of the plain write; below 25,000 is a defect.
The raw data is the generator's (SDK-shaped events, base64-gzip and plain bodies, realistic
User-Agents) with client addresses drawn from a pool; the IP database is a small
GeoLite2-shaped file built for the run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
HOUR = datetime(2026, 11, 21, 12, tzinfo=UTC)
APPS = [
    {"app_id": "shop_android", "name": "Android", "platforms": ["Android"]},
    {"app_id": "shop_ios", "name": "iOS", "platforms": ["iOS"]},
    {"app_id": "shop_web", "name": "Web", "platforms": ["Web"]},
]


def write_raw_lake(lake: Path, target_events: int, seed: int) -> int:
    """Simulate users until `target_events`, write them as raw records into one arrival hour."""
    from clickstream_contract.raw_lake import hour_path
    from clickstream_project.config import parse_config
    from clickstream_tools.generator import simulate

    config = parse_config({"project_id": "bench", "apps": APPS})
    rng = random.Random(seed)
    addresses = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)]
    directory = lake / hour_path(HOUR)
    directory.mkdir(parents=True, exist_ok=True)
    arrival_ms = int((HOUR + timedelta(minutes=30)).timestamp() * 1000)
    users = max(10, target_events // (3 * 25))  # ~30 events per user per day; the loop stops at the target
    simulation = simulate(config, end=HOUR + timedelta(minutes=20), days=1, users=users, seed=seed, web_batch_size=10)
    written = 0
    part = 0
    out = None
    for request in simulation.requests:
        if written >= target_events:
            break
        if out is None or written // 50_000 > part:
            if out is not None:
                out.close()
                part = written // 50_000
            out = gzip.open(directory / f"part-{part:04d}.gz", "wt", compresslevel=1)
        body = request.body().decode()
        ip = rng.choice(addresses)
        record = {
            "date": HOUR.isoformat(),
            "data": body,
            "ip": f"{ip}, 10.0.0.{rng.randint(1, 9)}" if rng.random() < 0.2 else ip,
            "ua": request.user_agent,
            "uri": f"/collect?appId={request.app_id}&event_bundle_sequence_id={request.sequence_id}",
            "rid": f"r{written}",
            "method": "POST",
            "path": "/collect",
            "source_type": "http_server",
            "appId": request.app_id,
            "platform": request.platform,
            "compression": "gzip" if request.compress else None,
            "ingest_time": arrival_ms,
            "server_ingest_time": arrival_ms,
            "client_timestamp": None,
            "timestamp": HOUR.isoformat(),
        }
        out.write(json.dumps(record) + "\n")
        written += request.event_count
    if out is not None:
        out.close()
    return written


def build_geo_db(path: Path, seed: int) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City")
    rng = random.Random(seed)
    countries = [
        ("Europe", "DE", "Germany", "Bavaria", "Munich"),
        ("North America", "US", "United States", "California", "San Jose"),
        ("Asia", "JP", "Japan", "Tokyo", "Tokyo"),
    ]
    for first in range(1, 224):
        continent, code, country, region, city = rng.choice(countries)
        writer.insert_network(
            IPSet([f"{first}.0.0.0/8"]),
            {
                "continent": {"names": {"en": continent}},
                "country": {"iso_code": code, "names": {"en": country}},
                "subdivisions": [{"names": {"en": region}}],
                "city": {"names": {"en": city}},
            },
        )
    writer.to_db_file(str(path))


class CpuMeter:
    """CPU seconds used by a process tree (Linux /proc), sampled in the background: Spark's
    Python workers come and go, and a worker that exits takes its CPU time with it (the worker
    daemon ignores SIGCHLD, so nothing is added to a parent's cutime). Each process's last
    sample is kept; what a process used in its final 0.2 s before exiting is missed."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.tick = os.sysconf("SC_CLK_TCK")
        self.last: dict[tuple[int, int], float] = {}  # (pid, start time) -> cpu seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        stats: dict[int, list[str]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    text = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                stats[int(entry)] = text[text.rindex(")") + 2 :].split()
        children: dict[int, list[int]] = {}
        for pid, fields in stats.items():
            children.setdefault(int(fields[1]), []).append(pid)
        stack = [self.root]
        while stack:
            pid = stack.pop()
            fields = stats.get(pid)
            if fields is not None:
                self.last[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / self.tick
            stack.extend(children.get(pid, []))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def seconds(self) -> float:
        self._sample()
        return sum(self.last.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--no-enrichment", action="store_true", help="skip UA and IP enrichment")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temporary one)")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-process-"))
    work.mkdir(parents=True, exist_ok=True)
    lake, ods, plain_out, geo = work / "lake", work / "ods", work / "plain", work / "geo.mmdb"

    started = time.monotonic()
    if not any(lake.rglob("*.gz")):
        generated = write_raw_lake(lake, args.events, args.seed)
        print(f"raw data: {generated} events generated in {time.monotonic() - started:.0f} s")
    print(f"raw data: {sum(1 for _ in lake.rglob('*.gz'))} files in {lake}")
    build_geo_db(geo, args.seed)

    import plugins.job as job
    from plugins.job import build_session, run

    spark = build_session("local[2]", args.shuffle_partitions, "6g")
    spark.sparkContext.setLogLevel("ERROR")
    from plugins.raw import RAW_SCHEMA

    raw_files = [str(p) for p in sorted(lake.rglob("*.gz"))]
    spark.read.schema(RAW_SCHEMA).json(raw_files).limit(1).collect()  # JVM and reader warm-up, excluded

    meter = CpuMeter(spark.sparkContext._gateway.proc.pid)  # type: ignore[union-attr]
    step_cpu: dict[str, float] = {}

    class LapsWithCpu(job.Laps):
        def __call__(self, step: str) -> None:
            # CPU per step as well, for the breakdown (local mode: the JVM is our child process).
            now_cpu = meter.seconds()
            step_cpu[step] = round(now_cpu - step_cpu.pop("_mark", cpu_before), 1)
            step_cpu["_mark"] = now_cpu
            super().__call__(step)

    job.Laps = LapsWithCpu
    cpu_before = meter.seconds()
    t0 = time.monotonic()
    spark.read.schema(RAW_SCHEMA).json(raw_files).write.mode("overwrite").parquet(str(plain_out))
    plain_seconds = time.monotonic() - t0
    plain_cpu = meter.seconds() - cpu_before
    cpu_before = meter.seconds()

    enrichments = [] if args.no_enrichment else ["plugins.enrich_ua.UserAgentEnrichment", "plugins.enrich_ip.IpEnrichment"]
    options = {} if args.no_enrichment else {"plugins.enrich_ip.IpEnrichment": {"database": str(geo)}}
    shutil.rmtree(ods, ignore_errors=True)
    t0 = time.monotonic()
    report = run(
        spark,
        raw_root=lake,
        ods_root=ods,
        project_id="bench",
        app_ids=[a["app_id"] for a in APPS],
        hours=[HOUR],
        enrichments=enrichments,
        plugin_options=options,
    )
    job_seconds = time.monotonic() - t0
    job_cpu = meter.seconds() - cpu_before
    meter.stop()
    spark.stop()

    # The job's own count: right also when the lake of an earlier --keep run is reused.
    events = report["events_read"]
    result = {
        "events": events,
        "written": report["written"],
        "quarantined": report["quarantined"],
        "job_seconds": round(job_seconds, 1),
        "events_per_second": round(events / job_seconds),
        "plain_seconds": round(plain_seconds, 1),
        "plain_events_per_second": round(events / plain_seconds),
        "ratio_to_plain": round(plain_seconds / job_seconds, 2),
        "enrichment": not args.no_enrichment,
        "step_seconds": report["step_seconds"],
        "step_cpu_seconds": {name: value for name, value in step_cpu.items() if not name.startswith("_")},
        # CPU seconds the job used (the JVM and its Python workers): unlike wall time, comparable
        # between runs while other work shares the machine. Two cores: wall >= cpu / 2.
        "job_cpu_seconds": round(job_cpu, 1),
        "plain_cpu_seconds": round(plain_cpu, 1),
    }
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
