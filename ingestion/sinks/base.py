"""What every sink offers the request handlers, and how a raw record becomes one line."""

from __future__ import annotations

import json
from typing import Any, Mapping, Protocol, runtime_checkable


class SinkUnavailable(Exception):
    """The sink cannot store a record right now; the client should retry later (HTTP 503)."""


@runtime_checkable
class Sink(Protocol):
    """Stores raw records durably enough that an acknowledged request is never lost.

    `write` returns only once the record is safe against a crash of this process; it raises
    `SinkUnavailable` when it cannot store the record. Implementations are thread-safe.
    """

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One newline-terminated JSON line, UTF-8, compact."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; escaped JSON keeps the line valid and lossless.
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"
