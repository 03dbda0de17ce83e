"""The spool's shipping side: sealed segments go to the destination, oldest first, and are
deleted only after the destination confirmed them.

Every worker process runs one shipper over the same `sealed/` directory, so segments are
claimed with an exclusive `flock`: a claim that fails means a sibling is shipping it. After a
crash, a segment may be shipped again (S3 and the local lake then overwrite the same object;
Kinesis and Kafka receive the records twice, which processing removes by `event_id`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingestion import metrics
from ingestion.sinks.destination import Destination, DestinationError, SealedSegment
from ingestion.sinks.layout import parse_sealed_segment_name

logger = logging.getLogger(__name__)

# Idle polling picks up segments sealed by sibling workers; own seals wake the thread at once.
POLL_SECONDS = 1.0
# Retry delays after failed shipments double from the first to the last value.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
# While a destination keeps failing with the same error, it is logged again at most this
# often (a 30 s backoff would otherwise repeat it 120 times an hour).
FAILURE_LOG_INTERVAL_SECONDS = 600.0


def list_sealed(sealed_dir: Path) -> list[SealedSegment]:
    """Sealed segments, oldest first (names start with the hour, then the creation time)."""
    segments = []
    try:
        entries = sorted(os.scandir(sealed_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return []  # a first start: the writer has not created it yet
    for entry in entries:
        parsed = parse_sealed_segment_name(entry.name)
        if parsed is not None:
            hour, stem = parsed
            segments.append(SealedSegment(path=Path(entry.path), hour=hour, stem=stem))
    return segments


class Shipper:
    def __init__(
        self,
        sealed_dir: Path,
        destination: Destination,
        *,
        clock: Callable[[], float] = time.time,
        poll_seconds: float | None = POLL_SECONDS,
    ) -> None:
        self.sealed_dir = sealed_dir
        self.destination = destination
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.segments_shipped = 0
        self.bytes_shipped = 0
        self.failing_since: float | None = None
        # When the oldest shipment not confirmed since the last success started: the outage
        # clock. It runs from the start of an attempt, not from its failure, because a destination
        # may take its whole timeout to give up (Kafka: the 20 s flush; S3: 3 connects of 5 s),
        # and an attempt still hanging past max_sink_outage_seconds is an outage too.
        self._unconfirmed_since: float | None = None
        self.last_error: str | None = None
        # last_error without the segment's own name: the same outage reported for another
        # segment (two sealed in one millisecond sort by their random suffix) is no new error.
        self._last_cause: str | None = None
        self.last_success: float | None = None
        self._backoff = BACKOFF_FIRST_SECONDS
        # The current failure episode: attempts so far, and when its error was last logged.
        self._failed_attempts = 0
        self._failure_logged_at: float | None = None
        self._thread: threading.Thread | None = None
        if poll_seconds:
            self._thread = threading.Thread(target=self._run, args=(poll_seconds,), name="spool-shipper", daemon=True)
            self._thread.start()

    def notify(self, _segment: SealedSegment | None = None) -> None:
        """A segment was sealed: ship without waiting for the next poll."""
        self._wake.set()

    def ship_pending(self, deadline: float | None = None) -> bool:
        """Ship every sealed segment this process can claim; False after the first failure
        (the rest waits for the backoff) or when the deadline passed."""
        for segment in list_sealed(self.sealed_dir):
            if self._stop.is_set() and deadline is None:
                return False
            if deadline is not None and time.monotonic() > deadline:
                return False
            if not self._ship_claimed(segment):
                return False
        return True

    def drain(self, timeout_seconds: float) -> bool:
        """On shutdown: stop the thread and ship what is left within the timeout. Whatever
        cannot be shipped stays sealed in the spool for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if self.failing_since is not None:
            # The last attempt failed: another would only wait out the destination's timeout
            # again (Kafka: 20 s) while gunicorn counts down its graceful timeout (30 s) towards
            # a SIGKILL. The segments ship at the next start.
            logger.info("spool: %s is failing; sealed segments stay in the spool for the next start", self.destination.kind)
            return False
        return self.ship_pending(deadline=time.monotonic() + timeout_seconds)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "destination": self.destination.describe(),
                "status": "failing" if self.failing_since is not None else "ok",
                "failing_for_seconds": None if self.failing_since is None else round(self._clock() - self.failing_since, 1),
                "segments_shipped": self.segments_shipped,
                "bytes_shipped": self.bytes_shipped,
                "last_error": self.last_error,
            }

    def outage_seconds(self) -> float:
        with self._lock:
            return 0.0 if self._unconfirmed_since is None else self._clock() - self._unconfirmed_since

    # Internals -----------------------------------------------------------------------------

    def _ship_claimed(self, segment: SealedSegment) -> bool:
        try:
            handle = open(segment.path, "rb")
        except FileNotFoundError:
            return True  # a sibling shipped it meanwhile
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True  # a sibling is shipping it
            if os.fstat(handle.fileno()).st_nlink == 0:
                return True  # shipped and deleted by a sibling between our open and lock
            started = time.monotonic()
            self._attempting()
            try:
                self.destination.ship(segment)
            except DestinationError as error:
                self._failed(segment, str(error), time.monotonic() - started)
                return False
            except Exception as error:  # a destination bug must not kill the thread
                self._failed(segment, f"{type(error).__name__}: {error}", time.monotonic() - started, bug=error)
                return False
            size = os.fstat(handle.fileno()).st_size
            segment.path.unlink()
        self._succeeded(size, time.monotonic() - started)
        return True

    def _attempting(self) -> None:
        with self._lock:
            if self._unconfirmed_since is None:
                self._unconfirmed_since = self._clock()

    def _failed(self, segment: SealedSegment, message: str, seconds: float, bug: Exception | None = None) -> None:
        """One log line per failure episode, again only when the error changes or every
        FAILURE_LOG_INTERVAL_SECONDS; the segments stay in the spool meanwhile. An error that
        is not a DestinationError (a bug) carries its traceback the first time it is logged."""
        metrics.observe_shipment(self.destination.kind, seconds, False, 0, 0)
        now = self._clock()
        with self._lock:
            first = self.failing_since is None
            if first:
                # The outage began when the oldest unconfirmed shipment started, not when it gave up.
                self.failing_since = now if self._unconfirmed_since is None else self._unconfirmed_since
            cause = message.replace(segment.stem, "<segment>")
            changed = cause != self._last_cause
            self.last_error, self._last_cause = message, cause
            self._failed_attempts += 1
            due = self._failure_logged_at is None or now - self._failure_logged_at >= FAILURE_LOG_INTERVAL_SECONDS
            if not (first or changed or due):
                return
            self._failure_logged_at = now
            attempts, failing_for = self._failed_attempts, now - self.failing_since
        if first:
            logger.error(
                "spool: shipping to %s failed, segments stay in the spool and are retried: %s",
                self.destination.kind, message, exc_info=bug,
            )  # fmt: skip
        else:
            logger.error(
                "spool: shipping to %s still failing after %d attempts in %.0f s (latest %s): %s",
                self.destination.kind, attempts, failing_for, segment.path.name, message,
            )  # fmt: skip

    def _succeeded(self, size: int, seconds: float) -> None:
        # Records are counted on the way in (events per request); counting them again here
        # would mean decompressing every segment once more.
        metrics.observe_shipment(self.destination.kind, seconds, True, 0, size)
        with self._lock:
            recovered = (self._failed_attempts, self._clock() - self.failing_since) if self.failing_since is not None else None
            self._failed_attempts = 0
            self._failure_logged_at = None
            self.segments_shipped += 1
            self.bytes_shipped += size
            self.failing_since = None
            self._unconfirmed_since = None
            self.last_error = self._last_cause = None
            self.last_success = self._clock()
            self._backoff = BACKOFF_FIRST_SECONDS
        if recovered is not None:
            logger.info("spool: shipping to %s recovered after %d failed attempts in %.0f s", self.destination.kind, *recovered)

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                ok = self.ship_pending()
            except Exception:
                logger.exception("spool: shipper pass failed")
                ok = False
            if ok:
                wait = poll_seconds
            else:
                wait, self._backoff = self._backoff, min(self._backoff * 2, BACKOFF_MAX_SECONDS)
            self._wake.wait(wait)
            self._wake.clear()
