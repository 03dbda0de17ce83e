"""Ingestion throughput: 10-event SDK requests (base64 gzip, as Android/Swift send them) against
the real server, with the spool on, compared with a do-nothing handler on the same stack.

    .venv/bin/python bench/ingest/run.py [--seconds 20] [--connections 32] [--fsync interval]

One run measures, one after the other (bench/ingest/serve.py starts each):
- the real server: `clickstream serve` (gunicorn with the service's worker classes and hooks);
- a do-nothing Flask handler on the same gunicorn options: the real server's baseline;
- the same do-nothing handler under granian (WSGI, same workers): what another stack gives;
- with --granian-real, the real app under granian, for comparison only (without the slow-client
  deadlines and the sealing at shutdown that the service needs; see serve.py).
Each ratio is to the do-nothing handler on the same stack. Each server's CPU time per request
(all its processes) is reported too: on a shared machine it moves much less than req/s. The load comes from wrk on the same
machine, so on a 2-core box the client takes a share of the CPU the server would otherwise
have: the figures are a floor. Goal (issue 16): >= 6,000 req/s with p99 < 50 ms and >= 0.6 of
the same stack's do-nothing handler.
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

SERVE_SCRIPT = Path(__file__).with_name("serve.py")
# (stack, handler): the real server and the do-nothing handler on both stacks; see serve.py.
REAL = ("gunicorn", "real")
BASELINES = (("gunicorn", "noop"), ("granian", "noop"))
GRANIAN_REAL = ("granian", "real")


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
    result["requests"] = int(re.search(r"(\d+) requests in", output)[1])
    status = re.search(r"STATUS non2xx=(\d+) errors=(\d+)", output)
    result["non_2xx"], result["socket_errors"] = int(status[1]), int(status[2])
    return result


def measure(stack: str, handler: str, args: argparse.Namespace, body_file: Path) -> dict:
    kind = f"{stack}-{handler}"
    directory = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{kind}-"))
    port = free_port()
    config = write_config(directory, port, args)
    log = open(directory / "server.log", "wb")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(SERVE_SCRIPT), str(config), stack, handler, str(args.threads)],
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
        cpu_before = process_tree_cpu_seconds(process.pid)
        result = run_wrk(url, body_file, args)
        # CPU time per request moves much less with the machine's load than req/s does.
        result["server_cpu_us_per_request"] = round((process_tree_cpu_seconds(process.pid) - cpu_before) * 1e6 / result["requests"], 1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=90)
        log.close()
    if handler == "real":
        result["stored_records"] = count_stored(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return result


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds used so far by `root` and its descendants (Linux /proc)."""
    parents, seconds = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return sum(seconds.get(pid, 0.0) for pid in tree)


def count_stored(directory: Path) -> int:
    return sum(len(gzip.decompress(p.read_bytes()).splitlines()) for p in directory.glob("lake/**/*.gz"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per server (default 20)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads; 1 leaves the other core to the server")
    parser.add_argument("--workers", type=int, default=2, help="worker processes on either stack (default 2: one per core)")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per worker (default: each stack's default; granian: its blocking threads)"
    )
    parser.add_argument("--fsync", choices=["interval", "batch"], default="interval", help="spool fsync policy")
    parser.add_argument("--fsync-interval-ms", type=int, default=200, help="with --fsync interval (default 200, the configured default)")
    parser.add_argument("--no-access-log", action="store_true", help="turn the JSON access log off")
    parser.add_argument("--no-metrics", action="store_true", help="turn /metrics (Prometheus) off")
    parser.add_argument("--granian-real", action="store_true", help="also run the real app under granian (comparison only)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk not found; install it (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    body_file = Path(tempfile.mkdtemp(prefix="bench-body-")) / "body.txt"
    body_file.write_text(sdk_body())
    servers = [REAL, *BASELINES] + ([GRANIAN_REAL] if args.granian_real else [])
    results = {f"{stack}-{handler}": measure(stack, handler, args, body_file) for stack, handler in servers}
    for name, row in results.items():
        stack, _, handler = name.partition("-")
        if handler == "real":
            row["events_per_second"] = row["requests_per_second"] * EVENTS_PER_REQUEST
            row["ratio_to_same_stack_noop"] = round(row["requests_per_second"] / results[f"{stack}-noop"]["requests_per_second"], 3)
    report = {
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "body_bytes": body_file.stat().st_size,
        "load_average": os.getloadavg(),
        "servers": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"body: {report['body_bytes']} bytes (10 events, base64 gzip); fsync={args.fsync}; "
        f"{args.workers} workers; {args.connections} connections; {args.seconds} s; "
        f"load average after: {' '.join(f'{v:.2f}' for v in report['load_average'])}"
    )
    for name, row in results.items():
        ratio = (
            f"   ratio to {name.partition('-')[0]}-noop {row['ratio_to_same_stack_noop']:.2f}" if "ratio_to_same_stack_noop" in row else ""
        )
        print(
            f"{name:<14} {row['requests_per_second']:>9.0f} req/s   p50 {row['p50_ms']:6.2f} ms   "
            f"p99 {row['p99_ms']:6.2f} ms   server CPU {row['server_cpu_us_per_request']:5.0f} us/request   non-2xx {row['non_2xx']}{ratio}"
        )
    for name, row in results.items():
        if "stored_records" in row:
            print(f"records in the lake after {name} stopped (warm-up included): {row['stored_records']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
