"""What a report asks a warehouse, what it gets back, and how it can fail.

Every adapter raises these three errors and nothing else, so a page shows one kind of message
whatever the engine: the warehouse's own words and, when it gives one, where in the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ReportQuery:
    """One report query in DuckDB's dialect (the one dbt's DuckDB views are written in).

    Values are named parameters (``:start_date``), never formatted into the text. Tables are named
    without a schema (``clickstream_session_view``): the layer qualifies them with the app's schema.
    """

    name: str
    sql: str


@dataclass(frozen=True)
class Column:
    name: str
    # The warehouse's own type name (DuckDB ``DATE``, Redshift type oid, Athena ``varchar``).
    type: str


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[Column, ...]
    rows: tuple[tuple[object, ...], ...]
    # True when the row cap cut the result: there were more rows than ``rows`` holds.
    truncated: bool
    elapsed_seconds: float


@dataclass(frozen=True)
class SqlPosition:
    """Where the warehouse located an error: 1-based line and column in ``QueryError.sql``."""

    line: int
    column: int


# eq=False keeps the exception hashable, as logging and tracebacks expect.
@dataclass(eq=False)
class QueryError(Exception):
    """The warehouse refused or failed the query; ``message`` is the warehouse's own."""

    message: str
    position: SqlPosition | None = None
    # The text the position refers to: the report's SQL for a syntax error sqlglot finds, else the
    # statement as sent to the warehouse (transpiled, tables qualified).
    sql: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.message


class QueryTimeout(Exception):
    """The query ran past its statement timeout and was cancelled."""


class WarehouseUnavailable(Exception):
    """The warehouse cannot be reached or opened (no database yet, network, credentials)."""


# The HTTP status a page answers when its query fails this way (else 502: the warehouse refused it).
STATUS_OF_FAILURE: dict[type[Exception], int] = {WarehouseUnavailable: 503, QueryTimeout: 504}


def failure_status(error: QueryError | QueryTimeout | WarehouseUnavailable) -> int:
    return STATUS_OF_FAILURE.get(type(error), 502)


class Warehouse(Protocol):
    def run(
        self,
        query: ReportQuery,
        params: Mapping[str, object],
        *,
        app_id: str,
        timeout_seconds: float,
        max_rows: int,
    ) -> QueryResult: ...

    def data_version(self) -> str:
        """Changes whenever new data becomes visible to queries (cached results keyed by it)."""
        ...
