"""The request handlers: the collect endpoint and the probes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Request, Response, request

from ingestion.errors import ApiError
from ingestion.payload import decode_payload
from ingestion.records import build_raw_record
from ingestion.settings import current_ingestion
from ingestion.sinks import SinkUnavailable

_READ_CHUNK_BYTES = 64 * 1024


def collect() -> Response:
    """POST: validate and store one SDK request. OPTIONS: the CORS preflight, stores nothing."""
    if request.method == "OPTIONS":
        return Response(status=204)  # add_cors_headers does the rest
    ingestion = current_ingestion()
    arrival_ms = time.time_ns() // 1_000_000
    app_id = request.args.get("appId")
    if not app_id:
        raise ApiError(403, "missing_app_id", "the appId query parameter is required")
    if app_id not in ingestion.app_ids:
        raise ApiError(403, "unknown_app_id", f"appId {app_id[:128]!r} is not registered in this project")
    body = _read_body(request, ingestion.settings.max_body_bytes)
    payload = decode_payload(
        body,
        compression=request.args.get("compression"),
        content_encoding=request.headers.get("Content-Encoding"),
        max_decompressed_bytes=ingestion.settings.max_decompressed_bytes,
    )
    record = build_raw_record(
        data=payload.data,
        compression=payload.compression,
        # The raw X-Forwarded-For value, all hops: processing picks the client out of it.
        ip=request.headers.get("X-Forwarded-For") or request.remote_addr,
        ua=request.headers.get("User-Agent"),
        method=request.method,
        path=request.path,
        query_string=_query_string(request),
        args=request.args,
        rid=uuid.uuid4().hex,
        arrival_ms=arrival_ms,
    )
    try:
        ingestion.sink.write(record, arrival_ms)
    except SinkUnavailable as error:
        # The sink has logged the cause; it names server paths, which clients need not see.
        raise ApiError(
            503,
            "sink_unavailable",
            "the request could not be stored right now; retry later",
            headers={"Retry-After": str(ingestion.settings.retry_after_seconds)},
        ) from error
    return Response(status=200)


def add_cors_headers(response: Response) -> Response:
    """CORS headers on every response of the collect path, errors included, so that the
    browser lets the web SDK see why a request failed."""
    ingestion = current_ingestion()
    if request.path != ingestion.settings.path:
        return response
    preflight = request.method == "OPTIONS"
    response.vary.add("Origin")
    if preflight:
        response.vary.add("Access-Control-Request-Headers")
    response.headers.update(
        ingestion.cors.headers(
            request.headers.get("Origin"),
            preflight=preflight,
            requested_headers=request.headers.get("Access-Control-Request-Headers"),
        )
    )
    return response


def ping() -> dict[str, Any]:
    return {"timestamp": time.time()}


def health() -> dict[str, Any]:
    """Liveness: the process answers. Says nothing about the sink, on purpose: restarting a
    server because its disk is full would not help."""
    return {"status": "ok"}


def ready() -> dict[str, Any]:
    """Readiness: a load balancer should send requests here only if the sink can store them."""
    ingestion = current_ingestion()
    sink_health = ingestion.sink.health()
    if sink_health.get("status") != "ok":
        raise ApiError(
            503,
            "sink_unhealthy",
            f"the sink cannot store requests: {sink_health.get('last_error') or sink_health.get('status')}",
            headers={"Retry-After": str(ingestion.settings.retry_after_seconds)},
            details={"sink": sink_health},
        )
    return {"status": "ok", "sink": sink_health}


def _query_string(req: Request) -> str:
    # WSGI hands over the raw bytes; clients that skip percent-encoding send UTF-8.
    try:
        return req.query_string.decode("utf-8")
    except UnicodeDecodeError:
        return req.query_string.decode("latin-1")


def _read_body(req: Request, limit: int) -> bytes:
    declared = req.content_length
    if declared is not None and declared > limit:
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
            raise ApiError(413, "body_too_large", f"the body is larger than the limit of {limit} bytes")
