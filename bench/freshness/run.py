"""Freshness in micro-batch mode: how long after the ingestion service acknowledged an event it
is visible in ``clickstream_session_view``, with nothing run by hand.

    .venv/bin/python bench/freshness/run.py [--minutes 5] [--interval 2] [--seal-seconds 10] [--dir var/bench-freshness]

Starts the real ingestion service (gunicorn) and the Dagster daemon (sensors, run queue, runs as
subprocesses) on a fresh project, then sends one event every ``--interval`` seconds for
``--minutes``, each in a session of its own, and records when the 200 came back. A poller
reads the session view where the console does, the published read snapshot
(clickstream_project/published_warehouse.py, readable while dbt writes), every second, and
records when each session first appears. Reported: p50/p95/max of (visible − acknowledged), the
runs the daemon launched, and per micro-batch where its seconds went (``stages``, from the
runs' Dagster events): queued behind the previous run, launch (run worker start and
definitions load, to the first step), Spark (``lake/ods_events``), dbt (the app's models and
tests) and the publish of the snapshot.

Goal (issue 16): p95 <= 60 s. The chain the latency is made of: the local sink seals a raw file
every ``--seal-seconds`` (the local sink may go down to 5 s), the raw-hours sensor ticks every
5 s and queues a ``micro_batch`` run, the run queue starts it (one warehouse writer at a time),
the run processes the hour's new files with Spark (plugins/slices.py) and builds the app's
models with dbt, then publishes the snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from clickstream_project.config import CONFIG_ENV_VAR, parse_config, save_config  # noqa: E402
from clickstream_tools.demo import IngestionProcess, free_port  # noqa: E402
from clickstream_tools.generator.wire import SdkRequest  # noqa: E402
from clickstream_tools.instance import prepare_dagster_home  # noqa: E402

APP_ID = "bench_app"
SAMPLE_EVENT = REPO_ROOT / "tests" / "fixtures" / "sdk-samples" / "android_event.json"
MARKER = ".clickstream-bench-freshness"


@dataclass
class Probe:
    session_id: str
    acknowledged: float | None = None
    visible: float | None = None


@dataclass
class Results:
    probes: dict[str, Probe] = field(default_factory=dict)
    polls: int = 0
    polls_unpublished: int = 0


def prepare(directory: Path, port: int, seal_seconds: int) -> Path:
    directory = directory.resolve()
    if directory.exists():
        if not (directory / MARKER).exists():
            raise SystemExit(f"error: {directory} exists and was not made by this benchmark; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("created by bench/freshness/run.py; recreated on every run\n")
    config = parse_config(
        {
            "project_id": "bench",
            "data_dir": ".",
            "apps": [{"app_id": APP_ID, "name": "Bench", "platforms": ["Android"], "package_name": "com.example.bench"}],
            "pipeline": {
                "ingestion": {"bind": f"127.0.0.1:{port}", "public_endpoint": f"http://127.0.0.1:{port}", "workers": 1},
                # The seal interval is the floor of the latency (the local sink may seal every 5 s).
                "sink": {"buffer_interval_seconds": seal_seconds, "buffer_size_mib": 1},
                "automation": {"micro_batch": {"enabled": True, "minimum_interval_seconds": 5}},
            },
        },
        base_dir=directory,
    )
    path = directory / "clickstream.yaml"
    save_config(config, path)
    home = config.dagster_home
    home.mkdir(parents=True)
    prepare_dagster_home(home, replace=True)  # the embedded instance: run queue limits
    # Create the SQLite storage now: the daemon and its code server starting together on an
    # empty home can both run the schema migrations and leave two alembic heads behind.
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)):
        pass
    return path


def probe_request(session_id: str, sequence: int) -> SdkRequest:
    event = json.loads(SAMPLE_EVENT.read_text())
    now_ms = int(time.time() * 1000)
    event.update(app_id=APP_ID, event_id=str(uuid.uuid4()), unique_id=f"user-{session_id}", timestamp=now_ms, event_type="_screen_view")
    event["attributes"].update(_session_id=session_id, _session_start_timestamp=now_ms, _session_duration=0, _session_number=1)
    payload = json.dumps([event])
    return SdkRequest(app_id=APP_ID, platform="Android", device_id=f"device-{session_id}", sequence_id=sequence, compress=False,
                      user_agent="bench-freshness", payload=payload, event_count=1, first_timestamp=now_ms, last_timestamp=now_ms)  # fmt: skip


def send_probes(url: str, minutes: float, interval: float, results: Results, run_tag: str) -> None:
    session = requests.Session()
    deadline = time.monotonic() + minutes * 60
    sequence = 0
    while time.monotonic() < deadline:
        sequence += 1
        session_id = f"bench-{run_tag}-{sequence:05d}"
        request = probe_request(session_id, sequence)
        body = request.body()
        probe = Probe(session_id)
        results.probes[session_id] = probe
        # Retried like the SDKs do: an idle keep-alive connection the server has closed fails
        # the first attempt without the request ever reaching it.
        for _ in range(3):
            try:
                response = session.post(
                    url, params=request.query(body, int(time.time() * 1000)), data=body, headers=request.headers(), timeout=10
                )
            except requests.RequestException:
                continue
            if response.status_code == 200:
                probe.acknowledged = time.time()
                break
        time.sleep(interval)


def poll_visibility(duckdb_path: Path, results: Results, stop: threading.Event, period: float) -> None:
    """Reads the published snapshot, as the console's dashboards do (``warehouse_for``): it is
    readable during builds, so a poll never waits for the run queue to empty."""
    from clickstream_project.published_warehouse import PublishedWarehouseError, open_published

    while not stop.is_set():
        results.polls += 1
        try:
            _, connection = open_published(duckdb_path)
            with connection:
                rows = connection.execute(
                    f"select session_id from \"{APP_ID}\".clickstream_session_view where session_id like 'bench-%'"
                ).fetchall()
            seen = time.time()
            for (session_id,) in rows:
                probe = results.probes.get(session_id)
                if probe is not None and probe.visible is None:
                    probe.visible = seen
        except PublishedWarehouseError:
            # Nothing published before the first build.
            results.polls_unpublished += 1
        stop.wait(period)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def run_summary(instance) -> dict[str, dict[str, float]]:
    import dagster as dg

    summary: dict[str, dict[str, float]] = {}
    for record in instance.get_run_records(dg.RunsFilter(), limit=10_000):
        run = record.dagster_run
        stats = summary.setdefault(f"{run.job_name} {run.status.value}", {"runs": 0, "seconds": 0.0})
        stats["runs"] += 1
        if record.start_time and record.end_time:
            stats["seconds"] += record.end_time - record.start_time
    return summary


STAGES = ("queued", "launch", "spark", "dbt", "publish", "other")


def run_stages(instance, run_id: str, created: float) -> dict[str, float]:
    """Where one run's seconds went, from its Dagster events: ``queued`` from its creation by the
    sensor to its launch (waiting for the previous warehouse writer), ``launch`` from there to
    its first step (run worker process, definitions load), then each step's seconds by kind."""
    import dagster as dg

    stages = dict.fromkeys(STAGES, 0.0)
    launched = first_step = None
    step_started: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.RUN_STARTING and launched is None:
            launched = entry.timestamp
        elif kind == dg.DagsterEventType.STEP_START:
            first_step = first_step or entry.timestamp
            step_started[entry.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE) and entry.step_key in step_started:
            stages[step_kind(entry.step_key)] += entry.timestamp - step_started.pop(entry.step_key)
    if launched is not None:
        stages["queued"] = launched - created
        if first_step is not None:
            stages["launch"] = first_step - launched
    return stages


def step_kind(step_key: str) -> str:
    if "ods_events" in step_key and step_key.startswith("lake"):
        return "spark"
    if step_key.startswith("warehouse"):
        return "publish"
    if step_key.startswith("lake"):
        return "other"
    return "dbt"


def stage_summary(instance) -> dict:
    """Mean and max seconds per stage over the micro-batches, and how many there were."""
    import dagster as dg

    from clickstream_dagster.jobs import micro_batch

    records = instance.get_run_records(dg.RunsFilter(job_name=micro_batch.name, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=10_000)
    per_run = [run_stages(instance, record.dagster_run.run_id, record.create_timestamp.timestamp()) for record in records]
    if not per_run:
        return {}
    return {
        "micro_batches": len(per_run),
        "mean_seconds": {stage: round(statistics.mean(run[stage] for run in per_run), 1) for stage in STAGES},
        "max_seconds": {stage: round(max(run[stage] for run in per_run), 1) for stage in STAGES},
    }


def start_daemon(config_path: Path, dagster_home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), CONFIG_ENV_VAR: str(config_path)}
    daemon = Path(sys.executable).with_name("dagster-daemon")
    # Its own process group, so that stopping it stops its code server and runs too; SIGINT back
    # to default because a process started in the background inherits it ignored.
    return subprocess.Popen(
        [str(daemon), "run", "-m", "clickstream_dagster.definitions", "-d", str(REPO_ROOT)],
        cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def stop_group(process: subprocess.Popen, timeout: float = 60) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5, help="how long events are sent (default 5)")
    parser.add_argument("--interval", type=float, default=2, help="seconds between events (default 2)")
    parser.add_argument("--drain-minutes", type=float, default=6, help="how long to wait for the last events to appear (default 6)")
    parser.add_argument("--seal-seconds", type=int, default=10, help="the local sink's buffer_interval_seconds (5-3600, default 10)")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / "var" / "bench-freshness", help="project directory, recreated")
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    import dagster as dg

    port = free_port()
    config_path = prepare(args.dir, port, args.seal_seconds)
    directory = config_path.parent
    from clickstream_project.config import load_config

    config = load_config(config_path)
    os.environ["DAGSTER_HOME"] = str(config.dagster_home)
    print(f"project in {directory}; ingestion on port {port}", flush=True)

    ingestion = IngestionProcess(config_path, directory / "ingestion.log", config.pipeline.ingestion.public_endpoint)
    daemon = start_daemon(config_path, config.dagster_home, directory / "daemon.log")
    results = Results()
    stop = threading.Event()
    started = time.time()
    # The machine is shared: the load says how much of it this run had.
    load_at_start = os.getloadavg()
    try:
        ingestion.wait_ready()
        with dg.DagsterInstance.get() as instance:
            poller = threading.Thread(target=poll_visibility, args=(config.duckdb_path, results, stop, 1.0), daemon=True)
            poller.start()
            url = f"{config.pipeline.ingestion.public_endpoint}{config.pipeline.ingestion.path}"
            print(f"sending one event every {args.interval:g} s for {args.minutes:g} min", flush=True)
            send_probes(url, args.minutes, args.interval, results, run_tag=f"{int(started)}")
            print("waiting for the last events to become visible", flush=True)
            deadline = time.monotonic() + args.drain_minutes * 60
            while time.monotonic() < deadline:
                acknowledged = [p for p in results.probes.values() if p.acknowledged]
                if acknowledged and all(p.visible for p in acknowledged):
                    break
                time.sleep(2)
            stop.set()
            poller.join(timeout=30)
            runs = run_summary(instance)
            stages = stage_summary(instance)
    finally:
        stop.set()
        stop_group(daemon)
        ingestion.stop()

    acknowledged = [p for p in results.probes.values() if p.acknowledged]
    latencies = [p.visible - p.acknowledged for p in acknowledged if p.visible]
    missing = len(acknowledged) - len(latencies)
    report = {
        "events_sent": len(results.probes),
        "events_acknowledged": len(acknowledged),
        "events_visible": len(latencies),
        "events_not_visible": missing,
        "latency_seconds": {
            "p50": round(percentile(latencies, 0.50), 1) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "min": round(min(latencies), 1) if latencies else None,
        },
        "goal_p95_seconds": 60,
        "seal_seconds": args.seal_seconds,
        "polls": {"total": results.polls, "before_first_publish": results.polls_unpublished},
        "runs": {name: {"runs": s["runs"], "mean_seconds": round(s["seconds"] / s["runs"], 1)} for name, s in sorted(runs.items())},
        "micro_batch_stages": stages,
        "wall_seconds": round(time.time() - started),
        "load_average_1_5_15": {"start": [round(x, 1) for x in load_at_start], "end": [round(x, 1) for x in os.getloadavg()]},
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if latencies:
        print(f"\np50 {statistics.median(latencies):.1f} s, p95 {report['latency_seconds']['p95']} s (goal <= 60 s); "
              f"{missing} acknowledged event(s) not visible")  # fmt: skip
    return 0 if latencies and missing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
