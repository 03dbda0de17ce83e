"""The Redshift and Athena adapters against recording DB-API fakes (neither warehouse is reachable
here): what they send, how they cap rows, and how the drivers' errors become the layer's."""

from __future__ import annotations

import threading
from datetime import date

import pyathena.error
import pytest
import redshift_connector
import yaml

from clickstream_console.warehouse.athena_warehouse import AthenaWarehouse
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse
from clickstream_console.warehouse.factory import warehouse_for
from clickstream_console.warehouse.query import QueryError, QueryTimeout, ReportQuery, SqlPosition, WarehouseUnavailable
from clickstream_console.warehouse.redshift_warehouse import RedshiftWarehouse
from clickstream_project.config import ConfigError, parse_config

QUERY = ReportQuery(
    "events_by_name", "select event_name, count(*) as events from clickstream_event_view\nwhere event_date >= :start group by 1"
)
ROWS = [("page_view", 2), ("purchase", 1), ("signup", 1)]


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.paramstyle = None
        self.description = None
        self.query_id = None

    def execute(self, sql, params=None):
        self.connection.executed.append((sql, params, self.paramstyle))
        if self.connection.error is not None and params is not None:
            raise self.connection.error
        if params is not None:
            self.query_id = "query-1"
            self.connection.started.set()
            if self.connection.block:
                self.connection.released.wait()
                raise pyathena.error.OperationalError("Query cancelled by user")
            self.description = [("event_name", "varchar", None, None, None, None, None), ("events", "bigint", None, None, None, None, None)]

    def fetchmany(self, size):
        self.connection.fetched.append(size)
        return ROWS[:size]

    def cancel(self):
        self.connection.cancelled = True
        self.connection.released.set()


class FakeConnection:
    def __init__(self, *, error: Exception | None = None, block: bool = False) -> None:
        self.error = error
        self.block = block
        self.executed: list[tuple[str, object, object]] = []
        self.fetched: list[int] = []
        self.autocommit = False
        self.closed = False
        self.cancelled = False
        self.started = threading.Event()
        self.released = threading.Event()

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def run(warehouse, **limits):
    options = {"app_id": "shop", "timeout_seconds": 5.0, "max_rows": 2, **limits}
    return warehouse.run(QUERY, {"start": date(2026, 1, 1), "unused": 1}, **options)


def test_redshift_runs_in_a_read_only_transaction_with_a_statement_timeout():
    connection = FakeConnection()

    result = run(RedshiftWarehouse(lambda: connection, data_version=lambda: "v1"), timeout_seconds=2.5)

    statements = [sql for sql, _, _ in connection.executed]
    assert statements[:2] == ["begin read only", "set statement_timeout to 2500"]
    sql, params, paramstyle = connection.executed[2]
    assert 'FROM "shop".clickstream_event_view' in sql and ":start" in sql
    assert params == {"start": date(2026, 1, 1)} and paramstyle == "named"
    assert statements[3] == "rollback"
    assert connection.autocommit and connection.closed
    assert connection.fetched == [3]
    assert result.rows == (("page_view", 2), ("purchase", 1)) and result.truncated
    assert [column.name for column in result.columns] == ["event_name", "events"]


def test_redshift_errors_carry_the_servers_message_and_position():
    error = redshift_connector.ProgrammingError({"S": "ERROR", "C": "42703", "M": 'column "nope" does not exist', "P": "80"})
    connection = FakeConnection(error=error)

    with pytest.raises(QueryError, match='column "nope" does not exist') as raised:
        run(RedshiftWarehouse(lambda: connection, data_version=lambda: "v1"))

    sent = connection.executed[-1][0]
    position = raised.value.position
    assert raised.value.sql == sent
    assert len("\n".join(sent.splitlines()[: position.line - 1])) + (1 if position.line > 1 else 0) + position.column == 80
    assert connection.closed


def test_a_redshift_statement_timeout_is_a_timeout():
    error = redshift_connector.ProgrammingError({"S": "ERROR", "C": "57014", "M": "Query (123) cancelled on user's request"})

    with pytest.raises(QueryTimeout):
        run(RedshiftWarehouse(lambda: FakeConnection(error=error), data_version=lambda: "v1"))


def test_an_unreachable_redshift_is_unavailable():
    def refuse():
        raise redshift_connector.InterfaceError("communication error")

    with pytest.raises(WarehouseUnavailable, match="communication error"):
        run(RedshiftWarehouse(refuse, data_version=lambda: "v1"))


def test_athena_sends_pyformat_parameters_and_caps_rows():
    connection = FakeConnection()

    result = run(AthenaWarehouse(lambda: connection, data_version=lambda: "v1"))

    (sql, params, _), *_ = connection.executed
    assert "%(start)s" in sql and 'FROM "shop".clickstream_event_view' in sql
    assert params == {"start": date(2026, 1, 1)}
    assert connection.fetched == [3] and result.truncated and connection.closed


def test_athena_errors_carry_the_position_athena_reports():
    error = pyathena.error.OperationalError("COLUMN_NOT_FOUND: line 2:7: Column 'nope' cannot be resolved")

    with pytest.raises(QueryError, match="COLUMN_NOT_FOUND") as raised:
        run(AthenaWarehouse(lambda: FakeConnection(error=error), data_version=lambda: "v1"))

    assert raised.value.position == SqlPosition(line=2, column=7)


def test_athena_cancels_a_query_past_its_deadline():
    connection = FakeConnection(block=True)

    with pytest.raises(QueryTimeout):
        run(AthenaWarehouse(lambda: connection, data_version=lambda: "v1"), timeout_seconds=0.1)

    assert connection.cancelled and connection.closed


def project(engine_block: str) -> str:
    return f"""
project_id: demo
apps: [{{app_id: shop, name: Shop, platforms: [Web]}}]
pipeline:
  processing:
    engine: emr_serverless
    emr_serverless:
      application_id: 00abcdef12345678
      execution_role_arn: arn:aws:iam::123456789012:role/emr
      artifacts_uri: s3://lake/artifacts/
      ods_uri: s3://lake/ods
  sink: {{type: s3, s3: {{bucket: lake}}}}
  modeling:
{engine_block}
"""


def load_config_text(text: str, *, base_dir):
    return parse_config(yaml.safe_load(text), base_dir=base_dir)


def test_the_engine_chooses_the_warehouse(tmp_path):
    assert isinstance(warehouse_for(load_config_text("project_id: demo\n", base_dir=tmp_path)), DuckDBWarehouse)
    redshift = project("    engine: redshift\n    redshift: {copy_iam_role_arn: 'arn:aws:iam::123456789012:role/copy'}")
    assert isinstance(warehouse_for(load_config_text(redshift, base_dir=tmp_path)), RedshiftWarehouse)
    athena = project("    engine: athena\n    athena: {reader_work_group: reports, region_name: eu-west-1}")
    assert isinstance(warehouse_for(load_config_text(athena, base_dir=tmp_path)), AthenaWarehouse)


def test_a_redshift_reader_without_its_password_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv("CLICKSTREAM_REDSHIFT_READER_PASSWORD", raising=False)
    config = load_config_text(
        project("    engine: redshift\n    redshift: {copy_iam_role_arn: 'arn:aws:iam::123456789012:role/copy'}"), base_dir=tmp_path
    )

    with pytest.raises(WarehouseUnavailable, match="CLICKSTREAM_REDSHIFT_READER_PASSWORD"):
        run(warehouse_for(config))


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ("    athena: {region_name: nowhere}", "region_name"),
        ("    athena: {reader_work_group: 'a b'}", "reader_work_group"),
        (
            "    engine: redshift\n    redshift: {copy_iam_role_arn: 'arn:aws:iam::123456789012:role/copy', reader_user: 'Robert; drop'}",
            "reader_user",
        ),
        (
            "    engine: redshift\n    redshift: {copy_iam_role_arn: 'arn:aws:iam::123456789012:role/copy', reader_password_env: 'not-a-name'}",
            "reader_password_env",
        ),
    ],
)
def test_reader_settings_are_validated_by_field(tmp_path, block, field):
    with pytest.raises(ConfigError, match=field):
        load_config_text(project(block), base_dir=tmp_path)
