"""What the request handlers hand each accepted request to: the spool in service
(ingestion.spool.spool), a recording fake in tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


class IntakeUnavailable(Exception):
    """The record cannot be accepted right now; the client should retry later (HTTP 503)."""


@runtime_checkable
class Intake(Protocol):
    """Keeps raw records durably enough that an acknowledged request is never lost.

    `write` returns only once the record is safe against a crash of this process; it raises
    `IntakeUnavailable` when it cannot keep the record. Implementations are thread-safe.
    """

    def write(self, record: Mapping[str, Any], arrival_ms: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def health(self) -> dict[str, Any]: ...
