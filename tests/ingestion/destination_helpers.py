"""Helpers for the destination tests: sealed segments on disk, a real moto server process, and
a guard that turns a hang into a test failure."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ingestion.records import encode_record
from ingestion.sinks.destination import SealedSegment
from ingestion.sinks.layout import HOUR_MS
from tests.conftest import free_port

T = TypeVar("T")
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
# 2024-05-01 13:00 UTC as whole hours since the epoch.
HOUR = int(datetime(2024, 5, 1, 13, tzinfo=UTC).timestamp() * 1000) // HOUR_MS
STEM = "20240501T130500123Z-test-host-4242-0a1b2c3d"


def raw_record(index: int, **overrides: Any) -> dict[str, Any]:
    """A raw record shaped like DATA_CONTRACT §3 (only the fields the destinations never read)."""
    event = {"event_type": "_page_view", "event_id": f"event-{index}", "app_id": "shop_web", "timestamp": 1714568700000}
    record = {
        "date": "2024-05-01T13:05:00.123Z",
        "data": json.dumps([event]),
        "ip": "203.0.113.7",
        "ua": "Mozilla/5.0",
        "uri": "/collect?appId=shop_web&platform=Web",
        "rid": f"rid-{index}",
        "method": "POST",
        "path": "/collect",
        "source_type": "http_server",
        "appId": "shop_web",
        "platform": "Web",
        "compression": None,
        "ingest_time": 1714568700123,
        "server_ingest_time": 1714568700123,
        "client_timestamp": None,
        "timestamp": "2024-05-01T13:05:00.123Z",
    }
    record.update(overrides)
    return record


def make_segment(directory: Path, records: list[dict[str, Any]], *, stem: str = STEM, hour: int = HOUR) -> SealedSegment:
    """A sealed segment file as the spool leaves it: one gzip member of NDJSON lines."""
    path = directory / f"{stem}.gz"
    path.write_bytes(gzip.compress(b"".join(encode_record(record) for record in records)))
    return SealedSegment(path=path, hour=hour, stem=stem)


@contextlib.contextmanager
def aws_test_env() -> Iterator[None]:
    """Fake credentials, and no shared config or instance metadata to fall back on."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


def create_kinesis_stream(client: Any, name: str, shards: int = 2) -> str:
    """A stream on the moto server, returned once it is ACTIVE."""
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return name


@contextlib.contextmanager
def running_moto_server(start_timeout_seconds: float = 20.0) -> Iterator[str]:
    """A `moto_server` process on a free localhost port; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_answering(endpoint, process, log, start_timeout_seconds)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_answering(endpoint: str, process: subprocess.Popen, log: Any, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    log.seek(0)
    output = log.read().decode(errors="replace")[-2000:]
    pytest.fail(f"moto_server at {endpoint} did not answer within {timeout_seconds:g} s:\n{output}")


def finishes_within(seconds: float, action: Callable[[], T]) -> T:
    """Run `action`, failing the test if it has not returned after `seconds` (a hang guard,
    deliberately generous; not a timing assertion)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # handed to the test thread below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
