"""The real server: gunicorn workers, graceful stop, a killed worker, under a few hundred requests.

Every test checks the property the rest of the platform relies on: once the server process has
exited after SIGTERM, every request answered with 200 is in a sealed hour file of the lake
(shipped from the spool), exactly once.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from clickstream_project.config import load_config
from ingestion.server import add_arguments, gunicorn_options, main
from ingestion.workers import GracefulSyncWorker, RequestBufferingWorker
from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE = (
    "import sys\n"
    "from clickstream_project.config import load_config\n"
    "from ingestion.server import run_server\n"
    "run_server(load_config(sys.argv[1]), bind=sys.argv[2], workers=2, threads=int(sys.argv[3]))\n"
)


class Server:
    def __init__(self, tmp_path: Path, threads: int, pipeline: dict | None = None, env: dict | None = None) -> None:
        config_file = tmp_path / "clickstream.yaml"
        config_file.write_text(
            yaml.safe_dump(
                {
                    "project_id": "server_test",
                    "apps": [{"app_id": "shop", "name": "Shop", "platforms": ["Android", "Web"]}],
                    "pipeline": pipeline or {},
                }
            ),
            encoding="utf-8",
        )
        self.config_file = config_file
        config = load_config(config_file)
        self.raw_root = config.raw_root
        self.spool_root = config.spool_root
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "server.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVE, str(config_file), self.url.removeprefix("http://"), str(threads)],
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a crash test can kill master and workers at once.
                start_new_session=True,
            )
        self.acknowledged: set[str] = set()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or connected while no worker had booted (a loaded machine)
            time.sleep(0.05)
        pytest.fail(f"server not ready:\n{self.log.read_text()}")

    def post_events(self, first: int, count: int) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self._post, range(first, first + count)))

    def _post(self, n: int) -> None:
        event_id = f"event-{n}"
        events = json.dumps([{"event_type": "_screen_view", "event_id": event_id, "app_id": "shop"}])
        if n % 2:
            params = {"appId": "shop", "platform": "Android", "compression": "gzip"}
            body = base64.b64encode(gzip.compress(events.encode()))
        else:
            params = {"appId": "shop", "platform": "Web"}
            body = events.encode()
        try:
            response = requests.post(f"{self.url}/collect", params=params, data=body, timeout=30)
        except requests.RequestException:
            return  # refused or cut off while the server stops: not acknowledged
        if response.status_code == 200:
            self.acknowledged.add(event_id)

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def in_flight(self) -> list[Path]:
        """Spool segments not yet in the lake: open ones, and sealed ones not yet shipped."""
        return sorted([*(self.spool_root / "open").glob("*.part"), *(self.spool_root / "sealed").glob("*.gz")])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def stored_event_ids(self) -> list[str]:
        event_ids = []
        for path in self.raw_root.glob("year=*/month=*/day=*/hour=*/*.gz"):
            for line in gzip.decompress(path.read_bytes()).splitlines():
                record = json.loads(line)
                data = record["data"]
                if record["compression"] == "gzip":
                    data = gzip.decompress(base64.b64decode(data))
                event_ids.extend(event["event_id"] for event in json.loads(data))
        return event_ids


@pytest.fixture
def start_server(tmp_path):
    servers: list[Server] = []

    def start(threads: int) -> Server:
        server = Server(tmp_path, threads)
        servers.append(server)
        server.wait_until_ready()
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@pytest.mark.parametrize("threads", [4, 1], ids=["gthread", "sync"])
def test_sigterm_seals_every_acknowledged_request(start_server, threads):
    server = start_server(threads)
    server.post_events(0, 300)
    assert len(server.acknowledged) == 300

    assert server.stop(signal.SIGTERM) == 0

    stored = server.stored_event_ids()
    assert sorted(stored) == sorted(server.acknowledged)
    assert server.in_flight() == []


def test_sigint_stops_as_gracefully_as_sigterm(start_server):
    server = start_server(threads=4)
    server.post_events(0, 100)

    assert server.stop(signal.SIGINT) == 0

    assert sorted(server.stored_event_ids()) == sorted(server.acknowledged)
    assert server.in_flight() == []


def test_sigterm_under_load_keeps_every_acknowledged_request(start_server):
    server = start_server(threads=4)
    load = threading.Thread(target=server.post_events, args=(0, 2000))
    load.start()
    deadline = time.monotonic() + 30
    while len(server.acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert server.stop(signal.SIGTERM) == 0
    load.join()

    stored = server.stored_event_ids()
    assert len(stored) == len(set(stored))
    # A request can be stored and its answer lost as the connection closes; never the reverse.
    assert server.acknowledged <= set(stored)
    assert server.in_flight() == []


def test_a_killed_workers_requests_are_recovered(start_server):
    server = start_server(threads=1)
    server.post_events(0, 200)
    owners = {int(m[1]) for p in server.in_flight() if (m := re.search(r"-(\d+)-[0-9a-f]{8}\.gz\.part$", p.name))}
    victim = sorted(owners & server.worker_pids())[0]

    os.kill(victim, signal.SIGKILL)
    # The worker gunicorn starts in its place seals the victim's file as its sink starts.
    deadline = time.monotonic() + 30
    while any(f"-{victim}-" in p.name for p in server.in_flight()) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.post_events(200, 100)

    assert server.stop(signal.SIGTERM) == 0

    assert sorted(server.stored_event_ids()) == sorted(server.acknowledged)
    assert len(server.acknowledged) == 300
    assert server.in_flight() == []


def test_command_line_options(project_config):
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    args = parser.parse_args(["--bind", "0.0.0.0:9000", "--workers", "3", "--threads", "1"])
    options = gunicorn_options(project_config, bind=args.bind, workers=args.workers, threads=args.threads)

    assert options["bind"] == ["0.0.0.0:9000"]
    assert options["workers"] == 3
    assert options["worker_class"] is GracefulSyncWorker
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "0"])


def test_defaults_come_from_the_configuration(project_config):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])

    options = gunicorn_options(project_config, bind=args.bind, workers=args.workers, threads=args.threads)

    assert options["bind"] == [project_config.pipeline.ingestion.bind]
    assert options["workers"] == project_config.pipeline.ingestion.workers
    assert options["worker_class"] is RequestBufferingWorker
    assert options["worker_exit"] is not None


def test_main_runs_the_server_with_the_parsed_options(project_config, monkeypatch):
    calls = []
    monkeypatch.setattr("ingestion.server.run_server", lambda config, **kwargs: calls.append((config, kwargs)))

    assert main(argparse.Namespace(bind="127.0.0.1:1", workers=1, threads=None), project_config) == 0
    assert calls == [(project_config, {"bind": "127.0.0.1:1", "workers": 1, "threads": None})]
