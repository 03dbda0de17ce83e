"""The local sink: a directory laid out like the S3 bucket of the scale-out shape.

Records are appended to gzip files in `<root>/_inflight/` and renamed into their hour directory
when sealed, so a reader globbing `year=*/month=*/day=*/hour=*/*.gz` only ever sees complete
files. (`_inflight` starts with "_" because Spark and Hadoop skip such paths when listing.)

A writer owns each in-flight file through an exclusive `flock` held for the file's whole life,
which is how recovery (see `recovery.py`) tells a crashed writer's leftovers from the live files
of sibling workers.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

from ingestion.sinks.base import SinkUnavailable, encode_record
from ingestion.sinks.gzip_lines import GzipLineWriter
from ingestion.sinks.layout import hour_of, inflight_name, new_file_stem, partition_path, sealed_name
from ingestion.sinks.recovery import recover_abandoned, recover_inflight_file

logger = logging.getLogger(__name__)

INFLIGHT_DIR = "_inflight"
# How often the background thread seals files that reached their age or whose hour is over.
# A file is therefore sealed at most about a second late, whatever the traffic.
SEAL_CHECK_SECONDS = 1.0
# How often a running sink looks for files left by crashed sibling workers.
RECOVERY_PERIOD_SECONDS = 60.0


@dataclass
class _OpenFile:
    hour: int
    stem: str
    path: Path
    file: BinaryIO
    writer: GzipLineWriter
    opened_at: float
    records: int = 0


class LocalDirectorySink:
    """Gzip NDJSON files under `root`, partitioned by the UTC hour of arrival.

    A file is sealed when it reaches `buffer_size_bytes` (compressed), when it is
    `buffer_interval_seconds` old, when its hour is over, and on `flush()`/`close()`.
    `clock` and `seal_check_seconds=None` (no background thread) are for tests.
    """

    def __init__(
        self,
        root: Path,
        buffer_size_bytes: int,
        buffer_interval_seconds: int,
        name_tag: str,
        *,
        clock: Callable[[], float] = time.time,
        seal_check_seconds: float | None = SEAL_CHECK_SECONDS,
    ) -> None:
        self._root = Path(root)
        self._inflight = self._root / INFLIGHT_DIR
        self._inflight.mkdir(parents=True, exist_ok=True)
        self._buffer_size_bytes = buffer_size_bytes
        self._buffer_interval_seconds = buffer_interval_seconds
        self._name_tag = name_tag
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[int, _OpenFile] = {}
        self._closed = False
        self._write_error: str | None = None
        self._seal_error: str | None = None
        self._records_written = 0
        self._files_sealed = 0
        self._records_recovered = 0
        self.recover_inflight()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        if seal_check_seconds:
            self._timer = threading.Thread(
                target=self._run_timer, args=(seal_check_seconds,), name="local-sink-sealer", daemon=True
            )
            self._timer.start()

    @property
    def root(self) -> Path:
        return self._root

    # Sink interface ------------------------------------------------------------------------

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None:
        line = encode_record(record)
        hour = hour_of(arrival_ms)
        with self._lock:
            if self._closed:
                raise SinkUnavailable("the sink is closed (the server is shutting down)")
            self._seal_due(self._clock())
            for finished in [f for f in self._files.values() if f.hour < hour]:
                self._seal(finished)
            target = self._files.get(hour)
            try:
                if target is None:
                    target = self._open(hour)
                target.writer.append(line)
            except OSError as error:
                self._write_error = f"cannot write under {self._inflight}: {error}"
                logger.error("local sink: %s", self._write_error)
                if target is not None:
                    self._abandon(target)
                raise SinkUnavailable(self._write_error) from error
            self._write_error = None
            target.records += 1
            self._records_written += 1
            if target.writer.compressed_bytes >= self._buffer_size_bytes:
                self._seal(target)

    def flush(self) -> None:
        with self._lock:
            for open_file in list(self._files.values()):
                self._seal(open_file)

    def close(self) -> None:
        self._stop.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join()
        with self._lock:
            if self._closed:
                return
            for open_file in list(self._files.values()):
                self._seal(open_file)
            self._closed = True

    def health(self) -> dict[str, Any]:
        with self._lock:
            last_error = self._write_error or self._seal_error
            if not os.access(self._inflight, os.W_OK):
                last_error = f"{self._inflight} is not writable"
            if self._closed:
                status = "closed"
            else:
                status = "error" if last_error else "ok"
            return {
                "type": "local",
                "status": status,
                "open_files": len(self._files),
                "records_written": self._records_written,
                "files_sealed": self._files_sealed,
                "records_recovered": self._records_recovered,
                "last_error": last_error,
            }

    # Sealing -------------------------------------------------------------------------------

    def seal_due_files(self) -> None:
        """Seal files that are old enough or whose hour is over (the background thread's job)."""
        with self._lock:
            if not self._closed:
                self._seal_due(self._clock())

    def _seal_due(self, now: float) -> None:
        current_hour = hour_of(int(now * 1000))
        for open_file in list(self._files.values()):
            too_old = now - open_file.opened_at >= self._buffer_interval_seconds
            if too_old or open_file.hour < current_hour:
                self._seal(open_file)

    def _open(self, hour: int) -> _OpenFile:
        now = self._clock()
        stem = new_file_stem(self._name_tag, now)
        path = self._inflight / inflight_name(hour, stem)
        # The file takes its scannable name only once it is locked, so a recovery scan can
        # never mistake a file that is just being created for an abandoned one.
        staging = self._inflight / f".new-{path.name}"
        file = open(staging, "xb")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(staging, path)
        except BaseException:
            file.close()
            staging.unlink(missing_ok=True)
            raise
        open_file = _OpenFile(hour=hour, stem=stem, path=path, file=file, writer=GzipLineWriter(file), opened_at=now)
        self._files[hour] = open_file
        return open_file

    def _seal(self, open_file: _OpenFile) -> None:
        """Finish the gzip member and move the file into its hour directory.

        A failure leaves the records where they are: the file is handed to recovery, which
        seals its complete lines now or, if the disk still refuses, at the next attempt.
        """
        del self._files[open_file.hour]
        target = self._root / partition_path(open_file.hour) / sealed_name(open_file.stem)
        try:
            open_file.writer.finish()
            target.parent.mkdir(parents=True, exist_ok=True)
            # Renamed while still locked: a concurrent recovery scan sees either the locked
            # in-flight file or no file at all.
            os.replace(open_file.path, target)
        except OSError as error:
            self._seal_error = f"cannot seal {open_file.path.name}: {error}"
            logger.error("local sink: %s", self._seal_error)
            self._abandon(open_file)
            return
        finally:
            _close_quietly(open_file.file)
        self._seal_error = None
        self._files_sealed += 1
        logger.debug("local sink: sealed %s (%d records)", target, open_file.records)

    def _abandon(self, open_file: _OpenFile) -> None:
        self._files.pop(open_file.hour, None)
        _close_quietly(open_file.file)
        try:
            self._records_recovered += recover_inflight_file(open_file.path, self._root) or 0
        except OSError as error:
            logger.error("local sink: %s stays in flight until a later recovery: %s", open_file.path.name, error)

    # Recovery ------------------------------------------------------------------------------

    def recover_inflight(self) -> int:
        """Seal what crashed writers left in `_inflight`; returns the number of records saved."""
        with self._lock:
            own = {open_file.path.name for open_file in self._files.values()}
        recovered = recover_abandoned(self._inflight, self._root, skip=own)
        with self._lock:
            self._records_recovered += recovered
        return recovered

    def _run_timer(self, period: float) -> None:
        next_recovery = time.monotonic() + RECOVERY_PERIOD_SECONDS
        while not self._stop.wait(period):
            try:
                self.seal_due_files()
                if time.monotonic() >= next_recovery:
                    next_recovery = time.monotonic() + RECOVERY_PERIOD_SECONDS
                    self.recover_inflight()
            except Exception:
                logger.exception("local sink: background sealing failed")


def _close_quietly(file: BinaryIO) -> None:
    try:
        file.close()
    except OSError as error:
        logger.warning("local sink: closing %s failed: %s", getattr(file, "name", file), error)
