"""Simulated users of the configured apps, sending events exactly as the official SDKs do.

Used by `clickstream generate` (see `cli.py`) and by the demo to fill the pipeline with data
whose true counts are known:

    from datetime import datetime, timezone
    from clickstream_tools.generator import simulate, send

    simulation = simulate(config, end=datetime.now(timezone.utc), days=2, users=50, seed=42)
    simulation.expected_counts()   # {"shop_android": {"events": ..., "users": ..., "sessions": ...}, ...}
    report = send(simulation, config.pipeline.ingestion.public_endpoint, config.pipeline.ingestion.path)
    report.ok, report.events_acknowledged, report.failures

API:

- `simulate(apps: ProjectConfig | Iterable[App], *, end: datetime, days: float = 2, users: int = 50,
  seed: int = 42, web_batch_size: int = 1, mobile_batch_size: int = 100,
  max_request_bytes: int = 524288, uncompressed_share: float = 0.1) -> Simulation`
  Pure and deterministic; `end` must be timezone-aware. Every event time t satisfies
  end - days < t < end.
- `Simulation`: `.requests` (tuple of `SdkRequest`, in time order), `.counts` (app id ->
  `AppCounts(events, users, sessions, requests)`), `.expected_counts()` (app id ->
  {"events", "users", "sessions"}: rows expected in ods_events, distinct unique_ids, distinct
  _session_ids), `.total_events`, `.iter_events()`, `.start`, `.end`, `.seed`.
- `SdkRequest`: `.app_id`, `.platform`, `.device_id`, `.sequence_id`, `.compress`, `.payload`
  (JSON array text), `.event_count`, `.body()` (bytes as sent), `.query(body, upload_timestamp)`,
  `.headers()`, `.events()`.
- `send(simulation: Simulation | Iterable[SdkRequest], endpoint: str, path: str = "/collect", *,
  concurrency: int = 4, progress: bool = True, max_attempts: int = 6,
  backoff_seconds: float = 0.5, timeout: float = 15.0, sleep=None, clock=time.time)
  -> SendReport`
- `SendReport`: `.ok`, `.requests_total`, `.requests_acknowledged`, `.events_total`,
  `.events_acknowledged` (app id -> events in requests answered 200), `.events_failed`,
  `.failures` (list of `RequestFailure`), `.retries`, `.failure_groups()`, `.to_dict()`.
- `encode_body(payload, compress) -> bytes`, `decode_body(body, compression) -> str`,
  `hash_code(body) -> str`: the wire format of DATA_CONTRACT §1.
"""

from .send import RequestFailure, SendReport, collect_url, send
from .simulate import AppCounts, Simulation, simulate
from .wire import SdkRequest, decode_body, encode_body, hash_code

__all__ = [
    "AppCounts",
    "RequestFailure",
    "SdkRequest",
    "SendReport",
    "Simulation",
    "collect_url",
    "decode_body",
    "encode_body",
    "hash_code",
    "send",
    "simulate",
]
