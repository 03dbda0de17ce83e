"""The console's OpenID provider (``console.oidc``): its client, built once per app, and who a
validated ID token is among the console's users.

A token's user is the one linked to its subject (``sub``), else the user with its email, which it
then links (an administrator may add people by email in System → Users before their first
sign-in), else a new user with no stored roles, whose roles then come from the role mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import session
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.auth.session import METHOD
from clickstream_console.db.models import User
from clickstream_console.identity.accounts import AccountError, find_user, normalise_email
from clickstream_console.identity.oidc import OidcClient, OidcClientSettings, OidcError
from clickstream_console.state import console_state
from clickstream_project.console_settings import ConsoleSettings

SERVICE = "oidc"
CALLBACK_PATH = "/login/oidc/callback"
# Where the provider sends the browser back after its own sign-out.
SIGNED_OUT_PATH = "/login"
# The session keeps the ID token as logout's id_token_hint (providers then skip their "sign out?"
# question) only below this size: browsers drop a cookie over 4 KB, which would sign nobody in.
MAX_HINT_CHARS = 2000
ID_TOKEN_HINT = "oidc_id_token"


def client_from_settings(settings: ConsoleSettings) -> OidcClient:
    """The client of ``console.oidc``; its secret is read from the variable the file names."""
    oidc = settings.oidc
    if oidc is None:
        raise ValueError("console.oidc is not set")
    secret = None
    if oidc.client_secret_env:
        secret = os.environ.get(oidc.client_secret_env)
        if not secret:
            raise ValueError(f"console.oidc.client_secret_env: the environment variable {oidc.client_secret_env} is not set")
    return OidcClient(
        OidcClientSettings(
            issuer=oidc.issuer,
            client_id=oidc.client_id,
            client_secret=secret,
            scopes=oidc.scopes,
            redirect_uri=settings.base_url + CALLBACK_PATH,
            logout_endpoint=oidc.logout_endpoint,
            leeway_seconds=oidc.leeway_seconds,
        )
    )


def oidc_client() -> OidcClient | None:
    return console_state().services.get(SERVICE)


def provider_origins(settings: ConsoleSettings) -> list[str]:
    """The origins the sign-out form may end up at (its redirect to the provider's logout)."""
    if settings.oidc is None:
        return []
    urls = [settings.oidc.issuer, settings.oidc.logout_endpoint]
    return sorted({f"{parts.scheme}://{parts.netloc}" for parts in (urlsplit(url) for url in urls if url)})


def keep_logout_hint(id_token: str) -> None:
    if len(id_token) <= MAX_HINT_CHARS:
        session[ID_TOKEN_HINT] = id_token


def provider_logout_url() -> str | None:
    """Where to send a browser signing out of a session that came through the provider, so the
    provider's session ends too; None for other sessions. Read before the session is cleared."""
    client = oidc_client()
    if client is None or session.get(METHOD) != "oidc":
        return None
    try:
        return client.logout_url(session.get(ID_TOKEN_HINT), console_state().settings.base_url + SIGNED_OUT_PATH)
    except OidcError:
        # The provider's discovery is unreachable: the console's own session still ends.
        return None


def user_for_claims(db: Session, claims: Mapping[str, Any]) -> User:
    """The user the ID token's claims are (created or linked as the module says); the caller
    commits. Raises OidcError when the token cannot be tied to one user."""
    subject = claims["sub"]
    user = db.scalars(select(User).where(User.oidc_subject == subject)).first()
    if user is not None:
        return user
    raw_email = claims.get("email")
    if not isinstance(raw_email, str):
        raise OidcError("the ID token has no email claim (request the 'email' scope, or map the email into the ID token)")
    try:
        email = normalise_email(raw_email)
    except AccountError as error:
        raise OidcError(f"the ID token's email is not usable ({error})") from None
    user = find_user(db, email)
    if user is None:
        user = User(email=email, oidc_subject=subject, display_name=_display_name(claims), roles_stored=False)
        db.add(user)
        db.flush()
        return user
    if user.oidc_subject is not None:
        raise OidcError(f"the console user {email} is linked to another identity at the provider")
    # An address the provider has not checked could be anyone's: it must not take over a user.
    if claims.get("email_verified") is False:
        raise OidcError(f"the provider has not verified the email {email}, which is a console user's")
    user.oidc_subject = subject
    return user


def _display_name(claims: Mapping[str, Any]) -> str | None:
    for name in ("name", "preferred_username"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None
