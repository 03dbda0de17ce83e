"""Ingestion throughput: 10-event SDK requests (base64 gzip, as Android/Swift send them) against
the real server, with the spool on, compared with a do-nothing handler on the same stack.

    .venv/bin/python bench/ingest/run.py [--seconds 20] [--connections 32] [--fsync interval]

Both servers run under the same gunicorn options (workers, threads, worker class); the only
difference is the handler. The load comes from wrk on the same machine, so on a 2-core box the
client takes a share of the CPU the server would otherwise have: the figures are a floor.
Goal (issue 3): >= 4,000 req/s with p99 < 50 ms; below 2,000 req/s is a defect.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_ID = "bench_app"
EVENTS_PER_REQUEST = 10

SERVE = """
import sys
from flask import Flask, Response
from clickstream_project.config import load_config
from ingestion import server

config = load_config(sys.argv[1])
options = server.gunicorn_options(config, threads=int(sys.argv[3]) or None)
if sys.argv[2] == "noop":
    class NoopServer(server.IngestionServer):
        def load(self):
            app = Flask("noop")
            app.add_url_rule(config.pipeline.ingestion.path, "collect", lambda: Response(status=200), methods=["POST"])
            app.add_url_rule("/ping", "ping", lambda: "{}", methods=["GET"])
            return app
    options["worker_exit"] = lambda server, worker: None
    try:
        NoopServer(config, options).run()
    except SystemExit:
        pass
else:
    server.run_server(config, threads=int(sys.argv[3]) or None)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sdk_body() -> str:
    """Ten events as the generator (and so the SDKs) shape them, base64 of gzip."""
    from clickstream_project.config import parse_config
    from clickstream_tools.generator import simulate

    config = parse_config({"project_id": "bench", "apps": [{"app_id": APP_ID, "name": "Bench", "platforms": ["Android"]}]})
    simulation = simulate(config, end=datetime(2026, 11, 21, tzinfo=UTC), days=1, users=5, seed=1)
    events = list(simulation.iter_events())[:EVENTS_PER_REQUEST]
    return base64.b64encode(gzip.compress(json.dumps(events).encode())).decode()


def write_config(directory: Path, port: int, args: argparse.Namespace) -> Path:
    config = {
        "project_id": "bench",
        "data_dir": str(directory),
        "apps": [{"app_id": APP_ID, "name": "Bench", "platforms": ["Android"]}],
        "pipeline": {
            "ingestion": {
                "bind": f"127.0.0.1:{port}",
                "workers": args.workers,
                "fsync": args.fsync,
                "fsync_interval_ms": args.fsync_interval_ms,
                "access_log": not args.no_access_log,
                "metrics": not args.no_metrics,
            },
            "sink": {"buffer_size_mib": 10, "buffer_interval_seconds": 60},
        },
    }
    path = directory / "clickstream.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_wrk(url: str, body_file: Path, args: argparse.Namespace) -> dict:
    script = body_file.with_suffix(".lua")
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = io.open("{body_file}"):read("*a")\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("STATUS non2xx=%d errors=%d\\n", summary.errors.status, '
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
        "end\n"
    )
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])}
    for percentile in ("50", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        result[f"p{percentile}_ms"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    status = re.search(r"STATUS non2xx=(\d+) errors=(\d+)", output)
    result["non_2xx"], result["socket_errors"] = int(status[1]), int(status[2])
    return result


def measure(kind: str, args: argparse.Namespace, body_file: Path) -> dict:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{kind}-"))
    port = free_port()
    config = write_config(directory, port, args)
    log = open(directory / "server.log", "wb")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(config), kind, str(args.threads)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/ping", timeout=1).ok:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"{kind} server did not start; see {directory / 'server.log'}") from None
                time.sleep(0.2)
        url = f"{base}/collect?appId={APP_ID}&platform=Android&compression=gzip&event_bundle_sequence_id=1&upload_timestamp=1"
        run_wrk(url, body_file, argparse.Namespace(**{**vars(args), "seconds": 2}))  # warm-up
        result = run_wrk(url, body_file, args)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=90)
        log.close()
    if kind == "real":
        result["stored_records"] = count_stored(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return result


def count_stored(directory: Path) -> int:
    return sum(len(gzip.decompress(p.read_bytes()).splitlines()) for p in directory.glob("lake/**/*.gz"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per server (default 20)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads; 1 leaves the other core to the server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: one per core)")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker (default: the server's default)")
    parser.add_argument("--fsync", choices=["interval", "batch"], default="interval", help="spool fsync policy")
    parser.add_argument("--fsync-interval-ms", type=int, default=200, help="with --fsync interval (default 200, the configured default)")
    parser.add_argument("--no-access-log", action="store_true", help="turn the JSON access log off")
    parser.add_argument("--no-metrics", action="store_true", help="turn /metrics (Prometheus) off")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk not found; install it (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    body_file = Path(tempfile.mkdtemp(prefix="bench-body-")) / "body.txt"
    body_file.write_text(sdk_body())
    real = measure("real", args, body_file)
    noop = measure("noop", args, body_file)
    report = {
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "body_bytes": body_file.stat().st_size,
        "real": {**real, "events_per_second": real["requests_per_second"] * EVENTS_PER_REQUEST},
        "noop": noop,
        "ratio_to_noop": round(real["requests_per_second"] / noop["requests_per_second"], 3),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"body: {report['body_bytes']} bytes (10 events, base64 gzip); fsync={args.fsync}; "
        f"{args.workers} workers; {args.connections} connections; {args.seconds} s"
    )
    for name, row in (("real server", real), ("do-nothing", noop)):
        print(
            f"{name:<12} {row['requests_per_second']:>9.0f} req/s   p50 {row['p50_ms']:6.2f} ms   "
            f"p99 {row['p99_ms']:6.2f} ms   non-2xx {row['non_2xx']}"
        )
    print(f"events/s (real): {report['real']['events_per_second']:.0f}; ratio real/do-nothing: {report['ratio_to_noop']:.2f}")
    if "stored_records" in real:
        print(f"records stored by the real server (warm-up included): {real['stored_records']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
