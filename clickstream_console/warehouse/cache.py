"""Report results kept per (query, parameters, app, data version), until a build publishes new data.

Bounded twice, by entries and by rows held, least recently used out first: one wide custom report
must not push out every dashboard. The data version is part of the key, so once it changes the old
results can no longer be hit; they are dropped at the first lookup that sees the new version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from clickstream_console.warehouse.query import QueryResult, ReportQuery, Warehouse

CacheKey = tuple[str, str, tuple[tuple[str, str], ...], str, str]


class ResultCache:
    def __init__(self, *, max_entries: int = 512, max_rows: int = 500_000) -> None:
        self._max_entries = max_entries
        self._max_rows = max_rows
        self._entries: OrderedDict[CacheKey, QueryResult] = OrderedDict()
        self._rows = 0
        self._version: str | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def run(
        self,
        warehouse: Warehouse,
        query: ReportQuery,
        params: Mapping[str, object],
        *,
        app_id: str,
        timeout_seconds: float,
        max_rows: int,
    ) -> QueryResult:
        """The cached result, or the warehouse's (then kept). Errors are never cached."""
        version = warehouse.data_version()
        # repr keeps types apart (the date 2026-01-01 and the string '2026-01-01' bind differently).
        key: CacheKey = (query.name, query.sql, tuple(sorted((name, repr(value)) for name, value in params.items())), app_id, version)
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._rows = 0
                self._version = version
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return cached
            self.misses += 1
        # Outside the lock: a slow query must not hold up the other pages' cache hits.
        result = warehouse.run(query, params, app_id=app_id, timeout_seconds=timeout_seconds, max_rows=max_rows)
        self._keep(key, result)
        return result

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _keep(self, key: CacheKey, result: QueryResult) -> None:
        rows = len(result.rows)
        with self._lock:
            if key[-1] != self._version or rows > self._max_rows or key in self._entries:
                return
            self._entries[key] = result
            self._rows += rows
            while len(self._entries) > self._max_entries or self._rows > self._max_rows:
                _, evicted = self._entries.popitem(last=False)
                self._rows -= len(evicted.rows)
