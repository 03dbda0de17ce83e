"""The spool as the request handlers see it (the `Intake` protocol): append, then answer.

Backpressure: when the spool holds more than its bound, or the destination has been failing
for longer than the allowed outage, `write` raises `IntakeUnavailable` and the client gets a 503
with Retry-After; the official SDKs keep their events and retry later. Nothing is accepted that
could not be stored.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion import metrics
from ingestion.sinks.destination import Destination
from ingestion.spool.intake import IntakeUnavailable
from ingestion.spool.shipper import Shipper
from ingestion.spool.writer import FsyncPolicy, RollPolicy, SegmentWriter

# The spool's size is measured by a directory scan at most this often; in between, this
# worker's own appends are added, so the bound is exceeded by at most what sibling workers
# wrote within one interval.
SIZE_SCAN_SECONDS = 1.0
# On graceful shutdown, how long a worker keeps shipping what is sealed before it exits;
# anything left stays in the spool and ships at the next start.
DRAIN_SECONDS = 20.0


@dataclass(frozen=True)
class SpoolLimits:
    max_bytes: int
    max_outage_seconds: float


class Spool:
    def __init__(
        self,
        root: Path,
        destination: Destination,
        roll: RollPolicy,
        limits: SpoolLimits,
        name_tag: str,
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval_seconds: float = 0.2,
        clock: Callable[[], float] = time.time,
        background: bool = True,
        size_scan_seconds: float = SIZE_SCAN_SECONDS,
    ) -> None:
        self.root = Path(root)
        self.limits = limits
        self._clock = clock
        self._size_scan_seconds = size_scan_seconds
        self.shipper = Shipper(self.root / "sealed", destination, clock=clock, poll_seconds=1.0 if background else None)
        self.writer = SegmentWriter(
            self.root,
            roll,
            name_tag,
            fsync=fsync,
            fsync_interval_seconds=fsync_interval_seconds,
            on_seal=self.shipper.notify,
            clock=clock,
            background_seconds=1.0 if background else None,
        )
        self._size_lock = threading.Lock()
        self._measured_bytes = 0
        self._measured_segments = 0
        self._appended_since_scan = 0
        self._next_scan = 0.0
        # Segments that a crashed predecessor sealed or left open are shipped right away.
        self.shipper.notify()

    # Intake protocol -----------------------------------------------------------------------

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None:
        self._check_capacity()
        added = self.writer.write(record, arrival_ms)
        with self._size_lock:
            self._appended_since_scan += added

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
        self.shipper.drain(DRAIN_SECONDS)
        self.destination.close()

    def health(self) -> dict[str, Any]:
        size, segments = self.size()
        refusing = self.refusal_reason()
        writer = self.writer.state()
        shipper = self.shipper.state()
        status = writer["status"]
        if status == "ok" and (refusing or shipper["status"] != "ok"):
            status = "refusing" if refusing else "degraded"
        return {
            "type": self.destination.kind,
            "status": status,
            "refusing": refusing,
            "spool": {"bytes": size, "segments": segments, "max_bytes": self.limits.max_bytes, **writer},
            "shipper": shipper,
            "last_error": writer["last_error"] or shipper["last_error"],
        }

    # Capacity ------------------------------------------------------------------------------

    @property
    def destination(self) -> Destination:
        return self.shipper.destination

    def size(self) -> tuple[int, int]:
        """(bytes, segment files) in the spool, all workers included."""
        now = time.monotonic()
        with self._size_lock:
            if now >= self._next_scan:
                self._measured_bytes, self._measured_segments = _scan(self.root)
                self._appended_since_scan = 0
                self._next_scan = now + self._size_scan_seconds
                metrics.set_spool_depth(self._measured_bytes, self._measured_segments)
            return self._measured_bytes + self._appended_since_scan, self._measured_segments

    def refusal_reason(self) -> str | None:
        size, _ = self.size()
        if size >= self.limits.max_bytes:
            return f"the spool is full ({size} of {self.limits.max_bytes} bytes)"
        outage = self.shipper.outage_seconds()
        if outage > self.limits.max_outage_seconds:
            return f"the {self.destination.kind} sink has been failing for {outage:.0f} s"
        return None

    def _check_capacity(self) -> None:
        reason = self.refusal_reason()
        if reason is not None:
            raise IntakeUnavailable(reason)


def _scan(root: Path) -> tuple[int, int]:
    total = files = 0
    for directory in (root / "open", root / "sealed"):
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                total += entry.stat().st_size
                files += 1
            except FileNotFoundError:
                continue  # shipped or sealed while scanning
    return total, files
