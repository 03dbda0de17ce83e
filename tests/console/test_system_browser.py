"""System → Users, Settings and Audit log in headless Chromium, served by `clickstream console`:
adding a user through the form (a refusal first) and storing their roles, the last Administrator
kept, the role mapping tried on a Keycloak token and saved, the audit log — what each page shows,
and no errors in the browser's console."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from clickstream_console.audit import MASK
from clickstream_console.db.models import AuditEntry
from clickstream_console.identity.roles import Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app, console_state_of, write_project

ADMIN = "admin@example.com"
KEYCLOAK_CLAIMS = {"sub": "kc-1", "email": "kc@example.com", "realm_access": {"roles": ["role1", "role2", "offline_access"]}}


@pytest.fixture
def console(tmp_path):
    """A console of the test's own: the tests change users and the mapping."""
    directory = tmp_path / "console"
    directory.mkdir()
    project_file = write_project(directory)
    app = console_app(project_file)  # migrates the database the server will use
    add_user(app, ADMIN, [Role.ADMINISTRATOR])
    add_user(app, "cognito@example.com", None, password=False, claims={"sub": "c-1", "cognito:groups": ["ClickstreamOperator"]})
    add_user(app, "kc@example.com", None, password=False, claims=KEYCLOAK_CLAIMS)
    with running_console(project_file, directory / "console.log") as url:
        yield url, app


def test_the_users_page_in_the_browser(console, tmp_path):
    url, _ = console
    run = browse(
        url,
        [
            *local_sign_in_steps(ADMIN, PASSWORD),
            {"goto": "/system/users"},
            {"capture": "emails", "selector": "[data-testid=user-row] td:first-child"},
            {"capture": "roles", "selector": "[data-testid=user-row] [data-testid=roles]"},
            {"capture": "groups", "selector": "[data-testid=user-row] [data-testid=groups]"},
            {"capture": "menu", "selector": "nav.sidebar a"},
            {"screenshot": "system-users"},
            # The address is taken (in another case): refused, the form keeps what was typed.
            {"fill": "input[name=email]", "value": "Cognito@Example.com"},
            {"check": "input[name=roles][value=Analyst]"},
            {"click": "[data-testid=add-user] button[type=submit]", "navigate": True},
            {"capture": "refused", "selector": ".field-error"},
            {"screenshot": "system-users-refused"},
            {"fill": "input[name=email]", "value": "ana@example.com"},
            {"fill": "input[name=display_name]", "value": "Ana Lyst"},
            {"check": "input[name=roles][value='Analyst Reader']"},
            {"fill": "input[name=password]", "value": "a long initial password"},
            {"click": "[data-testid=add-user] button[type=submit]", "navigate": True},
            {"url": "added"},
            {"capture": "flash", "selector": "p.flash"},
            {"capture": "added_roles", "selector": "[data-testid=roles]"},
            {"uncheck": "input[name=roles][value='Analyst Reader']"},
            {"click": "form[action$='/roles'] button[type=submit]", "navigate": True},
            {"capture": "stored_roles", "selector": "[data-testid=roles]"},
            {"screenshot": "system-user"},
            # The only Administrator may not give up the role.
            {"goto": "/system/users/1"},
            {"uncheck": "input[name=roles][value=Administrator]"},
            {"check": "input[name=roles][value=Operator]"},
            {"click": "form[action$='/roles'] button[type=submit]", "navigate": True},
            {"capture": "refusal", "selector": "[data-testid=refusal]"},
            {"capture": "own_roles", "selector": "[data-testid=roles]"},
            {"screenshot": "system-user-last-administrator"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean(expected_statuses=(400, 409))
    assert run.captures["emails"] == [ADMIN, "cognito@example.com", "kc@example.com"]
    assert run.captures["roles"] == ["Administrator stored", "Operator from mapping", "no role from mapping"]
    assert run.captures["groups"] == ["—", "ClickstreamOperator", "—"]
    assert run.captures["menu"][-3:] == ["Users", "Settings", "Audit log"]
    assert run.captures["refused"] == ["a user 'cognito@example.com' already exists"]
    assert run.urls["added"].startswith(f"{url}/system/users/")
    assert run.captures["flash"] == ["Added ana@example.com."]
    assert run.captures["added_roles"] == ["Analyst Analyst Reader stored"]
    assert run.captures["stored_roles"] == ["Analyst stored"]
    assert run.captures["refusal"][0].startswith("You are the last Administrator")
    assert run.captures["own_roles"] == ["Administrator stored"]


def test_the_settings_page_in_the_browser(console, tmp_path):
    url, _ = console
    run = browse(
        url,
        [
            *local_sign_in_steps(ADMIN, PASSWORD),
            {"goto": "/system/settings"},
            {"capture": "saved_by", "selector": "[data-testid=saved-by]"},
            {"fill": "input[name=json_path]", "value": "$.payload.realm_access.roles"},
            {"fill": "input[name=analyst_groups]", "value": " role1, , Group2 ,"},
            {"fill": "textarea[name=sample]", "value": json.dumps(KEYCLOAK_CLAIMS)},
            {"click": "[data-testid=try-mapping]", "navigate": True},
            {"capture": "trial_groups", "selector": "[data-testid=trial-groups]"},
            {"capture": "trial_roles", "selector": "[data-testid=trial-roles]"},
            {"capture": "trial_unmapped", "selector": "[data-testid=trial-unmapped]"},
            {"screenshot": "system-settings-trial"},
            {"click": "[data-testid=mapping-form] button.primary", "navigate": True},
            {"capture": "flash", "selector": "p.flash"},
            {"capture": "analyst_groups", "selector": "input[name=analyst_groups]"},
            {"screenshot": "system-settings"},
            {"goto": "/system/users"},
            {"capture": "roles", "selector": "[data-testid=user-row] [data-testid=roles]"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    assert run.captures["saved_by"] == ["Not saved yet: the product's defaults (Cognito's groups) apply."]
    assert run.captures["trial_groups"] == ["offline_access, role1, role2"]
    assert run.captures["trial_roles"] == ["Analyst"]
    assert run.captures["trial_unmapped"] == ["offline_access, role2"]
    assert run.captures["flash"] == ["Saved the role mapping; it applies from every user's next request."]
    roles = dict(zip(["admin", "cognito", "kc"], run.captures["roles"][:3], strict=True))
    # The Cognito user's groups are no longer read; the Keycloak user's are.
    assert roles == {"admin": "Administrator stored", "cognito": "no role from mapping", "kc": "Analyst from mapping"}


def test_the_audit_log_in_the_browser(console, tmp_path):
    url, app = console
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        session.add(AuditEntry(actor="setup", action="test.entry", target="a target", detail={"token": MASK}, note="a note"))
        session.commit()
    run = browse(
        url,
        [
            *local_sign_in_steps(ADMIN, PASSWORD),
            {"goto": "/system/users/2"},
            {"check": "input[name=roles][value=Analyst]"},
            {"click": "form[action$='/roles'] button[type=submit]", "navigate": True},
            {"goto": "/system/audit"},
            {"capture": "actors", "selector": "[data-testid=audit-row] td:nth-child(2)"},
            {"capture": "actions", "selector": "[data-testid=audit-row] td:nth-child(3)"},
            {"capture": "targets", "selector": "[data-testid=audit-row] td:nth-child(4)"},
            {"capture": "details", "selector": "[data-testid=audit-row] td:nth-child(5)"},
            {"capture": "notes", "selector": "[data-testid=audit-row] td:nth-child(6)"},
            {"screenshot": "system-audit"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    assert run.captures["actors"] == [ADMIN, "setup"]  # newest first
    assert run.captures["actions"] == ["user.roles", "test.entry"]
    assert run.captures["targets"] == ["cognito@example.com", "a target"]
    assert [json.loads(detail) for detail in run.captures["details"]] == [
        {"old": {"roles": ["Operator"], "source": "mapping"}, "new": {"roles": ["Analyst", "Operator"], "source": "stored"}},
        {"token": MASK},
    ]
    assert run.captures["notes"] == ["", "a note"]
