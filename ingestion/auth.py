"""Optional OIDC bearer tokens on the collect endpoint (`pipeline.ingestion.auth`).

A POST to the collect path must carry `Authorization: Bearer <JWT>` signed by a key of the
issuer's JWKS, for our audience, from our issuer, inside its exp/nbf/iat window (with leeway).
Only asymmetric algorithms are accepted, and only those configured: `alg: none` and HS* can
never verify, so a public key from the JWKS can never be used as an HMAC secret.

The JWKS is fetched when first needed, kept for `jwks_cache_seconds`, and fetched again early
when a token names a key id we do not know (the issuer rotated its keys), at most once per
UNKNOWN_KID_REFETCH_SECONDS so that tokens with made-up key ids cannot make every request a
round trip to the identity provider. When the JWKS cannot be fetched, keys already known stay
in use; with none known, requests get 503 + Retry-After: a retry will do, the client's token
is not at fault.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import requests

from clickstream_project.config import OidcSettings
from ingestion.errors import ApiError

logger = logging.getLogger(__name__)

# Algorithm → the JWK key type it verifies with. Symmetric algorithms are absent on purpose.
ASYMMETRIC_ALGORITHMS = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
    "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
    "ES256": "EC", "ES384": "EC", "ES512": "EC",
    "EdDSA": "OKP",
}  # fmt: skip
# The fetch happens inside a request: a slow identity provider must not hold it for long.
JWKS_TIMEOUT_SECONDS = 3.0
# Rotation normally publishes the new key before signing with it; when a token still beats the
# JWKS cache, it is refused for at most this long (the SDKs retry). Also the most often junk
# key ids can make a worker fetch the JWKS.
UNKNOWN_KID_REFETCH_SECONDS = 10.0
# After a failed fetch: requests that need keys get 503 meanwhile, without waiting on a timeout.
FAILED_FETCH_RETRY_SECONDS = 5.0
# Real key sets are a few KB.
MAX_JWKS_BYTES = 1024 * 1024

JwksFetcher = Callable[[str], Mapping[str, Any]]

_WWW_AUTHENTICATE_MISSING = {"WWW-Authenticate": 'Bearer realm="clickstream"'}
_WWW_AUTHENTICATE_INVALID = {"WWW-Authenticate": 'Bearer realm="clickstream", error="invalid_token"'}


class JwksUnavailable(Exception):
    """No signing keys are known and the JWKS cannot be fetched right now."""


def fetch_jwks(url: str) -> Mapping[str, Any]:
    with requests.get(url, timeout=JWKS_TIMEOUT_SECONDS, headers={"Accept": "application/json"}, stream=True) as response:
        response.raise_for_status()
        content = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    if len(content) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
    document = json.loads(content)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS is not a JSON object with a 'keys' array")
    return document


class SigningKeys:
    """The issuer's public keys, cached; thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        # 0 would mean a JWKS fetch per request; one a second is as fresh as anyone needs.
        self._cache_seconds = max(cache_seconds, 1.0)
        self._fetch = fetch
        self._clock = clock
        self._keys: _KeySet | None = None  # None: never fetched successfully
        self._fetched_at = float("-inf")
        self._retry_at = float("-inf")  # no fetch before this, after a failure
        self._lock = threading.Lock()

    def key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key that verifies `alg` tokens with this `kid` (or the only key, without a kid);
        None when the JWKS has no such key. Raises JwksUnavailable."""
        now = self._clock()
        if now >= self._fetched_at + self._cache_seconds:
            self._refresh(now)
        keys = self._keys
        assert keys is not None  # _refresh raised otherwise
        verifier = keys.verifier(kid, alg)
        if verifier is None and kid is not None and not keys.has(kid) and now >= self._fetched_at + UNKNOWN_KID_REFETCH_SECONDS:
            self._refresh(now)
            keys = self._keys
            assert keys is not None
            verifier = keys.verifier(kid, alg)
        return verifier

    def _refresh(self, decided_at: float) -> None:
        if decided_at < self._retry_at:
            if self._keys is None:
                raise JwksUnavailable(f"the JWKS at {self._url} could not be fetched recently")
            return
        # With keys at hand, a thread that finds another one fetching goes on with them; only
        # without any does it wait for the fetch.
        if not self._lock.acquire(blocking=self._keys is None):
            return
        try:
            if self._fetched_at >= decided_at or decided_at < self._retry_at:
                # Another thread fetched, or failed to, while this one waited for the lock.
                if self._keys is None:
                    raise JwksUnavailable(f"the JWKS at {self._url} could not be fetched recently")
                return
            try:
                keys = _KeySet([key for key in self._fetch(self._url)["keys"] if _usable(key)])
            except Exception as error:  # network, HTTP status, JSON: all mean "not now"
                self._retry_at = self._clock() + FAILED_FETCH_RETRY_SECONDS
                if self._keys is None:
                    logger.error("auth: cannot fetch the JWKS at %s: %s", self._url, error)
                    raise JwksUnavailable(f"the JWKS at {self._url} cannot be fetched: {error}") from error
                logger.warning("auth: cannot refresh the JWKS at %s (%s); keeping the known keys", self._url, error)
                return
            self._keys = keys
            self._fetched_at = self._clock()
            logger.info("auth: fetched %d signing keys from %s", len(keys.jwks), self._url)
        finally:
            self._lock.release()


class _KeySet:
    """One fetched JWKS; replaced whole on refresh, so a lookup never mixes two versions."""

    def __init__(self, jwks: list[dict[str, Any]]) -> None:
        self.jwks = jwks
        self._by_kid = {key["kid"]: key for key in jwks if isinstance(key.get("kid"), str)}
        self._verifiers: dict[tuple[str | None, str], jwt.PyJWK | None] = {}

    def has(self, kid: str) -> bool:
        return kid in self._by_kid

    def verifier(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        cache_key = (kid, alg)
        if cache_key in self._verifiers:
            return self._verifiers[cache_key]
        if kid is None:
            key = self.jwks[0] if len(self.jwks) == 1 else None
        else:
            key = self._by_kid.get(kid)
        verifier = None if key is None else _verifier(key, alg)
        if key is not None:  # unknown kids are not cached: junk must not grow the cache
            self._verifiers[cache_key] = verifier
        return verifier


def _verifier(key: dict[str, Any], alg: str) -> jwt.PyJWK | None:
    # A key states its algorithm, or only its type: RS256 and RS512 tokens may share an RSA key.
    if key.get("kty") != ASYMMETRIC_ALGORITHMS[alg] or key.get("alg", alg) != alg:
        return None
    try:
        return jwt.PyJWK(key, algorithm=alg)
    except jwt.PyJWTError as error:
        logger.warning("auth: JWKS key %r cannot verify %s: %s", key.get("kid"), alg, error)
        return None


class BearerAuth:
    """Checks the Authorization header of a collect request; raises ApiError (401, 503)."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        retry_after_seconds: int,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        refused = [alg for alg in settings.algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(
                f"auth.algorithms: {', '.join(refused)} cannot be verified with a JWKS of public keys; "
                f"use some of {', '.join(ASYMMETRIC_ALGORITHMS)}"
            )
        self.settings = settings
        self._algorithms = frozenset(settings.algorithms)
        self._retry_after = str(retry_after_seconds)
        self.keys = SigningKeys(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds, fetch=fetch, clock=clock)

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, once everything about it checked out."""
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the bearer token is not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise _invalid(f"tokens signed with {_shorten(alg)} are not accepted; allowed: {', '.join(sorted(self._algorithms))}")
        if kid is not None and not isinstance(kid, str):
            raise _invalid("the token's kid is not a string")
        try:
            key = self.keys.key(kid, alg)
        except JwksUnavailable as error:
            raise ApiError(
                503,
                "auth_unavailable",
                "the identity provider's signing keys cannot be fetched right now; retry later",
                headers={"Retry-After": self._retry_after},
            ) from error
        if key is None:
            which = f"key id {_shorten(kid)}" if kid is not None else "no key id (and the issuer has several keys)"
            raise _invalid(f"the token names {which}; no {alg} key of the issuer matches")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise _invalid(_reason(error)) from None


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <token>", headers=_WWW_AUTHENTICATE_MISSING)
    token = token.strip()
    if not token:
        raise _invalid("the Authorization header has no token after Bearer")
    return token


def _reason(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "the token is not valid yet (nbf or iat in the future)"
    if isinstance(error, jwt.InvalidAudienceError):
        return "wrong audience: the token is not meant for this service"
    if isinstance(error, jwt.InvalidIssuerError):
        return "wrong issuer: the token was not issued by the configured identity provider"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token has no {error.claim!r} claim"
    if isinstance(error, jwt.InvalidSignatureError):
        return "bad signature"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return "the token's algorithm does not match its signing key"
    if isinstance(error, jwt.DecodeError):
        return "the bearer token is not a well-formed JWT"
    return f"invalid token: {error}"


def _invalid(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_WWW_AUTHENTICATE_INVALID)


def _usable(key: Any) -> bool:
    # Encryption keys ("use": "enc") share JWKS documents with signing keys.
    return isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") in ("RSA", "EC", "OKP")


def _shorten(value: Any, limit: int = 64) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
