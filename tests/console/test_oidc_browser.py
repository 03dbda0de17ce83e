"""Signing in to the console through its OpenID provider in headless Chromium: `clickstream
console` serving the project, the provider (oidc-provider) beside it, a person's clicks through
the provider's login and consent forms. The landing page is screenshotted; no console page may log
an error, and signing out goes on to the provider (the pages' form-action allows it)."""

from __future__ import annotations

from pathlib import Path

from clickstream_console.auth.provider import CALLBACK_PATH, SIGNED_OUT_PATH
from tests.conftest import free_port
from tests.console.console_browser import browse, running_console, screenshot_dir, sign_out_steps
from tests.console.console_helpers import write_project
from tests.console.oidc_fixture import ACCOUNTS, RegisteredClient, running_provider

SECRET_VARIABLE = "CLICKSTREAM_TEST_OIDC_SECRET"


def test_sign_in_through_the_provider_in_chromium(tmp_path: Path) -> None:
    # The console's port comes first: the provider registers the redirect URI on it.
    bind = f"127.0.0.1:{free_port()}"
    console_url = f"http://{bind}"
    client = RegisteredClient("console", [console_url + CALLBACK_PATH], "browser-secret", [console_url + SIGNED_OUT_PATH])
    with running_provider(tmp_path / "provider", [client], ACCOUNTS) as provider:
        oidc = {"issuer": provider.issuer, "client_id": client.client_id, "client_secret_env": SECRET_VARIABLE, "display_name": "Test SSO"}
        console = {"bind": bind, "dagster_url": f"http://127.0.0.1:{free_port()}", "oidc": oidc}
        project_file = write_project(tmp_path, console=console)
        env = {SECRET_VARIABLE: client.client_secret}
        with running_console(project_file, tmp_path / "console.log", env=env, bind=bind):
            run = browse(
                console_url,
                [
                    {"goto": "/login"},
                    {"click": "[data-testid=oidc-login]", "navigate": True},
                    {"url": "provider_login"},
                    {"fill": "input[name=login]", "value": "ada"},
                    {"fill": "input[name=password]", "value": "any password"},
                    {"click": "button[type=submit]", "navigate": True},
                    # Consent, then back through the console's callback to its landing page.
                    {"click": "button[type=submit]", "navigate": True},
                    {"url": "landing"},
                    {"capture": "viewer", "selector": "[data-testid=viewer]"},
                    {"capture": "roles", "selector": "[data-testid=viewer-roles]"},
                    {"screenshot": "console-oidc-landing"},
                    *sign_out_steps(),
                    {"url": "after_sign_out"},
                ],
                screenshot_dir(tmp_path),
            )

    assert run.failed_step is None, run.failed_step
    assert run.urls["provider_login"].startswith(provider.issuer + "/interaction/")
    assert run.urls["landing"].startswith(console_url + "/")
    assert run.captures["viewer"] == ["Ada Admin"] and run.captures["roles"] == ["Administrator"]
    assert run.urls["after_sign_out"].startswith(provider.issuer + "/session/end"), run.console_errors
    # The provider's own pages import a web font the sandbox cannot fetch: only the console's count.
    assert [error for error in run.console_errors if error["url"].startswith(console_url)] == []
    assert [error for error in run.page_errors if error["url"].startswith(console_url)] == []
    assert [request for request in run.failed_requests if request["url"].startswith(console_url)] == []
    assert Path(run.screenshots[0]).stat().st_size > 0
