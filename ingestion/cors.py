"""CORS for the web SDK, which posts with `credentials: 'include'`.

Browsers reject `Access-Control-Allow-Origin: *` on credentialed requests, so a matching origin
is echoed back; an origin that matches no configured pattern gets no CORS headers at all.

Patterns: `*` (any origin), `https://shop.example.com`, `*.example.com` (any scheme, any
subdomain depth, not the bare domain), `http://localhost:*` (any port, or none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALLOWED_METHODS = "POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS = "Content-Type"
_LABELS = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class CorsPolicy:
    def __init__(self, origins: Iterable[str], max_age_seconds: int) -> None:
        self._patterns = [_compile(origin) for origin in origins if origin.strip()]
        self._max_age_seconds = max_age_seconds

    def allows(self, origin: str | None) -> bool:
        # "null" is the origin of sandboxed frames and file:// pages: never a real site.
        if not origin or origin == "null":
            return False
        candidate = origin.strip().lower()
        return any(pattern.fullmatch(candidate) for pattern in self._patterns)

    def headers(self, origin: str | None, *, preflight: bool, requested_headers: str | None = None) -> dict[str, str]:
        """The CORS headers for a response to `origin`; empty when the origin is not allowed."""
        if not self.allows(origin):
            return {}
        assert origin is not None
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}
        if preflight:
            headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            headers["Access-Control-Allow-Headers"] = _allowed_headers(requested_headers)
            headers["Access-Control-Max-Age"] = str(self._max_age_seconds)
        return headers


def _compile(pattern: str) -> re.Pattern[str]:
    text = pattern.strip().lower().rstrip("/")
    if text == "*":
        return re.compile(r"[a-z][a-z0-9+.-]*://.+")
    scheme, separator, host_port = text.partition("://")
    if not separator:
        scheme, host_port = "", text
    scheme_regex = "https?" if scheme in ("", "*") else re.escape(scheme)
    port_match = re.fullmatch(r"(?P<host>.*):(?P<port>\*|\d+)", host_port)
    if port_match is None:
        host, port_regex = host_port, ""
    elif port_match["port"] == "*":
        host, port_regex = port_match["host"], r"(?::\d{1,5})?"
    else:
        host, port_regex = port_match["host"], re.escape(":" + port_match["port"])
    host_regex = _LABELS.join(re.escape(part) for part in host.split("*"))
    return re.compile(f"{scheme_regex}://{host_regex}{port_regex}")


def _allowed_headers(requested: str | None) -> str:
    # Echo what the browser asks for (the web SDK sends Content-Type), keeping only valid names.
    names = [name.strip() for name in (requested or "").split(",")]
    valid = [name for name in names if _HEADER_NAME.match(name)]
    return ", ".join(valid) or DEFAULT_ALLOWED_HEADERS
