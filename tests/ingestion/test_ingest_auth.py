"""Optional OIDC bearer tokens on the collect endpoint (ingestion.auth).

Keys are generated here; the JWKS is served over real HTTP by a local werkzeug server, so the
fetch, its caching and its failures are the ones production sees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from ingest_helpers import FakeClock
from werkzeug.serving import make_server

from ingestion import auth as auth_module
from ingestion.app import create_app
from ingestion.auth import UNKNOWN_KID_REFETCH_SECONDS

ISSUER = "https://id.example.test/realms/clickstream"
AUDIENCE = "clickstream-ingest"
EVENTS = [{"event_type": "_page_view", "event_id": "e-1"}]


class JwksServer:
    """Serves `self.jwks` at /jwks.json; `status` other than 200 simulates an IdP outage."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.status = 200
        self.hits = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _wsgi(self, environ, start_response):
        self.hits += 1
        body = json.dumps(self.jwks).encode()
        start_response(f"{self.status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def publish(self, *keys: dict[str, Any]) -> None:
        self.jwks = {"keys": list(keys)}

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()


class SigningKey:
    def __init__(self, private_key: Any, kid: str, alg: str) -> None:
        self.private_key = private_key
        self.kid = kid
        self.alg = alg

    def jwk(self, *, with_alg: bool = True) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if self.alg[:2] in ("RS", "PS") else jwt.algorithms.ECAlgorithm
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig"})
        if with_alg:
            jwk["alg"] = self.alg
        return jwk

    def token(self, claims: dict[str, Any] | None = None, *, alg: str | None = None, kid: str | bool | None = True, **changes: Any) -> str:
        headers = {} if kid is None else {"kid": self.kid if kid is True else kid}
        return jwt.encode({**(claims or valid_claims()), **changes}, self.private_key, algorithm=alg or self.alg, headers=headers)


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "android-sdk", "iat": now, "exp": now + 300, **changes}
    return {name: value for name, value in claims.items() if value is not None}


@pytest.fixture(scope="module")
def rsa_keys() -> list[Any]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="module")
def ec_private_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


class Idp:
    """The identity provider: its current key, its next one, and the JWKS it publishes."""

    def __init__(self, server: JwksServer, rsa_keys: list[Any], ec_private_key: Any) -> None:
        self.server = server
        self.url = server.url
        self.current = SigningKey(rsa_keys[0], "key-2024", "RS256")
        self.next = SigningKey(rsa_keys[1], "key-2025", "RS256")
        self.stranger = SigningKey(rsa_keys[2], "key-2024", "RS256")  # the current kid, another key
        self.ec = SigningKey(ec_private_key, "ec-1", "ES256")
        server.status = 200
        server.hits = 0
        self.publish(self.current.jwk())

    def publish(self, *keys: dict[str, Any]) -> None:
        self.server.publish(*keys)

    @property
    def hits(self) -> int:
        return self.server.hits

    @property
    def status(self) -> int:
        return self.server.status

    @status.setter
    def status(self, value: int) -> None:
        self.server.status = value

    @property
    def jwks(self) -> dict[str, Any]:
        return self.server.jwks

    @jwks.setter
    def jwks(self, value: dict[str, Any]) -> None:
        self.server.jwks = value


@pytest.fixture
def idp(jwks_server, rsa_keys, ec_private_key) -> Idp:
    return Idp(jwks_server, rsa_keys, ec_private_key)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(project_config, sink, idp, clock):
    def make(**auth_changes: Any):
        auth = {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_url": idp.url,
            "leeway_seconds": 60,
            "jwks_cache_seconds": 300,
            **auth_changes,
        }
        app = create_app(project_config, intake=sink, clock=clock, overrides={"auth": auth})
        app.testing = True
        return app.test_client()

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def post(client, token: str | None, app_id: str = "shop_web", **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(f"/collect?appId={app_id}", json=EVENTS, headers=headers)


def assert_unauthorized(response, reason: str) -> None:
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "unauthorized"
    assert reason in body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# Accepted ------------------------------------------------------------------------------------


def test_a_valid_token_is_accepted(client, idp, sink):
    response = post(client, idp.current.token())

    assert response.status_code == 200
    assert len(sink.records) == 1


def test_an_ec_key_works_too(make_client, idp):
    idp.publish(idp.current.jwk(), idp.ec.jwk())
    client = make_client(algorithms=["RS256", "ES256"])

    assert post(client, idp.ec.token()).status_code == 200
    assert post(client, idp.current.token()).status_code == 200


def test_a_key_without_alg_verifies_every_configured_algorithm_of_its_type(make_client, idp):
    idp.publish(idp.current.jwk(with_alg=False))
    client = make_client(algorithms=["RS256", "RS512"])

    assert post(client, idp.current.token(alg="RS512")).status_code == 200
    assert post(client, idp.current.token(alg="RS256")).status_code == 200


def test_a_token_without_kid_uses_the_only_key(client, idp):
    assert post(client, idp.current.token(kid=None)).status_code == 200


def test_an_audience_list_containing_ours_is_accepted(client, idp):
    assert post(client, idp.current.token(aud=["other", AUDIENCE])).status_code == 200


def test_clock_skew_within_the_leeway_is_tolerated(client, idp):
    now = int(time.time())

    assert post(client, idp.current.token(exp=now - 30)).status_code == 200
    assert post(client, idp.current.token(nbf=now + 30, iat=now + 30)).status_code == 200


def test_keys_are_fetched_once_and_cached(client, idp):
    for _ in range(5):
        assert post(client, idp.current.token()).status_code == 200

    assert idp.hits == 1


# Refused -------------------------------------------------------------------------------------


def test_a_missing_token_is_refused(client, sink):
    response = post(client, None)

    assert_unauthorized(response, "missing bearer token")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="clickstream"'  # RFC 6750 §3.1: no error code
    assert sink.records == []


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc", ""])
def test_other_authorization_headers_are_refused(client, header):
    response = client.post("/collect?appId=shop_web", json=EVENTS, headers={"Authorization": header})

    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_an_expired_token_is_refused(client, idp):
    now = int(time.time())

    response = post(client, idp.current.token(iat=now - 600, exp=now - 120))

    assert_unauthorized(response, "expired")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="clickstream", error="invalid_token"'


def test_a_token_not_valid_yet_is_refused(client, idp):
    assert_unauthorized(post(client, idp.current.token(nbf=int(time.time()) + 600)), "not valid yet")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "someone-else"}, "wrong audience"),
        ({"iss": "https://evil.example.test"}, "wrong issuer"),
        ({"exp": None}, "'exp' claim"),
        ({"aud": None}, "'aud' claim"),
        ({"iss": None}, "'iss' claim"),
    ],
)
def test_claims_must_match(client, idp, changes, reason):
    assert_unauthorized(post(client, idp.current.token(valid_claims(**changes))), reason)


def test_a_bad_signature_is_refused(client, idp, sink):
    forged = idp.stranger.token()  # the current kid, signed by another key
    header, _payload, signature = idp.current.token().split(".")
    tampered_payload = base64.urlsafe_b64encode(json.dumps(valid_claims(sub="admin")).encode()).rstrip(b"=").decode()

    assert_unauthorized(post(client, forged), "bad signature")
    assert_unauthorized(post(client, f"{header}.{tampered_payload}.{signature}"), "bad signature")
    assert sink.records == []


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.e30.", "....", "Ünïcode"])
def test_garbage_tokens_are_refused(client, token):
    assert_unauthorized(post(client, token), "")


def test_alg_none_is_refused(client, idp):
    unsigned = jwt.encode(valid_claims(), None, algorithm="none", headers={"kid": idp.current.kid})

    assert_unauthorized(post(client, unsigned), "'none' are not accepted")


def test_hs256_signed_with_the_public_key_is_refused(client, idp):
    """The classic confusion: the attacker knows the public key and uses it as an HMAC secret."""
    public_pem = idp.current.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': idp.current.kid}).encode())}.{b64(json.dumps(valid_claims()).encode())}"
    signature = b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())

    assert_unauthorized(post(client, f"{signing_input}.{signature}"), "'HS256' are not accepted")


def test_an_algorithm_that_does_not_match_the_key_is_refused(make_client, idp):
    idp.publish(idp.current.jwk(), idp.ec.jwk())
    client = make_client(algorithms=["RS256", "ES256"])
    # An ES256 header pointing at the RSA key.
    mixed = jwt.encode(valid_claims(), idp.ec.private_key, algorithm="ES256", headers={"kid": idp.current.kid})

    assert_unauthorized(post(client, mixed), "no ES256 key")


def test_an_algorithm_not_configured_is_refused(client, idp):
    assert_unauthorized(post(client, idp.current.token(alg="RS512")), "'RS512' are not accepted")


def test_symmetric_algorithms_cannot_be_configured(make_client):
    with pytest.raises(ValueError, match="HS256"):
        make_client(algorithms=["RS256", "HS256"])
    with pytest.raises(ValueError, match="none"):
        make_client(algorithms=["none"])


def test_without_a_kid_and_several_keys_the_token_is_refused(client, idp):
    idp.publish(idp.current.jwk(), idp.next.jwk())

    assert_unauthorized(post(client, idp.current.token(kid=None)), "no key id")


def test_authentication_comes_before_the_app_id_check(client):
    assert post(client, None, app_id="not_registered").status_code == 401


# Key rotation and the identity provider's availability --------------------------------------


def test_a_rotated_key_is_fetched_when_a_token_names_it(client, idp, clock):
    assert post(client, idp.current.token()).status_code == 200
    new_token = idp.next.token()
    assert_unauthorized(post(client, new_token), "key id 'key-2025'")  # just fetched: no refetch yet
    idp.publish(idp.current.jwk(), idp.next.jwk())

    clock.advance(UNKNOWN_KID_REFETCH_SECONDS)

    assert post(client, new_token).status_code == 200
    assert post(client, idp.current.token()).status_code == 200
    assert idp.hits == 2


def test_junk_key_ids_cannot_hammer_the_identity_provider(client, idp, clock):
    assert post(client, idp.current.token()).status_code == 200
    for _second in range(60):
        for _ in range(10):
            response = post(client, idp.stranger.token(kid=f"junk-{uuid.uuid4().hex}"))
            assert response.status_code == 401
        clock.advance(1)

    # One fetch at the start, then at most one per refetch interval.
    assert idp.hits <= 1 + 60 / UNKNOWN_KID_REFETCH_SECONDS


def test_keys_are_fetched_again_after_the_cache_time(make_client, idp, clock):
    client = make_client(jwks_cache_seconds=60)
    assert post(client, idp.current.token()).status_code == 200
    idp.publish(idp.next.jwk())  # the old key withdrawn

    clock.advance(61)

    assert_unauthorized(post(client, idp.current.token()), "key id 'key-2024'")
    assert post(client, idp.next.token()).status_code == 200


def test_an_unreachable_jwks_is_a_503_not_a_client_error(make_client, idp, clock, sink):
    client = make_client(jwks_url="http://127.0.0.1:9/jwks.json")  # discard port: refused

    response = post(client, idp.current.token())

    assert response.status_code == 503
    assert response.get_json()["error"] == "auth_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert sink.records == []


def test_after_a_failed_fetch_requests_do_not_wait_on_the_idp_again_right_away(client, idp, clock):
    idp.status = 500
    assert post(client, idp.current.token()).status_code == 503
    assert post(client, idp.current.token()).status_code == 503
    assert idp.hits == 1

    idp.status = 200
    clock.advance(auth_module.FAILED_FETCH_RETRY_SECONDS)

    assert post(client, idp.current.token()).status_code == 200


def test_known_keys_stay_in_use_while_the_idp_is_down(make_client, idp, clock):
    client = make_client(jwks_cache_seconds=60)
    assert post(client, idp.current.token()).status_code == 200
    idp.status = 503

    clock.advance(61)

    assert post(client, idp.current.token()).status_code == 200
    assert post(client, idp.current.token()).status_code == 200
    assert idp.hits == 2  # one failed refresh, then the back-off


def test_a_jwks_that_is_not_a_key_set_is_an_outage(make_client, idp):
    idp.jwks = {"not": "keys"}

    assert post(make_client(), idp.current.token()).status_code == 503


def test_an_oversized_jwks_is_an_outage(make_client, idp):
    idp.jwks = {"keys": [idp.current.jwk()], "padding": "x" * auth_module.MAX_JWKS_BYTES}

    assert post(make_client(), idp.current.token()).status_code == 503


def test_concurrent_first_requests_fetch_the_keys_once(idp, clock):
    fetches = []

    def slow_fetch(url: str) -> dict[str, Any]:
        fetches.append(url)
        time.sleep(0.2)
        return {"keys": [idp.current.jwk()]}

    keys = auth_module.SigningKeys(idp.url, cache_seconds=300, fetch=slow_fetch, clock=clock)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(keys.key(idp.current.kid, "RS256"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fetches) == 1
    assert len(results) == 8 and all(result is not None for result in results)


# What auth leaves alone -----------------------------------------------------------------------


def test_preflight_and_probes_need_no_token(make_client, idp):
    client = make_client()
    preflight = client.options(
        "/collect",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    for path in ("/ping", "/health", "/ready", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert idp.hits == 0


def test_a_refusal_carries_cors_headers_so_the_browser_shows_it(client):
    response = client.post("/collect?appId=shop_web", json=EVENTS, headers={"Origin": "http://localhost:3000"})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_without_auth_settings_no_token_is_needed(make_app):
    assert make_app().test_client().post("/collect?appId=shop_web", json=EVENTS).status_code == 200


def test_auth_settings_can_come_from_the_environment(project_config, sink, idp, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_INGEST_AUTH", json.dumps({"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": idp.url}))
    client = create_app(project_config, intake=sink).test_client()

    assert post(client, None).status_code == 401
    assert post(client, idp.current.token()).status_code == 200


def test_bad_auth_settings_fail_when_the_app_is_built(project_config, sink):
    with pytest.raises(ValueError, match=r"auth\.audience: Field required"):
        create_app(project_config, intake=sink, overrides={"auth": {"issuer": ISSUER}})
