"""Read-only DuckDB connections kept open per database file version, so a report's queries share
DuckDB's own cache (catalog, decompressed blocks) instead of opening the file for each one.

The key is the file's identity (path, inode, size, mtime: ``DuckDBWarehouse.data_version``): a
published snapshot has a new path, a file rebuilt in place a new inode or mtime, and either way
the next query opens the new version. A superseded version is closed once its last query ends
(a file rewritten at the same path while a query still reads it is read as before until then:
DuckDB shares one database instance per open path; published snapshots always have new paths).
Each query runs on its own cursor (DuckDB's connection object per thread) of the shared
connection, so one query's interrupt (the timeout) stops only that query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb


@dataclass
class _Open:
    connection: duckdb.DuckDBPyConnection
    in_use: int = 0


class ConnectionPool:
    def __init__(self, connect: Callable[[str], duckdb.DuckDBPyConnection]) -> None:
        # connect(path) opens the file read-only with the locked configuration.
        self._connect = connect
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._current: dict[str, str] = {}  # path -> the key of its newest version

    @contextmanager
    def cursor(self, path: str, version: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on ``path`` as of ``version``, closed after the block."""
        with self._lock:
            entry = self._open.get(version)
            if entry is None:
                superseded = self._current.get(path)
                self._current[path] = version
                # Closed first: DuckDB hands a second connect() to an open path the same database
                # instance, which would still show the file's old version.
                if superseded is not None and superseded != version:
                    self._close_if_idle(superseded)
                entry = self._open[version] = _Open(self._connect(path))
            entry.in_use += 1
            cursor = entry.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                entry.in_use -= 1
                if self._current.get(path) != version:
                    self._close_if_idle(version)

    def close(self) -> None:
        with self._lock:
            for entry in self._open.values():
                entry.connection.close()
            self._open.clear()
            self._current.clear()

    def _close_if_idle(self, version: str) -> None:
        entry = self._open.get(version)
        if entry is not None and entry.in_use == 0:
            entry.connection.close()
            del self._open[version]
