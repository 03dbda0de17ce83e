"""Small hand-made warehouses for the Explore event and funnel tests: the event-level views they
read (clickstream_ods_event_view, clickstream_ods_event_attributes_view, clickstream_user_attr_view,
clickstream_path_view) as DuckDB tables with the columns the analyses use, built from a list of
``Event``s, and the analyses run through the query layer as the pages run them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from clickstream_console.explore.analysis import AnalysisQuery
from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import ReportQuery

APP = "shop_web"
SESSION_KEY = "_session_id"


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO time in UTC (``2026-01-05T10:00:00.250``)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Event:
    event_id: str
    name: str
    # Epoch milliseconds; an ISO text is taken as UTC.
    at: int | str
    user: str
    user_id: str | None = None
    platform: str = "Web"
    country: str | None = None
    value_usd: float | None = None
    # Event parameters (text, as the attributes view holds them); ``_session_id`` also puts the
    # event in clickstream_path_view, as the dbt model does.
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def timestamp(self) -> int:
        return self.at if isinstance(self.at, int) else ms(self.at)


def load(connection: duckdb.DuckDBPyConnection, events: Iterable[Event], user_attributes: Iterable[tuple[str, str, str]] = ()) -> None:
    """Create the views as tables in the app's schema and fill them; user attributes are
    (user_pseudo_id, key, value). Rows go in in the given order, not by time (ingest order)."""
    events = list(events)
    connection.execute(f'create schema "{APP}"')
    connection.execute(
        f'create table "{APP}".clickstream_ods_event_view (event_id varchar, event_name varchar, event_date date, event_timestamp bigint,'
        " user_pseudo_id varchar, user_id varchar, platform varchar, geo_country varchar, event_value_in_usd double)"
    )
    connection.execute(
        f'create table "{APP}".clickstream_ods_event_attributes_view (event_id varchar, event_name varchar, event_date date,'
        " event_parameter_key varchar, event_parameter_value varchar)"
    )
    connection.execute(
        f'create table "{APP}".clickstream_user_attr_view (user_pseudo_id varchar, user_id varchar, custom_attr_key varchar, custom_attr_value varchar)'
    )
    connection.execute(
        f'create table "{APP}".clickstream_path_view (user_pseudo_id varchar, event_date date, event_id varchar, event_name varchar,'
        " event_timestamp bigint, session_id varchar)"
    )
    rows, attributes, paths = [], [], []
    for event in events:
        day = datetime.fromtimestamp(event.timestamp / 1000, UTC).date()
        rows.append((event.event_id, event.name, day, event.timestamp, event.user, event.user_id, event.platform, event.country, event.value_usd))
        attributes += [(event.event_id, event.name, day, key, value) for key, value in event.params.items()]
        if SESSION_KEY in event.params:
            paths.append((event.user, day, event.event_id, event.name, event.timestamp, event.params[SESSION_KEY]))
    if rows:
        connection.executemany(f'insert into "{APP}".clickstream_ods_event_view values (?, ?, ?, ?, ?, ?, ?, ?, ?)', rows)
    if attributes:
        connection.executemany(f'insert into "{APP}".clickstream_ods_event_attributes_view values (?, ?, ?, ?, ?)', attributes)
    if paths:
        connection.executemany(f'insert into "{APP}".clickstream_path_view values (?, ?, ?, ?, ?, ?)', paths)
    users = [(user, None, key, value) for user, key, value in user_attributes]
    if users:
        connection.executemany(f'insert into "{APP}".clickstream_user_attr_view values (?, ?, ?, ?)', users)


def warehouse(events: Iterable[Event], user_attributes: Iterable[tuple[str, str, str]] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding ``events``."""
    connection = duckdb.connect()
    load(connection, events, user_attributes)
    return connection


def run(connection: duckdb.DuckDBPyConnection, query: ReportQuery, values: Mapping[str, object]) -> list[tuple]:
    """The query's rows, transpiled and bound by the query layer as a page runs it."""
    transpiled = transpile(query, "duckdb", app_id=APP)
    return connection.execute(transpiled.sql, transpiled.bind(values)).fetchall()


def rows(connection: duckdb.DuckDBPyConnection, analysis: AnalysisQuery, extra: str | None = None) -> list[tuple]:
    """The analysis' main result, or its extra result named ``extra``."""
    query = analysis.extra[extra][0] if extra else analysis.query
    return run(connection, query, analysis.params)
