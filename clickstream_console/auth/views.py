"""Sign-in pages: the local form (email and password, argon2), sign-out (at the OpenID provider
too for a session that came through it). The provider's sign-in routes live in oidc_views.py."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from clickstream_console.access import public, viewer
from clickstream_console.auth.provider import provider_logout_url
from clickstream_console.auth.session import sign_in, sign_out, signed_in_user
from clickstream_console.identity.accounts import find_user
from clickstream_console.identity.passwords import MAX_PASSWORD_CHARS, hash_password, needs_rehash, verify_password
from clickstream_console.redirects import safe_next
from clickstream_console.state import console_state, db

blueprint = Blueprint("auth", __name__)

# Checked when the email is unknown, so an unknown account takes as long as a wrong password.
_DECOY_HASH = hash_password("decoy password never matches")


def login_page(status: int = 200, error: str | None = None, email: str = "", retry_after: int | None = None):
    settings = console_state().settings
    response = current_app.make_response(
        (
            render_template(
                "login.html",
                error=error,
                email=email,
                next=safe_next(request.values.get("next")) or "",
                local_login=settings.local_login,
                oidc_name=settings.oidc.display_name if settings.oidc and "oidc.login" in current_app.view_functions else None,
                max_password=MAX_PASSWORD_CHARS,
            ),
            status,
        )
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@blueprint.get("/login")
@public
def login():
    if viewer() is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    return login_page()


@blueprint.post("/login")
@public
def login_submit():
    state = console_state()
    if not state.settings.local_login:
        abort(404)
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")
    if not email or not password:
        return login_page(400, "Enter your email and password.", email)
    keys = [f"address:{request.remote_addr}", f"account:{email}"]
    if wait := state.limiter.retry_after(keys):
        return login_page(429, f"Too many failed sign-ins; try again in {wait} seconds.", email, retry_after=wait)
    user = find_user(db(), email)
    if not verify_password(user.password_hash if user else _DECOY_HASH, password) or user is None:
        state.limiter.failed(keys)
        return login_page(401, "Wrong email or password.", email)
    state.limiter.succeeded(f"account:{email}")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    sign_in(user, "local")
    db().commit()
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))


@blueprint.post("/logout")
@public
def logout():
    at_provider = provider_logout_url()
    sign_out(signed_in_user())
    db().commit()
    return redirect(at_provider or url_for("auth.login"))
