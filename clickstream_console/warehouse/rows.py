"""Reading a result the same way on every warehouse: the cursor's columns and the first
``max_rows`` rows, reading one more to know whether the cap cut the result."""

from __future__ import annotations

import time
from typing import Any

from clickstream_console.warehouse.query import Column, QueryResult


def read_capped(cursor: Any, max_rows: int) -> tuple[tuple[Column, ...], list[Any]]:
    """A DB-API cursor's columns and at most ``max_rows + 1`` of its rows."""
    rows = cursor.fetchmany(max_rows + 1)
    return tuple(Column(name=name, type=str(type_code)) for name, type_code, *_ in cursor.description), rows


def capped_result(columns: tuple[Column, ...], rows: list[Any], max_rows: int, started: float) -> QueryResult:
    """The result of a query started at ``started`` (time.monotonic()) from ``read_capped``'s rows."""
    return QueryResult(
        columns=columns,
        rows=tuple(tuple(row) for row in rows[:max_rows]),
        truncated=len(rows) > max_rows,
        elapsed_seconds=time.monotonic() - started,
    )


class ConnectedWarehouse:
    """A warehouse reached through a DB-API connection factory, with its data version from outside
    (Redshift and Athena: neither tells a reader cheaply that new data landed)."""

    def __init__(self, connect: Any, data_version: Any) -> None:
        # connect: () -> a DB-API connection with the reader's settings; data_version: () -> str.
        self._connect = connect
        self._data_version = data_version

    def data_version(self) -> str:
        return self._data_version()
