"""Offline checks of the Redshift and Athena SQL: compile the project for each cloud target
without a connection (through offline_compile/, which answers for the warehouse), once for a
first build and once for an incremental run, and parse every compiled statement with sqlglot
in that warehouse's dialect. DuckDB-only syntax must not leak
into them (every warehouse difference sits behind a dispatched macro)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlglot

from tests.modeling.dbt_runner import dbt, offline_compile_project

# DuckDB functions and syntax that Redshift and Athena do not have. Athena (Trino) writes its
# own lambdas as `x -> ...`, so the arrow is only foreign to Redshift.
DUCKDB_ONLY = [
    r"\bread_parquet\s*\(",
    r"\blist_\w+\s*\(",
    r"\bstruct_pack\s*\(",
    r"\bepoch_ms\s*\(",
    r"\blambda\s+\w+\s*:",
    r"\bmake_timestamp\s*\(",
    r"\blen\s*\(",
]
FOREIGN = {"redshift": [*DUCKDB_ONLY, r"->"], "athena": DUCKDB_ONLY}
DUMMY_ENV = {
    "CLICKSTREAM_REDSHIFT_HOST": "redshift.invalid",
    "CLICKSTREAM_REDSHIFT_USER": "clickstream",
    "CLICKSTREAM_REDSHIFT_PASSWORD": "offline",
    "CLICKSTREAM_ATHENA_STAGING_DIR": "s3://invalid-bucket/athena/",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
}
COMBINATIONS = [(target, mode) for target in ("redshift", "athena") for mode in ("full", "incremental")]


def strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", re.sub(r"/\*.*?\*/", "", sql, flags=re.S))


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[f"{t}-{m}" for t, m in COMBINATIONS])
def compiled(request, tmp_path_factory) -> tuple[str, list[Path]]:
    target, mode = request.param
    work_dir = tmp_path_factory.mktemp(f"{target}-{mode}")
    dbt(
        ["compile", "--no-populate-cache", "--target", target],
        work_dir,
        # cognito_streams: the Cognito models' SQL, not their empty stand-in, is checked too.
        {"app_id": "shop_web", "offline_incremental": mode == "incremental", "cognito_streams": True},
        env={**DUMMY_ENV, "CLICKSTREAM_DBT_TARGET": target},
        project_dir=offline_compile_project(work_dir),
    )
    files = sorted((work_dir / "target" / "compiled").rglob("*.sql"))
    return target, files


def test_every_model_compiles(compiled):
    _target, files = compiled
    models = {path.stem for path in files if path.parent.parent.name == "models"}
    assert {
        "ods_events",
        "dim_users",
        "clickstream_session_view",
        "clickstream_path_view",
        "clickstream_retention_view",
        "clickstream_lifecycle_weekly_view",
        "int_user_days",
        "int_cognito_latest_changes",
        "cognito_raw_data",
        "cognito_dataset_state",
    } <= models


def test_every_statement_parses_in_the_warehouse_dialect(compiled):
    target, files = compiled
    failures = []
    for path in files:
        try:
            statements = sqlglot.parse(path.read_text(), read=target, error_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.ParseError as error:
            failures.append(f"{path.name}: {str(error)[:300]}")
            continue
        if not [statement for statement in statements if statement is not None]:
            failures.append(f"{path.name}: no statement")
    assert not failures, "\n".join(failures)


def test_no_duckdb_only_syntax(compiled):
    target, files = compiled
    found = [
        f"{path.name}: {pattern}"
        for path in files
        for pattern in FOREIGN[target]
        if re.search(pattern, strip_comments(path.read_text()), flags=re.I)
    ]
    assert not found, "\n".join(found)


# Models with several rows per unique key: Athena's MERGE fails when a target row matches more
# than one new row, so there they must be rebuilt whole; elsewhere the key's rows are replaced.
SEVERAL_ROWS_PER_KEY = ("clickstream_device_view",)


def test_models_with_several_rows_per_key_are_not_merged_on_athena(compiled):
    target, files = compiled
    target_dir = next(parent for parent in files[0].parents if parent.name == "target")
    manifest = json.loads((target_dir / "manifest.json").read_text())
    configs = {node["name"]: node["config"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    for model in SEVERAL_ROWS_PER_KEY:
        config = configs[model]
        if target == "athena":
            assert config["materialized"] == "table", model
        else:
            assert (config["materialized"], config["incremental_strategy"]) == ("incremental", "delete+insert"), model


def test_the_check_catches_duckdb_sql(tmp_path):
    """The same project compiled for DuckDB trips the check: it is not vacuous."""
    dbt(
        ["compile", "--target", "duckdb"],
        tmp_path,
        {"app_id": "shop_web"},
        env={"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")},
    )
    sql = "\n".join(strip_comments(path.read_text()) for path in (tmp_path / "target" / "compiled").rglob("*.sql"))
    caught = {pattern for pattern in FOREIGN["redshift"] if re.search(pattern, sql, flags=re.I)}
    assert {r"\bread_parquet\s*\(", r"\blist_\w+\s*\(", r"\blambda\s+\w+\s*:"} <= caught


SOURCE_DDL = {
    "redshift": (
        "{{ clickstream.copy_ods_events_sql('s3://bucket/manifests/h2023111500.json', 'arn:aws:iam::123456789012:role/copy') }}",
        ["Create", "Copy"],
    ),
    "athena": ("{{ clickstream.create_ods_events_table_sql('s3://bucket/clickstream/proj/ods/ods_events/') }}", ["Create"]),
}


@pytest.mark.parametrize("target", sorted(SOURCE_DDL))
def test_source_ddl_parses(target, tmp_path):
    """The statements that create and feed the cloud source (COPY into Redshift's staging
    table, Athena's partitioned table over the Parquet) are valid in their dialect."""
    template, expected = SOURCE_DDL[target]
    result = dbt(
        ["compile", "--quiet", "--no-populate-cache", "--target", target, "--inline", template],
        tmp_path,
        {"app_id": "shop_web"},
        env={**DUMMY_ENV, "CLICKSTREAM_DBT_TARGET": target},
    )
    statements = sqlglot.parse(result.stdout, read=target, error_level=sqlglot.ErrorLevel.RAISE)
    assert [type(statement).__name__ for statement in statements if statement is not None] == expected
    assert "partition_app" in result.stdout if target == "athena" else "serializetojson" in result.stdout
