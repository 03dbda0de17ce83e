"""The console's Flask application: ``create_app(config_path)``.

One blueprint per area (blueprints.py); every request passes the access gate (access.py) and, if
it changes anything, the CSRF check (csrf.py). Pages are rendered on the server; the few scripts
are static files, so the Content-Security-Policy can forbid inline script.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from flask import Flask, Response, render_template
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException

from clickstream_console.access import viewer
from clickstream_console.auth.limiter import LoginLimiter
from clickstream_console.auth.oidc_views import blueprint as oidc_blueprint
from clickstream_console.auth.provider import SERVICE as OIDC_SERVICE
from clickstream_console.auth.provider import client_from_settings, provider_origins
from clickstream_console.blueprints import register_blueprints
from clickstream_console.csrf import FIELD as CSRF_FIELD
from clickstream_console.csrf import check_csrf, csrf_token
from clickstream_console.db.migrate import console_engine, upgrade
from clickstream_console.gate import gate
from clickstream_console.navigation import nav_for
from clickstream_console.project_source import ProjectSource
from clickstream_console.secret_key import load_secret_key
from clickstream_console.state import EXTENSION, ConsoleState, close_db

# Forms and small JSON posts only; uploads are not a console feature.
MAX_REQUEST_BYTES = 1024 * 1024

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action {form_action}; base-uri 'none'; object-src 'none'"
)
_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(config_path: str | Path, *, secret_key: str | None = None) -> Flask:
    source = ProjectSource(Path(config_path))
    config = source.current()
    settings = config.console
    database_url = config.console_database_url
    if database_url.startswith("sqlite:///"):
        config.console_root.mkdir(parents=True, exist_ok=True)
    upgrade(database_url)

    app = Flask(__name__)
    secure = not settings.on_loopback
    app.config.update(
        SECRET_KEY=secret_key or load_secret_key(config.console_root),
        # __Host-: the browser keeps it to this exact host over HTTPS, no sub-domain can set it.
        SESSION_COOKIE_NAME="__Host-clickstream_console" if secure else "clickstream_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )
    state = app.extensions[EXTENSION] = ConsoleState(
        project=source,
        settings=settings,
        sessions=sessionmaker(console_engine(database_url), expire_on_commit=False),
        limiter=LoginLimiter(settings.login_attempts, settings.login_window_seconds),
    )
    if settings.oidc is not None:
        state.services[OIDC_SERVICE] = client_from_settings(settings)
    # Browsers hold a form's redirects to form-action too: sign-out ends at the provider's logout.
    headers = _SECURITY_HEADERS | {"Content-Security-Policy": _CSP.format(form_action=" ".join(["'self'", *provider_origins(settings)]))}
    app.before_request(gate)
    app.before_request(check_csrf)
    app.teardown_appcontext(close_db)
    app.after_request(partial(_security_headers, headers))
    app.context_processor(lambda: {"viewer": viewer(), "nav": nav_for(viewer()), "csrf_token": csrf_token, "csrf_field": CSRF_FIELD})
    app.register_error_handler(HTTPException, _error_page)
    register_blueprints(app)
    if settings.oidc is not None:
        app.register_blueprint(oidc_blueprint)
    return app


def _security_headers(headers: dict[str, str], response: Response) -> Response:
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        # Pages show who may do what; no shared cache may keep them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(error: HTTPException):
    template = "no_access.html" if error.code == 403 and viewer() is not None and not viewer().roles else "error.html"
    response = error.get_response()
    response.data = render_template(template, error=error)
    response.mimetype = "text/html"
    return response
