"""A small DuckDB warehouse for the Cognito page's tests: the Cognito models as tables with their
columns (dbt_project: cognito_raw_data, one row per streamed change; cognito_dataset_state, the
current value per key) for the tests' app ``shop_web``, published as a read snapshot. The state
table is filled by the Cognito sample connector's own query (cognito-streams seed) over the raw
rows, so the page is checked against the product's definition, not a second hand-made copy. The
project's second Cognito app has no Cognito models yet and its third app no Cognito source."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from clickstream_project.published_warehouse import publish
from tests.cognito_seed import seed_query
from tests.console.console_helpers import write_project

APP_ID = "shop_web"
# Fed by a Cognito source too, but no build has made its Cognito models yet.
NOT_BUILT = "shop_android"
# Fed by the SDKs only: it has no Cognito page.
NO_SOURCE = "blog_web"
POOL = "us-east-1:pool"
ALICE = "us-east-1:11111111-1111-1111-1111-111111111111"
BOB = "us-east-1:22222222-2222-2222-2222-222222222222"
# An identity whose every key was removed: history, no state.
GONE = "us-east-1:33333333-3333-3333-3333-333333333333"
# Identities are data, never SQL.
SQL_LIKE = "it's'; drop table cognito_raw_data --"


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


# identityId, datasetName, operation, key, value, op, syncCount, deviceLastModifiedDate, lastModifiedDate
CHANGES = [
    (ALICE, "preferences", "replace", "theme", "light", "replace", 1, T("2026-01-10 09:00:00"), T("2026-01-10 09:00:01")),
    (ALICE, "preferences", "replace", "language", "en", "replace", 1, T("2026-01-10 09:00:00"), T("2026-01-10 09:00:01")),
    (ALICE, "preferences", "replace", "theme", "dark", "replace", 2, T("2026-01-12 18:30:00"), T("2026-01-12 18:30:02")),
    (ALICE, "game", "replace", "level", "7", "replace", 3, T("2026-01-11 12:00:00"), T("2026-01-11 12:00:00")),
    (ALICE, "game", "replace", "coins", "120", "replace", 3, T("2026-01-11 12:00:00"), T("2026-01-11 12:00:00")),
    (ALICE, "game", "remove", "coins", None, "remove", 4, T("2026-01-13 08:00:00"), T("2026-01-13 08:00:05")),
    (BOB, "preferences", "replace", "theme", "light", "replace", 1, T("2026-01-09 07:00:00"), T("2026-01-09 07:00:00")),
    (GONE, "preferences", "replace", "theme", "blue", "replace", 1, T("2026-01-05 10:00:00"), T("2026-01-05 10:00:00")),
    (GONE, "preferences", "remove", "theme", None, "remove", 2, T("2026-01-06 10:00:00"), T("2026-01-06 10:00:00")),
    (SQL_LIKE, "preferences", "replace", "x", "y", "replace", 1, T("2026-01-08 10:00:00"), T("2026-01-08 10:00:00")),
]


def build_cognito_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute(f'create schema "{APP_ID}"')
        connection.execute(f"set search_path = '{APP_ID}'")
        connection.execute(
            "create table cognito_raw_data (identitypoolid varchar, identityid varchar, datasetname varchar, operation varchar, "
            "key varchar, value varchar, op varchar, synccount integer, devicelastmodifieddate timestamp, lastmodifieddate timestamp)"
        )
        connection.executemany(
            "insert into cognito_raw_data values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(POOL, *change) for change in CHANGES]
        )
        connection.execute(
            "create table cognito_dataset_state (identitypoolid varchar, identityid varchar, datasetname varchar, key varchar, "
            "value varchar, synccount integer, devicelastmodifieddate timestamp, lastmodifieddate timestamp)"
        )
        for identity, dataset in sorted({(change[0], change[1]) for change in CHANGES}):
            for _, _, key, _, _ in connection.execute(seed_query(identity, dataset)).fetchall():
                connection.execute(
                    "insert into cognito_dataset_state select distinct identitypoolid, identityid, datasetname, key, value, synccount, "
                    "devicelastmodifieddate, lastmodifieddate from cognito_raw_data where identityid = ? and datasetname = ? and key = ? "
                    "and synccount = (select max(synccount) from cognito_raw_data where identityid = ? and datasetname = ? and key = ?)",
                    [identity, dataset, key, identity, dataset, key],
                )
        # The table the published pointer takes each app's newest event hour from.
        connection.execute("create table ods_events as select 1768910400000 as event_timestamp")
    return path


def write_cognito_project(directory: Path) -> Path:
    database = directory / "cognito.duckdb"
    publish(build_cognito_warehouse(database))
    apps = [
        {"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"]},
        {"app_id": NOT_BUILT, "name": "Shop Android", "platforms": ["Android"], "package_name": "com.example.shop"},
        {"app_id": NO_SOURCE, "name": "Blog", "platforms": ["Web"]},
    ]
    sources = [
        {"type": "cognito_streams", "name": "prefs", "app_id": APP_ID, "stream_name": "prefs-sync", "region": "us-east-1"},
        {"type": "cognito_streams", "name": "game", "app_id": NOT_BUILT, "stream_name": "game-sync", "region": "us-east-1"},
    ]
    return write_project(directory, apps=apps, pipeline={"modeling": {"duckdb_path": str(database)}, "sources": sources})


def sql(database: Path, text: str, params: list | None = None) -> list[tuple]:
    """What the tests compute themselves, straight on the file."""
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"set search_path = '{APP_ID}'")
        return connection.execute(text, params or []).fetchall()
