"""Running a blocking query with a deadline: the call runs in a worker thread, and when the
deadline passes the engine is asked to cancel it (DuckDB ``interrupt``, Athena ``StopQueryExecution``)
and the worker is waited for, so no query outlives its request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from clickstream_console.warehouse.query import QueryTimeout

T = TypeVar("T")


def run_with_deadline(call: Callable[[], T], *, timeout_seconds: float, cancel: Callable[[], object], name: str) -> T:
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    worker.join(timeout_seconds)
    if worker.is_alive():
        cancel()
        worker.join()
        raise QueryTimeout(f"{name} ran past its {timeout_seconds:g} s timeout and was cancelled")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def position_of_offset(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a 1-based character offset, the way Postgres-family servers report it."""
    before = sql[: max(offset - 1, 0)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
