"""The Flask application factory of the ingestion service."""

from __future__ import annotations

from typing import Any

from flask import Flask

from clickstream_dagster.config import ProjectConfig, default_config_path, load_config
from ingestion import views
from ingestion.cors import CorsPolicy
from ingestion.errors import register_error_handler
from ingestion.settings import (
    ENV_PREFIX,
    EXTENSION_KEY,
    Ingestion,
    IngestionSettings,
    default_settings,
)
from ingestion.sinks import Sink, sink_from_config


def create_app(
    config: ProjectConfig | None = None,
    *,
    sink: Sink | None = None,
    overrides: dict[str, Any] | None = None,
) -> Flask:
    """Build the app; without `sink`, the configured sink is built here, once per app.

    Under gunicorn every worker process builds its own app and so its own sink; `close_app`
    must run when the worker stops, to seal what the sink still holds.
    """
    if config is None:
        config = load_config(default_config_path())
    app = Flask(__name__)
    app.config.from_mapping(default_settings(config))
    app.config.from_prefixed_env(ENV_PREFIX)
    app.config.update(overrides or {})
    settings = IngestionSettings.from_mapping(app.config)

    app.extensions[EXTENSION_KEY] = Ingestion(
        settings=settings,
        app_ids=frozenset(config.app_ids),
        cors=CorsPolicy(settings.cors_origins, settings.cors_max_age_seconds),
        sink=sink if sink is not None else sink_from_config(config),
    )
    register_error_handler(app)
    # OPTIONS is handled by the view: Flask's automatic answer would be a 200 without CORS.
    app.add_url_rule(settings.path, "collect", views.collect, methods=["POST", "OPTIONS"], provide_automatic_options=False)
    app.add_url_rule("/ping", "ping", views.ping, methods=["GET"])
    app.add_url_rule("/health", "health", views.health, methods=["GET"])
    app.add_url_rule("/ready", "ready", views.ready, methods=["GET"])
    app.after_request(views.add_cors_headers)
    return app


def get_sink(app: Flask) -> Sink:
    return app.extensions[EXTENSION_KEY].sink


def close_app(app: Flask) -> None:
    """Seal everything the app's sink holds; the app stores nothing afterwards (503)."""
    get_sink(app).close()
