"""Athena through pyathena, in the console's work group, read-only by IAM (deploy/warehouse/README.md).

Athena has no read-only session: the console's role may start queries and read the lake, and write
only query results to the work group's output location. The deadline cancels the query
(``StopQueryExecution``) so an abandoned query stops scanning; the row cap reads ``max_rows + 1``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from clickstream_console.warehouse.deadline import run_with_deadline
from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import (
    Column,
    QueryError,
    QueryResult,
    QueryTimeout,
    ReportQuery,
    SqlPosition,
    WarehouseUnavailable,
)
from clickstream_console.warehouse.rows import ConnectedWarehouse, capped_result, read_capped

# Athena (Trino) locates errors as "line 3:14: ..." in the state change reason.
_ATHENA_POSITION = re.compile(r"line (\d+):(\d+)")


class AthenaWarehouse(ConnectedWarehouse):
    def run(
        self,
        query: ReportQuery,
        params: Mapping[str, object],
        *,
        app_id: str,
        timeout_seconds: float,
        max_rows: int,
    ) -> QueryResult:
        statement = transpile(query, "athena", app_id=app_id)
        values = statement.bind(params)
        try:
            connection = self._connect()
        except Exception as error:
            raise WarehouseUnavailable(f"cannot connect to Athena: {error}") from error
        started = time.monotonic()
        cursor = connection.cursor()

        def execute() -> tuple[tuple[Column, ...], list[tuple[object, ...]]]:
            # Always a dict, even empty: pyathena then %-formats the text, turning the %% back into %.
            cursor.execute(statement.sql, values)
            return read_capped(cursor, max_rows)

        def cancel() -> None:
            # Before Athena has given the query an id there is nothing to stop yet.
            if getattr(cursor, "query_id", None):
                cursor.cancel()

        try:
            columns, rows = run_with_deadline(execute, timeout_seconds=timeout_seconds, cancel=cancel, name=f"query {query.name!r}")
        except QueryTimeout:
            raise
        except Exception as error:
            raise translated_error(error, statement.sql) from error
        finally:
            connection.close()
        return capped_result(columns, rows, max_rows, started)


def translated_error(error: Exception, sql: str) -> QueryError:
    message = str(error)
    match = _ATHENA_POSITION.search(message)
    position = SqlPosition(line=int(match.group(1)), column=int(match.group(2))) if match else None
    return QueryError(message, position=position, sql=sql)
