"""A small DuckDB warehouse built by the tests: one schema per app, as dbt builds it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

APPS = ("shop", "blog")


def build_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as connection:
        for app_id in APPS:
            connection.execute(f'create schema "{app_id}"')
            connection.execute(f'create table "{app_id}".clickstream_event_view (event_date date, event_name varchar, user_id varchar)')
        rows = [
            (date(2026, 1, 1), "page_view", "u1"),
            (date(2026, 1, 1), "page_view", "u2"),
            (date(2026, 1, 2), "purchase", "u1"),
            (date(2026, 1, 3), "it's; drop table x --", "u3"),
        ]
        connection.executemany('insert into "shop".clickstream_event_view values (?, ?, ?)', rows)
        connection.execute("insert into \"blog\".clickstream_event_view values (date '2026-01-01', 'page_view', 'b1')")
    return path
