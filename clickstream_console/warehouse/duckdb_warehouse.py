"""The embedded warehouse: the DuckDB file dbt builds, opened read-only for each query.

Writes are refused by the engine, not by looking at the SQL: the file is opened ``read_only``,
external access is off (no ``read_csv`` of a local file, no ``COPY ... TO``, ``INSTALL`` or
``ATTACH``), and the configuration is locked so a query cannot turn it back on. A fresh connection
per query keeps queries independent and lets the file be replaced between them (the published
read snapshots give the path).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

from clickstream_console.warehouse.deadline import run_with_deadline
from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import Column, QueryError, QueryResult, ReportQuery, SqlPosition, WarehouseUnavailable
from clickstream_console.warehouse.rows import capped_result, read_capped

READ_ONLY_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    # Last: once locked, no SET in a query can change the settings above.
    "lock_configuration": True,
}
# DuckDB points at an error as "LINE 3: <the line>" followed by a line with carets under it.
_LINE_MARK = re.compile(r"^LINE (\d+): ", re.MULTILINE)


class DuckDBWarehouse:
    def __init__(self, database_path: Callable[[], Path]) -> None:
        self._database_path = database_path

    def data_version(self) -> str:
        """The file's identity: a rebuilt or replaced file, or a new write, changes it."""
        path = self._database_path()
        parts = [str(path)]
        for candidate in (path, path.with_name(path.name + ".wal")):
            try:
                stat = candidate.stat()
            except FileNotFoundError:
                parts.append("-")
                continue
            parts.append(f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")
        return "|".join(parts)

    def run(
        self,
        query: ReportQuery,
        params: Mapping[str, object],
        *,
        app_id: str,
        timeout_seconds: float,
        max_rows: int,
    ) -> QueryResult:
        statement = transpile(query, "duckdb", app_id=app_id)
        values = statement.bind(params)
        connection = self._connect()
        started = time.monotonic()

        def execute() -> tuple[tuple[Column, ...], list[tuple[object, ...]]]:
            return read_capped(connection.execute(statement.sql, values), max_rows)

        try:
            columns, rows = run_with_deadline(
                execute, timeout_seconds=timeout_seconds, cancel=connection.interrupt, name=f"query {query.name!r}"
            )
        except duckdb.Error as error:
            raise QueryError(_first_line(str(error)), position=error_position(str(error)), sql=statement.sql) from error
        finally:
            connection.close()
        return capped_result(columns, rows, max_rows, started)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        path = self._database_path()
        if not path.is_file():
            raise WarehouseUnavailable(f"no DuckDB database at {path} yet (has a dbt build run?)")
        try:
            return duckdb.connect(str(path), read_only=True, config=READ_ONLY_CONFIG)
        except duckdb.Error as error:
            raise WarehouseUnavailable(f"cannot open {path} read-only: {error}") from error


def error_position(message: str) -> SqlPosition | None:
    """The line and column DuckDB marks in an error message (``LINE n: ...`` then a caret)."""
    match = _LINE_MARK.search(message)
    if match is None:
        return None
    following = message[match.end() :].split("\n", 2)
    if len(following) < 2 or "^" not in following[1]:
        return None
    column = following[1].index("^") - len(match.group(0)) + 1
    return SqlPosition(line=int(match.group(1)), column=max(column, 1))


def _first_line(message: str) -> str:
    # The rest is DuckDB's own drawing of the position, which the page draws from ``position``.
    head = _LINE_MARK.split(message, maxsplit=1)[0]
    return head.strip()
