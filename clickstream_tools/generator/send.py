"""Deliver simulated SDK requests to an ingestion endpoint and account for every event.

An event counts as acknowledged exactly once: when the request carrying it got `200`. Connection
errors, `429` and `5xx` (including `503` from a full spool) are retried with exponential backoff,
honouring `Retry-After`, up to `max_attempts`; any other `4xx` is a hard failure reported with
the server's JSON `error`/`message`. When a request has used up its retries on a connection
error, 429, 502, 503 or 504, the endpoint is treated as down: requests not started yet are
reported as skipped rather than each waiting through its own backoff.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from .simulate import Simulation
from .wire import SdkRequest

DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BACKOFF_SECONDS = 0.5
# Waits beyond these are capped: a server asking for minutes is better reported than waited on.
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 60.0
# The web SDK aborts a request after 10 s and the Swift SDK after 15 s.
DEFAULT_TIMEOUT_SECONDS = 15.0
SKIPPED = "skipped"
# Statuses that speak for the whole endpoint (rate limit, full spool, proxy cannot reach it), as
# connection errors do; a 500 may come from one bad payload and does not stop the others.
ENDPOINT_DOWN_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RequestFailure:
    app_id: str
    platform: str
    device_id: str
    sequence_id: int
    event_count: int
    # Last HTTP status, or None when no response came back (connection error, skipped).
    status: int | None
    error: str
    message: str
    attempts: int


@dataclass
class SendReport:
    url: str
    requests_total: int
    events_total: int
    requests_acknowledged: int = 0
    retries: int = 0
    events_acknowledged: dict[str, int] = field(default_factory=dict)
    failures: list[RequestFailure] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def events_failed(self) -> dict[str, int]:
        failed: dict[str, int] = {app_id: 0 for app_id in self.events_acknowledged}
        for failure in self.failures:
            failed[failure.app_id] = failed.get(failure.app_id, 0) + failure.event_count
        return failed

    def failure_groups(self) -> list[tuple[tuple[str, int | None, str, str], int, int]]:
        """Failures grouped by (app, status, error, message): [(key, requests, events)], largest first."""
        groups: dict[tuple[str, int | None, str, str], list[int]] = {}
        for f in self.failures:
            entry = groups.setdefault((f.app_id, f.status, f.error, f.message), [0, 0])
            entry[0] += 1
            entry[1] += f.event_count
        return sorted(((key, n, e) for key, (n, e) in groups.items()), key=lambda g: (-g[1], g[0][0]))

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "ok": self.ok,
            "requests_total": self.requests_total,
            "requests_acknowledged": self.requests_acknowledged,
            "requests_failed": len(self.failures),
            "retries": self.retries,
            "events_total": self.events_total,
            "events_acknowledged": dict(self.events_acknowledged),
            "events_failed": self.events_failed,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "failures": [asdict(f) for f in self.failures],
        }


def collect_url(endpoint: str, path: str = "/collect") -> str:
    """`endpoint` plus the request path, unless `endpoint` already names a path.

    The SDK configuration's endpoint is a full URL ("https://example.com/collect"); the project
    configuration keeps host and path apart. Both forms are accepted.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"endpoint must be an http:// or https:// URL, got {endpoint!r}")
    if parts.path not in ("", "/"):
        return endpoint
    return endpoint.rstrip("/") + path


def send(
    simulation: Simulation | Iterable[SdkRequest],
    endpoint: str,
    path: str = "/collect",
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = True,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.time,
) -> SendReport:
    """POST every request to `collect_url(endpoint, path)` and report what was acknowledged.

    `progress` shows a tqdm bar of acknowledged events on stderr, only when stderr is a
    terminal. `sleep` and `clock` are injectable so tests can observe backoff without waiting;
    by default a backoff ends early when the run is aborted (endpoint down, Ctrl-C).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    batch = list(simulation.requests if isinstance(simulation, Simulation) else simulation)
    url = collect_url(endpoint, path)
    report = SendReport(url=url, requests_total=len(batch), events_total=sum(r.event_count for r in batch))
    report.events_acknowledged = {r.app_id: 0 for r in batch}
    sender = _Sender(url, max_attempts, backoff_seconds, timeout, sleep, clock)

    started = time.monotonic()
    bar = tqdm(total=report.events_total, unit="event", desc="sending", file=sys.stderr, disable=not (progress and sys.stderr.isatty()))
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="clickstream-send") as pool:
            futures = {pool.submit(sender.deliver, request): request for request in batch}
            try:
                # Results are tallied here, in one thread, so the counts need no lock.
                for future in as_completed(futures):
                    request = futures[future]
                    failure = future.result()
                    if failure is None:
                        report.requests_acknowledged += 1
                        report.events_acknowledged[request.app_id] += request.event_count
                        bar.update(request.event_count)
                    else:
                        report.failures.append(failure)
                        bar.set_postfix(failed_requests=len(report.failures), refresh=False)
            except BaseException:
                sender.abort.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        bar.close()
        sender.close()
    report.retries = sender.retries
    report.elapsed_seconds = time.monotonic() - started
    return report


class _Sender:
    """Delivery of one request at a time per thread, each thread with its own HTTP session."""

    def __init__(
        self,
        url: str,
        max_attempts: int,
        backoff_seconds: float,
        timeout: float,
        sleep: Callable[[float], object] | None,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout
        self.clock = clock
        self.abort = threading.Event()
        self.sleep = sleep or self.abort.wait
        self.retries = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        # Jitter only spreads retries of parallel threads apart; it is not part of the simulation.
        self._jitter = random.Random()

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def deliver(self, request: SdkRequest) -> RequestFailure | None:
        if self.abort.is_set():
            return _failure(request, None, SKIPPED, "not sent: an earlier request exhausted its retries", 0)
        body = request.body()
        headers = request.headers()
        attempt = 0
        while True:
            attempt += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                # Like the SDKs, each attempt reports the client clock at upload time.
                params = request.query(body, upload_timestamp=int(self.clock() * 1000))
                response = self._session().post(self.url, params=params, data=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                error, message = type(exc).__name__, str(exc)
            else:
                with response:
                    status = response.status_code
                    if status == 200:
                        return None
                    error, message = _error_of(response)
                    if status < 500 and status != 429:
                        return _failure(request, status, error, message, attempt)
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"), self.clock())
            if attempt >= self.max_attempts or self.abort.is_set():
                if status is None or status in ENDPOINT_DOWN_STATUSES:
                    self.abort.set()
                return _failure(request, status, error, message, attempt)
            with self._lock:
                self.retries += 1
            self.sleep(self._delay(attempt, retry_after))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        ceiling = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempt - 1))
        with self._lock:
            return ceiling * self._jitter.uniform(0.5, 1.0)


def _failure(request: SdkRequest, status: int | None, error: str, message: str, attempts: int) -> RequestFailure:
    return RequestFailure(
        app_id=request.app_id,
        platform=request.platform,
        device_id=request.device_id,
        sequence_id=request.sequence_id,
        event_count=request.event_count,
        status=status,
        error=error,
        message=message,
        attempts=attempts,
    )


def _error_of(response: requests.Response) -> tuple[str, str]:
    """The contract's `{"error": ..., "message": ...}` body, or the start of whatever came back."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and ("error" in payload or "message" in payload):
        return str(payload.get("error", f"http_{response.status_code}")), str(payload.get("message", ""))
    return f"http_{response.status_code}", response.text[:200]


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)
