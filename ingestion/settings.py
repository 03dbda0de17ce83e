"""The service's settings and the per-app state the request handlers share.

Layering, lowest first: values from the project configuration and the defaults below, then
environment variables prefixed `CLICKSTREAM_INGEST_` (e.g. `CLICKSTREAM_INGEST_MAX_BODY_BYTES=2097152`,
`CLICKSTREAM_INGEST_CORS_ORIGINS='["https://*.example.com"]'` or a comma-separated list,
`CLICKSTREAM_INGEST_ACCESS_LOG=false`, `CLICKSTREAM_INGEST_AUTH='{"issuer": ..., "audience": ...,
"jwks_url": ...}'`), then the overrides passed to `create_app`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Config, current_app
from pydantic import ValidationError

from clickstream_contract.request_body import MAX_DECODED_BYTES
from clickstream_project.config import OidcSettings, ProjectConfig
from ingestion.allowlist import AppAllowlist
from ingestion.auth import BearerAuth
from ingestion.cors import CorsPolicy
from ingestion.spool.intake import Intake

ENV_PREFIX = "CLICKSTREAM_INGEST"
EXTENSION_KEY = "clickstream_ingestion"

# Chromium caps preflight caching at 2 hours; asking for more buys nothing.
DEFAULT_CORS_MAX_AGE_SECONDS = 7200
DEFAULT_RETRY_AFTER_SECONDS = 5


def default_settings(config: ProjectConfig) -> dict[str, Any]:
    ingestion = config.pipeline.ingestion
    return {
        "INGEST_PATH": ingestion.path,
        "MAX_BODY_BYTES": ingestion.max_body_bytes,
        # None: as much as a plain body may carry (MAX_BODY_BYTES).
        "MAX_DECOMPRESSED_BYTES": ingestion.max_decompressed_bytes,
        "MAX_EVENTS_PER_REQUEST": ingestion.max_events_per_request,
        "HEADER_TIMEOUT_SECONDS": ingestion.header_timeout_seconds,
        "BODY_TIMEOUT_SECONDS": ingestion.body_timeout_seconds,
        "BODY_MIN_BYTES_PER_SECOND": ingestion.body_min_bytes_per_second,
        "REQUEST_TIMEOUT_SECONDS": ingestion.request_timeout_seconds,
        "CORS_ORIGINS": list(ingestion.cors_origins),
        "CORS_MAX_AGE_SECONDS": DEFAULT_CORS_MAX_AGE_SECONDS,
        "RETRY_AFTER_SECONDS": DEFAULT_RETRY_AFTER_SECONDS,
        "TRUSTED_PROXIES": ingestion.trusted_proxies,
        "APP_RELOAD_SECONDS": ingestion.app_reload_seconds,
        "AUTH": ingestion.auth.model_dump() if ingestion.auth is not None else None,
        "METRICS": ingestion.metrics,
        "ACCESS_LOG": ingestion.access_log,
    }


def layered_settings(config: ProjectConfig) -> IngestionSettings:
    """The settings an app built from `config` will have, without building one (for the
    server process, which must know them before its workers create their apps)."""
    values = Config(root_path=".")
    values.from_mapping(default_settings(config))
    values.from_prefixed_env(ENV_PREFIX)
    return IngestionSettings.from_mapping(values)


@dataclass(frozen=True)
class IngestionSettings:
    path: str
    max_body_bytes: int
    max_decompressed_bytes: int
    max_events_per_request: int
    cors_origins: tuple[str, ...]
    cors_max_age_seconds: int
    retry_after_seconds: int
    trusted_proxies: int
    app_reload_seconds: int
    auth: OidcSettings | None
    metrics: bool
    access_log: bool
    # Slow clients: used by the server's worker, which reads each request before the app runs.
    header_timeout_seconds: int
    body_timeout_seconds: int
    body_min_bytes_per_second: int
    request_timeout_seconds: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> IngestionSettings:
        path = str(values["INGEST_PATH"])
        if not path.startswith("/"):
            raise ValueError(f"INGEST_PATH must start with '/', got {path!r}")
        origins = values["CORS_ORIGINS"]
        if isinstance(origins, str):
            origins = [origin.strip() for origin in origins.split(",")]
        max_body_bytes = _positive_int(values, "MAX_BODY_BYTES")
        return cls(
            path=path,
            max_body_bytes=max_body_bytes,
            max_decompressed_bytes=_decompressed_limit(values, max_body_bytes),
            max_events_per_request=_positive_int(values, "MAX_EVENTS_PER_REQUEST"),
            cors_origins=tuple(origin for origin in origins if origin),
            cors_max_age_seconds=_positive_int(values, "CORS_MAX_AGE_SECONDS"),
            retry_after_seconds=_positive_int(values, "RETRY_AFTER_SECONDS"),
            trusted_proxies=_int(values, "TRUSTED_PROXIES", minimum=0),
            app_reload_seconds=_positive_int(values, "APP_RELOAD_SECONDS"),
            auth=_oidc(values.get("AUTH")),
            metrics=_bool(values, "METRICS"),
            access_log=_bool(values, "ACCESS_LOG"),
            header_timeout_seconds=_positive_int(values, "HEADER_TIMEOUT_SECONDS"),
            body_timeout_seconds=_positive_int(values, "BODY_TIMEOUT_SECONDS"),
            body_min_bytes_per_second=_positive_int(values, "BODY_MIN_BYTES_PER_SECOND"),
            request_timeout_seconds=_positive_int(values, "REQUEST_TIMEOUT_SECONDS"),
        )


@dataclass(frozen=True)
class Ingestion:
    """Everything a request handler needs, built once per app (so once per worker)."""

    settings: IngestionSettings
    app_ids: AppAllowlist
    cors: CorsPolicy
    intake: Intake
    auth: BearerAuth | None


def current_ingestion() -> Ingestion:
    return current_app.extensions[EXTENSION_KEY]


def _decompressed_limit(values: Mapping[str, Any], max_body_bytes: int) -> int:
    """Unset: as much as a plain body may carry. Never above where the job stops decoding, so
    that a body accepted here is never undecodable there (clickstream_contract/request_body.py)."""
    if values.get("MAX_DECOMPRESSED_BYTES") is None:
        return min(max_body_bytes, MAX_DECODED_BYTES)
    limit = _positive_int(values, "MAX_DECOMPRESSED_BYTES")
    if limit > MAX_DECODED_BYTES:
        raise ValueError(f"MAX_DECOMPRESSED_BYTES must be at most {MAX_DECODED_BYTES} (what processing decodes), got {limit}")
    return limit


def _positive_int(values: Mapping[str, Any], key: str) -> int:
    return _int(values, key, minimum=1)


def _int(values: Mapping[str, Any], key: str, *, minimum: int) -> int:
    try:
        number = int(values[key])
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an integer, got {values[key]!r}") from None
    if number < minimum:
        raise ValueError(f"{key} must be at least {minimum}, got {number}")
    return number


def _bool(values: Mapping[str, Any], key: str) -> bool:
    value = values[key]
    if isinstance(value, bool):
        return value
    # From the environment, anything that is not JSON arrives as text.
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{key} must be true or false, got {value!r}")


def _oidc(value: Any) -> OidcSettings | None:
    if value is None or isinstance(value, OidcSettings):
        return value
    try:
        return OidcSettings.model_validate(value)
    except ValidationError as error:
        raise ValueError(f"AUTH is not a valid OIDC setting: {error}") from None
