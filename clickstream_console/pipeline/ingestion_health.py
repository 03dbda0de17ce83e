"""Whether the ingestion service answers at its public endpoint: ``/health`` (the process is up)
and ``/ready`` (its sink can store requests; a 503 names the sink's state). ingestion/views.py
defines both answers."""

from __future__ import annotations

from dataclasses import dataclass

import requests

# The page waits for this at most twice; a healthy service answers in milliseconds.
TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class IngestionHealth:
    endpoint: str
    # /health answered {"status": "ok"}.
    live: bool
    # /ready answered 200; None when it could not be asked (the service is not live).
    ready: bool | None
    # The sink's status word from /ready ("ok", "degraded", "refusing"...), when it gave one.
    sink_status: str | None
    # Why it is not live or not ready, in words for the page.
    problem: str | None


def ingestion_health(endpoint: str, session: requests.Session | None = None) -> IngestionHealth:
    http = session or requests.Session()
    base = endpoint.rstrip("/")
    try:
        live = http.get(f"{base}/health", timeout=TIMEOUT_SECONDS)
        if live.status_code != 200 or _json(live).get("status") != "ok":
            return IngestionHealth(endpoint, False, None, None, f"{base}/health answered HTTP {live.status_code}")
        ready = http.get(f"{base}/ready", timeout=TIMEOUT_SECONDS)
    except requests.Timeout:
        return IngestionHealth(endpoint, False, None, None, f"no answer from {base} within {TIMEOUT_SECONDS:g} s")
    except requests.RequestException as error:
        return IngestionHealth(endpoint, False, None, None, f"not reachable at {base} ({type(error).__name__})")
    sink = _json(ready).get("sink")
    sink_status = str(sink["status"]) if isinstance(sink, dict) and "status" in sink else None
    if ready.status_code == 200:
        return IngestionHealth(endpoint, True, True, sink_status, None)
    message = _json(ready).get("message") or f"{base}/ready answered HTTP {ready.status_code}"
    return IngestionHealth(endpoint, True, False, sink_status, str(message))


def _json(response: requests.Response) -> dict:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
