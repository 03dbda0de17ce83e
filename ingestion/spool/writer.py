"""The spool's write side: accepted requests are appended to segment files before the 200.

Records are appended to gzip segments in `<spool>/open/` and renamed into `<spool>/sealed/` when
a segment is finished, from where the shipper (shipper.py) delivers them to the destination.
A segment holds one arrival hour and is sealed when it reaches its size, record count or age,
when its hour is over, and on `flush()`/`close()`.

A writer owns each open segment through an exclusive `flock` held for the segment's whole life,
which is how recovery (recovery.py) tells a crashed writer's leftovers from the live segments
of sibling workers.

Durability: every append is handed to the OS before `write` returns, so a crash of the process
loses nothing acknowledged. Against power loss, `fsync="batch"` flushes to disk before each
answer; `fsync="interval"` flushes every `fsync_interval_seconds` from a background thread, and
always before a segment is sealed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ingestion.records import encode_record
from ingestion.sinks.destination import SealedSegment
from ingestion.sinks.layout import hour_of, inflight_name, new_file_stem, sealed_segment_name
from ingestion.spool.gzip_lines import GzipLineWriter
from ingestion.spool.intake import IntakeUnavailable
from ingestion.spool.recovery import recover_abandoned, recover_inflight_file

logger = logging.getLogger(__name__)

OPEN_DIR = "open"
SEALED_DIR = "sealed"
# How often the background thread seals segments that reached their age or whose hour is over:
# a segment is sealed at most about this late, whatever the traffic.
SEAL_CHECK_SECONDS = 1.0
# How often a running writer looks for segments left by crashed sibling workers.
RECOVERY_PERIOD_SECONDS = 60.0

FsyncPolicy = Literal["batch", "interval"]


@dataclass(frozen=True)
class RollPolicy:
    max_bytes: int
    max_age_seconds: float
    # Kinesis and Kafka ship in record batches; S3 and the local lake by size only.
    max_records: int | None = None


@dataclass
class _OpenSegment:
    hour: int
    stem: str
    path: Path
    file: BinaryIO
    writer: GzipLineWriter
    opened_at: float
    records: int = 0


class SegmentWriter:
    """Appends raw records to open segments under `spool_root` and seals them.

    `on_seal` is called with each sealed segment (outside no lock the caller could block on);
    `clock` and `background_seconds=None` (no background thread) are for tests.
    """

    def __init__(
        self,
        spool_root: Path,
        roll: RollPolicy,
        name_tag: str,
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval_seconds: float = 0.2,
        on_seal: Callable[[SealedSegment], None] | None = None,
        clock: Callable[[], float] = time.time,
        background_seconds: float | None = SEAL_CHECK_SECONDS,
    ) -> None:
        self.root = Path(spool_root)
        self.open_dir = self.root / OPEN_DIR
        self.sealed_dir = self.root / SEALED_DIR
        self.open_dir.mkdir(parents=True, exist_ok=True)
        self.sealed_dir.mkdir(parents=True, exist_ok=True)
        self._roll = roll
        self._name_tag = name_tag
        self._fsync = fsync
        self.fsync_interval_seconds = fsync_interval_seconds
        self._on_seal = on_seal
        self._clock = clock
        self._lock = threading.Lock()
        self._segments: dict[int, _OpenSegment] = {}
        self._closed = False
        self._write_error: str | None = None
        self._seal_error: str | None = None
        self.records_written = 0
        self.bytes_written = 0
        self.segments_sealed = 0
        self.records_recovered = 0
        self.recover_inflight()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if background_seconds:
            self._start("spool-sealer", self._run_sealer, background_seconds)
        if background_seconds and fsync == "interval":
            self._start("spool-fsync", self._run_fsync, fsync_interval_seconds)

    # Writing -------------------------------------------------------------------------------

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> int:
        """Append one record; returns the compressed bytes it added to the spool."""
        line = encode_record(record)
        hour = hour_of(arrival_ms)
        sealed: list[SealedSegment] = []
        with self._lock:
            if self._closed:
                raise IntakeUnavailable("the spool is closed (the server is shutting down)")
            sealed += self._seal_due(self._clock(), hour)
            target = self._segments.get(hour)
            try:
                if target is None:
                    target = self._open(hour)
                before = target.writer.compressed_bytes
                target.writer.append(line)
                if self._fsync == "batch":
                    os.fsync(target.file.fileno())
            except OSError as error:
                self._write_error = f"cannot append to the spool under {self.open_dir}: {error}"
                logger.error("spool: %s", self._write_error)
                if target is not None:
                    self._abandon(target)
                raise IntakeUnavailable(self._write_error) from error
            self._write_error = None
            added = target.writer.compressed_bytes - before
            target.records += 1
            self.records_written += 1
            self.bytes_written += added
            if self._full(target):
                sealed += self._seal(target)
        self._announce(sealed)
        return added

    def flush(self) -> None:
        """Seal every open segment now (they become shippable)."""
        with self._lock:
            sealed = [s for segment in list(self._segments.values()) for s in self._seal(segment)]
        self._announce(sealed)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        with self._lock:
            if self._closed:
                return
            sealed = [s for segment in list(self._segments.values()) for s in self._seal(segment)]
            self._closed = True
        self._announce(sealed)

    def state(self) -> dict[str, Any]:
        with self._lock:
            error = self._write_error or self._seal_error
            if not os.access(self.open_dir, os.W_OK):
                error = f"{self.open_dir} is not writable"
            return {
                "status": "closed" if self._closed else ("error" if error else "ok"),
                "open_segments": len(self._segments),
                "records_written": self.records_written,
                "segments_sealed": self.segments_sealed,
                "records_recovered": self.records_recovered,
                "fsync": self._fsync,
                "last_error": error,
            }

    # Sealing -------------------------------------------------------------------------------

    def seal_due(self) -> None:
        """Seal segments that are old enough or whose hour is over (the background job)."""
        with self._lock:
            sealed = [] if self._closed else self._seal_due(self._clock(), None)
        self._announce(sealed)

    def _full(self, segment: _OpenSegment) -> bool:
        if segment.writer.compressed_bytes >= self._roll.max_bytes:
            return True
        return self._roll.max_records is not None and segment.records >= self._roll.max_records

    def _seal_due(self, now: float, arriving_hour: int | None) -> list[SealedSegment]:
        current_hour = hour_of(int(now * 1000))
        if arriving_hour is not None:
            current_hour = max(current_hour, arriving_hour)
        sealed: list[SealedSegment] = []
        for segment in list(self._segments.values()):
            too_old = now - segment.opened_at >= self._roll.max_age_seconds
            if too_old or segment.hour < current_hour:
                sealed += self._seal(segment)
        return sealed

    def _open(self, hour: int) -> _OpenSegment:
        now = self._clock()
        stem = new_file_stem(self._name_tag, now)
        path = self.open_dir / inflight_name(hour, stem)
        # The segment takes its scannable name only once it is locked, so a recovery scan can
        # never mistake a segment that is just being created for an abandoned one.
        staging = self.open_dir / f".new-{path.name}"
        file = open(staging, "xb")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(staging, path)
        except BaseException:
            file.close()
            staging.unlink(missing_ok=True)
            raise
        segment = _OpenSegment(hour=hour, stem=stem, path=path, file=file, writer=GzipLineWriter(file), opened_at=now)
        self._segments[hour] = segment
        return segment

    def _seal(self, segment: _OpenSegment) -> list[SealedSegment]:
        """Finish the gzip member, make it durable, and move it to `sealed/`.

        A failure leaves the records where they are: the segment is handed to recovery, which
        seals its complete lines now or, if the disk still refuses, at the next attempt.
        """
        del self._segments[segment.hour]
        target = self.sealed_dir / sealed_segment_name(segment.hour, segment.stem)
        try:
            segment.writer.finish()
            # Before the rename: a sealed name must never point at data still in page cache
            # only, or a power loss could leave an empty "sealed" segment.
            os.fsync(segment.file.fileno())
            # Renamed while still locked: a concurrent recovery scan sees either the locked
            # open segment or no file at all.
            os.replace(segment.path, target)
        except OSError as error:
            self._seal_error = f"cannot seal {segment.path.name}: {error}"
            logger.error("spool: %s", self._seal_error)
            self._abandon(segment)
            return []
        finally:
            _close_quietly(segment.file)
        self._seal_error = None
        self.segments_sealed += 1
        return [SealedSegment(path=target, hour=segment.hour, stem=segment.stem)]

    def _abandon(self, segment: _OpenSegment) -> None:
        self._segments.pop(segment.hour, None)
        _close_quietly(segment.file)
        try:
            self.records_recovered += recover_inflight_file(segment.path, self.sealed_dir) or 0
        except OSError as error:
            logger.error("spool: %s stays open until a later recovery: %s", segment.path.name, error)

    def _announce(self, sealed: list[SealedSegment]) -> None:
        if self._on_seal is not None:
            for segment in sealed:
                self._on_seal(segment)

    # Recovery and background work ----------------------------------------------------------

    def recover_inflight(self) -> int:
        """Seal what crashed writers left in `open/`; returns the number of records saved."""
        with self._lock:
            own = {segment.path.name for segment in self._segments.values()}
        recovered = recover_abandoned(self.open_dir, self.sealed_dir, skip=own)
        with self._lock:
            self.records_recovered += recovered
        return recovered

    def fsync_open_segments(self) -> None:
        with self._lock:
            # Duplicated descriptors: the disk flush runs without holding up request threads.
            descriptors = [os.dup(segment.file.fileno()) for segment in self._segments.values()]
        for descriptor in descriptors:
            try:
                os.fsync(descriptor)
            except OSError as error:
                logger.error("spool: fsync failed: %s", error)
            finally:
                os.close(descriptor)

    def _start(self, name: str, target: Callable[[float], None], period: float) -> None:
        thread = threading.Thread(target=target, args=(period,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_sealer(self, period: float) -> None:
        next_recovery = time.monotonic() + RECOVERY_PERIOD_SECONDS
        while not self._stop.wait(period):
            try:
                self.seal_due()
                if time.monotonic() >= next_recovery:
                    next_recovery = time.monotonic() + RECOVERY_PERIOD_SECONDS
                    self.recover_inflight()
            except Exception:
                logger.exception("spool: background sealing failed")

    def _run_fsync(self, period: float) -> None:
        while not self._stop.wait(period):
            self.fsync_open_segments()


def _close_quietly(file: BinaryIO) -> None:
    try:
        file.close()
    except OSError as error:
        logger.warning("spool: closing %s failed: %s", getattr(file, "name", file), error)
