"""OpenID Connect login (clickstream_console/identity/oidc.py).

The flow runs against a real provider (npm oidc-provider, tests/console/oidc_fixture.py) walked by
an HTTP client; the ID token checks are fed tokens crafted here with keys made here; discovery and
key rotation are served by a small JSON server whose documents a test sets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from clickstream_console.identity.oidc import (
    OidcClient,
    OidcClientSettings,
    OidcError,
    UnknownSigningKeyError,
    signing_algorithms,
    validate_id_token,
)
from tests.console.oidc_fixture import (
    CALLBACK_URL,
    CONSOLE_CLIENT,
    PUBLIC_CLIENT,
    SIGNED_OUT_URL,
    OidcTestProvider,
    RegisteredClient,
)


def client_for(provider: OidcTestProvider, registered: RegisteredClient = CONSOLE_CLIENT, **overrides: Any) -> OidcClient:
    settings = OidcClientSettings(
        issuer=provider.issuer, client_id=registered.client_id, client_secret=registered.client_secret, redirect_uri=CALLBACK_URL
    )
    return OidcClient(settings, **overrides)


def callback_args(url: str) -> dict[str, str]:
    assert url.startswith(CALLBACK_URL + "?"), url
    return dict(parse_qsl(urlsplit(url).query))


# --- The flow against the real provider -------------------------------------------------------


def test_login_with_a_confidential_client_gives_the_cognito_shaped_claims(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    url, pending = oidc.begin()
    sent = parse_qs(urlsplit(url).query)
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["state"] == [pending["state"]] and sent["nonce"] == [pending["nonce"]]
    assert pending["code_verifier"] not in url
    json.dumps(pending)  # the caller keeps it in a cookie session

    login = oidc.finish(pending, callback_args(oidc_provider.login_with_http(requests.Session(), url, "ana")))

    assert login.claims["sub"] == "ana"
    assert login.claims["email"] == "ana@example.com"
    assert login.claims["cognito:groups"] == ["ClickstreamAnalyst"]
    assert login.claims["nonce"] == pending["nonce"]
    assert jwt.decode(login.id_token, oidc._signing_keys(oidc.metadata())).claims == login.claims


def test_login_with_a_public_client_gives_the_keycloak_shaped_claims(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider, PUBLIC_CLIENT)
    url, pending = oidc.begin()

    login = oidc.finish(pending, callback_args(oidc_provider.login_with_http(requests.Session(), url, "kai")))

    assert login.claims["sub"] == "kai"
    assert login.claims["realm_access"] == {"roles": ["ClickstreamOperator", "offline_access"]}


def test_the_code_is_bound_to_the_login_s_pkce_verifier(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    url, pending = oidc.begin()
    args = callback_args(oidc_provider.login_with_http(requests.Session(), url, "ana"))

    with pytest.raises(OidcError, match=r"token endpoint refused the code: invalid_grant"):
        oidc.finish(pending | {"code_verifier": "x" * 64}, args)


def test_a_user_who_declines_gets_the_provider_s_reason(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    url, pending = oidc.begin()
    args = callback_args(oidc_provider.abort_with_http(requests.Session(), url))

    with pytest.raises(OidcError, match=r"refused the login: access_denied \(End-User aborted interaction\)"):
        oidc.finish(pending, args)


def test_a_callback_for_another_login_is_refused(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    url, _ = oidc.begin()
    args = callback_args(oidc_provider.login_with_http(requests.Session(), url, "ana"))
    _, this_browsers_pending = oidc.begin()

    with pytest.raises(OidcError, match="state does not match"):
        oidc.finish(this_browsers_pending, args)
    with pytest.raises(OidcError, match="state does not match"):
        oidc.finish(this_browsers_pending, args | {"state": "ßtate"})
    with pytest.raises(OidcError, match="no login is in progress"):
        oidc.finish(None, args)


def test_a_login_brought_back_too_late_is_refused(oidc_provider: OidcTestProvider) -> None:
    now = [1_800_000_000.0]
    oidc = client_for(oidc_provider, clock=lambda: now[0])
    url, pending = oidc.begin()
    args = callback_args(oidc_provider.login_with_http(requests.Session(), url, "ana"))
    now[0] += 601

    with pytest.raises(OidcError, match="the login took 601 s, more than 600 s"):
        oidc.finish(pending, args)


def test_a_response_naming_another_issuer_is_refused(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    url, pending = oidc.begin()
    args = callback_args(oidc_provider.login_with_http(requests.Session(), url, "ana"))
    assert args["iss"] == oidc_provider.issuer  # the provider names itself (RFC 9207)

    with pytest.raises(OidcError, match="comes from issuer 'https://evil.example'"):
        oidc.finish(pending, args | {"iss": "https://evil.example"})


def test_logout_ends_the_provider_s_session_and_comes_back(oidc_provider: OidcTestProvider) -> None:
    oidc = client_for(oidc_provider)
    browser = requests.Session()
    url, pending = oidc.begin()
    login = oidc.finish(pending, callback_args(oidc_provider.login_with_http(browser, url, "ana")))

    logout = oidc.logout_url(login.id_token, SIGNED_OUT_URL)

    assert logout is not None and logout.startswith(f"{oidc_provider.issuer}/session/end?")
    assert parse_qs(urlsplit(logout).query) == {
        "client_id": ["console"],
        "post_logout_redirect_uri": [SIGNED_OUT_URL],
        "id_token_hint": [login.id_token],
    }
    assert oidc_provider.logout_with_http(browser, logout) == SIGNED_OUT_URL
    # Signed out at the provider: the next login asks for the account again.
    url, pending = oidc.begin()
    assert oidc.finish(pending, callback_args(oidc_provider.login_with_http(browser, url, "kai"))).claims["sub"] == "kai"


def test_logout_at_cognito_s_hosted_ui_uses_its_parameters(oidc_provider: OidcTestProvider) -> None:
    cognito = "https://console-auth.auth.eu-west-1.amazoncognito.com/logout"
    settings = OidcClientSettings(issuer=oidc_provider.issuer, client_id="app-client", redirect_uri=CALLBACK_URL, logout_endpoint=cognito)

    url = OidcClient(settings).logout_url("the.id.token", SIGNED_OUT_URL)

    assert url == f"{cognito}?client_id=app-client&logout_uri=http%3A%2F%2Flocalhost%2Flogin"


# --- ID token checks on crafted tokens --------------------------------------------------------

NOW = 1_800_000_000
ISSUER = "https://idp.example/realms/clickstream"
CLIENT_ID = "console"
NONCE = "n-0S6_WzA2Mj"
PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256"})
# An attacker's key under the provider's key id.
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256"})
PROVIDER_JWKS = KeySet([RSAKey.import_key(PROVIDER_KEY.as_dict(private=False))])


def claims(**changes: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "sub": "ana", "aud": CLIENT_ID, "exp": NOW + 300, "iat": NOW - 5, "nonce": NONCE}
    return {name: value for name, value in (base | changes).items() if value is not None}


def signed(payload: dict[str, Any], key: RSAKey = PROVIDER_KEY, kid: str = "key-1") -> str:
    return jwt.encode({"alg": "RS256", "kid": kid}, payload, key)


def hand_made(header: dict[str, Any], payload: dict[str, Any], signature: Any = b"") -> str:
    """A token put together byte by byte, as an attacker would; ``signature`` may sign its input."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(signature(signing_input.encode()) if callable(signature) else signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def validate(raw: str, algorithms: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    arguments = dict(
        keys=PROVIDER_JWKS, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE, algorithms=algorithms or ["RS256"], now=NOW, leeway=60
    )
    return validate_id_token(raw, **(arguments | changes))


def test_a_good_token_gives_its_claims() -> None:
    assert validate(signed(claims(email="ana@example.com")))["email"] == "ana@example.com"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (signed(claims(), key=OTHER_KEY), "ID token signature does not verify with the provider's key 'key-1'"),
        (
            signed(claims(iss="https://evil.example")),
            "ID token issuer 'https://evil.example' is not the configured issuer 'https://idp.example/realms/clickstream'",
        ),
        (signed(claims(aud="someone-else")), "ID token audience 'someone-else' does not include this client 'console'"),
        (signed(claims(aud=["someone-else", CLIENT_ID])), r"ID token was issued to None \(azp\), not to this client 'console'"),
        (signed(claims(aud=[CLIENT_ID, "api"], azp="api")), r"ID token was issued to 'api' \(azp\), not to this client 'console'"),
        (signed(claims(nonce="another-login")), "ID token nonce does not match this login's"),
        (signed(claims(nonce=None)), "ID token nonce does not match this login's"),
        (signed(claims(nonce="nöñce")), "ID token nonce does not match this login's"),
        (signed(claims(exp=NOW - 61)), "ID token expired 61 s ago"),
        (signed(claims(exp=None)), "ID token has no valid exp claim"),
        (signed(claims(exp="tomorrow")), "ID token has no valid exp claim"),
        (signed(claims(iat=NOW + 61)), r"ID token is issued 61 s in the future \(check the clocks\)"),
        (signed(claims(nbf=NOW + 61)), "ID token is not valid before 1800000061"),
        (signed(claims(sub=None)), r"ID token has no subject \(sub\)"),
        (signed(claims(), kid="key-2"), "ID token key id 'key-2' is not among the provider's signing keys"),
        ("not-a-jwt", "ID token is not a signed JWT"),
    ],
    ids=[
        "other-key",
        "issuer",
        "audience",
        "several-audiences-no-azp",
        "azp-other-client",
        "nonce",
        "no-nonce",
        "non-ascii-nonce",
        "expired",
        "no-exp",
        "exp-not-a-number",
        "issued-in-future",
        "not-yet-valid",
        "no-sub",
        "unknown-kid",
        "garbage",
    ],
)
def test_a_bad_token_is_refused_saying_why(token: str, reason: str) -> None:
    with pytest.raises(OidcError, match=reason):
        validate(token)


def test_times_are_checked_with_the_leeway() -> None:
    assert validate(signed(claims(exp=NOW - 59, iat=NOW + 59, nbf=NOW + 59)))["sub"] == "ana"


def test_several_audiences_are_accepted_when_the_token_was_issued_to_this_client() -> None:
    assert validate(signed(claims(aud=[CLIENT_ID, "api"], azp=CLIENT_ID)))["azp"] == CLIENT_ID


def test_an_unsigned_token_is_refused_even_if_none_is_announced() -> None:
    unsigned = hand_made({"alg": "none", "kid": "key-1"}, claims())

    with pytest.raises(OidcError, match=r"ID token is unsigned \(alg 'none'\)"):
        validate(unsigned, algorithms=["RS256", "none"])


def test_a_token_hmac_signed_with_the_provider_s_public_key_is_refused() -> None:
    public_pem = PROVIDER_KEY.as_pem(private=False)
    forged = hand_made({"alg": "HS256", "kid": "key-1"}, claims(), lambda data: hmac.new(public_pem, data, hashlib.sha256).digest())

    with pytest.raises(OidcError, match=r"ID token algorithm 'HS256' is not allowed \(allowed: RS256\)"):
        validate(forged)
    # Even allowed by mistake, the JOSE layer does not take an RSA key as an HMAC secret.
    with pytest.raises(OidcError, match="ID token cannot be verified"):
        validate(forged, algorithms=["RS256", "HS256"])


def test_the_allowed_algorithms_are_the_announced_ones_without_none_and_hmac() -> None:
    assert signing_algorithms({"id_token_signing_alg_values_supported": ["RS256", "HS256", "none", "ES256", "HS512"]}) == ["RS256", "ES256"]
    assert signing_algorithms({}) == ["RS256"]


# --- Discovery and signing keys, served by a JSON server the test sets ------------------------


class JsonServer:
    """Serves ``documents`` (path → JSON) on a loopback port and counts the requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                body = json.dumps(server.documents[self.path]).encode() if self.path in server.documents else b"{}"
                self.send_response(200 if self.path in server.documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> JsonServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


@pytest.fixture
def idp() -> Iterator[JsonServer]:
    with JsonServer() as server:
        server.documents["/.well-known/openid-configuration"] = {
            "issuer": server.url,
            "authorization_endpoint": f"{server.url}/authorize",
            "token_endpoint": f"{server.url}/token",
            "jwks_uri": f"{server.url}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        server.documents["/jwks"] = {"keys": [PROVIDER_KEY.as_dict(private=False)]}
        yield server


def client_of(idp: JsonServer, clock: list[float] | None = None, **settings: Any) -> OidcClient:
    now = clock or [float(NOW)]
    return OidcClient(OidcClientSettings(issuer=idp.url, client_id=CLIENT_ID, redirect_uri=CALLBACK_URL, **settings), clock=lambda: now[0])


def test_discovery_naming_another_issuer_is_refused(idp: JsonServer) -> None:
    idp.documents["/.well-known/openid-configuration"]["issuer"] = "https://idp.example"

    with pytest.raises(OidcError, match=f"names issuer 'https://idp.example', not the configured '{idp.url}'"):
        client_of(idp).begin()


def test_discovery_without_pkce_s256_is_refused(idp: JsonServer) -> None:
    idp.documents["/.well-known/openid-configuration"]["code_challenge_methods_supported"] = ["plain"]

    with pytest.raises(OidcError, match="does not support PKCE with S256"):
        client_of(idp).begin()


def test_discovery_is_read_once_per_hour(idp: JsonServer) -> None:
    clock = [float(NOW)]
    oidc = client_of(idp, clock)
    oidc.begin()
    oidc.begin()
    assert idp.hits["/.well-known/openid-configuration"] == 1

    clock[0] += 3601
    oidc.begin()
    assert idp.hits["/.well-known/openid-configuration"] == 2


def test_a_rotated_key_is_fetched_once(idp: JsonServer) -> None:
    oidc = client_of(idp)
    oidc.validate(signed(claims(iss=idp.url)), nonce=NONCE)
    new_key = RSAKey.generate_key(2048, parameters={"kid": "key-2", "alg": "RS256"})
    idp.documents["/jwks"] = {"keys": [PROVIDER_KEY.as_dict(private=False), new_key.as_dict(private=False)]}

    assert oidc.validate(signed(claims(iss=idp.url), key=new_key, kid="key-2"), nonce=NONCE)["sub"] == "ana"
    assert idp.hits["/jwks"] == 2
    oidc.validate(signed(claims(iss=idp.url), key=new_key, kid="key-2"), nonce=NONCE)
    assert idp.hits["/jwks"] == 2


def test_an_unknown_key_is_looked_for_once_then_refused(idp: JsonServer) -> None:
    oidc = client_of(idp)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger", "alg": "RS256"})

    with pytest.raises(UnknownSigningKeyError, match="key id 'stranger' is not among the provider's signing keys"):
        oidc.validate(signed(claims(iss=idp.url), key=stranger, kid="stranger"), nonce=NONCE)
    assert idp.hits["/jwks"] == 2


def test_a_provider_without_end_session_endpoint_has_no_logout_url(idp: JsonServer) -> None:
    assert client_of(idp).logout_url("the.id.token", SIGNED_OUT_URL) is None


def test_settings_refuse_a_confidential_method_without_a_secret() -> None:
    with pytest.raises(ValueError, match="client_secret_post' needs a client_secret"):
        OidcClientSettings(issuer=ISSUER, client_id=CLIENT_ID, redirect_uri=CALLBACK_URL, token_endpoint_auth_method="client_secret_post")
    with pytest.raises(ValueError, match="must include 'openid'"):
        OidcClientSettings(issuer=ISSUER, client_id=CLIENT_ID, redirect_uri=CALLBACK_URL, scopes="email profile")
