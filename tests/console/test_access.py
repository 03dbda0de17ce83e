"""Who may open what, for every route of the console: the whole permission matrix (every route ×
no role, each role, two roles), expected from the seed's own table, plus the session's defences."""

from __future__ import annotations

import itertools
import re

import pytest
from werkzeug.routing import Rule

from clickstream_console.access import PUBLIC, SIGNED_IN, access_of
from clickstream_console.identity.roles import Feature, Role
from tests.console.console_helpers import PASSWORD, add_user, console_app, csrf_of, sign_in, write_project
from tests.console.seed_tables import seed_permissions

# A value for every URL parameter a console route takes: the tests' project has this app, the
# matrix app's first user (ROLE_SETS' first entry) has id 1, Analytics Studio this report and chart, and
# custom report 1 (none is saved: an allowed request gets 404, a refused one 403).
SAMPLE_ARGUMENTS = {
    "app_id": "shop_web",
    "user_id": 1,
    "report": "activity",
    "chart": "kpis",
    "report_id": 1,
    "kind": "funnel",
    "analysis_id": 1,
}
ROLE_SETS = {
    "no role": frozenset(),
    **{role.value: frozenset({role}) for role in Role},
    "Operator + Analyst Reader": frozenset({Role.OPERATOR, Role.ANALYST_READER}),
    "Analyst + Analyst Reader": frozenset({Role.ANALYST, Role.ANALYST_READER}),
}


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory):
    app = console_app(write_project(tmp_path_factory.mktemp("matrix")))
    for name, roles in ROLE_SETS.items():
        add_user(app, _email(name), roles)
    return app


def _email(role_set: str) -> str:
    return re.sub(r"[^a-z]+", ".", role_set.lower()).strip(".") + "@example.com"


def _routes(app) -> list[tuple[Rule, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        missing = set(rule.arguments) - set(SAMPLE_ARGUMENTS)
        assert not missing, f"{rule.rule}: add a sample value for {missing} to SAMPLE_ARGUMENTS"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    return routes


def _may(roles: frozenset[Role], feature: Feature) -> bool:
    seed = seed_permissions()
    return any(seed[(role, feature)] for role in roles)


def _sent_to_sign_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_every_view_declares_who_may_open_it(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items() if endpoint != "static" and access_of(view) is None]
    assert undeclared == []


@pytest.mark.parametrize("role_set", list(ROLE_SETS))
def test_the_permission_matrix(matrix_app, role_set):
    client = matrix_app.test_client()
    assert sign_in(client, _email(role_set)).status_code == 302
    roles = ROLE_SETS[role_set]
    wrong = []
    for rule, method in _routes(matrix_app):
        access = access_of(matrix_app.view_functions[rule.endpoint])
        allowed = access in (PUBLIC, SIGNED_IN) or _may(roles, access)
        url = rule.build({name: SAMPLE_ARGUMENTS[name] for name in rule.arguments})[1]
        if method == "GET":
            status = client.get(url).status_code
            refused = status == 403
        else:
            # Without a CSRF token: the gate answers first (403 when refused), an allowed request
            # then stops at the CSRF check (400), so nothing is changed by this test.
            status = client.open(url, method=method).status_code
            refused = status == 403
            assert status in (400, 403), f"{method} {url}: {status}"
        if refused == allowed:
            wrong.append(f"{method} {url} [{access}]: {status}")
    assert wrong == [], f"{role_set}: {wrong}"


def test_signed_out_visitors_are_sent_to_sign_in_and_refused_changes(app, client):
    for rule, method in _routes(app):
        if access_of(app.view_functions[rule.endpoint]) == PUBLIC:
            continue
        url = rule.build({name: SAMPLE_ARGUMENTS[name] for name in rule.arguments})[1]
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), url
        else:
            assert response.status_code == 401, url


def test_a_user_without_a_role_sees_the_no_access_page(app, client):
    add_user(app, "nobody@example.com", [])
    sign_in(client, "nobody@example.com")
    assert client.get("/").headers["Location"] == "/no-access"
    assert 'data-testid="no-access"' in client.get("/no-access").get_data(as_text=True)


def test_a_role_taken_away_applies_on_the_next_request(app, client):
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from clickstream_console.db.models import UserRole
    from tests.console.console_helpers import console_state_of

    user_id = add_user(app, "ops@example.com", [Role.ADMINISTRATOR])
    sign_in(client, "ops@example.com")
    assert 'data-testid="viewer-roles">Administrator<' in client.get("/no-access").get_data(as_text=True)
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        session.execute(delete(UserRole).where(UserRole.user_id == user_id))
        session.commit()
    assert 'data-testid="viewer-roles">no role<' in client.get("/no-access").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
        "\x00/x",
    ],
)
def test_no_open_redirect_after_sign_in(app, client, target):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    response = sign_in(client, "admin@example.com", next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_local_next_is_followed(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    assert sign_in(client, "admin@example.com", next_path="/no/such?page=1").headers["Location"] == "/no/such?page=1"


def test_wrong_passwords_and_unknown_accounts_get_one_answer(app, client):
    add_user(app, "ana@example.com", [Role.ANALYST])
    wrong = sign_in(client, "ana@example.com", password="not the password")
    unknown = sign_in(client, "nobody@example.com")
    no_password = sign_in(client, "ana@example.com", password="")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.get_data(as_text=True) and "Wrong email or password." in unknown.get_data(as_text=True)
    assert no_password.status_code == 400
    add_user(app, "sso@example.com", [Role.ANALYST], password=False)
    assert sign_in(client, "sso@example.com", password="anything at all").status_code == 401


def test_sign_in_is_rate_limited_per_account_and_address(app, client):
    add_user(app, "ana@example.com", [Role.ANALYST])
    attempts = app.extensions["clickstream_console"].settings.login_attempts
    for _ in range(attempts):
        assert sign_in(client, "ana@example.com", password="guess guess guess").status_code == 401
    limited = sign_in(client, "ana@example.com")  # even the right password waits
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in limited.get_data(as_text=True)
    # Another account from the same address is limited too (the address counts its failures).
    add_user(app, "bob@example.com", [Role.ANALYST])
    assert sign_in(client, "bob@example.com").status_code == 429
    # A different address may still sign in to an unaffected account.
    other = app.test_client()
    token = csrf_of(other)
    response = other.post(
        "/login", data={"email": "bob@example.com", "password": PASSWORD, "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert response.status_code == 302


def test_state_changes_need_the_csrf_token(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    assert client.post("/login", data={"email": "admin@example.com", "password": PASSWORD}).status_code == 400
    sign_in(client, "admin@example.com")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200, "still signed in"


def test_a_tampered_or_foreign_session_cookie_signs_nobody_in(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    sign_in(client, "admin@example.com")
    cookie = client.get_cookie("clickstream_console")
    payload, _, signature = cookie.value.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    client.set_cookie("clickstream_console", tampered)
    assert _sent_to_sign_in(client)
    # A cookie signed with another console's key is just as unknown.
    other_dir = app.extensions["clickstream_console"].project.path.parent / "other"
    other_dir.mkdir()
    other = console_app(write_project(other_dir))
    other.config["SECRET_KEY"] = "another-key-" + "y" * 40
    other_client = other.test_client()
    add_user(other, "admin@example.com", [Role.ADMINISTRATOR])
    sign_in(other_client, "admin@example.com")
    client.set_cookie("clickstream_console", other_client.get_cookie("clickstream_console").value)
    assert _sent_to_sign_in(client)


def test_a_session_of_an_unknown_or_removed_user_is_void(app, client):
    from sqlalchemy.orm import Session

    from clickstream_console.db.models import User
    from tests.console.console_helpers import console_state_of

    user_id = add_user(app, "temp@example.com", [Role.ADMINISTRATOR])
    sign_in(client, "temp@example.com")
    with client.session_transaction() as session:
        session["user_id"] = 999_999
    assert _sent_to_sign_in(client)
    sign_in(client, "temp@example.com")
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        session.delete(session.get(User, user_id))
        session.commit()
    assert _sent_to_sign_in(client)


def test_signing_out_voids_every_copy_of_the_session(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    sign_in(client, "admin@example.com")
    stolen = client.get_cookie("clickstream_console").value
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/no-access")}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("clickstream_console", stolen)
    assert _sent_to_sign_in(thief)


def test_session_cookie_flags_and_security_headers(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    response = sign_in(client, "admin@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "on loopback over http the browser would drop a Secure cookie"
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"


def test_outside_localhost_the_cookie_is_secure_and_host_bound(tmp_path):
    app = console_app(write_project(tmp_path, console={"public_url": "https://console.example.com"}))
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    client = app.test_client()
    token_page = client.get("/login", base_url="https://console.example.com")
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token}, base_url="https://console.example.com"
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-clickstream_console=") and "Secure" in cookie and "HttpOnly" in cookie


def test_oversized_and_garbage_sign_in_forms(app, client):
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    token = csrf_of(client)
    huge = client.post("/login", data={"email": "a" * 2_000_000, "password": "x", "csrf_token": token})
    assert huge.status_code == 413
    assert client.post("/login", data=b"\xff\xfe garbage", content_type="application/x-www-form-urlencoded").status_code == 400
    long_password = sign_in(client, "admin@example.com", password="p" * 5000)
    assert long_password.status_code == 401


def test_role_sets_cover_every_role():
    assert set(itertools.chain.from_iterable(ROLE_SETS.values())) == set(Role)
