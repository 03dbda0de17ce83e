"""Signing in to the console through the OpenID provider: the console app with ``console.oidc``
against a real provider (oidc-provider, tests/console/oidc_fixture.py), walked by an HTTP client.
Roles come from the ID token's groups through the role mapping, unless stored roles say otherwise."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clickstream_console.access import access_of, requires
from clickstream_console.db.models import RoleMappingSettings, User
from clickstream_console.identity.role_mapping import DEFAULT_ROLE_GROUPS
from clickstream_console.identity.roles import Feature, Role
from tests.conftest import free_port
from tests.console.console_helpers import add_user, console_app, console_state_of, csrf_of, sign_in, write_project
from tests.console.oidc_fixture import CALLBACK_URL, CONSOLE_CLIENT, CONSOLE_URL, SIGNED_OUT_URL, OidcTestProvider

SECRET_VARIABLE = "CLICKSTREAM_TEST_OIDC_SECRET"

# An Operator page of the console (Projects & apps); Analytics Studio has no page in this version,
# so one view behind its Dashboards feature stands in for the Analyst side of the gate.
OPERATOR_PAGE = "/apps"
probe = Blueprint("probe", __name__)


@probe.get("/probe/dashboards")
@requires(Feature.DASHBOARDS)
def dashboards():
    return "dashboards"


def oidc_project(tmp_path: Path, issuer: str, **oidc: str) -> Path:
    settings = {"issuer": issuer, "client_id": CONSOLE_CLIENT.client_id, "client_secret_env": SECRET_VARIABLE, "display_name": "Test SSO"}
    console = {"dagster_url": f"http://127.0.0.1:{free_port()}", "public_url": CONSOLE_URL, "oidc": settings | oidc}
    return write_project(tmp_path, console=console)


@pytest.fixture
def app(tmp_path, oidc_provider: OidcTestProvider, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv(SECRET_VARIABLE, CONSOLE_CLIENT.client_secret)
    app = console_app(oidc_project(tmp_path, oidc_provider.issuer))
    app.register_blueprint(probe)
    return app


@pytest.fixture
def browser() -> requests.Session:
    """The browser's side at the provider (its cookies there)."""
    return requests.Session()


def start(client: FlaskClient, next_path: str | None = None) -> str:
    """The console's redirect to the provider."""
    response = client.get("/login/oidc" + (f"?next={quote(next_path, safe='')}" if next_path else ""))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def come_back(client: FlaskClient, callback_url: str):
    assert callback_url.startswith(CALLBACK_URL + "?"), callback_url
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def oidc_sign_in(client: FlaskClient, provider: OidcTestProvider, browser: requests.Session, account: str, next_path: str | None = None):
    return come_back(client, provider.login_with_http(browser, start(client, next_path), account))


def roles_shown(client: FlaskClient) -> str:
    page = client.get("/no-access").get_data(as_text=True)
    return page.split('data-testid="viewer-roles">', 1)[1].split("<", 1)[0]


def user_row(app: Flask, email: str) -> User:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        return session.scalars(select(User).where(User.email == email)).one()


def set_role_path(app: Flask, json_path: str) -> None:
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        session.add(
            RoleMappingSettings(json_path=json_path, role_groups={str(role): groups for role, groups in DEFAULT_ROLE_GROUPS.items()})
        )
        session.commit()


def assert_signed_out(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_the_login_page_offers_the_provider(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'data-testid="oidc-login"' in page and "Sign in with Test SSO" in page


def test_a_cognito_group_makes_an_analyst_who_is_refused_operator_pages(app, client, oidc_provider, browser) -> None:
    response = oidc_sign_in(client, oidc_provider, browser, "ana")

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert roles_shown(client) == "Analyst"
    assert client.get("/probe/dashboards").status_code == 200
    assert client.get(OPERATOR_PAGE).status_code == 403
    user = user_row(app, "ana@example.com")
    assert (user.oidc_subject, user.roles_stored, user.password_hash) == ("ana", False, None)
    assert user.last_claims["cognito:groups"] == ["ClickstreamAnalyst"]


def test_keycloak_realm_roles_are_read_at_the_configured_path(app, client, oidc_provider, browser) -> None:
    oidc_sign_in(client, oidc_provider, browser, "kai")
    # The default path reads Cognito's groups: a Keycloak token has none there.
    assert roles_shown(client) == "no role"

    set_role_path(app, "$.payload.realm_access.roles")

    assert roles_shown(client) == "Operator"
    assert client.get(OPERATOR_PAGE).status_code == 200
    assert client.get("/probe/dashboards").status_code == 403


def test_stored_roles_beat_the_mapping(app, client, oidc_provider, browser) -> None:
    add_user(app, "olga@example.com", [Role.OPERATOR], password=False)

    oidc_sign_in(client, oidc_provider, browser, "olga")

    assert roles_shown(client) == "Operator"
    assert client.get("/probe/dashboards").status_code == 403, "the token's ClickstreamAnalyst group does not count"
    assert user_row(app, "olga@example.com").oidc_subject == "olga"


def test_the_next_page_is_kept_and_only_when_local(client, oidc_provider, browser) -> None:
    assert oidc_sign_in(client, oidc_provider, browser, "ana", next_path="/probe/dashboards").headers["Location"] == "/probe/dashboards"
    assert oidc_sign_in(client, oidc_provider, browser, "ana", next_path="https://evil.example/").headers["Location"] == "/"


def test_a_callback_with_a_wrong_state_signs_nobody_in(client, oidc_provider, browser) -> None:
    callback = oidc_provider.login_with_http(browser, start(client), "ana")
    query = parse_qs(urlsplit(callback).query)

    response = client.get("/login/oidc/callback", query_string={"code": query["code"][0], "state": "forged", "iss": oidc_provider.issuer})

    assert response.status_code == 400
    assert "Sign-in refused: the login&#39;s state does not match this browser&#39;s" in response.get_data(as_text=True)
    assert_signed_out(client)


def test_a_token_with_another_login_s_nonce_signs_nobody_in(client, oidc_provider, browser) -> None:
    url = start(client)
    with client.session_transaction() as session:
        session["oidc_pending"] = session["oidc_pending"] | {"nonce": "another-login"}

    response = come_back(client, oidc_provider.login_with_http(browser, url, "ana"))

    assert response.status_code == 400
    assert "ID token nonce does not match this login" in response.get_data(as_text=True)
    assert_signed_out(client)


def test_a_callback_is_used_once(client, oidc_provider, browser) -> None:
    callback = oidc_provider.login_with_http(browser, start(client), "ana")
    assert come_back(client, callback).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client, "/no-access")})

    replayed = come_back(client, callback)

    assert replayed.status_code == 400 and "no login is in progress" in replayed.get_data(as_text=True)
    assert_signed_out(client)


def test_a_user_who_declines_at_the_provider_is_told_so(client, oidc_provider, browser) -> None:
    response = come_back(client, oidc_provider.abort_with_http(browser, start(client)))

    assert response.status_code == 400
    assert "the identity provider refused the login: access_denied (End-User aborted interaction)" in response.get_data(as_text=True)
    assert_signed_out(client)


def test_a_token_without_an_email_is_refused(client, oidc_provider, browser) -> None:
    response = oidc_sign_in(client, oidc_provider, browser, "nomail")

    assert response.status_code == 400 and "the ID token has no email claim" in response.get_data(as_text=True)
    assert_signed_out(client)


def test_an_unverified_email_does_not_take_over_a_user(app, client, oidc_provider, browser) -> None:
    add_user(app, "victim@example.com", [Role.ANALYST_READER], password=False)

    response = oidc_sign_in(client, oidc_provider, browser, "mallory")

    assert response.status_code == 400 and "has not verified the email victim@example.com" in response.get_data(as_text=True)
    assert_signed_out(client)
    assert user_row(app, "victim@example.com").oidc_subject is None


def test_a_user_linked_to_another_identity_is_not_relinked(app, client, oidc_provider, browser) -> None:
    add_user(app, "ana@example.com", [Role.ADMINISTRATOR], password=False)
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        session.scalars(select(User)).one().oidc_subject = "someone-else"
        session.commit()

    response = oidc_sign_in(client, oidc_provider, browser, "ana")

    assert response.status_code == 400 and "linked to another identity" in response.get_data(as_text=True)
    assert_signed_out(client)


def test_signing_out_ends_the_provider_s_session_too(client, oidc_provider, browser) -> None:
    oidc_sign_in(client, oidc_provider, browser, "ana")

    response = client.post("/logout", data={"csrf_token": csrf_of(client, "/no-access")})

    assert response.status_code == 302
    logout = response.headers["Location"]
    assert logout.startswith(f"{oidc_provider.issuer}/session/end?")
    query = parse_qs(urlsplit(logout).query)
    assert query["client_id"] == ["console"] and query["post_logout_redirect_uri"] == [SIGNED_OUT_URL]
    assert query["id_token_hint"][0].count(".") == 2
    assert_signed_out(client)
    assert oidc_provider.logout_with_http(browser, logout) == SIGNED_OUT_URL
    # The provider forgot the browser: signing in again asks who it is (else it would answer "ana").
    oidc_sign_in(client, oidc_provider, browser, "kai")
    assert user_row(client.application, "kai@example.com").oidc_subject == "kai"


def test_a_local_session_signs_out_locally(app, client) -> None:
    add_user(app, "local@example.com", [Role.ADMINISTRATOR])
    sign_in(client, "local@example.com")

    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/no-access")}).headers["Location"] == "/login"


def test_pages_may_send_their_sign_out_form_to_the_provider(client, oidc_provider) -> None:
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {oidc_provider.issuer};" in policy


def test_the_provider_s_views_declare_who_may_open_them(app) -> None:
    assert {endpoint: access_of(view) for endpoint, view in app.view_functions.items() if endpoint.startswith("oidc.")} == {
        "oidc.login": "public",
        "oidc.callback": "public",
    }


def test_an_unreachable_provider_is_said_so_on_the_login_page(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, "secret")
    client = console_app(oidc_project(tmp_path, f"http://127.0.0.1:{free_port()}")).test_client()

    response = client.get("/login/oidc")

    assert response.status_code == 502 and "The identity provider cannot be reached" in response.get_data(as_text=True)


def test_a_missing_client_secret_stops_the_console_from_starting(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)

    with pytest.raises(ValueError, match=f"the environment variable {SECRET_VARIABLE} is not set"):
        console_app(oidc_project(tmp_path, "https://idp.example"))


def test_without_a_provider_there_are_no_provider_routes(tmp_path) -> None:
    client = console_app(write_project(tmp_path)).test_client()
    assert client.get("/login/oidc").status_code == 404
    assert 'data-testid="oidc-login"' not in client.get("/login").get_data(as_text=True)
