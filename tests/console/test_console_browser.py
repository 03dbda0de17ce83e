"""The console in headless Chromium, served by `clickstream console` as people run it: signing in
through the real form, what the pages show, and no errors in the browser's console (a CSP
violation, a missing file or a script error would show there)."""

from __future__ import annotations

import pytest

from clickstream_console.identity.roles import Feature, Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps
from tests.console.console_helpers import PASSWORD, add_user, console_app, write_project


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("console")
    project_file = write_project(directory)
    app = console_app(project_file)  # migrates the database the server will use
    add_user(app, "admin@example.com", [Role.ADMINISTRATOR])
    add_user(app, "newcomer@example.com", [])
    with running_console(project_file, directory / "console.log") as url:
        yield url


def test_sign_in_and_out_in_the_browser(console, tmp_path):
    shots = screenshot_dir(tmp_path)
    run = browse(
        console,
        [
            {"goto": "/"},
            {"url": "signed_out"},
            {"screenshot": "console-login"},
            *local_sign_in_steps("admin@example.com", "not the password"),
            {"capture": "error", "selector": "[data-testid=login-error]"},
            *local_sign_in_steps("admin@example.com", PASSWORD),
            {"capture": "viewer", "selector": "[data-testid=viewer]"},
            {"capture": "roles", "selector": "[data-testid=viewer-roles]"},
            {"url": "landing"},
            {"capture": "features", "selector": "[data-testid=feature-row] td:first-child"},
            {"screenshot": "console-landing"},
            *sign_out_steps(),
            {"url": "after_sign_out"},
            {"goto": "/"},
            {"url": "after_sign_out_home"},
        ],
        shots,
    )
    run.assert_clean(expected_statuses=(401,))
    assert run.urls["signed_out"] == f"{console}/login?next=/"
    assert run.captures["error"] == ["Wrong email or password."]
    assert run.captures["viewer"] == ["admin@example.com"] and run.captures["roles"] == ["Administrator"]
    assert run.urls["landing"] == f"{console}/"
    assert run.captures["features"] == [str(feature) for feature in Feature], "an Administrator may use every feature"
    assert run.urls["after_sign_out_home"].startswith(f"{console}/login")


def test_a_user_without_a_role_sees_only_no_access(console, tmp_path):
    run = browse(
        console,
        [
            *local_sign_in_steps("newcomer@example.com", PASSWORD),
            {"url": "landing"},
            {"capture": "heading", "selector": "main h1"},
            {"capture": "menu", "selector": "nav.sidebar a"},
            {"screenshot": "console-no-access"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    assert run.urls["landing"] == f"{console}/no-access"
    assert run.captures["heading"] == ["No access"] and run.captures["menu"] == []
