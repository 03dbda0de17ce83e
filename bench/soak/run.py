"""Soak under attack: good SDK traffic mixed with hostile input, slow clients and one SIGKILL,
then every hour processed; every acknowledged event must be accounted for.

    .venv/bin/python bench/soak/run.py [--seconds 240] [--good-threads 3] [--slow-clients 50]

Loopback only, bounded (the default run takes about 6 minutes; `--seconds` is capped so the
whole run stays under 10). What runs, all at once, against the real server (`clickstream serve`,
its default settings):

- good traffic: Android-style base64-gzip and Web-style plain JSON batches of 10 events, retried
  like the SDKs on connection errors and 5xx (a retry resends the same body, so some event ids
  are acknowledged twice on purpose);
- hostile requests: lone UTF-16 surrogates, deep nesting, multi-member gzip, a gzip bomb, too
  many events, garbage, unknown app, oversize headers, malformed chunked framing and bodies
  shorter than their Content-Length (raw sockets);
- slow clients holding connections open with dripped headers and bodies;
- one SIGKILL of every server process half-way, then a restart on the same spool;
- after the traffic, a truncated copy of a raw file and a stray text file in the lake.

Then the server is stopped gracefully, the Spark job processes every arrival hour, and the
ledger is compared: acknowledged events = rows in ods_events + events in the quarantine, no
event_id twice in ods_events, 0 responses >= 500, and the good requests' p99 during the attack.
Exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import base64
import copy
import gzip
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "soak"
APPS = {"soak_android": "Android", "soak_web": "Web"}
SAMPLE = json.loads((REPO_ROOT / "tests/fixtures/sdk-samples/android_event.json").read_text())
EVENTS_PER_REQUEST = 10
MAX_SECONDS = 420  # traffic; with start-up, drain and the Spark job the run stays under 10 min


@dataclass
class Ledger:
    """What the server acknowledged, and every response seen, shared by all client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: set[str] = field(default_factory=set)
    acked_events: int = 0  # counting repeats: what the SDKs were told was stored
    statuses: Counter = field(default_factory=Counter)  # (kind, status)
    connection_errors: Counter = field(default_factory=Counter)
    good_latencies_ms: list[float] = field(default_factory=list)

    def answer(self, kind: str, status: int, event_ids: list[str] | None = None, latency_ms: float | None = None) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if status == 200 and event_ids:
                self.acked.update(event_ids)
                self.acked_events += len(event_ids)
            if latency_ms is not None and status == 200:
                self.good_latencies_ms.append(latency_ms)

    def failed(self, kind: str) -> None:
        with self.lock:
            self.connection_errors[kind] += 1

    def server_errors(self) -> int:
        return sum(count for (_, status), count in self.statuses.items() if status >= 500)


class Server:
    """`clickstream serve` in its own process group, so SIGKILL reaches every worker."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log, self.process = config, log, None

    def start(self, base: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        log = open(self.log, "ab")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("clickstream")), "serve", "-c", str(self.config)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/ping", timeout=1).ok:
                    return
            except requests.RequestException:
                if self.process.poll() is not None:
                    break
            time.sleep(0.2)
        raise SystemExit(f"the server did not start; see {self.log}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)


def now_ms() -> int:
    return int(time.time() * 1000)


def events(app_id: str, platform: str, count: int = EVENTS_PER_REQUEST) -> list[dict]:
    batch = []
    for _ in range(count):
        event = copy.deepcopy(SAMPLE)
        event.update(event_id=str(uuid.uuid4()), app_id=app_id, platform=platform, timestamp=now_ms())
        batch.append(event)
    return batch


def collect_url(base: str, app_id: str, platform: str, compressed: bool) -> str:
    query = f"appId={app_id}&platform={platform}&event_bundle_sequence_id=1&upload_timestamp={now_ms()}"
    return f"{base}/collect?{query}" + ("&compression=gzip" if compressed else "")


def b64gzip(data: bytes) -> bytes:
    return base64.b64encode(gzip.compress(data))


# --- good traffic ------------------------------------------------------------------------------


def good_client(base: str, ledger: Ledger, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    previous: tuple[str, bytes, dict, list[str]] | None = None
    while not stop.is_set():
        app_id, platform = rng.choice(list(APPS.items()))
        if previous and rng.random() < 0.03:
            url, body, headers, ids = previous  # an SDK retry after a lost response
        else:
            batch = events(app_id, platform)
            ids = [event["event_id"] for event in batch]
            compressed = platform != "Web"
            payload = json.dumps(batch).encode()
            body = b64gzip(payload) if compressed else payload
            url = collect_url(base, app_id, platform, compressed)
            headers = {"Content-Type": "application/json; charset=utf-8"}
        for attempt in range(30):  # the SDKs keep events until they are acknowledged
            started = time.perf_counter()
            try:
                response = session.post(url, data=body, headers=headers, timeout=15)
            except requests.RequestException:
                ledger.failed("good")
                session = requests.Session()
                time.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            ledger.answer("good", response.status_code, ids, (time.perf_counter() - started) * 1000)
            if response.status_code < 500:
                break
            time.sleep(min(0.2 * 2**attempt, 2.0))
        previous = (url, body, headers, ids)


# --- hostile requests --------------------------------------------------------------------------


def lone_surrogate(base: str) -> tuple[str, bytes, dict, list[str]]:
    batch = events("soak_web", "Web", 3)
    text = json.dumps(batch).replace('"Channel": "SMS"', '"Channel": "SMS\\ud83d"', 1)
    return collect_url(base, "soak_web", "Web", False), text.encode(), {}, [event["event_id"] for event in batch]


def deep_nesting(depth: int):
    def make(base: str):
        batch = events("soak_web", "Web", 2)
        batch[0]["attributes"]["deep"] = "__DEEP__"
        text = json.dumps(batch).replace('"__DEEP__"', "[" * depth + "1" + "]" * depth)
        return collect_url(base, "soak_web", "Web", False), text.encode(), {}, [event["event_id"] for event in batch]

    return make


def multi_member_gzip(base: str):
    first, second = events("soak_android", "Android", 4), events("soak_android", "Android", 3)
    # Two gzip members of one array's text: `cat a.gz b.gz` still decodes to one JSON array.
    text = json.dumps(first + second).encode()
    middle = len(text) // 2
    body = base64.b64encode(gzip.compress(text[:middle]) + gzip.compress(text[middle:]))
    return collect_url(base, "soak_android", "Android", True), body, {}, [event["event_id"] for event in first + second]


def gzip_bomb(base: str):
    body = b64gzip(b"[" + b"{}," * 5_000_000 + b"{}]")
    return collect_url(base, "soak_android", "Android", True), body, {}, []


def too_many_events(base: str):
    batch = events("soak_web", "Web", 1001)
    return collect_url(base, "soak_web", "Web", False), json.dumps(batch).encode(), {}, [event["event_id"] for event in batch]


def garbage(base: str):
    return collect_url(base, "soak_android", "Android", True), os.urandom(2048), {}, []


def unknown_app(base: str):
    batch = events("nobody", "Web", 2)
    return collect_url(base, "nobody", "Web", False), json.dumps(batch).encode(), {}, []


def huge_header(base: str):
    batch = events("soak_web", "Web", 1)
    headers = {"X-Padding": "a" * 70_000}
    return collect_url(base, "soak_web", "Web", False), json.dumps(batch).encode(), headers, [batch[0]["event_id"]]


HOSTILE_HTTP = {
    "lone_surrogate": lone_surrogate,
    "deep_nesting_300": deep_nesting(300),
    "deep_nesting_2000": deep_nesting(2000),
    "multi_member_gzip": multi_member_gzip,
    "gzip_bomb": gzip_bomb,
    "too_many_events": too_many_events,
    "garbage": garbage,
    "unknown_app": unknown_app,
    "huge_header": huge_header,
}


def raw_exchange(port: int, request: bytes, *, close_write: bool = False) -> int | None:
    """Send bytes as they are; the status line's code, or None when the server closed silently."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        if close_write:
            connection.shutdown(socket.SHUT_WR)
        try:
            head = connection.recv(64)
        except OSError:
            return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None


def malformed_chunked(port: int) -> int | None:
    body = json.dumps(events("soak_web", "Web", 1)).encode()
    request = (
        b"POST /collect?appId=soak_web&platform=Web HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\nzz\r\n" + body + b"\r\n0\r\n\r\n"
    )
    return raw_exchange(port, request)


def short_body(port: int) -> int | None:
    body = json.dumps(events("soak_web", "Web", 2)).encode()
    request = (
        f"POST /collect?appId=soak_web&platform=Web HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 100}\r\n\r\n"
    ).encode() + body
    return raw_exchange(port, request, close_write=True)


HOSTILE_RAW = {"malformed_chunked": malformed_chunked, "short_body": short_body}


def attacker(base: str, port: int, ledger: Ledger, stop: threading.Event, pause: float) -> None:
    kinds = list(HOSTILE_HTTP) + list(HOSTILE_RAW)
    index = 0
    while not stop.is_set():
        kind = kinds[index % len(kinds)]
        index += 1
        try:
            if kind in HOSTILE_RAW:
                status = HOSTILE_RAW[kind](port)
                ledger.answer(kind, status if status is not None else 0)
            else:
                url, body, headers, ids = HOSTILE_HTTP[kind](base)
                response = requests.post(url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=30)
                ledger.answer(kind, response.status_code, ids)
        except (OSError, requests.RequestException):
            ledger.failed(kind)
        stop.wait(pause)


# --- slow clients ------------------------------------------------------------------------------


def slow_client(port: int, ledger: Ledger, stop: threading.Event, index: int) -> None:
    """Holds a connection open as slowly as the server allows: dripped headers, a dripped body,
    or a silent socket; reconnects whenever the server closes it."""
    body = json.dumps(events("soak_web", "Web", 1)).encode()
    shapes = {
        0: b"POST /collect?appId=soak_web&platform=Web HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        1: f"POST /collect?appId=soak_web&platform=Web HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:1],
        2: b"",
    }
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                connection.sendall(shapes[index % 3])
                while not stop.wait(2):
                    connection.sendall(b"a" if index % 3 != 2 else b"")
                    connection.setblocking(False)
                    try:
                        if connection.recv(1, socket.MSG_PEEK) == b"":
                            break  # closed by the server: its read timeout works
                    except BlockingIOError:
                        pass
                    finally:
                        connection.setblocking(True)
                ledger.failed("slow_client_closed_by_server")
        except OSError:
            ledger.failed("slow_client_closed_by_server")
            stop.wait(1)


# --- processing and the ledger -----------------------------------------------------------------


def write_config(directory: Path, port: int) -> Path:
    config = {
        "project_id": PROJECT,
        "data_dir": str(directory),
        "apps": [{"app_id": app_id, "name": app_id, "platforms": [platform]} for app_id, platform in APPS.items()],
        "pipeline": {
            "ingestion": {"bind": f"127.0.0.1:{port}", "public_endpoint": f"http://127.0.0.1:{port}"},
            "sink": {"buffer_interval_seconds": 60},
        },
    }
    path = directory / "clickstream.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def raw_root(directory: Path) -> Path:
    return directory / "lake" / "clickstream" / PROJECT / "data" / "buffer"


def damage_the_lake(directory: Path) -> int:
    """What a careless operator or a dying disk leaves beside the sealed files: a truncated copy
    of one (its whole lines repeat acknowledged events, so dedup must drop them) and a stray
    text file (never to be read). Returns the number of real ``*.gz`` files."""
    files = sorted(raw_root(directory).glob("**/*.gz"))
    largest = max(files, key=lambda path: path.stat().st_size)
    data = largest.read_bytes()
    (largest.parent / "copied-by-hand.gz").write_bytes(data[: len(data) // 2])
    (largest.parent / "notes.txt").write_text(gzip.decompress(data).decode().splitlines()[0] + "\n")
    return len(files) + 1


def process_hours(directory: Path, first: datetime, last: datetime) -> dict:
    command = [
        sys.executable, "-m", "plugins.job", "--raw-root", str(raw_root(directory)), "--ods-root", str(directory / "ods"),
        "--project-id", PROJECT, *[arg for app_id in APPS for arg in ("--app-id", app_id)],
        "--from", f"{first:%Y-%m-%dT%H}", "--to", f"{last:%Y-%m-%dT%H}", "--master", "local[2]",
        "--shuffle-partitions", "4", "--report", str(directory / "report.json"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the processing job failed:\n{result.stderr[-4000:]}")
    return json.loads((directory / "report.json").read_text())


def account(directory: Path) -> dict:
    import duckdb

    ods = directory / "ods"
    con = duckdb.connect()

    def read(dataset: str, columns: str) -> list[tuple]:
        files = [str(path) for path in (ods / dataset).glob("**/*.parquet")]
        return con.execute(f"select {columns} from read_parquet(?)", [files]).fetchall() if files else []

    event_ids = [row[0] for row in read("ods_events", "event_id")]
    ods_ids = set(event_ids)
    rows, distinct = len(event_ids), len(ods_ids)
    quarantine = read("quarantine", "reason, raw")
    quarantined_ids: set[str] = set()
    reasons: Counter = Counter()
    for reason, raw in quarantine:
        reasons[reason] += 1
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict) and isinstance(value.get("event_id"), str):
            quarantined_ids.add(value["event_id"])
    return {"ods_rows": rows, "ods_distinct_event_ids": distinct, "ods_ids": ods_ids,
            "quarantined_ids": quarantined_ids, "quarantine_by_reason": dict(reasons)}  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=240, help=f"seconds of traffic (default 240, at most {MAX_SECONDS})")
    parser.add_argument("--good-threads", type=int, default=3, help="threads sending good SDK batches (default 3)")
    parser.add_argument("--attackers", type=int, default=2, help="threads sending hostile requests (default 2)")
    parser.add_argument("--attack-pause", type=float, default=0.2, help="seconds between one attacker's requests")
    parser.add_argument("--slow-clients", type=int, default=50, help="slow connections held open (default 50)")
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL half-way")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if not 10 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 10 and {MAX_SECONDS}")

    directory = Path(tempfile.mkdtemp(prefix="soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(write_config(directory, port), directory / "server.log")
    ledger = Ledger()
    stop, stop_slow = threading.Event(), threading.Event()
    first_hour = datetime.now(UTC)
    server.start(base)
    threads = [threading.Thread(target=slow_client, args=(port, ledger, stop_slow, i), daemon=True) for i in range(args.slow_clients)]
    threads += [threading.Thread(target=good_client, args=(base, ledger, stop, i), daemon=True) for i in range(args.good_threads)]
    threads += [
        threading.Thread(target=attacker, args=(base, port, ledger, stop, args.attack_pause), daemon=True) for _ in range(args.attackers)
    ]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    killed_at = None
    while (elapsed := time.monotonic() - started) < args.seconds:
        if not args.no_kill and killed_at is None and elapsed >= args.seconds / 2:
            server.kill()
            killed_at = round(elapsed, 1)
            server.start(base)
        if int(elapsed) % 15 == 0:
            print(f"{elapsed:4.0f}/{args.seconds} s: {ledger.acked_events} events acknowledged", file=sys.stderr, flush=True)
        time.sleep(1)
    stop.set()
    stop_slow.set()
    for thread in threads:
        thread.join(timeout=40)
    server.stop()
    last_hour = datetime.now(UTC)
    gz_files = damage_the_lake(directory)
    processing = process_hours(directory, first_hour, last_hour)
    counts = account(directory)

    missing = ledger.acked - counts["ods_ids"] - counts["quarantined_ids"]
    unexpected = counts["ods_ids"] - ledger.acked
    in_both = counts["ods_ids"] & counts["quarantined_ids"]
    report = {
        "seconds": args.seconds,
        "sigkill_at_second": killed_at,
        "acknowledged_events": ledger.acked_events,
        "acknowledged_distinct_event_ids": len(ledger.acked),
        "ods_events_rows": counts["ods_rows"],
        "ods_events_duplicate_rows": counts["ods_rows"] - counts["ods_distinct_event_ids"],
        "quarantined_events": len(counts["quarantined_ids"]),
        "quarantine_rows_by_reason": counts["quarantine_by_reason"],
        "acknowledged_but_missing": len(missing),
        "in_ods_but_never_acknowledged": len(unexpected),
        "in_ods_and_quarantine": len(in_both),
        "responses": {f"{kind} {status}": count for (kind, status), count in sorted(ledger.statuses.items())},
        "responses_5xx": ledger.server_errors(),
        "connection_errors": dict(ledger.connection_errors),
        "good_requests": len(ledger.good_latencies_ms),
        "good_p50_ms": round(percentile(ledger.good_latencies_ms, 0.50), 1),
        "good_p99_ms": round(percentile(ledger.good_latencies_ms, 0.99), 1),
        "processing": {
            key: processing.get(key)
            for key in ("requests", "events_read", "written", "duplicates", "quarantined", "raw_files", "corrupt_files", "duration_seconds")
        },
        "data_dir": str(directory) if args.keep else None,
    }
    accounted = counts["ods_distinct_event_ids"] + len(counts["quarantined_ids"] - counts["ods_ids"])
    failures = []
    if missing:
        failures.append(f"{len(missing)} acknowledged event ids are neither in ods_events nor in the quarantine")
    if accounted != len(ledger.acked):
        failures.append(f"acknowledged {len(ledger.acked)} distinct events, accounted for {accounted}")
    if report["ods_events_duplicate_rows"]:
        failures.append(f"{report['ods_events_duplicate_rows']} duplicate event_id rows in ods_events")
    if report["responses_5xx"]:
        failures.append(f"{report['responses_5xx']} responses >= 500")
    if processing["raw_files"] != gz_files or len(processing["corrupt_files"]) != 1:
        failures.append(f"read {processing['raw_files']} raw files of {gz_files} and {len(processing['corrupt_files'])} corrupt of 1")
    if unexpected:
        failures.append(f"{len(unexpected)} event ids in ods_events were never acknowledged")
    report["failures"] = failures
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>34}: {value}")
    if not args.keep:
        shutil.rmtree(directory, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
