"""System → Users, Settings and Audit log, through the console's own forms: what an administrator
changes applies to the other users' very next request, bad input changes nothing, no change leaves
the console without an Administrator, and every change is in the audit log."""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time

import pytest
from flask import g
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from clickstream_console.access import Viewer
from clickstream_console.db.models import AuditEntry, RoleMappingSettings, User
from clickstream_console.identity.roles import Role
from clickstream_console.identity.store import role_mapping
from clickstream_console.state import db
from clickstream_console.system.users import set_roles
from tests.conftest import free_port
from tests.console.console_helpers import PASSWORD, add_user, console_state_of, csrf_of, sign_in, write_project

ADMIN = "admin@example.com"
NEW_PASSWORD = "a new user's long password"
KEYCLOAK_PATH = "$.payload.realm_access.roles"
# The seed's Keycloak ID token, shortened.
KEYCLOAK_CLAIMS = {
    "iss": "https://keycloak.example/auth/realms/x",
    "sub": "29563a2d-0000-43bb-b861-c163da7fe984",
    "typ": "ID",
    "email_verified": False,
    "realm_access": {"roles": ["role1", "role2", "role3"]},
    "email": "kc@example.com",
}
GROUP_FIELDS = ("administrator_groups", "operator_groups", "analyst_groups", "analyst_reader_groups")


def _session(app) -> Session:
    return Session(console_state_of(app).sessions.kw["bind"])


def _user(app, email: str) -> User | None:
    with _session(app) as session:
        return session.scalars(select(User).where(User.email == email)).first()


def _audit(app) -> list[tuple[str, str, dict | None]]:
    with _session(app) as session:
        return [(entry.action, entry.target, entry.detail) for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def _count(app, model) -> int:
    with _session(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def _roles_shown(client) -> str:
    """The viewer's roles as the page header shows them on this request."""
    match = re.search(r'data-testid="viewer-roles">([^<]*)<', client.get("/no-access").get_data(as_text=True))
    assert match, "not signed in"
    return match.group(1)


def _signed_in_as(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client, "/no-access")}, **kwargs)


def _field_errors(response) -> set[str]:
    return set(re.findall(r'class="field-error" role="alert" data-field="([^"]+)"', response.get_data(as_text=True)))


def _settings(**overrides) -> dict[str, str]:
    values = {
        "json_path": "$.payload['cognito:groups']",
        "administrator_groups": "ClickstreamAdmin",
        "operator_groups": "ClickstreamOperator",
        "analyst_groups": "ClickstreamAnalyst",
        "analyst_reader_groups": "ClickstreamAnalystReader",
    }
    return {**values, **overrides}


@pytest.fixture
def project_file(tmp_path, console_url):
    """Every test on SQLite and on PostgreSQL, production's database (conftest's project, another database)."""
    return write_project(tmp_path, console={"dagster_url": f"http://127.0.0.1:{free_port()}", "database_url": console_url})


@pytest.fixture
def admin(app):
    add_user(app, ADMIN, [Role.ADMINISTRATOR])
    return _signed_in_as(app, ADMIN)


def test_an_added_user_signs_in_with_the_initial_password_and_holds_exactly_the_stored_roles(app, admin):
    response = _post(
        admin,
        "/system/users",
        {"email": " Ana@Example.com ", "display_name": "Ana Lyst", "roles": ["Analyst", "Analyst Reader"], "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    ana = _user(app, "ana@example.com")
    assert response.headers["Location"] == f"/system/users/{ana.id}"
    assert ana.display_name == "Ana Lyst" and ana.roles_stored and {entry.role for entry in ana.roles} == {"Analyst", "Analyst Reader"}
    client = app.test_client()
    assert sign_in(client, "ana@example.com", NEW_PASSWORD).status_code == 302
    assert _roles_shown(client) == "Analyst, Analyst Reader"
    assert client.get("/system/users").status_code == 403
    row = admin.get("/system/users").get_data(as_text=True)
    assert re.search(
        r'data-email="ana@example.com">.*?data-testid="sign-in">local<.*?Analyst</span> <span class="badge role">Analyst Reader', row, re.S
    )
    # The same address in another case is the same user.
    duplicate = _post(admin, "/system/users", {"email": "ANA@example.com", "roles": ["Operator"]})
    assert duplicate.status_code == 400 and _field_errors(duplicate) == {"email"} and "already exists" in duplicate.get_data(as_text=True)


def test_an_added_user_of_the_identity_provider_gets_roles_from_their_groups(app, admin):
    response = _post(admin, "/system/users", {"email": "kc@example.com", "roles_from": "mapping"})
    assert response.status_code == 302
    user = _user(app, "kc@example.com")
    assert not user.roles_stored and user.roles == [] and user.password_hash is None
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="sign-in">provider<' in page and 'data-testid="source">from mapping<' in page
    # Ticked roles and "from the mapping" contradict each other.
    both = _post(admin, "/system/users", {"email": "x@example.com", "roles_from": "mapping", "roles": ["Analyst"]})
    assert both.status_code == 400 and _field_errors(both) == {"roles"} and _user(app, "x@example.com") is None


def test_stored_roles_apply_on_the_other_users_very_next_request(app, admin):
    ops_id = add_user(app, "ops@example.com", [Role.OPERATOR])
    ops = _signed_in_as(app, "ops@example.com")
    assert _roles_shown(ops) == "Operator"
    assert _post(admin, f"/system/users/{ops_id}/roles", {"roles": ["Analyst Reader"]}).headers["Location"] == f"/system/users/{ops_id}"
    assert _roles_shown(ops) == "Analyst Reader"
    # No role ticked: stored as none, which takes precedence over any group.
    assert _post(admin, f"/system/users/{ops_id}/roles").status_code == 302
    assert _roles_shown(ops) == "no role"
    assert _user(app, "ops@example.com").roles_stored
    assert _post(admin, f"/system/users/{ops_id}/roles", {"roles": ["Root"]}).status_code == 400
    assert _roles_shown(ops) == "no role"


def test_using_the_mapping_again_gives_the_roles_of_the_last_tokens_groups(app, admin):
    claims = {"sub": "s1", "cognito:groups": ["ClickstreamAnalyst", "SomethingElse"]}
    user_id = add_user(app, "cog@example.com", [Role.OPERATOR], claims=claims)
    cog = _signed_in_as(app, "cog@example.com")
    assert _roles_shown(cog) == "Operator"
    page = admin.get(f"/system/users/{user_id}").get_data(as_text=True)
    assert 'data-testid="groups">ClickstreamAnalyst, SomethingElse' in page and 'data-testid="source">stored<' in page
    assert 'data-testid="mapped-roles"><span class="badge role">Analyst</span>' in page
    assert _post(admin, f"/system/users/{user_id}/use-mapping").status_code == 302
    assert _roles_shown(cog) == "Analyst"
    user = _user(app, "cog@example.com")
    assert not user.roles_stored and user.roles == []
    assert 'data-testid="source">from mapping<' in admin.get(f"/system/users/{user_id}").get_data(as_text=True)


def test_removing_a_user_ends_their_sessions(app, admin):
    user_id = add_user(app, "leaver@example.com", [Role.ANALYST])
    leaver = _signed_in_as(app, "leaver@example.com")
    unconfirmed = _post(admin, f"/system/users/{user_id}/remove")
    assert unconfirmed.status_code == 400 and _field_errors(unconfirmed) == {"confirm"} and _user(app, "leaver@example.com")
    response = _post(admin, f"/system/users/{user_id}/remove", {"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"] == "/system/users"
    assert _user(app, "leaver@example.com") is None
    assert leaver.get("/").headers["Location"].startswith("/login")


def test_a_removed_users_cookie_does_not_open_the_next_user_given_their_id(app, admin, console_url):
    if not console_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's sequences never give an id twice")
    user_id = add_user(app, "leaver@example.com", [Role.ANALYST])
    stolen = _signed_in_as(app, "leaver@example.com").get_cookie("clickstream_console").value
    assert _post(admin, f"/system/users/{user_id}/remove", {"confirm": "yes"}).status_code == 302
    # SQLite gives the freed id (the highest) to the next user.
    assert _post(admin, "/system/users", {"email": "next@example.com", "roles": ["Administrator"]}).status_code == 302
    assert _user(app, "next@example.com").id == user_id
    thief = app.test_client()
    thief.set_cookie("clickstream_console", stolen)
    assert thief.get("/").headers["Location"].startswith("/login")
    assert admin.get(f"/system/users/{user_id}").status_code == 200


def test_the_last_administrator_stays(app, admin):
    admin_id = _user(app, ADMIN).id
    for path, data in [
        (f"/system/users/{admin_id}/roles", {"roles": ["Operator"]}),
        (f"/system/users/{admin_id}/use-mapping", {}),  # no token groups: the mapping gives no role
        (f"/system/users/{admin_id}/remove", {"confirm": "yes"}),
    ]:
        refused = _post(admin, path, data)
        assert refused.status_code == 409, path
        assert "You are the last Administrator" in refused.get_data(as_text=True)
    assert _roles_shown(admin) == "Administrator" and _audit(app) == []
    # With a second administrator, one may step down, and the other may not then be removed.
    other_id = add_user(app, "second@example.com", [Role.ADMINISTRATOR])
    stepped_down = _post(admin, f"/system/users/{admin_id}/roles", {"roles": ["Operator"]})
    assert stepped_down.status_code == 302 and stepped_down.headers["Location"] == "/"
    assert _roles_shown(admin) == "Operator"
    second = _signed_in_as(app, "second@example.com")
    refused = _post(second, f"/system/users/{other_id}/remove", {"confirm": "yes"})
    assert refused.status_code == 409 and "You are the last Administrator" in refused.get_data(as_text=True)
    # An administrator whose role comes from the mapping counts as one.
    add_user(app, "mapped@example.com", None, claims={"cognito:groups": ["ClickstreamAdmin"]})
    removed_self = _post(second, f"/system/users/{other_id}/remove", {"confirm": "yes"})
    assert removed_self.status_code == 302 and removed_self.headers["Location"] == "/"
    assert second.get("/").headers["Location"].startswith("/login")


def test_two_administrators_demoting_each_other_at_once_leave_one(app, admin, console_url):
    if console_url.startswith("sqlite"):
        pytest.skip("SQLite writes one transaction at a time; PostgreSQL runs them side by side")
    admin_id = _user(app, ADMIN).id
    second_id = add_user(app, "second@example.com", [Role.ADMINISTRATOR])
    second = _signed_in_as(app, "second@example.com")
    token = csrf_of(second, "/no-access")
    engine = console_state_of(app).sessions.kw["bind"]
    answers = []
    with app.test_request_context():
        # The first administrator's change, under way (not committed): the second one's role taken.
        g.viewer = Viewer(user_id=admin_id, email=ADMIN, display_name=None, roles=frozenset({Role.ADMINISTRATOR}), login="local")
        set_roles(db(), role_mapping(db()), db().get(User, second_id), [], admin_id)
        # Meanwhile the second administrator takes the first one's role.
        racing = threading.Thread(
            target=lambda: answers.append(second.post(f"/system/users/{admin_id}/roles", data={"roles": ["Operator"], "csrf_token": token}))
        )
        racing.start()
        with engine.connect() as watcher:
            deadline = time.monotonic() + 30
            waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"
            while not watcher.execute(text(waiting)).scalar():
                assert time.monotonic() < deadline, "the second change did not wait for the first"
                watcher.rollback()  # a new snapshot of pg_stat_activity
        db().commit()
    racing.join(timeout=30)
    assert [answer.status_code for answer in answers] == [409]
    assert _roles_shown(admin) == "Administrator" and _roles_shown(second) == "no role"


def test_settings_map_keycloak_realm_roles_from_the_next_request(app, admin):
    add_user(app, "kc@example.com", None, claims=KEYCLOAK_CLAIMS)
    keycloak_user = _signed_in_as(app, "kc@example.com")
    assert _roles_shown(keycloak_user) == "no role"  # the default path reads cognito:groups
    settings = _settings(json_path=KEYCLOAK_PATH, operator_groups=" Group1, ,role2 ,,", analyst_reader_groups="role3,  ", analyst_groups="")
    response = _post(admin, "/system/settings", settings)
    assert response.status_code == 302
    assert _roles_shown(keycloak_user) == "Analyst Reader, Operator"
    with _session(app) as session:
        row = session.scalars(select(RoleMappingSettings)).one()
        assert row.json_path == KEYCLOAK_PATH and row.updated_by == ADMIN
        assert row.role_groups == {
            "Administrator": "ClickstreamAdmin",
            "Operator": "Group1, role2",
            "Analyst": "",
            "Analyst Reader": "role3",
        }
    page = admin.get("/system/settings").get_data(as_text=True)
    assert f'value="{html.escape(KEYCLOAK_PATH)}"' in page and 'value="Group1, role2"' in page and "by admin@example.com" in page
    users = admin.get("/system/users").get_data(as_text=True)
    assert re.search(r'data-email="kc@example.com">.*?data-testid="groups">role1, role2, role3<', users, re.S)


@pytest.mark.parametrize("path", ["$.payload[", "", "$$", "  ", "$.payload.\x00x", "$." + "a" * 600])
def test_a_bad_json_path_is_refused_naming_the_field(app, admin, path):
    response = _post(admin, "/system/settings", _settings(json_path=path))
    assert response.status_code == 400 and _field_errors(response) == {"json_path"}
    assert _count(app, RoleMappingSettings) == 0 and _audit(app) == []


def test_settings_under_which_no_one_is_administrator_are_refused(app, admin):
    add_user(app, "mapped@example.com", None, claims={"cognito:groups": ["ClickstreamAdmin"]})
    mapped = _signed_in_as(app, "mapped@example.com")
    # The only Administrator left holds the role through the mapping.
    assert _post(mapped, f"/system/users/{_user(app, ADMIN).id}/roles", {"roles": ["Operator"]}).status_code == 302
    refused = _post(mapped, "/system/settings", _settings(administrator_groups="SomeoneElsesGroup"))
    assert refused.status_code == 409 and _field_errors(refused) == {"administrator_groups"}
    assert "no user would hold the Administrator role" in refused.get_data(as_text=True)
    assert _count(app, RoleMappingSettings) == 0 and _roles_shown(mapped) == "Administrator"
    assert _post(mapped, "/system/settings", _settings(administrator_groups="SomeoneElsesGroup, ClickstreamAdmin")).status_code == 302


def _jwt(claims: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.not-a-signature"


def _trial(admin, sample: str, **settings):
    response = _post(admin, "/system/settings/test", {**_settings(**settings), "sample": sample})
    text = html.unescape(response.get_data(as_text=True))
    found = {name: re.search(rf'data-testid="trial-{name}">(.*?)</', text, re.S) for name in ("groups", "problem", "unmapped")}
    return response, {name: match.group(1).strip() if match else None for name, match in found.items()}


def test_trying_the_mapping_on_a_token_changes_nothing(app, admin):
    # Keycloak's token, as a JWT (only its payload is read), with the seed's path and a group list with blanks.
    response, shown = _trial(admin, _jwt(KEYCLOAK_CLAIMS), json_path=KEYCLOAK_PATH, analyst_groups=" ,role1,, Group2 ")
    assert response.status_code == 200 and shown["groups"] == "role1, role2, role3" and shown["problem"] is None
    assert 'data-testid="trial-roles"><span class="badge role">Analyst</span>' in response.get_data(as_text=True)
    assert shown["unmapped"] == "role2, role3"
    # The same claims as JSON with the default (Cognito) path: it finds nothing.
    response, shown = _trial(admin, json.dumps(KEYCLOAK_CLAIMS))
    assert response.status_code == 200 and shown["groups"] == "—"
    assert shown["problem"].startswith("The path $.payload['cognito:groups'] finds nothing")
    # A path that finds something other than names.
    for path, kind in [
        ("$.payload.email_verified", "a boolean"),
        ("$.payload.realm_access", "an object"),
        ("$.payload.empty", "an empty list"),
    ]:
        response, shown = _trial(admin, json.dumps({**KEYCLOAK_CLAIMS, "empty": []}), json_path=path)
        assert response.status_code == 200 and shown["problem"].startswith(f"The path finds {kind} but no group name"), path
    assert _count(app, RoleMappingSettings) == 0 and _audit(app) == []


@pytest.mark.parametrize(
    "sample",
    ["", "not a token", "a.b", "x.!!!.y", "[1, 2]", "{not json", '{"a": ' * 10_000, '{"a": ' + "1" * 5000 + "}", _jwt([1]), _jwt("x")],
)
def test_trying_the_mapping_on_garbage_names_the_field(app, admin, sample):
    response, _ = _trial(admin, sample)
    assert response.status_code == 400 and _field_errors(response) == {"sample"}


def test_trying_the_mapping_on_deep_claims(app, admin):
    def nested(levels: int) -> str:
        """Claims ``levels`` deep, counting the list of groups at the bottom (written out: json.dumps
        itself recurses)."""
        return '{"x": ' * (levels - 2) + '{"cognito:groups": ["ClickstreamAnalyst"]}' + "}" * (levels - 2)

    response, shown = _trial(admin, nested(32), json_path="$..['cognito:groups']")
    assert response.status_code == 200 and shown["groups"] == "ClickstreamAnalyst"
    # Deeper than any ID token; near Python's recursion limit the page could not even show it.
    for levels in (33, 980, 5000):
        response, _ = _trial(admin, nested(levels), json_path="$.payload")
        assert response.status_code == 400 and _field_errors(response) == {"sample"}


@pytest.mark.parametrize(
    "path", ["/system/users/999999", "/system/users/abc", "/system/users/-1", "/system/users/99999999999999999999", "/system/users/1.5"]
)
def test_unknown_user_ids_are_not_found(app, admin, path):
    assert admin.get(path).status_code == 404
    for action, data in [("roles", {"roles": ["Analyst"]}), ("use-mapping", {}), ("remove", {"confirm": "yes"})]:
        assert _post(admin, f"{path}/{action}", data).status_code == 404
    assert _count(app, User) == 1 and _audit(app) == []


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"email": ""}, {"email"}),
        ({"email": "not an address"}, {"email"}),
        ({"email": "a\x00b@example.com"}, {"email"}),
        ({"email": "a" * 400 + "@example.com"}, {"email"}),
        ({"display_name": "x" * 201}, {"display_name"}),
        ({"display_name": "line\nbreak"}, {"display_name"}),
        ({"roles": ["Administrator", "Superuser"]}, {"roles"}),
        ({"roles_from": "anywhere"}, {"roles_from"}),
        ({"password": "short"}, {"password"}),
        ({"password": "p" * 1025}, {"password"}),
        ({"email": "bad", "display_name": "\x07", "password": "short"}, {"email", "display_name", "password"}),
    ],
)
def test_bad_user_fields_are_named_and_change_nothing(app, admin, fields, problems):
    response = _post(admin, "/system/users", {"email": "new@example.com", **fields, "unknown_field": "ignored"})
    assert response.status_code == 400 and _field_errors(response) == problems
    assert 'data-testid="problems"' in response.get_data(as_text=True)
    assert _count(app, User) == 1 and _audit(app) == []


def test_oversize_and_undecodable_forms(app, admin):
    assert _post(admin, "/system/users", {"email": "a" * 2_000_000}).status_code == 413
    garbage = admin.post("/system/settings", data=b"\xff\xfe\x00garbage=%%%", content_type="application/x-www-form-urlencoded")
    assert garbage.status_code == 400
    too_many_groups = _post(admin, "/system/settings", _settings(operator_groups="g," * 3000))
    assert too_many_groups.status_code == 400 and _field_errors(too_many_groups) == {"operator_groups"}
    assert _count(app, User) == 1 and _count(app, RoleMappingSettings) == 0


def test_changes_without_the_csrf_token_are_refused(app, admin):
    user_id = add_user(app, "ana@example.com", [Role.ANALYST])
    for path, data in [
        ("/system/users", {"email": "x@example.com", "roles": ["Administrator"]}),
        (f"/system/users/{user_id}/roles", {"roles": ["Administrator"]}),
        (f"/system/users/{user_id}/use-mapping", {}),
        (f"/system/users/{user_id}/remove", {"confirm": "yes"}),
        ("/system/settings", _settings(json_path=KEYCLOAK_PATH)),
        ("/system/settings/test", {**_settings(), "sample": "{}"}),
    ]:
        assert admin.post(path, data=data).status_code == 400, path
        assert admin.post(path, data={**data, "csrf_token": "forged"}).status_code == 400, path
    assert _count(app, User) == 2 and _user(app, "ana@example.com").roles[0].role == "Analyst"
    assert _count(app, RoleMappingSettings) == 0 and _audit(app) == []


def test_every_change_is_on_the_audit_page(app, admin):
    add_user(app, "ops@example.com", [Role.OPERATOR])
    assert _post(admin, "/system/users", {"email": "ana@example.com", "roles": ["Analyst"], "password": NEW_PASSWORD}).status_code == 302
    ana_id = _user(app, "ana@example.com").id
    assert _post(admin, f"/system/users/{ana_id}/roles", {"roles": ["Analyst Reader"]}).status_code == 302
    assert _post(admin, f"/system/users/{ana_id}/use-mapping").status_code == 302
    assert _post(admin, f"/system/users/{ana_id}/remove", {"confirm": "yes"}).status_code == 302
    assert _post(admin, "/system/settings", _settings(operator_groups="Ops, Operators")).status_code == 302
    stored, mapped = {"roles": ["Analyst Reader"], "source": "stored"}, {"roles": [], "source": "mapping"}
    assert _audit(app) == [
        ("user.add", "ana@example.com", {"new": {"roles": ["Analyst"], "source": "stored"}, "local_sign_in": True}),
        ("user.roles", "ana@example.com", {"old": {"roles": ["Analyst"], "source": "stored"}, "new": stored}),
        ("user.use_mapping", "ana@example.com", {"old": stored, "new": mapped}),
        ("user.remove", "ana@example.com", {"old": mapped}),
        ("settings.role_mapping", "role mapping", {"old": _settings(), "new": _settings(operator_groups="Ops, Operators")}),
    ]
    page = admin.get("/system/audit")
    text = html.unescape(page.get_data(as_text=True))
    actions = re.findall(r'data-testid="audit-row" data-action="([^"]+)"', text)
    assert actions == ["settings.role_mapping", "user.remove", "user.use_mapping", "user.roles", "user.add"]  # newest first
    assert text.count("<td>admin@example.com</td>") == 5
    assert '"operator_groups": "Ops, Operators"' in text and '"source": "stored"' in text
    assert PASSWORD not in text and NEW_PASSWORD not in text
    ops = _signed_in_as(app, "ops@example.com")
    for path in ("/system/audit", "/system/users", "/system/settings"):
        assert ops.get(path).status_code == 403


def test_the_audit_log_is_paged_newest_first(app, admin):
    with _session(app) as session:
        session.add_all(AuditEntry(actor=ADMIN, action="test.entry", target=f"entry {number}") for number in range(1, 151))
        session.commit()

    def targets(page: str) -> list[str]:
        response = admin.get(f"/system/audit?page={page}")
        assert response.status_code == 200
        return re.findall(r"<td>(entry \d+)</td>", response.get_data(as_text=True))

    first = targets("1")
    assert len(first) == 100 and first[0] == "entry 150" and first[-1] == "entry 51"
    assert targets("2") == [f"entry {number}" for number in range(50, 0, -1)]
    assert targets("7") == targets("2"), "past the end: the last page"
    assert 'rel="next"' in admin.get("/system/audit").get_data(as_text=True)
    for bad in ("0", "-1", "abc", "1.5", "9" * 5000, "", "١"):
        assert admin.get("/system/audit", query_string={"page": bad}).status_code == 400, bad
