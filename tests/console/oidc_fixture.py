"""A real OpenID provider for the console tests: npm's oidc-provider (a certified OP) run by
tests/browser/oidc_provider.mjs on a free loopback port, with the clients and accounts a test
gives it; every claim of an account goes into its ID tokens.

Logging in walks the provider's development interactions (a login form taking any configured
account id and any password, then a consent form) with a requests session, up to the redirect
back to the client, whose URL is returned: the test hands it to the client under test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from clickstream_console.auth.provider import CALLBACK_PATH, SIGNED_OUT_PATH
from tests.conftest import free_port

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
PROVIDER_SCRIPT = BROWSER_DIR / "oidc_provider.mjs"
PROVIDER_PACKAGE = BROWSER_DIR / "node_modules" / "oidc-provider" / "package.json"
START_TIMEOUT_SECONDS = 30
# Authorization request → login form → consent form → back to the client takes 6 hops; more
# means the provider is looping on an interaction it did not accept.
MAX_HOPS = 12


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    redirect_uris: Sequence[str]
    client_secret: str | None = None
    post_logout_redirect_uris: Sequence[str] = ()

    def as_registration(self) -> dict[str, Any]:
        registration: dict[str, Any] = {"client_id": self.client_id, "redirect_uris": list(self.redirect_uris)}
        if self.client_secret:
            registration["client_secret"] = self.client_secret
        if self.post_logout_redirect_uris:
            registration["post_logout_redirect_uris"] = list(self.post_logout_redirect_uris)
        return registration


@dataclass
class OidcTestProvider:
    issuer: str
    log_file: Path
    clients: Sequence[RegisteredClient] = field(default_factory=tuple)

    def login_with_http(self, session: requests.Session, authorization_url: str, account_id: str) -> str:
        """Sign ``account_id`` in and consent; returns the URL the provider sends the browser back to."""
        return self._walk(session, authorization_url, {"login": account_id, "password": "any password"})

    def abort_with_http(self, session: requests.Session, authorization_url: str) -> str:
        """Cancel at the login form (the user declines); returns the URL carrying the error."""
        return self._walk(session, authorization_url, None)

    def logout_with_http(self, session: requests.Session, logout_url: str) -> str:
        """Confirm the provider's sign-out page; returns the URL it sends the browser back to."""
        return self._walk(session, logout_url, {"logout": "yes"})

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _walk(self, session: requests.Session, url: str, answers: dict[str, str] | None) -> str:
        """Follows the provider's redirects and submits each of its forms with its hidden fields and
        ``answers`` (extra fields are ignored by the provider), or takes the abort link when None,
        until a redirect leaves the provider."""
        response = session.get(url, allow_redirects=False, timeout=10)
        for _ in range(MAX_HOPS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.issuer + "/"):
                    return location
                response = session.get(location, allow_redirects=False, timeout=10)
                continue
            page = _Page.parse(response)
            if answers is None:
                response = session.get(urljoin(response.url, page.link_containing("/abort")), allow_redirects=False, timeout=10)
            else:
                fields = dict(page.hidden_fields) | answers
                response = session.post(urljoin(response.url, page.form_action), data=fields, allow_redirects=False, timeout=10)
        raise AssertionError(f"the provider did not send the browser back after {MAX_HOPS} steps; last page:\n{response.text[:2000]}")


class _Page(HTMLParser):
    """The first form (action, hidden fields) and the links of a provider page."""

    def __init__(self) -> None:
        super().__init__()
        self.form_action: str | None = None
        self.hidden_fields: list[tuple[str, str]] = []
        self.links: list[str] = []
        self._in_first_form = False

    @classmethod
    def parse(cls, response: requests.Response) -> _Page:
        if response.status_code != 200:
            raise AssertionError(f"the provider answered {response.status_code} at {response.url}:\n{response.text[:2000]}")
        page = cls()
        page.feed(response.text)
        if page.form_action is None:
            raise AssertionError(f"no form on the provider's page {response.url}:\n{response.text[:2000]}")
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and self.form_action is None:
            self.form_action = attributes.get("action", "")
            self._in_first_form = True
        elif tag == "input" and self._in_first_form and "name" in attributes:
            if attributes.get("type") == "hidden":
                self.hidden_fields.append((attributes["name"], attributes.get("value", "")))
        elif tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_first_form = False

    def link_containing(self, fragment: str) -> str:
        for link in self.links:
            if fragment in link:
                return link
        raise AssertionError(f"no link containing {fragment!r} on the provider's page (links: {self.links})")


# The provider every console test shares: it knows the console as the Flask test client reaches it.
CONSOLE_URL = "http://localhost"
CALLBACK_URL = CONSOLE_URL + CALLBACK_PATH
SIGNED_OUT_URL = CONSOLE_URL + SIGNED_OUT_PATH
CONSOLE_CLIENT = RegisteredClient("console", [CALLBACK_URL], client_secret="console-secret", post_logout_redirect_uris=[SIGNED_OUT_URL])
PUBLIC_CLIENT = RegisteredClient("console-public", [CALLBACK_URL], post_logout_redirect_uris=[SIGNED_OUT_URL])
ACCOUNTS = [
    # ID tokens shaped like a Cognito user pool's ...
    {"sub": "ana", "email": "ana@example.com", "email_verified": True, "cognito:groups": ["ClickstreamAnalyst"]},
    {"sub": "ada", "email": "ada@example.com", "email_verified": True, "name": "Ada Admin", "cognito:groups": ["ClickstreamAdmin"]},
    {"sub": "olga", "email": "olga@example.com", "email_verified": True, "cognito:groups": ["ClickstreamAnalyst"]},
    # ... and like Keycloak's (identity-management.md's example).
    {
        "sub": "kai",
        "email": "kai@example.com",
        "preferred_username": "kai",
        "realm_access": {"roles": ["ClickstreamOperator", "offline_access"]},
    },
    # Tokens the console must not take as a user.
    {"sub": "nomail", "cognito:groups": ["ClickstreamAdmin"]},
    {"sub": "mallory", "email": "victim@example.com", "email_verified": False, "cognito:groups": ["ClickstreamAdmin"]},
]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcTestProvider]:
    """oidc-provider for the whole run, with CONSOLE_CLIENT, PUBLIC_CLIENT and ACCOUNTS."""
    with running_provider(tmp_path_factory.mktemp("oidc-provider"), [CONSOLE_CLIENT, PUBLIC_CLIENT], ACCOUNTS) as provider:
        yield provider


def require_node() -> str:
    """The node binary; fails saying what to install (CI must not skip the sign-in tests)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the OpenID provider of these tests runs on Node.js 20+", pytrace=False)
    if not PROVIDER_PACKAGE.exists():
        pytest.fail(f"{PROVIDER_PACKAGE.parent} is missing: run ./dev.sh setup (npm ci in tests/browser)", pytrace=False)
    return node


@contextmanager
def running_provider(
    workdir: Path, clients: Sequence[RegisteredClient], accounts: Sequence[Mapping[str, Any]]
) -> Iterator[OidcTestProvider]:
    """oidc-provider on a free loopback port, serving ``clients`` and ``accounts`` until the block ends."""
    node = require_node()
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "oidc-provider.json"
    config_file.write_text(json.dumps({"clients": [client.as_registration() for client in clients], "accounts": list(accounts)}))
    port = free_port()
    provider = OidcTestProvider(issuer=f"http://127.0.0.1:{port}", log_file=workdir / "oidc-provider.log", clients=tuple(clients))
    with provider.log_file.open("wb") as log:
        process = subprocess.Popen(
            [node, str(PROVIDER_SCRIPT), str(port), str(config_file)], stdout=log, stderr=subprocess.STDOUT, cwd=BROWSER_DIR
        )
    try:
        _wait_for_discovery(provider, process)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_discovery(provider: OidcTestProvider, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"oidc-provider exited with {process.returncode}:\n{provider.log_text()}")
        try:
            if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    pytest.fail(f"oidc-provider not serving discovery after {START_TIMEOUT_SECONDS} s:\n{provider.log_text()}")
