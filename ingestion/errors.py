"""Every error leaves the service through one handler, as `{"error": ..., "message": ...}`.

The SDKs only look at the status code (anything but 200 means "retry later"); the JSON body is
for the people debugging an integration, so its message names what was wrong.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

# Headers of werkzeug's own exceptions that still mean something on a JSON response.
_KEPT_HEADERS = {"allow", "retry-after"}


class ApiError(Exception):
    """A request the service refuses; `error` is a short snake_case code, `message` the detail."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}
        self.details = details or {}


def register_error_handler(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)


def handle_error(error: Exception) -> Response | HTTPException:
    if isinstance(error, HTTPException) and error.code is not None and error.code < 400:
        return error  # routing redirects are not errors
    api_error = error if isinstance(error, ApiError) else _as_api_error(error)
    response = jsonify({"error": api_error.error, "message": api_error.message, **api_error.details})
    response.status_code = api_error.status
    response.headers.update(api_error.headers)
    return response


def _as_api_error(error: Exception) -> ApiError:
    if not isinstance(error, HTTPException):
        current_app.logger.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return ApiError(500, "internal_error", "the server failed to handle the request; it was not stored")
    headers = {name: value for name, value in error.get_headers() if name.lower() in _KEPT_HEADERS}
    status = error.code or 500
    if isinstance(error, NotFound):
        message = f"there is nothing at {request.path}"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or []))
        message = f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    else:
        message = error.description or error.name
    return ApiError(status, _snake_case(error.name), message, headers=headers)


def _snake_case(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
