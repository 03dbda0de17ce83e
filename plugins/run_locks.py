"""Runs of the job that share an ods root at the same time (the embedded Dagster instance runs
two hours at once; clickstream_tools/instance.py).

- :func:`commit_lock`: held from the dedup against other runs' committed output to the end of
  the commit. A run that commits second therefore sees the first one's files and drops the
  events already written (an SDK retry that arrived in both hours): without it, both runs read
  the output before either committed and both kept the event. The Python pass, most of a run,
  stays concurrent; only dedup, write and commit wait for each other.
- :func:`staging_liveness`: held by a run on its ``_staging/<run id>/`` from start to end, so
  that the next run can tell a killed run's leftovers (the marker is free) from a live run's
  files (the marker is held): :func:`remove_dead_staging`.

Both are ``flock(2)`` locks on files of a local ods root: the kernel releases them when their
process dies (SIGKILL, OOM), so a killed run never leaves a lock held. Object stores (S3 on EMR)
have no lock: there the orchestrator must run one processing run per ods root at a time (the
``lake/ods_events`` asset's concurrency pool, clickstream_dagster/processing/assets.py), and
staging is left-over when it is older than any run may last.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from plugins.storage import Storage, join

COMMIT_LOCK = "_commit.lock"
STAGING = "_staging"
STAGING_LOCK = "_staging.lock"
LIVE_MARKER = "_live.lock"
# Object stores: staging untouched this long belongs to a dead run. EMR Serverless cancels a
# job run after at most 7 days (processing.emr_serverless.timeout_minutes).
STALE_STAGING_SECONDS = 8 * 24 * 3600


def local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _is_held(path: Path) -> bool:
    try:
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False
    except FileNotFoundError:
        return False


@contextmanager
def _local_flock(uri: str, name: str) -> Iterator[None]:
    """An exclusive flock on ``name`` below ``uri`` when that is a local directory; nothing on
    object stores, which have no locks (see the module docstring for what stands in there)."""
    directory = local_path(uri)
    if directory is None:
        yield
        return
    with _flock(directory / name):
        yield


def commit_lock(ods_root: str) -> AbstractContextManager[None]:
    return _local_flock(ods_root, COMMIT_LOCK)


def staging_lock(ods_root: str) -> AbstractContextManager[None]:
    """Short: creating a staging directory, sweeping dead ones and removing an empty
    ``_staging/`` exclude each other (a sweep never sees a directory without its marker)."""
    return _local_flock(ods_root, STAGING_LOCK)


def staging_liveness(staging: str) -> AbstractContextManager[None]:
    return _local_flock(staging, LIVE_MARKER)


def remove_dead_staging(storage: Storage, ods_root: str, keep: str) -> list[str]:
    """Delete the staging directories of runs that are gone (but ``keep``); returns them. Call
    under :func:`staging_lock`."""
    removed: list[str] = []
    keep = storage.qualify(keep)
    for directory in storage.directories(join(ods_root, STAGING)):
        if directory == keep:
            continue
        local = local_path(directory)
        if local is not None:
            dead = not _is_held(local / LIVE_MARKER)
        else:
            dead = time.time() - storage.newest_modification(directory) > STALE_STAGING_SECONDS
        if dead:
            storage.delete(directory, recursive=True)
            removed.append(directory)
    return removed
