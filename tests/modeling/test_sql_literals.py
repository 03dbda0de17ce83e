"""Paths and URIs reach SQL as quoted literals (macros/sql_string.sql): a quote in a path
works, and ``x'||'y`` reads only its own directory (issue 11, item 9)."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import ods_event, write_ods_events
from tests.modeling.test_cloud_sql import DUMMY_ENV
from tests.modeling.test_views_expected import APP, at

# Quote, backslash and semicolon: what breaks a literal in one dialect or another, and what
# splits a statement list.
AWKWARD = "it's\\x;y"


def compile_inline(target: str, template: str, tmp_path, **variables) -> str:
    result = dbt(["compile", "--quiet", "--no-populate-cache", "--target", target, "--inline", template], tmp_path,
                 {"app_id": "shop_web", **variables},
                 env={**DUMMY_ENV, "CLICKSTREAM_DBT_TARGET": target})  # fmt: skip
    return result.stdout


def literals(sql: str, dialect: str) -> list[str]:
    statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) if s is not None]
    return [literal.this for statement in statements for literal in statement.find_all(exp.Literal) if literal.is_string]


def test_redshift_copy_holds_the_whole_manifest_uri(tmp_path):
    manifest = f"s3://my-bucket/{AWKWARD}/load_manifests/partition_app=shop_web/load-1.json"
    sql = compile_inline(
        "redshift",
        "{{ clickstream.copy_ods_events_sql(var('manifest'), var('role')) }}",
        tmp_path,
        manifest=manifest,
        role="arn:aws:iam::123456789012:role/copy",
    )
    statements = [s for s in sqlglot.parse(sql, read="redshift") if s is not None]
    assert [type(s).__name__ for s in statements] == ["Create", "Copy"]
    assert manifest in literals(sql, "redshift")


def test_athena_location_holds_the_whole_uri(tmp_path):
    location = f"s3://my-bucket/{AWKWARD}/ods_events/"
    sql = compile_inline("athena", "{{ clickstream.create_ods_events_table_sql(var('location')) }}", tmp_path, location=location)
    values = literals(sql, "athena")
    assert location in values
    assert any(value.startswith(location + "partition_app=${partition_app}/") for value in values)


@pytest.mark.parametrize("target", ["redshift", "athena", "duckdb"])
def test_the_app_filter_of_every_warehouse_is_one_literal(target, tmp_path):
    env_target = {"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "w.duckdb")} if target == "duckdb" else {}
    result = dbt(["compile", "--quiet", "--no-populate-cache", "--target", target, "--inline", "{{ clickstream.sql_string(var('value')) }}"],
                 tmp_path, {"app_id": "shop_web", "value": AWKWARD},
                 env={**DUMMY_ENV, **env_target, "CLICKSTREAM_DBT_TARGET": target})  # fmt: skip
    parsed = sqlglot.parse_one("select " + result.stdout.strip(), read=target)
    assert [literal.this for literal in parsed.find_all(exp.Literal)] == [AWKWARD]


def run_ods_events(ods_root, work_dir) -> list[str]:
    dbt(
        ["run", "--select", "+ods_events"],
        work_dir,
        {"app_id": APP, "ods_root": str(ods_root)},
        env={"CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb")},
    )
    with duckdb.connect(str(work_dir / "warehouse.duckdb"), read_only=True) as connection:
        return [row[0] for row in connection.execute(f"select event_id from {APP}.ods_events order by 1").fetchall()]


def event(event_id: str):
    return ods_event(event_id, "u1", at("2023-12-05 10:00:00"), "_page_view", app_id=APP, session="s1")


def test_an_ods_root_holding_a_quote_builds(tmp_path):
    ods_root = tmp_path / "it's here"
    write_ods_events(ods_root, APP, [event("e1"), event("e2")])
    dbt(
        ["build"], tmp_path, {"app_id": APP, "ods_root": str(ods_root)}, env={"CLICKSTREAM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")}
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute(f"select count(*) from {APP}.clickstream_session_view").fetchone() == (1,)
        assert connection.execute(f"select count(*) from {APP}.ods_events").fetchone() == (2,)


def test_an_ods_root_cannot_splice_sql(tmp_path):
    """Unquoted, read_parquet('<tmp>/x'||'y/ods_events/...') reads <tmp>/xy/: another directory."""
    write_ods_events(tmp_path / "x'||'y", APP, [event("own")])
    write_ods_events(tmp_path / "xy", APP, [event("other")])
    assert run_ods_events(tmp_path / "x'||'y", tmp_path) == ["own"]
