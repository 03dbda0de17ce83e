"""The request handlers: the collect endpoint, the probes, /metrics, and the hooks around them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Request, Response, request

from clickstream_project.config import IngestionSettings
from ingestion import access_log, metrics
from ingestion.client_address import ClientAddresses
from ingestion.errors import ApiError
from ingestion.payload import decode_payload
from ingestion.records import build_raw_record
from ingestion.settings import current_ingestion
from ingestion.spool.intake import IntakeUnavailable

_READ_CHUNK_BYTES = 64 * 1024
# Bodies up to this many times the limit are read to the end before their 413 (see _discard);
# the server's worker buffers that much before the app runs (ingestion.workers).
DRAIN_FACTOR = 4
# Probes and scrapes are not traffic: they would drown the request counters' meaning.
_UNCOUNTED_ENDPOINTS = frozenset({"ping", "health", "ready", "metrics"})
# Per-request values in the WSGI environ, where the timing middleware can reach them too.
STARTED_KEY = "clickstream.started"
FACTS_KEY = "clickstream.facts"


@dataclass(slots=True)
class RequestFacts:
    """What the collect handler learned, for the metrics and the access log."""

    app_id: str  # passed the allow-list
    bytes_in: int | None = None
    events: int | None = None
    rid: str | None = None  # set once stored


def collect() -> Response:
    """POST: validate and store one SDK request. OPTIONS: the CORS preflight, stores nothing."""
    # The request behind the proxy, once: each `request.x` is a context-variable lookup.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "OPTIONS":
        return Response(status=204)  # add_cors_headers does the rest
    ingestion = current_ingestion()
    arrival_ms = time.time_ns() // 1_000_000
    environ = req.environ
    if ingestion.auth is not None:
        # Before the app id: who may not send learns nothing about which apps exist.
        ingestion.auth.authenticate(environ.get("HTTP_AUTHORIZATION"))
    args = req.args
    app_id = args.get("appId")
    if not app_id:
        raise ApiError(403, "missing_app_id", "the appId query parameter is required")
    if app_id not in ingestion.app_ids:
        raise ApiError(403, "unknown_app_id", f"appId {app_id[:128]!r} is not registered in this project")
    facts = environ[FACTS_KEY] = RequestFacts(app_id)
    body = _read_body(req, ingestion.settings.max_body_bytes)
    facts.bytes_in = len(body)
    payload = decode_payload(
        body,
        compression=args.get("compression"),
        content_encoding=environ.get("HTTP_CONTENT_ENCODING"),
        max_decompressed_bytes=ingestion.settings.decompressed_limit,
        max_events=ingestion.settings.max_events_per_request,
    )
    facts.events = payload.event_count
    # 128 random bits like a UUID4, without building a UUID object on the hot path.
    rid = secrets.token_hex(16)
    record = build_raw_record(
        data=payload.data,
        compression=payload.compression,
        ip=ingestion.client_addresses.recorded(environ.get("HTTP_X_FORWARDED_FOR"), req.remote_addr),
        ua=environ.get("HTTP_USER_AGENT"),
        method=req.method,
        path=req.path,
        query_string=_query_string(req),
        args=args,
        rid=rid,
        arrival_ms=arrival_ms,
    )
    try:
        ingestion.intake.write(record, arrival_ms)
    except IntakeUnavailable as error:
        # The spool has logged the cause; it names server paths, which clients need not see.
        raise ApiError(
            503,
            "sink_unavailable",
            "the request could not be stored right now; retry later",
            headers={"Retry-After": str(ingestion.settings.retry_after_seconds)},
        ) from error
    facts.rid = rid
    return Response(status=200)


def add_cors_headers(response: Response) -> Response:
    """CORS headers on every response of the collect path, errors included, so that the
    browser lets the web SDK see why a request failed."""
    ingestion = current_ingestion()
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if req.path != ingestion.settings.path:
        return response
    preflight = req.method == "OPTIONS"
    environ = req.environ
    if not preflight and "HTTP_ORIGIN" not in environ:
        # SDKs on phones send no Origin: no CORS headers to compute, only the cache hint.
        response.headers.add("Vary", "Origin")
        return response
    response.vary.add("Origin")
    if preflight:
        response.vary.add("Access-Control-Request-Headers")
    response.headers.update(
        ingestion.cors.headers(
            environ.get("HTTP_ORIGIN"),
            preflight=preflight,
            requested_headers=environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        )
    )
    return response


class RequestObserver:
    """Times every request and reports it to the metrics and the access log, as configured.

    Wraps the WSGI app to take the start time (cheaper than a `before_request` hook); `finish`
    is the `after_request` hook.
    """

    def __init__(self, wsgi_app: Callable[..., Any], settings: IngestionSettings) -> None:
        self._wsgi_app = wsgi_app
        self._metrics = settings.metrics
        self._access_log = settings.access_log
        self._client_addresses = ClientAddresses.from_settings(settings)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[STARTED_KEY] = time.perf_counter()
        return self._wsgi_app(environ, start_response)

    def finish(self, response: Response) -> Response:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        seconds = time.perf_counter() - environ.get(STARTED_KEY, 0.0)
        facts: RequestFacts | None = environ.get(FACTS_KEY)
        status = response.status_code
        if facts is not None and facts.bytes_in is not None:
            bytes_in = facts.bytes_in
        else:
            bytes_in = req.content_length or 0
        if self._metrics and req.endpoint not in _UNCOUNTED_ENDPOINTS:
            if facts is None:
                metrics.observe_request(status, None, 0, bytes_in, seconds)
            else:
                stored_events = (facts.events or 0) if facts.rid is not None else 0
                metrics.observe_request(status, facts.app_id, stored_events, bytes_in, seconds)
        if self._access_log and access_log.enabled():
            args = req.args
            access_log.log_access(
                access_log.access_line(
                    client_ip=self._client_addresses.logged(environ.get("HTTP_X_FORWARDED_FOR"), req.remote_addr),
                    method=req.method,
                    path=req.path,
                    app_id=args.get("appId"),
                    platform=args.get("platform"),
                    status=status,
                    bytes_in=bytes_in,
                    bytes_out=response.calculate_content_length(),
                    seconds=seconds,
                    events=facts.events if facts else None,
                    rid=facts.rid if facts else None,
                    ua=environ.get("HTTP_USER_AGENT"),
                )
            )
        return response


def metrics_text() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


def ping() -> dict[str, Any]:
    return {"timestamp": time.time()}


def health() -> dict[str, Any]:
    """Liveness: the process answers. Says nothing about the sink, on purpose: restarting a
    server because its disk is full would not help."""
    return {"status": "ok"}


def ready() -> dict[str, Any]:
    """Readiness: a load balancer should send requests here only if the sink can store them.
    The answer holds state words and counts only (public_health); the causes, which name
    server paths and OS errors, are in the server log where they happened."""
    ingestion = current_ingestion()
    sink_health = public_health(ingestion.intake.health())
    status = sink_health.get("status")
    if status != "ok":
        raise ApiError(
            503,
            "sink_unhealthy",
            f"the sink cannot store requests (status: {status}; the server log has the cause)",
            headers={"Retry-After": str(ingestion.settings.retry_after_seconds)},
            details={"sink": sink_health},
        )
    return {"status": "ok", "sink": sink_health}


# The text values of a sink's health that are state words, not messages or paths.
_STATE_WORDS = frozenset({"type", "kind", "status", "fsync"})


def public_health(health: dict[str, Any]) -> dict[str, Any]:
    """A sink's health without its text: numbers, flags and state words are kept, messages
    (``last_error``, a refusal reason) become flags, anything else (destination paths,
    bucket names) is left out."""
    public: dict[str, Any] = {}
    for key, value in health.items():
        if isinstance(value, dict):
            public[key] = public_health(value)
        elif value is None or isinstance(value, (bool, int, float)):
            public[key] = value
        elif key in _STATE_WORDS:
            public[key] = str(value)
        elif key == "refusing":
            public[key] = True
    return public


def _query_string(req: Request) -> str:
    # WSGI hands over the raw bytes; clients that skip percent-encoding send UTF-8.
    try:
        return req.query_string.decode("utf-8")
    except UnicodeDecodeError:
        return req.query_string.decode("latin-1")


def _read_body(req: Request, limit: int) -> bytes:
    declared = req.content_length
    try:
        body = _read_limited(req, declared, limit)
    except ApiError:
        raise
    except TimeoutError:
        raise ApiError(408, "request_timeout", "the request body did not arrive in time; it was not stored") from None
    except Exception as error:
        # The server's input stream raises on framing it cannot read (a bad chunk size, a
        # missing chunk terminator, a connection cut mid-body); each server names its own
        # exception, and each means the body as sent is unknown.
        raise ApiError(400, "invalid_body_framing", f"the request body could not be read: {error or type(error).__name__}") from None
    if declared is not None and len(body) < declared:
        # A body cut short can still be valid JSON (the first events of a batch): never store it.
        raise ApiError(400, "incomplete_body", f"the body ended after {len(body)} of the {declared} bytes its Content-Length announced")
    return body


def _read_limited(req: Request, declared: int | None, limit: int) -> bytes:
    if declared is not None and declared > limit:
        _discard(req, declared, limit)
        raise ApiError(413, "body_too_large", f"the body is {declared} bytes; the limit is {limit} bytes")
    # Content-Length can be absent (chunked) or wrong, so the limit also applies to what is read.
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = req.stream.read(min(_READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            _discard(req, declared, limit, already_read=size)
            raise ApiError(413, "body_too_large", f"the body is larger than the limit of {limit} bytes")


def _discard(req: Request, declared: int | None, limit: int, *, already_read: int = 0) -> None:
    """Read and drop the rest of a body that is somewhat over the limit, before the 413.

    Gunicorn closes a keep-alive connection whose request body was left unread (beyond 64 KiB),
    after a response that announced keep-alive; the client's next request on that connection
    then fails without an answer. Up to DRAIN_FACTOR x the limit, reading costs less than that;
    a bigger body loses its connection (without buffering any of it).
    """
    budget = limit * DRAIN_FACTOR - already_read
    if declared is not None and declared - already_read > budget:
        return
    try:
        while budget > 0:
            chunk = req.stream.read(min(_READ_CHUNK_BYTES, budget))
            if not chunk:
                return
            budget -= len(chunk)
    except Exception:
        return  # a body that stops arriving (or breaks) is not drained; the 413 stands
