"""The app ids the service accepts, re-read from the project configuration file when it changes.

`clickstream register-app` rewrites the file (atomically, see `save_config`); running servers
pick the new app up within `app_reload_seconds`, without a restart. The check sits in the
request path, so it is throttled and cheap: one `os.stat` per interval per worker, and a parse
only when the file's identity, size or modification time changed. A file that cannot be read or
parsed keeps the last good list: a typo in the configuration must not turn into 403s for every
app, nor into 5xx.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from clickstream_project.config import ConfigError, load_config

logger = logging.getLogger(__name__)

_Signature = tuple[int, int, int, int]  # (device, inode, size, mtime in ns)
_UNREADABLE: _Signature = (-1, -1, -1, -1)


class AppAllowlist:
    """`app_id in allowlist`; thread-safe. Without `source`, the list is fixed."""

    def __init__(
        self,
        app_ids: Iterable[str],
        *,
        source: str | os.PathLike[str] | None = None,
        check_every_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app_ids = frozenset(app_ids)
        self._source = Path(source) if source is not None else None
        self._interval = check_every_seconds
        self._clock = clock
        # Unknown until the first check, which therefore parses the file once: the list given
        # here may come from an older read of it (or not from it at all).
        self._signature: _Signature | None = None
        self._next_check = clock() + check_every_seconds
        self._lock = threading.Lock()

    def __contains__(self, app_id: object) -> bool:
        if self._source is not None and self._clock() >= self._next_check:
            self.refresh()
        return app_id in self._app_ids

    @property
    def app_ids(self) -> frozenset[str]:
        return self._app_ids

    def refresh(self) -> None:
        """Re-read the file if it changed. One thread checks; the others keep using the
        current list meanwhile instead of queueing behind a parse."""
        if self._source is None or not self._lock.acquire(blocking=False):
            return
        try:
            self._next_check = self._clock() + self._interval
            try:
                stat = os.stat(self._source)
            except OSError as error:
                if self._signature != _UNREADABLE:
                    logger.error(
                        "app allow-list: cannot read %s (%s); keeping the %d known app ids", self._source, error, len(self._app_ids)
                    )
                self._signature = _UNREADABLE
                return
            signature = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if signature == self._signature:
                return
            # Remembered even when the parse fails: a broken file is reported once, and
            # parsed again only after it changed.
            self._signature = signature
            self._load()
        finally:
            self._lock.release()

    def _load(self) -> None:
        assert self._source is not None
        try:
            app_ids = frozenset(load_config(self._source).app_ids)
        except ConfigError as error:
            logger.error("app allow-list: keeping the %d known app ids, %s", len(self._app_ids), error)
            return
        except Exception:
            # Whatever else goes wrong (encoding, permissions, a directory), requests go on.
            logger.exception("app allow-list: cannot load %s; keeping the %d known app ids", self._source, len(self._app_ids))
            return
        if app_ids != self._app_ids:
            added, removed = sorted(app_ids - self._app_ids), sorted(self._app_ids - app_ids)
            logger.info("app allow-list reloaded from %s: added %s, removed %s", self._source, added or "none", removed or "none")
            self._app_ids = app_ids
