"""The project configuration as the console reads and changes it.

The file stays the single source of truth: ingestion, Dagster and the CLI read it too. The
console re-reads it whenever it changed on disk (so an edit from elsewhere shows at the next
request), and writes it under an exclusive lock, read-modify-write, so two changes made at the
same time from the console (or its threads) never overwrite each other.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from clickstream_project.config import ProjectConfig, dump_config, load_config


class ProjectSource:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._config: ProjectConfig | None = None

    def _file_stamp(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def current(self) -> ProjectConfig:
        """The configuration as the file holds it now (parsed again only when it changed)."""
        with self._lock:
            stamp = self._file_stamp()
            if stamp != self._stamp or self._config is None:
                self._config = load_config(self.path)
                self._stamp = stamp
            return self._config

    @contextmanager
    def exclusive(self) -> Iterator[ProjectConfig]:
        """The file locked against other console writers, and its fresh contents: for a change
        that writes the file itself (``clickstream_project.apps.register_app``)."""
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield load_config(self.path)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def update(self, change: Callable[[ProjectConfig], ProjectConfig]) -> tuple[ProjectConfig, ProjectConfig]:
        """Apply ``change`` to the file's current contents and write the result atomically
        (temporary file, fsync, rename). Returns (before, after). ``change`` raises to refuse."""
        with self.exclusive() as before:
            after = change(before)
            text = dump_config(after)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                with open(tmp, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
        return before, after
