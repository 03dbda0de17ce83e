"""The Flask application factory of the ingestion service."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from clickstream_project.config import ProjectConfig, default_config_path, load_config
from ingestion import metrics, views
from ingestion.allowlist import AppAllowlist
from ingestion.auth import BearerAuth, JwksFetcher, fetch_jwks
from ingestion.client_address import ClientAddresses
from ingestion.cors import CorsPolicy
from ingestion.errors import register_error_handler
from ingestion.settings import EXTENSION_KEY, Ingestion, layered_config
from ingestion.spool.from_config import spool_from_config
from ingestion.spool.intake import Intake


def create_app(
    config: ProjectConfig | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    intake: Intake | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    jwks_fetcher: JwksFetcher = fetch_jwks,
) -> Flask:
    """Build the app; without `intake`, the configured spool is built here, once per app.

    Without `config`, the configuration is loaded from `config_path`, else from
    `default_config_path()`. When the app knows its file (either way), the app-id allow-list
    follows that file's changes. `pipeline.ingestion` is then layered with the
    `CLICKSTREAM_INGEST_*` variables of `environ` (default: `os.environ`) and the `overrides`
    (field names), see ingestion.settings. `clock` (monotonic seconds) times the re-reads and
    the signing-key cache; tests pass their own, and their own `jwks_fetcher`.

    Under gunicorn every worker process builds its own app and so its own spool; `close_app`
    must run when the worker stops, to seal what the spool still holds.
    """
    if config is None:
        config_path = Path(config_path or default_config_path())
        config = load_config(config_path)
    config = layered_config(config, environ=environ, overrides=overrides)
    settings = config.pipeline.ingestion
    app = Flask(__name__)

    auth = None
    if settings.auth is not None:
        auth = BearerAuth(settings.auth, retry_after_seconds=settings.retry_after_seconds, fetch=jwks_fetcher, clock=clock)
    app.extensions[EXTENSION_KEY] = Ingestion(
        settings=settings,
        app_ids=AppAllowlist(config.app_ids, source=config_path, check_every_seconds=settings.app_reload_seconds, clock=clock),
        cors=CorsPolicy(settings.cors_origins, settings.cors_max_age_seconds),
        intake=intake if intake is not None else spool_from_config(config),
        auth=auth,
        client_addresses=ClientAddresses.from_settings(settings),
    )
    register_error_handler(app)
    # OPTIONS is handled by the view: Flask's automatic answer would be a 200 without CORS.
    app.add_url_rule(settings.path, "collect", views.collect, methods=["POST", "OPTIONS"], provide_automatic_options=False)
    app.add_url_rule("/ping", "ping", views.ping, methods=["GET"])
    app.add_url_rule("/health", "health", views.health, methods=["GET"])
    app.add_url_rule("/ready", "ready", views.ready, methods=["GET"])
    metrics.configure(settings.metrics)
    if settings.metrics:
        app.add_url_rule("/metrics", "metrics", views.metrics_text, methods=["GET"])
    if settings.metrics or settings.access_log:
        observer = views.RequestObserver(app.wsgi_app, settings)
        app.wsgi_app = observer  # type: ignore[method-assign]
        app.after_request(observer.finish)
    app.after_request(views.add_cors_headers)
    return app


def get_intake(app: Flask) -> Intake:
    return app.extensions[EXTENSION_KEY].intake


def close_app(app: Flask) -> None:
    """Seal everything the app's spool holds; the app stores nothing afterwards (503)."""
    get_intake(app).close()
