"""Cross-site request forgery: every state-changing request carries the session's secret token
(a hidden form field, or the ``X-CSRF-Token`` header for the small scripts), which another site
cannot read. Sign-in forms are covered too (login CSRF). The session cookie's ``SameSite=Lax`` is
the second line, not the only one."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    token = session.get(FIELD)
    if not isinstance(token, str):
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    if request.method in SAFE_METHODS or request.endpoint in (None, "static"):
        return
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    expected = session.get(FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form's security token is missing or out of date (CSRF check); reload the page and try again.")
