"""Console login by OpenID Connect: the authorization code flow with PKCE (S256) against any provider
that publishes discovery (Cognito, Keycloak, Auth0, ADFS, ...).

``begin()`` gives the URL to send the browser to and the pending login (state, nonce, PKCE
verifier) the caller keeps in its signed session; ``finish()`` checks the provider's answer
against it, exchanges the code and returns the claims of the validated ID token. Every refusal is
an ``OidcError`` whose message says what was wrong, short enough for a log line or an error page.

Authlib's OAuth 2 client builds the authorization URL and makes the token request; the ID token
is checked here with joserfc (the JOSE library Authlib 1.7+ builds on, its ``authlib.jose`` being
deprecated) so that each failed check has its own message.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, DecodeError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

DEFAULT_SCOPES = "openid email profile"
# A login the browser has not brought back within this long is refused: the provider's own login
# page rarely takes more than a few minutes, and a stale pending login is one more replay window.
PENDING_MAX_AGE_SECONDS = 600
# Signing keys and endpoints change rarely; an unknown key id re-reads the JWKS at once anyway.
DISCOVERY_TTL_SECONDS = 3600
# RFC 7636 allows 43-128 characters; 64 letters and digits carry ~380 bits.
CODE_VERIFIER_LENGTH = 64
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
PENDING_FIELDS = ("state", "nonce", "code_verifier", "created_at")


@dataclass(frozen=True)
class OidcLogin:
    claims: dict[str, Any]
    # Kept for RP-initiated logout's id_token_hint.
    id_token: str


class OidcError(Exception):
    """A login refused, with a reason a log line or an error page can show."""


class UnknownSigningKeyError(OidcError):
    """The ID token names a key the JWKS at hand does not have (the provider may have rotated)."""


@dataclass(frozen=True)
class OidcClientSettings:
    issuer: str
    client_id: str
    redirect_uri: str
    # None: a public client (no secret; PKCE alone protects the code exchange).
    client_secret: str | None = None
    scopes: str = DEFAULT_SCOPES
    # None: "none" for a public client, else client_secret_basic unless discovery lists only
    # client_secret_post.
    token_endpoint_auth_method: str | None = None
    # For providers whose discovery has no end_session_endpoint. Called with Cognito's parameters
    # (client_id, logout_uri): https://<domain>.auth.<region>.amazoncognito.com/logout
    logout_endpoint: str | None = None
    leeway_seconds: int = 60
    http_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.token_endpoint_auth_method not in (None, *TOKEN_ENDPOINT_AUTH_METHODS):
            raise ValueError(f"token_endpoint_auth_method: {self.token_endpoint_auth_method!r} is not one of {TOKEN_ENDPOINT_AUTH_METHODS}")
        if self.token_endpoint_auth_method not in (None, "none") and not self.client_secret:
            raise ValueError(f"token_endpoint_auth_method {self.token_endpoint_auth_method!r} needs a client_secret")
        if "openid" not in self.scopes.split():
            raise ValueError(f"scopes {self.scopes!r} must include 'openid' (without it the provider issues no ID token)")

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def signing_algorithms(metadata: Mapping[str, Any]) -> list[str]:
    """The algorithms an ID token may be signed with: those the provider announces, less "none"
    (no signature) and HMAC (HS*: its key would be the client secret, never a JWKS key; accepting
    it is how a token "signed" with the provider's public key as an HMAC secret gets in)."""
    announced = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    return [alg for alg in announced if isinstance(alg, str) and alg != "none" and not alg.startswith("HS")]


def validate_id_token(
    raw: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Collection[str],
    now: float,
    leeway: float,
) -> dict[str, Any]:
    """The claims of ``raw`` once its signature, issuer, audience, times and nonce hold (OpenID
    Connect Core 3.1.3.7); raises OidcError naming the first check that failed."""
    try:
        header = jws.extract_compact(raw.encode()).headers()
    except (JoseError, ValueError) as error:
        raise OidcError(f"ID token is not a signed JWT ({error})") from None
    alg = header.get("alg")
    if alg == "none":
        raise OidcError("ID token is unsigned (alg 'none')")
    if alg not in algorithms:
        raise OidcError(f"ID token algorithm {alg!r} is not allowed (allowed: {', '.join(algorithms)})")
    kid = header.get("kid")
    try:
        key = keys.get_by_kid(kid)
    except InvalidKeyIdError:
        raise UnknownSigningKeyError(f"ID token key id {kid!r} is not among the provider's signing keys") from None
    try:
        claims = jwt.decode(raw, key, algorithms=[alg]).claims
    except BadSignatureError:
        raise OidcError(f"ID token signature does not verify with the provider's key {key.kid!r}") from None
    except (JoseError, DecodeError, ValueError) as error:
        raise OidcError(f"ID token cannot be verified ({error})") from None
    _check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now, leeway=leeway)
    return claims


def _check_claims(claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str, now: float, leeway: float) -> None:
    if claims.get("iss") != issuer:
        raise OidcError(f"ID token issuer {claims.get('iss')!r} is not the configured issuer {issuer!r}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("ID token has no subject (sub)")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if client_id not in audiences:
        raise OidcError(f"ID token audience {audience!r} does not include this client {client_id!r}")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise OidcError(f"ID token was issued to {azp!r} (azp), not to this client {client_id!r}")
    for name in ("exp", "iat"):
        if not _is_time(claims.get(name)):
            raise OidcError(f"ID token has no valid {name} claim")
    if now > claims["exp"] + leeway:
        raise OidcError(f"ID token expired {int(now - claims['exp'])} s ago")
    if claims["iat"] > now + leeway:
        raise OidcError(f"ID token is issued {int(claims['iat'] - now)} s in the future (check the clocks)")
    if "nbf" in claims and (not _is_time(claims["nbf"]) or claims["nbf"] > now + leeway):
        raise OidcError(f"ID token is not valid before {claims['nbf']!r}")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not _same(token_nonce, nonce):
        raise OidcError("ID token nonce does not match this login's (a replayed or foreign token)")


def _same(received: str, expected: str) -> bool:
    # compare_digest takes str only when ASCII; what a browser or a token brings may be anything.
    return hmac.compare_digest(received.encode(), expected.encode())


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class OidcClient:
    """One provider as one console sees it; thread-safe, meant to live as long as the app."""

    def __init__(self, settings: OidcClientSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_read_at = 0.0
        self._keys: KeySet | None = None

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, read again once it is an hour old."""
        with self._lock:
            if self._metadata is None or self._clock() - self._metadata_read_at > DISCOVERY_TTL_SECONDS:
                self._metadata = self._read_discovery()
                self._metadata_read_at = self._clock()
                self._keys = None
            return self._metadata

    def begin(self) -> tuple[str, dict[str, Any]]:
        """The authorization URL to redirect to, and the pending login to keep until the callback."""
        metadata = self.metadata()
        pending = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "code_verifier": generate_token(CODE_VERIFIER_LENGTH),
            "created_at": self._clock(),
        }
        with self._oauth_session(metadata) as session:
            url, _ = session.create_authorization_url(
                metadata["authorization_endpoint"], state=pending["state"], code_verifier=pending["code_verifier"], nonce=pending["nonce"]
            )
        return url, pending

    def finish(self, pending: Mapping[str, Any] | None, callback_args: Mapping[str, str]) -> OidcLogin:
        """The validated ID token for the browser's return to the redirect URI; raises OidcError."""
        if not pending or any(name not in pending for name in PENDING_FIELDS):
            raise OidcError("no login is in progress in this browser (start the login again)")
        if "error" in callback_args:
            description = callback_args.get("error_description")
            raise OidcError(
                f"the identity provider refused the login: {callback_args['error']}" + (f" ({description})" if description else "")
            )
        state = callback_args.get("state")
        if not state or not _same(state, str(pending["state"])):
            raise OidcError("the login's state does not match this browser's (start the login again)")
        age = self._clock() - float(pending["created_at"])
        if age > PENDING_MAX_AGE_SECONDS:
            raise OidcError(f"the login took {int(age)} s, more than {PENDING_MAX_AGE_SECONDS} s (start the login again)")
        metadata = self.metadata()
        # RFC 9207: a provider that names itself in the response must be the one this login went to.
        if "iss" in callback_args and callback_args["iss"] != self.settings.issuer:
            raise OidcError(f"the response comes from issuer {callback_args['iss']!r}, not {self.settings.issuer!r}")
        code = callback_args.get("code")
        if not code:
            raise OidcError("the identity provider's response has no authorization code")
        token = self._exchange(metadata, code, pending["code_verifier"])
        if not isinstance(token.get("id_token"), str):
            raise OidcError("the token response has no ID token")
        return OidcLogin(claims=self.validate(token["id_token"], nonce=pending["nonce"]), id_token=token["id_token"])

    def validate(self, raw_id_token: str, *, nonce: str) -> dict[str, Any]:
        """``validate_id_token`` with the provider's keys, read again once on an unknown key id."""
        metadata = self.metadata()
        check = dict(
            issuer=self.settings.issuer,
            client_id=self.settings.client_id,
            nonce=nonce,
            algorithms=signing_algorithms(metadata),
            leeway=self.settings.leeway_seconds,
        )
        try:
            return validate_id_token(raw_id_token, keys=self._signing_keys(metadata), now=self._clock(), **check)
        except UnknownSigningKeyError:
            return validate_id_token(raw_id_token, keys=self._signing_keys(metadata, refresh=True), now=self._clock(), **check)

    def logout_url(self, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (RP-Initiated Logout 1.0),
        or None when the provider offers no such endpoint."""
        if self.settings.logout_endpoint:
            return _with_query(
                self.settings.logout_endpoint, {"client_id": self.settings.client_id, "logout_uri": post_logout_redirect_uri}
            )
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return _with_query(endpoint, params)

    def _read_discovery(self) -> dict[str, Any]:
        url = self.settings.discovery_url
        metadata = self._get_json(url, "discovery document")
        if metadata.get("issuer") != self.settings.issuer:
            raise OidcError(f"discovery at {url} names issuer {metadata.get('issuer')!r}, not the configured {self.settings.issuer!r}")
        missing = [name for name in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(name)]
        if missing:
            raise OidcError(f"discovery at {url} has no {', '.join(missing)}")
        methods = metadata.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            raise OidcError(f"the provider does not support PKCE with S256 (code_challenge_methods_supported: {methods})")
        if not signing_algorithms(metadata):
            raise OidcError(
                f"the provider signs ID tokens with none of the accepted algorithms ({metadata.get('id_token_signing_alg_values_supported')})"
            )
        return metadata

    def _signing_keys(self, metadata: Mapping[str, Any], *, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is None or refresh:
                document = self._get_json(metadata["jwks_uri"], "signing keys (JWKS)")
                try:
                    self._keys = KeySet.import_key_set(document)
                except (JoseError, ValueError, TypeError, KeyError) as error:
                    raise OidcError(f"the provider's JWKS at {metadata['jwks_uri']} cannot be read ({error})") from None
            return self._keys

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.settings.http_timeout_seconds, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise OidcError(f"cannot read the provider's {what} at {url}: {error}") from None
        if not isinstance(document, dict):
            raise OidcError(f"the provider's {what} at {url} is not a JSON object")
        return document

    def _exchange(self, metadata: Mapping[str, Any], code: str, code_verifier: str) -> dict[str, Any]:
        with self._oauth_session(metadata) as session:
            try:
                return dict(
                    session.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=code_verifier)
                )
            except OAuthError as error:
                description = f" ({error.description})" if error.description else ""
                raise OidcError(f"the token endpoint refused the code: {error.error}{description}") from None
            except (requests.RequestException, ValueError) as error:
                raise OidcError(f"the token request to {metadata['token_endpoint']} failed: {error}") from None

    def _oauth_session(self, metadata: Mapping[str, Any]) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=self.settings.scopes,
            redirect_uri=self.settings.redirect_uri,
            token_endpoint_auth_method=self._auth_method(metadata),
            code_challenge_method="S256",
            default_timeout=self.settings.http_timeout_seconds,
        )

    def _auth_method(self, metadata: Mapping[str, Any]) -> str:
        if self.settings.token_endpoint_auth_method:
            return self.settings.token_endpoint_auth_method
        if not self.settings.client_secret:
            return "none"
        # Discovery's default when it lists nothing is client_secret_basic (OpenID Discovery 1.0 §3).
        supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return (
            "client_secret_post" if "client_secret_basic" not in supported and "client_secret_post" in supported else "client_secret_basic"
        )


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)
