"""The DuckDB adapter on a real database file: bound parameters, the app's schema, the timeout, the
row cap, and every write or file access refused by the engine itself."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse, error_position, open_read_only
from clickstream_console.warehouse.query import QueryError, QueryTimeout, ReportQuery, SqlPosition, WarehouseUnavailable
from tests.console.warehouse_fixture import build_warehouse

LIMITS = {"timeout_seconds": 30.0, "max_rows": 1000}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "clickstream.duckdb")


@pytest.fixture
def warehouse(database):
    return DuckDBWarehouse(lambda: database)


def run(warehouse, sql, params=None, app_id="shop", **limits):
    return warehouse.run(ReportQuery("test", sql), params or {}, app_id=app_id, **{**LIMITS, **limits})


def test_parameters_are_bound_and_the_app_schema_is_used(warehouse):
    sql = "select event_name, count(*) as events from clickstream_event_view where event_date between :start and :end group by 1 order by 1"
    result = run(warehouse, sql, {"start": date(2026, 1, 1), "end": date(2026, 1, 2)})

    assert [column.name for column in result.columns] == ["event_name", "events"]
    assert result.rows == (("page_view", 2), ("purchase", 1))
    assert not result.truncated
    assert run(warehouse, sql, {"start": date(2026, 1, 1), "end": date(2026, 1, 2)}, app_id="blog").rows == (("page_view", 1),)


def test_a_parameter_with_quotes_and_sql_stays_data(warehouse):
    value = "it's; drop table x --"
    result = run(warehouse, "select user_id from clickstream_event_view where event_name = :name", {"name": value})

    assert result.rows == (("u3",),)
    assert run(warehouse, "select count(*) from clickstream_event_view where event_name = :name", {"name": "x' or '1'='1"}).rows == ((0,),)


def test_a_missing_parameter_is_an_error(warehouse):
    with pytest.raises(QueryError, match=":start"):
        run(warehouse, "select * from clickstream_event_view where event_date >= :start")


@pytest.mark.parametrize("app_id", ["nope", "shop; drop", 'shop"', "select", ""])
def test_an_unknown_or_invalid_app_is_refused(warehouse, app_id):
    with pytest.raises(QueryError):
        run(warehouse, "select count(*) from clickstream_event_view", app_id=app_id)


def test_another_apps_schema_is_refused(warehouse):
    with pytest.raises(QueryError, match="outside the app's schema"):
        run(warehouse, "select count(*) from blog.clickstream_event_view")


def test_the_timeout_interrupts_a_slow_query(warehouse):
    with pytest.raises(QueryTimeout):
        run(warehouse, "select count(*) from range(1000000000) a, range(1000000000) b", timeout_seconds=0.2)


def test_the_row_cap_marks_the_result_truncated(warehouse):
    result = run(warehouse, "select * from clickstream_event_view order by event_date", max_rows=2)

    assert len(result.rows) == 2
    assert result.truncated
    assert not run(warehouse, "select * from clickstream_event_view", max_rows=4).truncated


@pytest.mark.parametrize(
    ("sql", "engine_message"),
    [
        ("insert into clickstream_event_view values (date '2026-01-04', 'x', 'u9')", 'statement of type "INSERT"'),
        ("create table stolen as select 1 as a", 'statement of type "CREATE"'),
        ("delete from clickstream_event_view", 'statement of type "DELETE"'),
        ("select * from read_csv('/etc/passwd')", "file system operations are disabled"),
        ("copy (select 1) to '/tmp/clickstream-stolen.csv'", "file system operations are disabled"),
        ("install httpfs", "file system operations are disabled"),
        ("attach '/tmp/clickstream-other.duckdb' as other", "file system operations are disabled"),
        ("set enable_external_access = true", "configuration has been locked"),
    ],
)
def test_writes_and_file_access_are_refused_by_the_engine(warehouse, database, sql, engine_message):
    with pytest.raises(QueryError, match=engine_message):
        run(warehouse, sql)

    # (Opened as the warehouse opens it: DuckDB refuses a second configuration for an open file.)
    with open_read_only(str(database)) as connection:
        assert connection.execute('select count(*) from "shop".clickstream_event_view').fetchone() == (4,)


def test_a_syntax_error_reports_its_position(warehouse):
    with pytest.raises(QueryError) as raised:
        run(warehouse, "select event_name\nfrom clickstream_event_view\nwhere event_date >")

    assert raised.value.position is not None
    assert raised.value.position.line == 3


def test_a_binder_error_reports_duckdbs_message_and_position(warehouse):
    with pytest.raises(QueryError, match="Referenced column") as raised:
        run(warehouse, "select event_name,\n  no_such_column\nfrom clickstream_event_view")

    error = raised.value
    line = error.sql.splitlines()[error.position.line - 1]
    assert line[error.position.column - 1 :].lower().startswith("no_such_column")


def test_duckdb_error_positions_are_read_from_the_caret():
    message = 'Binder Error: Referenced column "x" not found\n\nLINE 2: SELECT a, x FROM t\n                  ^'

    assert error_position(message) == SqlPosition(line=2, column=11)
    assert error_position("Catalog Error: no position here") is None


def test_a_missing_database_is_unavailable(tmp_path):
    with pytest.raises(WarehouseUnavailable):
        run(DuckDBWarehouse(lambda: tmp_path / "absent.duckdb"), "select 1")


def test_the_data_version_changes_when_the_file_is_replaced(tmp_path):
    path = build_warehouse(tmp_path / "one.duckdb")
    warehouse = DuckDBWarehouse(lambda: path)
    before = warehouse.data_version()
    assert warehouse.data_version() == before

    replacement = build_warehouse(tmp_path / "two.duckdb")
    replacement.replace(path)

    assert warehouse.data_version() != before


def test_reports_read_the_published_snapshot_not_the_file_dbt_writes(tmp_path):
    from clickstream_console.warehouse.factory import warehouse_for
    from clickstream_project.published_warehouse import publish
    from tests.conftest import make_config

    config = make_config(tmp_path)
    config.duckdb_path.parent.mkdir(parents=True)
    build_warehouse(config.duckdb_path)
    warehouse = warehouse_for(config)
    with pytest.raises(WarehouseUnavailable, match="no data published yet"):
        run(warehouse, "select count(*) from clickstream_event_view")
    first = publish(config.duckdb_path)
    assert run(warehouse, "select count(*) from clickstream_event_view").rows == ((4,),)
    version = warehouse.data_version()
    # A build writes the live file (holding its lock); reports keep reading the snapshot.
    with duckdb.connect(str(config.duckdb_path)) as writer:
        writer.execute("insert into shop.clickstream_event_view values (date '2026-01-04', 'page_view', 'u4')")
        assert run(warehouse, "select count(*) from clickstream_event_view").rows == ((4,),)
    second = publish(config.duckdb_path)
    assert second.version != first.version and warehouse.data_version() != version
    assert run(warehouse, "select count(*) from clickstream_event_view").rows == ((5,),)
