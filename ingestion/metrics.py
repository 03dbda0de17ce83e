"""Prometheus metrics of the ingestion service, served at `GET /metrics` when `metrics: true`.

The `observe_*`/`set_*` functions are the whole recording API. They are module functions so
that code without an app at hand (the spool, the shipper thread) can call them; they are no-ops
until `configure(True)` has run, which `create_app` does when the setting is on (the last app
created in a process decides, which matters only in tests).

Under gunicorn every worker counts for itself. `run_server` points PROMETHEUS_MULTIPROC_DIR at
a fresh directory before the workers fork; each worker then keeps its values in files there
and `/metrics`, answered by any one worker, adds up all of them. Outside gunicorn (tests, a
plain `flask run`) the values live in this process's memory.

Label values are bounded: `status` by the HTTP codes the service answers, `destination` by
the sink types, `app_id` by the allow-list (callers pass None for anything not on it) and, in
case a caller forgets, by MAX_APP_ID_LABELS.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import values as _prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN_APP = "unknown"
# Far above any real project's app count; what is past it is counted as UNKNOWN_APP.
MAX_APP_ID_LABELS = 1000
# Requests take about a millisecond when healthy; a spool append under `fsync: batch` or a
# slow mobile upload reaches into seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A shipment moves a whole segment (up to 50 MiB) to S3, Kinesis or Kafka: tens of ms to a minute.
SHIP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass
class _Metrics:
    registry: CollectorRegistry
    multiprocess_dir: str | None
    requests: Counter
    events: Counter
    request_bytes: Counter
    request_seconds: Histogram
    spool_bytes: Gauge
    spool_segments: Gauge
    ship_seconds: Histogram
    sink_errors: Counter
    sink_records: Counter
    sink_bytes: Counter
    unusable_client_addresses: Counter
    # Label children by value: `labels()` takes a lock and builds a tuple on every call.
    by_status: dict[int, Any] = field(default_factory=dict)
    by_app: dict[str, Any] = field(default_factory=dict)


_state: _Metrics | None = None
_configure_lock = threading.Lock()


def configure(enabled: bool) -> None:
    """Switch recording on (idempotent: values already counted are kept) or off."""
    global _state
    if not enabled:
        _state = None
        return
    directory = os.environ.get(MULTIPROC_ENV) or None
    with _configure_lock:
        if _state is not None and _state.multiprocess_dir == directory:
            return
        _state = _build(directory)


def enabled() -> bool:
    return _state is not None


def observe_request(status: int, app_id: str | None, events: int, body_bytes: int, seconds: float) -> None:
    """One answered request; `app_id` only when it is on the allow-list, `events` only when stored."""
    state = _state
    if state is None:
        return
    requests = state.by_status.get(status)
    if requests is None:
        requests = state.by_status.setdefault(status, state.requests.labels(str(status)))
    requests.inc()
    if events:
        _app_counter(state, app_id).inc(events)
    if body_bytes:
        state.request_bytes.inc(body_bytes)
    state.request_seconds.observe(seconds)


def observe_shipment(destination: str, seconds: float, ok: bool, records: int, bytes_: int) -> None:
    """One attempt to hand a sealed spool segment to the destination (`destination` = sink type)."""
    state = _state
    if state is None:
        return
    if ok:
        state.ship_seconds.labels(destination).observe(seconds)
        if records:
            state.sink_records.labels(destination).inc(records)
        if bytes_:
            state.sink_bytes.labels(destination).inc(bytes_)
    else:
        state.sink_errors.labels(destination).inc()


def observe_unusable_client_address() -> None:
    """A request whose client address, to be anonymised, was no IP address (its record holds null)."""
    state = _state
    if state is None:
        return
    state.unusable_client_addresses.inc()


def set_spool_depth(bytes_: int, segments: int) -> None:
    """What the spool directory holds, open and sealed segments of all workers together."""
    state = _state
    if state is None:
        return
    state.spool_bytes.set(bytes_)
    state.spool_segments.set(segments)


def render() -> tuple[bytes, str]:
    """The exposition text (all workers under gunicorn) and its content type."""
    state = _state
    if state is None:
        return b"", CONTENT_TYPE_LATEST
    if state.multiprocess_dir is None:
        return generate_latest(state.registry), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=state.multiprocess_dir)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _app_counter(state: _Metrics, app_id: str | None) -> Any:
    key = app_id or UNKNOWN_APP
    counter = state.by_app.get(key)
    if counter is None:
        if len(state.by_app) >= MAX_APP_ID_LABELS:
            key = UNKNOWN_APP
        counter = state.by_app.setdefault(key, state.events.labels(key))
    return counter


def _build(directory: str | None) -> _Metrics:
    # prometheus_client picks in-memory or file-backed values when it is first imported; the
    # gunicorn master imports it before run_server sets the directory, so pick again now.
    _prometheus_values.ValueClass = _prometheus_values.get_value_class()
    # `*_created` series exist only in single-process mode; without them both modes expose the same.
    disable_created_metrics()
    registry = CollectorRegistry()
    # The spool directory is shared: every worker measures all of it (Spool.size), so summing
    # the workers would count it once per worker, and the maximum would keep an idle worker's
    # stale peak. The newest measurement of a live worker is the true depth.
    gauge_mode = "livemostrecent"
    return _Metrics(
        registry=registry,
        multiprocess_dir=directory,
        requests=Counter(
            "clickstream_ingest_requests", "Requests answered, by HTTP status (probes and /metrics excluded).",
            ["status"], registry=registry,
        ),
        events=Counter(
            "clickstream_ingest_events", "Events in stored requests, by app id.", ["app_id"], registry=registry,
        ),
        request_bytes=Counter(
            "clickstream_ingest_request_bytes", "Request body bytes received, as sent (compressed or not).",
            registry=registry,
        ),
        request_seconds=Histogram(
            "clickstream_ingest_request_seconds", "Time to answer a request, in the application.",
            buckets=REQUEST_BUCKETS, registry=registry,
        ),
        spool_bytes=Gauge(
            "clickstream_spool_bytes", "Bytes in the local spool (open and sealed segments).",
            multiprocess_mode=gauge_mode, registry=registry,
        ),
        spool_segments=Gauge(
            "clickstream_spool_segments", "Segment files in the local spool.",
            multiprocess_mode=gauge_mode, registry=registry,
        ),
        ship_seconds=Histogram(
            "clickstream_sink_ship_seconds", "Time to deliver one sealed segment, successful shipments only.",
            ["destination"], buckets=SHIP_BUCKETS, registry=registry,
        ),
        sink_errors=Counter(
            "clickstream_sink_errors", "Failed shipment attempts; the segment stays in the spool.",
            ["destination"], registry=registry,
        ),
        sink_records=Counter(
            "clickstream_sink_records", "Raw records delivered, where the shipper counts them.",
            ["destination"], registry=registry,
        ),
        sink_bytes=Counter(
            "clickstream_sink_bytes", "Segment bytes (gzip) delivered.", ["destination"], registry=registry,
        ),
        unusable_client_addresses=Counter(
            "clickstream_ingest_unusable_client_addresses",
            "Requests whose client address was no IP address: under ip_anonymization the record holds null.",
            registry=registry,
        ),
    )  # fmt: skip
