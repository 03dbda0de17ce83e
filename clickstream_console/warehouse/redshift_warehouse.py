"""Redshift through redshift_connector, as the console's read-only user (deploy/warehouse/README.md).

Read-only twice over: the user has only USAGE and SELECT, and every query runs inside ``BEGIN READ
ONLY``, which Redshift refuses writes in. ``statement_timeout`` makes the server cancel a query
that runs too long; the row cap reads ``max_rows + 1`` rows and closes the cursor on the rest.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from clickstream_console.warehouse.deadline import position_of_offset
from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import (
    QueryError,
    QueryResult,
    QueryTimeout,
    ReportQuery,
    SqlPosition,
    WarehouseUnavailable,
)
from clickstream_console.warehouse.rows import ConnectedWarehouse, capped_result, read_capped

# SQLSTATE query_canceled: what Redshift answers when statement_timeout cancels a query.
_QUERY_CANCELED = "57014"


class RedshiftWarehouse(ConnectedWarehouse):
    def run(
        self,
        query: ReportQuery,
        params: Mapping[str, object],
        *,
        app_id: str,
        timeout_seconds: float,
        max_rows: int,
    ) -> QueryResult:
        statement = transpile(query, "redshift", app_id=app_id)
        values = statement.bind(params)
        connection = self._open()
        started = time.monotonic()
        try:
            cursor = connection.cursor()
            cursor.paramstyle = "named"
            cursor.execute("begin read only")
            cursor.execute(f"set statement_timeout to {max(int(timeout_seconds * 1000), 1)}")
            cursor.execute(statement.sql, values)
            columns, rows = read_capped(cursor, max_rows)
            cursor.execute("rollback")
        except Exception as error:
            raise translated_error(error, statement.sql) from error
        finally:
            connection.close()
        return capped_result(columns, rows, max_rows, started)

    def _open(self) -> Any:
        try:
            connection = self._connect()
        except Exception as error:
            raise WarehouseUnavailable(f"cannot connect to Redshift: {error}") from error
        # Statements run as sent; the read-only transaction is opened explicitly above.
        connection.autocommit = True
        return connection


def translated_error(error: Exception, sql: str) -> Exception:
    """redshift_connector puts the server's error fields in a dict: M message, C SQLSTATE, P offset."""
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    if fields.get("C") == _QUERY_CANCELED:
        return QueryTimeout(f"Redshift cancelled the query: {fields.get('M', '')}")
    message = fields.get("M") or str(error)
    position = None
    if str(fields.get("P", "")).isdigit():
        line, column = position_of_offset(sql, int(fields["P"]))
        position = SqlPosition(line=line, column=column)
    return QueryError(message, position=position, sql=sql)
