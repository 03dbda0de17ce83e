"""Sign-in through the OpenID provider (``console.oidc``): the login page's button starts the
authorization code flow, the provider sends the browser back to the callback, and the validated
ID token signs its user in; the token's claims are kept for the role mapping. Registered only
when the project file configures a provider."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, request, session, url_for

from clickstream_console.access import public
from clickstream_console.auth.provider import CALLBACK_PATH, keep_logout_hint, oidc_client, user_for_claims
from clickstream_console.auth.session import sign_in
from clickstream_console.auth.views import login_page
from clickstream_console.identity.oidc import OidcError
from clickstream_console.redirects import safe_next
from clickstream_console.state import db

blueprint = Blueprint("oidc", __name__)
log = logging.getLogger(__name__)

# The login in progress: state, nonce and PKCE verifier (identity/oidc.py), and where to go next.
PENDING = "oidc_pending"


@blueprint.get("/login/oidc")
@public
def login():
    client = oidc_client()
    if client is None:
        abort(404)
    try:
        url, pending = client.begin()
    except OidcError as error:
        log.warning("OIDC sign-in cannot start: %s", error)
        return login_page(502, f"The identity provider cannot be reached: {error}")
    session[PENDING] = pending | {"next": safe_next(request.args.get("next"))}
    return redirect(url)


@blueprint.get(CALLBACK_PATH)
@public
def callback():
    client = oidc_client()
    if client is None:
        abort(404)
    # Taken out whatever happens next: one callback per login.
    pending = session.pop(PENDING, None)
    try:
        login = client.finish(pending, request.args.to_dict())
        user = user_for_claims(db(), login.claims)
    except OidcError as error:
        log.warning("OIDC sign-in refused: %s", error)
        return login_page(400, f"Sign-in refused: {error}.")
    sign_in(user, "oidc", login.claims)
    keep_logout_hint(login.id_token)
    db().commit()
    return redirect((pending or {}).get("next") or url_for("home.index"))
