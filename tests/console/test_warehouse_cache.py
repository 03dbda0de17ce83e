"""The result cache: hits for equal inputs, misses once the data version changes, bounded by
entries and rows, and safe to share between request threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from clickstream_console.warehouse.cache import ResultCache
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse
from clickstream_console.warehouse.query import QueryError, QueryResult, ReportQuery
from tests.console.warehouse_fixture import build_warehouse

LIMITS = {"timeout_seconds": 30.0, "max_rows": 1000}
BY_DAY = ReportQuery("by_day", "select event_date, count(*) as events from clickstream_event_view where event_date >= :start group by 1")


class CountingWarehouse:
    """Answers every query with ``rows`` rows and counts the calls."""

    def __init__(self, rows: int = 1) -> None:
        self.rows = rows
        self.version = "v1"
        self.calls = 0
        self._lock = threading.Lock()

    def data_version(self) -> str:
        return self.version

    def run(self, query, params, *, app_id, timeout_seconds, max_rows):
        with self._lock:
            self.calls += 1
        return QueryResult(columns=(), rows=tuple((index,) for index in range(self.rows)), truncated=False, elapsed_seconds=0.0)


def test_equal_inputs_hit_on_a_real_database(tmp_path):
    path = build_warehouse(tmp_path / "one.duckdb")
    warehouse = DuckDBWarehouse(lambda: path)
    cache = ResultCache()

    first = cache.run(warehouse, BY_DAY, {"start": date(2026, 1, 1)}, app_id="shop", **LIMITS)
    again = cache.run(warehouse, BY_DAY, {"start": date(2026, 1, 1)}, app_id="shop", **LIMITS)

    assert again is first and (cache.hits, cache.misses) == (1, 1)

    build_warehouse(tmp_path / "two.duckdb").replace(path)
    cache.run(warehouse, BY_DAY, {"start": date(2026, 1, 1)}, app_id="shop", **LIMITS)

    assert (cache.hits, cache.misses) == (1, 2)
    assert len(cache) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"start": date(2026, 1, 2)}},
        {"params": {"start": "2026-01-01"}},
        {"app_id": "blog"},
        {"query": ReportQuery("by_day", BY_DAY.sql + " order by 1")},
        {"query": ReportQuery("other", BY_DAY.sql)},
    ],
)
def test_any_different_input_misses(change):
    warehouse = CountingWarehouse()
    cache = ResultCache()
    base = {"query": BY_DAY, "params": {"start": date(2026, 1, 1)}, "app_id": "shop"}
    cache.run(warehouse, base["query"], base["params"], app_id=base["app_id"], **LIMITS)

    changed = {**base, **change}
    cache.run(warehouse, changed["query"], changed["params"], app_id=changed["app_id"], **LIMITS)

    assert warehouse.calls == 2


def test_a_new_data_version_evicts_the_old_results():
    warehouse = CountingWarehouse()
    cache = ResultCache()
    for day in (1, 2, 3):
        cache.run(warehouse, BY_DAY, {"start": date(2026, 1, day)}, app_id="shop", **LIMITS)
    assert len(cache) == 3

    warehouse.version = "v2"
    cache.run(warehouse, BY_DAY, {"start": date(2026, 1, 1)}, app_id="shop", **LIMITS)

    assert len(cache) == 1 and warehouse.calls == 4


def test_the_least_recently_used_goes_first_when_entries_or_rows_run_out():
    warehouse = CountingWarehouse(rows=10)
    cache = ResultCache(max_entries=3, max_rows=25)

    def run(day: int) -> None:
        cache.run(warehouse, BY_DAY, {"start": date(2026, 1, day)}, app_id="shop", **LIMITS)

    run(1)
    run(2)
    run(1)  # day 1 is now the most recently used
    run(3)  # 30 rows > 25: day 2 goes

    assert len(cache) == 2
    calls = warehouse.calls
    run(1)
    assert warehouse.calls == calls
    run(2)
    assert warehouse.calls == calls + 1


def test_errors_are_not_cached():
    class FailingWarehouse(CountingWarehouse):
        def run(self, query, params, **options):
            super().run(query, params, **options)
            raise QueryError("boom")

    warehouse = FailingWarehouse()
    cache = ResultCache()
    for _ in range(2):
        with pytest.raises(QueryError):
            cache.run(warehouse, BY_DAY, {}, app_id="shop", **LIMITS)

    assert warehouse.calls == 2 and len(cache) == 0


def test_threads_share_one_cache():
    warehouse = CountingWarehouse(rows=2)
    cache = ResultCache(max_entries=8, max_rows=12)

    def work(index: int) -> int:
        return len(cache.run(warehouse, BY_DAY, {"start": date(2026, 1, 1 + index % 10)}, app_id="shop", **LIMITS).rows)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(work, range(400))) == {2}

    assert len(cache) <= 6
    assert cache.hits + cache.misses == 400
