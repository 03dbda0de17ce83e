"""The Cognito Streams models (cognito_raw_data, cognito_dataset_state) on DuckDB: rows worked
out by hand, and the seed's own query (../shared/seeds/cognito-streams.txt) as the reference.

Two identities of one pool, a (two datasets) and b (one), in three deliveries:

- run 1: a/prefs sets theme=dark (syncCount 1), font=14 (1), lang=en (2); a/cart sets
  item1=2 (1), item2=1 (2); b/prefs sets theme=light (1).
- run 2: a/prefs theme=blue (3, an update); a/cart removes item1 (3); a bulk publish delivers
  a/prefs font=14 (1) again.
- run 3: a/cart item1=5 (2) arrives late, older than its removal; the bulk publish delivers
  b/prefs theme=light (1) again.

So a/prefs holds font=14 (1), lang=en (2), theme=blue (3); a/cart item2=1 (2) (item1's latest
change is the remove, the late item1=5 does not revive it); b/prefs theme=light (1).
Incremental runs and one full build over the same Parquet must both give these rows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.cognito_seed import SEED_TABLE, seed_query
from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import ods_event, typed, write_ods_events
from tests.modeling.test_views_expected import APP, at, query

POOL = "eu-west-1:pool"
A, B = "eu-west-1:a", "eu-west-1:b"
EMPTY = {"double_value": None, "float_value": None, "int_value": None, "string_value": None}


def change(identity, dataset, key, value, sync_count, time, ingest, op="replace"):
    """One changed key as plugins/examples/cognito_sync.py writes it to ods_events (same
    event_id, name and params); the record's operation is the entry's op here."""
    modified, device_modified = at(time), at(time) - 5_000
    event_id = hashlib.sha256(json.dumps([identity, dataset, key, str(sync_count)], separators=(",", ":")).encode()).hexdigest()
    row = ods_event(event_id, identity, modified, f"cognito_sync_{op}", app_id=APP, ingest=at(ingest), platform="Cognito")
    params = {
        "dataSetName": dataset,
        "deviceLastModifiedDate": device_modified,
        "identityPoolId": POOL,
        "key": key,
        "op": op,
        "operation": op,
        "syncCount": sync_count,
        "value": value,
    }
    row["event_params"] = [{"key": k, "value": EMPTY if v is None else typed(v)} for k, v in params.items()]
    # The seed connector's row of the same change.
    modified_at = datetime.fromisoformat(time)
    raw = (POOL, identity, dataset, op, key, value, op, sync_count, modified_at - timedelta(seconds=5), modified_at)
    return row, raw


RUN1, RUN2, RUN3 = "2024-05-01 10:30:00", "2024-05-01 12:30:00", "2024-05-01 14:30:00"
RUNS = [
    [
        change(A, "prefs", "theme", "dark", 1, "2024-05-01 10:00:00", RUN1),
        change(A, "prefs", "font", "14", 1, "2024-05-01 10:00:00", RUN1),
        change(A, "prefs", "lang", "en", 2, "2024-05-01 10:05:00", RUN1),
        change(A, "cart", "item1", "2", 1, "2024-05-01 10:01:00", RUN1),
        change(A, "cart", "item2", "1", 2, "2024-05-01 10:02:00", RUN1),
        change(B, "prefs", "theme", "light", 1, "2024-05-01 10:03:00", RUN1),
    ],
    [
        change(A, "prefs", "theme", "blue", 3, "2024-05-01 12:00:00", RUN2),
        change(A, "cart", "item1", None, 3, "2024-05-01 12:01:00", RUN2, op="remove"),
        change(A, "prefs", "font", "14", 1, "2024-05-01 10:00:00", RUN2),  # bulk publish
    ],
    [
        change(A, "cart", "item1", "5", 2, "2024-05-01 11:00:00", RUN3),  # late, older than the remove
        change(B, "prefs", "theme", "light", 1, "2024-05-01 10:03:00", RUN3),  # bulk publish
    ],
]

T = datetime.fromisoformat
EXPECTED_STATE = [
    # identityid, datasetname, key, value, synccount, lastmodifieddate
    (A, "cart", "item2", "1", 2, T("2024-05-01 10:02:00")),
    (A, "prefs", "font", "14", 1, T("2024-05-01 10:00:00")),
    (A, "prefs", "lang", "en", 2, T("2024-05-01 10:05:00")),
    (A, "prefs", "theme", "blue", 3, T("2024-05-01 12:00:00")),
    (B, "prefs", "theme", "light", 1, T("2024-05-01 10:03:00")),
]
STATE_SQL = """select identityid, datasetname, key, value, synccount, lastmodifieddate
               from {schema}.cognito_dataset_state order by 1, 2, 3"""
# Every change once (the bulk-publish duplicates are the same changes).
EXPECTED_RAW = sorted({raw for run in RUNS for _, raw in run}, key=lambda r: (r[1], r[2], r[4], r[7]))
RAW_SQL = "select * from {schema}.cognito_raw_data order by identityid, datasetname, key, synccount"


def build(ods_root: Path, work_dir: Path, enabled: bool = True) -> None:
    dbt(
        ["build", "--select", "+cognito_dataset_state", "+cognito_raw_data"],
        work_dir,
        {"app_id": APP, "ods_root": str(ods_root), "cognito_streams": enabled},
        env={"CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb")},
    )


@pytest.fixture(scope="module")
def incremental_warehouse(tmp_path_factory) -> Path:
    """One build per delivery, then a re-run with nothing new."""
    work_dir = tmp_path_factory.mktemp("cognito-incremental")
    for run in [*RUNS, []]:
        if run:
            write_ods_events(work_dir / "ods", APP, [row for row, _ in run])
        build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def full_warehouse(incremental_warehouse, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp("cognito-full")
    shutil.copytree(incremental_warehouse.parent / "ods", work_dir / "ods")
    build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


WAREHOUSES = ["incremental_warehouse", "full_warehouse"]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_dataset_state_holds_the_current_value_of_every_key(request, warehouse):
    assert query(request.getfixturevalue(warehouse), STATE_SQL) == EXPECTED_STATE


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_raw_data_holds_every_change_once_with_the_seeds_columns_and_types(request, warehouse):
    database = request.getfixturevalue(warehouse)
    assert query(database, RAW_SQL) == EXPECTED_RAW
    described = [(name, kind) for name, kind, *_ in query(database, "describe {schema}.cognito_raw_data")]
    assert described == [
        ("identitypoolid", "VARCHAR"), ("identityid", "VARCHAR"), ("datasetname", "VARCHAR"), ("operation", "VARCHAR"),
        ("key", "VARCHAR"), ("value", "VARCHAR"), ("op", "VARCHAR"), ("synccount", "INTEGER"),
        ("devicelastmodifieddate", "TIMESTAMP"), ("lastmodifieddate", "TIMESTAMP"),
    ]  # fmt: skip


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_dataset_state_equals_the_seed_query_for_every_identity_and_dataset(request, warehouse):
    """The seed's connector loads every delivered record, duplicates included, into its table;
    its query on that table gives, for each identity and dataset, the rows of the model."""
    database = request.getfixturevalue(warehouse)
    reference = duckdb.connect()
    reference.execute(SEED_TABLE)
    reference.executemany("insert into cognito_raw_data values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [raw for run in RUNS for _, raw in run])
    datasets = reference.execute("select distinct identityId, datasetName from cognito_raw_data order by 1, 2").fetchall()
    assert len(datasets) == 3
    for identity, dataset in datasets:
        seed_sql = seed_query(identity, dataset)
        expected = reference.execute(seed_sql).fetchall()
        model = query(
            database,
            f"""select identityid, datasetname, key, synccount, value from {{schema}}.cognito_dataset_state
                where identityid = '{identity}' and datasetname = '{dataset}' order by datasetname, key""",
        )
        assert model == expected, (identity, dataset)
    assert sum(len(reference.execute(seed_query(i, d)).fetchall()) for i, d in datasets) == 5


def test_apps_without_a_cognito_source_get_empty_models(tmp_path):
    """cognito_streams off (an SDK app's build): the models exist, typed, and hold nothing."""
    write_ods_events(tmp_path / "ods", APP, [row for run in RUNS for row, _ in run])
    build(tmp_path / "ods", tmp_path, enabled=False)
    database = tmp_path / "warehouse.duckdb"
    for model in ("cognito_raw_data", "cognito_dataset_state", "int_cognito_latest_changes"):
        assert query(database, f"select count(*) from {{schema}}.{model}") == [(0,)]
