"""A console query as a driver sends it to each warehouse, parsed back: what the dialect tests
check (it parses in that dialect, and reads only the app schema's objects)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile
from clickstream_console.warehouse.query import ReportQuery

# Each driver's placeholder for a bound value.
_PLACEHOLDER = {"duckdb": "${}", "redshift": ":{}", "athena": "%({})s"}


def parsed_as_sent(query: ReportQuery, dialect: str, *, app_id: str = "shop", literal: str = "'x'") -> exp.Expression:
    """``query`` transpiled for ``dialect``, each bound value replaced by ``literal`` (what the
    driver sends once it has bound them), parsed in that dialect."""
    transpiled = transpile(query, dialect, app_id=app_id)
    sql = transpiled.sql
    for name in transpiled.parameter_names:
        sql = sql.replace(_PLACEHOLDER[dialect].format(name), literal)
    if dialect == "athena":
        sql = sql.replace("%%", "%")
    return sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[dialect])


def tables_read(parsed: exp.Expression) -> set[tuple[str, str]]:
    """(schema, name) of every table the statement reads, its own CTEs left out."""
    ctes = {cte.alias_or_name for cte in parsed.find_all(exp.CTE)}
    return {(table.db, table.name) for table in parsed.find_all(exp.Table) if table.name not in ctes}
