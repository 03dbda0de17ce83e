"""Report SQL, written once in DuckDB's dialect, rewritten for the warehouse that runs it.

sqlglot parses the report, qualifies its tables with the app's schema (a validated app id, quoted as
an identifier), and writes it in the target dialect with the placeholders its driver binds: DuckDB's
own ``$name``, redshift_connector's ``named`` paramstyle (``:name``; the driver sends server-side
``$1`` parameters), pyathena's ``pyformat`` (``%(name)s``; the driver escapes each value, and every
other ``%`` in the text is doubled so its ``%`` formatting leaves it alone).

``local_timestamp(epoch_ms, zone)`` and ``local_date(epoch_ms, zone)`` are ours: the wall-clock
time and the calendar date of an epoch-millisecond timestamp in an IANA zone, which the three
engines spell differently (and sqlglot cannot translate faithfully: Redshift's ``AT TIME ZONE`` on
a plain timestamp converts the other way), so each target's form is written out here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError

from clickstream_console.warehouse.query import QueryError, ReportQuery, SqlPosition
from clickstream_project.config import APP_ID_PATTERN
from clickstream_project.value_rules import not_a_warehouse_name

SOURCE_DIALECT = "duckdb"
Target = Literal["duckdb", "redshift", "athena"]
# sqlglot's name for each warehouse's dialect: Athena's engine 3 runs Trino SQL.
SQLGLOT_DIALECT: dict[Target, str] = {"duckdb": "duckdb", "redshift": "redshift", "athena": "athena"}
_PLACEHOLDER_MARK = "__clickstream_param_"
_FUNCTION_MARK = "__clickstream_fn_"
# The target's text for local_timestamp(ts, tz), the wall-clock time in the zone (a timestamp
# without zone); ``{ts}`` and ``{tz}`` are the arguments in that dialect. local_date is its date.
_LOCAL_TIMESTAMP: dict[Target, str] = {
    # to_timestamp gives an instant (timestamptz); timezone() its wall-clock time in the zone.
    "duckdb": "timezone({tz}, to_timestamp(({ts}) / 1000))",
    # 'epoch' plus seconds is the UTC wall-clock time; convert_timezone moves it into the zone.
    "redshift": "convert_timezone('UTC', {tz}, timestamp 'epoch' + ({ts}) / 1000 * interval '1 second')",
    # from_unixtime gives a UTC timestamp with time zone; at_timezone keeps the instant in the zone,
    # and the cast to a plain timestamp keeps its wall-clock time.
    "athena": "cast(at_timezone(from_unixtime(cast({ts} as double) / 1000), {tz}) as timestamp)",
}
_OUR_FUNCTIONS = {
    "local_timestamp": "({})",
    "local_date": "cast({} as date)",
}
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Transpiled:
    sql: str
    # Parameter names the statement uses, in order of first use; every driver here binds by name.
    parameter_names: tuple[str, ...]

    def bind(self, params: Mapping[str, object]) -> dict[str, object]:
        """The values for this statement; a missing one is an error, unused ones are left out."""
        missing = [name for name in self.parameter_names if name not in params]
        if missing:
            raise QueryError(f"missing value for parameter {', '.join(':' + name for name in missing)}", sql=self.sql)
        return {name: params[name] for name in self.parameter_names}


def checked_app_id(app_id: str) -> str:
    """The app's schema name, or QueryError: only a valid app id ever becomes an identifier."""
    if not isinstance(app_id, str) or not re.fullmatch(APP_ID_PATTERN, app_id):
        raise QueryError(f"invalid app id {app_id!r}")
    try:
        not_a_warehouse_name(app_id)
    except ValueError as error:
        raise QueryError(f"invalid app id {app_id!r}: {error}") from error
    return app_id


def transpile(query: ReportQuery, dialect: Target, *, app_id: str) -> Transpiled:
    """The query for ``dialect``, its tables in the app's schema; QueryError when it cannot be."""
    return _transpiled(query.sql, dialect, checked_app_id(app_id))


# Parsing and writing a report's SQL cost 3-30 ms a query (a Path explorer query most), paid on
# every data call; the result depends on the text, the dialect and the schema alone. Errors are
# raised, not cached.
@functools.lru_cache(maxsize=1024)
def _transpiled(sql_text: str, dialect: Target, schema: str) -> Transpiled:
    if _PLACEHOLDER_MARK in sql_text.lower():
        raise QueryError(f"the SQL may not contain {_PLACEHOLDER_MARK!r}", sql=sql_text)
    statement = _parse_one(sql_text)
    _qualify_tables(statement, schema, sql_text)
    names: list[str] = []

    def mark(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            if not _PARAMETER_NAME.fullmatch(node.this or ""):
                raise QueryError(f"parameters are named (:start_date), not positional ({node.sql(SOURCE_DIALECT)})", sql=sql_text)
            if node.name not in names:
                names.append(node.name)
            return exp.var(f"{_PLACEHOLDER_MARK}{node.name}__")
        return node

    functions: list[str] = []

    def write_out(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in _OUR_FUNCTIONS:
            name = node.name.lower()
            if len(node.expressions) != 2:
                raise QueryError(f"{name} takes two arguments: an epoch-millisecond timestamp and a zone name", sql=sql_text)
            ts, tz = (_target_sql(argument, dialect, sql_text) for argument in node.expressions)
            functions.append(_OUR_FUNCTIONS[name].format(_LOCAL_TIMESTAMP[dialect].format(ts=ts, tz=tz)))
            return exp.var(f"{_FUNCTION_MARK}{len(functions) - 1}__")
        return node

    marked = statement.transform(mark).transform(write_out)
    sql = _target_sql(marked, dialect, sql_text)
    # Last written first: a call's text may hold the marks of calls nested in its arguments.
    for number in reversed(range(len(functions))):
        sql = sql.replace(f"{_FUNCTION_MARK}{number}__", functions[number])
    if dialect == "athena":
        sql = sql.replace("%", "%%")
    placeholder = {"duckdb": "${}", "redshift": ":{}", "athena": "%({})s"}[dialect]
    for name in names:
        sql = sql.replace(f"{_PLACEHOLDER_MARK}{name}__", placeholder.format(name))
    return Transpiled(sql=sql, parameter_names=tuple(names))


def _target_sql(node: exp.Expression, dialect: Target, source: str) -> str:
    try:
        # Refused rather than sent half-translated: a construct the target has no form for.
        return node.sql(dialect=SQLGLOT_DIALECT[dialect], unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise QueryError(f"not expressible in {dialect}: {error}", sql=source) from error


def _parse_one(sql: str) -> exp.Expression:
    try:
        statements = [statement for statement in sqlglot.parse(sql, read=SOURCE_DIALECT) if statement is not None]
    except TokenError as error:
        raise QueryError(f"syntax error: {error}", sql=sql) from error
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        line, column = first.get("line"), first.get("col")
        position = SqlPosition(line=line, column=column) if line and column else None
        raise QueryError(f"syntax error: {first.get('description', str(error))}", position=position, sql=sql) from error
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}", sql=sql)
    return statements[0]


def _qualify_tables(statement: exp.Expression, schema: str, sql: str) -> None:
    """Put every table named without a schema into the app's; refuse names in another app's schema.

    Names defined by the query itself (CTEs) stay as they are; table functions are left to the
    engine, which refuses the ones that read files (external access is off).
    """
    cte_names = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.catalog:
            raise QueryError(f"table {table.sql(SOURCE_DIALECT)} names a database; reports read their app's schema only", sql=sql)
        if table.db:
            if table.db != schema:
                raise QueryError(f"table {table.sql(SOURCE_DIALECT)} is outside the app's schema {schema!r}", sql=sql)
            table.set("db", exp.to_identifier(schema, quoted=True))
        elif table.name.lower() not in cte_names:
            table.set("db", exp.to_identifier(schema, quoted=True))
