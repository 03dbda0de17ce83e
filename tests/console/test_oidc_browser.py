"""Signing in to the console through its OpenID provider in headless Chromium: the console served
over real HTTP, the provider (oidc-provider) beside it, a person's clicks driven by
tests/browser/console_login.mjs. The landing page is screenshotted and must log no error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from clickstream_console.auth.provider import CALLBACK_PATH, SIGNED_OUT_PATH
from tests.console.console_helpers import closed_port, console_app, write_project
from tests.console.oidc_fixture import ACCOUNTS, BROWSER_DIR, RegisteredClient, require_node, running_provider

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
DRIVER_TIMEOUT_MS = 20_000
SECRET_VARIABLE = "CLICKSTREAM_TEST_OIDC_SECRET"


def test_sign_in_through_the_provider_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = require_node()
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: run ./dev.sh setup")
    # The console's port is chosen first: the provider registers its redirect URI.
    console_url = f"http://127.0.0.1:{closed_port()}"
    client = RegisteredClient("console", [console_url + CALLBACK_PATH], "browser-secret", [console_url + SIGNED_OUT_PATH])
    monkeypatch.setenv(SECRET_VARIABLE, client.client_secret)
    with running_provider(tmp_path / "provider", [client], ACCOUNTS) as provider:
        oidc = {"issuer": provider.issuer, "client_id": client.client_id, "client_secret_env": SECRET_VARIABLE, "display_name": "Test SSO"}
        console = {"dagster_url": f"http://127.0.0.1:{closed_port()}", "public_url": console_url, "oidc": oidc}
        app = console_app(write_project(tmp_path, console=console))
        with _serving(app, console_url):
            report = _drive(node, console_url, "ada", tmp_path / "landing.png")

    assert report["providerLoginUrl"].startswith(provider.issuer + "/interaction/")
    landing = report["landing"]
    assert landing["url"].startswith(console_url + "/"), landing
    assert (landing["viewer"], landing["roles"]) == ("Ada Admin", "Administrator")
    assert (tmp_path / "landing.png").stat().st_size > 0
    # Sign-out went on to the provider (the page's form-action allows its origin).
    assert report["signOutUrl"].startswith(provider.issuer + "/session/end"), report["messages"]
    on_console = [message for message in report["messages"] if message["page"].startswith(console_url) and message["type"] != "log"]
    assert on_console == [], on_console


@contextmanager
def _serving(app: Flask, url: str) -> Iterator[None]:
    """The app served by werkzeug on ``url``'s port until the block ends."""
    server = make_server("127.0.0.1", int(url.rsplit(":", 1)[1]), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _drive(node: str, console_url: str, account: str, screenshot: Path) -> dict[str, Any]:
    settings = {
        "chromium": str(CHROMIUM),
        "consoleUrl": console_url,
        "account": account,
        "screenshot": str(screenshot),
        "timeoutMs": DRIVER_TIMEOUT_MS,
    }
    # Its own process group: if the driver hangs, Chromium's processes go down with it.
    driver = subprocess.Popen(
        [node, "console_login.mjs", json.dumps(settings)],
        cwd=BROWSER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = driver.communicate(timeout=DRIVER_TIMEOUT_MS / 1000 * 4 + 30)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        stdout, stderr = driver.communicate()
        pytest.fail(f"the browser driver hung:\n{stderr}")
    if driver.returncode != 0:
        pytest.fail(f"the browser driver failed ({driver.returncode}):\n{stderr}")
    return json.loads(stdout)
