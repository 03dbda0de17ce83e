"""The console keeps the published snapshot open between queries: one connection per version of
the file, a query per cursor. A new snapshot (or a file rebuilt in place) is read by the next
query; the old version is closed once its last query ends, never under one; a timed-out query
stops alone while others on the same connection finish."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from clickstream_console.warehouse.duckdb_connections import ConnectionPool
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse, open_read_only
from clickstream_console.warehouse.query import QueryTimeout, ReportQuery
from tests.console.warehouse_fixture import build_warehouse

COUNT = ReportQuery("count", "select count(*) from clickstream_event_view")
LIMITS = {"app_id": "shop", "timeout_seconds": 30.0, "max_rows": 100}


class CountingPool(ConnectionPool):
    """The real pool, counting the files it opens."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        super().__init__(self._open)

    def _open(self, path: str) -> duckdb.DuckDBPyConnection:
        self.opened.append(path)
        return open_read_only(path)


def test_queries_share_one_connection_per_version_and_see_a_replaced_file(tmp_path):
    path = build_warehouse(tmp_path / "one.duckdb")
    pool = CountingPool()
    warehouse = DuckDBWarehouse(lambda: path, pool)

    assert [warehouse.run(COUNT, {}, **LIMITS).rows for _ in range(3)] == [((4,),)] * 3
    assert pool.opened == [str(path)]

    replacement = build_warehouse(tmp_path / "two.duckdb")
    with duckdb.connect(str(replacement)) as writer:
        writer.execute("insert into shop.clickstream_event_view values (date '2026-01-05', 'page_view', 'u5')")
    replacement.replace(path)

    assert warehouse.run(COUNT, {}, **LIMITS).rows == ((5,),)
    assert pool.opened == [str(path), str(path)]


def test_a_new_snapshot_path_closes_the_old_connection_only_after_its_last_query(tmp_path):
    first, second = build_warehouse(tmp_path / "a.duckdb"), build_warehouse(tmp_path / "b.duckdb")
    pool = ConnectionPool(open_read_only)
    with pool.cursor(str(first), "v1") as old:
        # The published snapshot moves on while a query on the old one is still running.
        with pool.cursor(str(first), "v2") as new:
            assert new.execute("select count(*) from shop.clickstream_event_view").fetchone() == (4,)
        assert old.execute("select count(*) from shop.clickstream_event_view").fetchone() == (4,)
    # v1 is superseded and idle now: closed; v2 stays open for the next query.
    assert set(pool._open) == {"v2"}
    # Another file (the next published snapshot) is another path: its first query opens it.
    with pool.cursor(str(second), "v3") as cursor:
        assert cursor.execute("select count(*) from shop.clickstream_event_view").fetchone() == (4,)
    assert set(pool._open) == {"v2", "v3"}
    pool.close()
    assert pool._open == {}


def test_a_timed_out_query_stops_alone_and_others_on_the_connection_finish(tmp_path):
    path = build_warehouse(tmp_path / "one.duckdb")
    warehouse = DuckDBWarehouse(lambda: path, ConnectionPool(open_read_only))
    slow = ReportQuery("slow", "select count(*) from range(1000000000) a, range(1000000000) b")
    started = threading.Event()

    def run_slow():
        started.set()
        with pytest.raises(QueryTimeout):
            warehouse.run(slow, {}, **{**LIMITS, "timeout_seconds": 1.0})

    with ThreadPoolExecutor(max_workers=4) as pool:
        slow_run = pool.submit(run_slow)
        started.wait()
        quick = [pool.submit(warehouse.run, COUNT, {}, **LIMITS) for _ in range(20)]
        assert [future.result().rows for future in quick] == [((4,),)] * 20
        slow_run.result()
    assert warehouse.run(COUNT, {}, **LIMITS).rows == ((4,),)
