"""Helpers shared by the ingestion tests: a recording intake (instead of the spool) and the SDK body encodings."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping
from typing import Any

from ingestion.spool.intake import IntakeUnavailable


class RecordingIntake:
    """Keeps records in memory; `available = False` makes it refuse writes like a full disk."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.arrivals: list[int] = []
        self.available = True
        self.closed = False

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None:
        if self.closed or not self.available:
            raise IntakeUnavailable("the recording intake is switched off")
        # A JSON round trip, so that a record that could not be serialized fails here too.
        self.records.append(json.loads(json.dumps(record)))
        self.arrivals.append(arrival_ms)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def health(self) -> dict[str, Any]:
        healthy = self.available and not self.closed
        return {"type": "recording", "status": "ok" if healthy else "error", "last_error": None if healthy else "switched off"}


def base64_gzip(value: Any) -> str:
    """A body the way the Android and Swift SDKs send it with compression=gzip."""
    return base64.b64encode(gzip.compress(json.dumps(value).encode("utf-8"))).decode("ascii")


def decode_data(record: Mapping[str, Any]) -> Any:
    """What processing will do with a stored record's `data`."""
    if record["compression"] == "gzip":
        return json.loads(gzip.decompress(base64.b64decode(record["data"])))
    return json.loads(record["data"])


class FakeClock:
    """A clock the test moves by hand (for reload intervals, token expiry, caches)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
