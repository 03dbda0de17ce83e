"""The signed-in session: a signed cookie holding who signed in, how and when. It holds no roles:
those are read from the database on every request (stored roles, else the role mapping applied to
the user's last ID-token claims), so changes apply at once. Signing out voids every session of
the user signed in before that moment (the cookie is stateless; the database keeps the date)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import session

from clickstream_console.access import Viewer
from clickstream_console.db.models import User
from clickstream_console.identity.role_mapping import effective_roles
from clickstream_console.identity.store import role_mapping, stored_roles
from clickstream_console.state import console_state, db

USER_ID, METHOD, SIGNED_IN_AT = "user_id", "login", "signed_in_at"
METHODS = ("local", "oidc")


def sign_in(user: User, method: str, claims: dict | None = None) -> None:
    """Start a new session for ``user`` (never reusing the old one's contents: no fixation).
    The caller commits the user row."""
    if method not in METHODS:
        raise ValueError(f"unknown sign-in method {method!r}")
    now = datetime.now(UTC)
    user.last_login_at = now
    if claims is not None:
        user.last_claims = claims
    session.clear()
    session.permanent = True
    session.update({USER_ID: user.id, METHOD: method, SIGNED_IN_AT: time.time()})


def sign_out(user: User | None) -> None:
    """End this session and every other one of ``user`` signed in until now. The caller commits."""
    if user is not None:
        user.sessions_valid_after = datetime.now(UTC)
    session.clear()


def signed_in_user() -> User | None:
    """The user of a valid session, or None (and the session cleared when it was void)."""
    user_id, method, signed_in_at = session.get(USER_ID), session.get(METHOD), session.get(SIGNED_IN_AT)
    if user_id is None:
        return None
    if not isinstance(user_id, int) or method not in METHODS or not isinstance(signed_in_at, (int, float)):
        session.clear()
        return None
    if time.time() - signed_in_at > console_state().settings.session_hours * 3600:
        session.clear()
        return None
    user = db().get(User, user_id)
    # A session older than its user belongs to an earlier user with the same id (SQLite reuses
    # the id of a deleted row).
    void_before = max(filter(None, (user.sessions_valid_after, user.created_at))) if user is not None else None
    if user is None or (void_before is not None and signed_in_at < void_before.timestamp()):
        session.clear()
        return None
    return user


def roles_of(user: User) -> frozenset:
    return effective_roles(stored_roles(user), role_mapping(db()).roles_for(user.last_claims or {}))


def load_viewer() -> Viewer | None:
    user = signed_in_user()
    if user is None:
        return None
    return Viewer(user_id=user.id, email=user.email, display_name=user.display_name, roles=roles_of(user), login=session[METHOD])
