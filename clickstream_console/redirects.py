"""Where a sign-in may send the browser next: only a path of this console. ``next`` comes from the
query string, which anyone can craft (``?next=https://evil.example``, ``//evil.example``,
``/\\evil.example``), so everything that is not a plain local path is dropped."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
