"""Published read snapshots of the embedded DuckDB warehouse: what dashboards read while dbt
builds write.

DuckDB lets one process write a database file, and no other process may open it meanwhile (not
even read-only), so a reader of the file the builds write fails for the length of every build,
and between two models of a build it would see some views rebuilt and others not. Instead, the
build, once every app's models are built and its connections closed, copies the file to
``<warehouse dir>/published/<version>.duckdb`` and atomically replaces the pointer
``published/current.json``; readers open the file the pointer names, read-only. A snapshot is
never written again, so any number of processes read it at once, during builds too.

- Consistency: the copy is taken with no writer (the build's last step, under the warehouse
  lock) after a ``CHECKPOINT`` folded the write-ahead log into the file, so it holds exactly the
  committed state of a finished build.
- Atomicity: the copy is written under a temporary name, fsynced and renamed; the pointer is
  replaced by rename only after that. A crash before the pointer's rename leaves the previous
  snapshot current (the orphan copy is removed by the next publish).
- Pruning: each publish keeps the new snapshot and the one it replaced (a reader may have read
  the old pointer and be opening its file) and deletes the rest. A reader that already opened
  a deleted file keeps reading it: on Linux an unlinked file lives until its last descriptor is
  closed (its disk space is freed then). A reader that read a pointer two publishes old finds
  the file gone and reads the pointer again (``open_published``).
- The version (UTC time of the publish, microseconds) is the dashboards' ``data_version``, the
  key their cached results are invalidated by; the pointer also holds each app's newest event
  hour, the "data up to" a dashboard shows.

Imported by Dagster and the console: the standard library and duckdb only.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PUBLISHED_DIR = "published"
POINTER = "current.json"
SNAPSHOT_SUFFIX = ".duckdb"
_TEMPORARY_PREFIX = "."
# A reader that finds the pointer's file pruned reads the pointer again: two publishes between
# its read of the pointer and its open, each time. Three tries are far beyond a build's length.
_OPEN_ATTEMPTS = 3
# Read from the fresh copy: each app's schema with an ods_events table (dbt_project: one schema
# per app), and the hour of its newest event.
_LATEST_EVENT_HOURS = """
select table_schema from information_schema.tables
where table_name = 'ods_events' and table_type = 'BASE TABLE' and table_catalog = current_database()
order by table_schema
"""


class PublishedWarehouseError(RuntimeError):
    """The published snapshot cannot be read (an unreadable pointer, a missing file)."""


class NothingPublishedError(PublishedWarehouseError):
    """No build has published the warehouse yet."""


@dataclass(frozen=True)
class Published:
    """One published snapshot, as the pointer names it."""

    # Orders like time; the dashboards' data_version.
    version: str
    # The snapshot's file name in the published directory.
    file: str
    # ISO 8601, UTC.
    published_at: str
    # app id -> the start of the hour of its newest event (ISO 8601, UTC), None for an app with
    # no event yet.
    latest_event_hours: dict[str, str | None] = field(default_factory=dict)

    def path(self, duckdb_path: str | Path) -> Path:
        return published_dir(duckdb_path) / self.file


def published_dir(duckdb_path: str | Path) -> Path:
    return Path(duckdb_path).parent / PUBLISHED_DIR


def pointer_path(duckdb_path: str | Path) -> Path:
    return published_dir(duckdb_path) / POINTER


def current(duckdb_path: str | Path) -> Published | None:
    """The snapshot the pointer names, or None when nothing was published yet."""
    pointer = pointer_path(duckdb_path)
    try:
        text = pointer.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        published = Published(**data)
        if not isinstance(published.version, str) or Path(published.file).name != published.file or not published.file:
            raise ValueError("version and file must be a string and a file name")
    except (ValueError, TypeError) as error:
        raise PublishedWarehouseError(
            f"the published warehouse pointer {pointer} is not valid ({error}); the next warehouse build rewrites it"
        ) from error
    return published


def publish(duckdb_path: str | Path) -> Published:
    """Publishes the database at ``duckdb_path`` as the new current snapshot. Call it with no
    process writing the database (the end of a build, under the warehouse lock): it checkpoints
    the database first, which takes the write lock."""
    source = Path(duckdb_path)
    if not source.is_file():
        raise PublishedWarehouseError(f"no warehouse to publish at {source}")
    directory = published_dir(source)
    directory.mkdir(parents=True, exist_ok=True)
    checkpoint(source)
    now = datetime.now(UTC)
    version = now.strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"{version}{SNAPSHOT_SUFFIX}"
    temporary = directory / f"{_TEMPORARY_PREFIX}{target.name}.tmp"
    copy_file(source, temporary)
    os.replace(temporary, target)
    _fsync_directory(directory)
    published = Published(
        version=version,
        file=target.name,
        published_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        latest_event_hours=latest_event_hours(target),
    )
    previous = _readable_current(source)
    _write_pointer(pointer_path(source), published)
    prune(directory, {published.file} | ({previous.file} if previous is not None else set()))
    return published


def open_published(duckdb_path: str | Path) -> tuple[Published, duckdb.DuckDBPyConnection]:
    """A read-only connection on the current snapshot, with the snapshot it reads (its version
    is the data version of whatever the connection returns). Raises NothingPublishedError before
    the first build, PublishedWarehouseError when the pointer or its file cannot be read."""
    for _ in range(_OPEN_ATTEMPTS):
        published = current(duckdb_path)
        if published is None:
            raise NothingPublishedError(f"no data published yet in {published_dir(duckdb_path)}: the first warehouse build publishes it")
        path = published.path(duckdb_path)
        try:
            return published, duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:
            if path.exists():
                raise
        # Pruned between the pointer's read and the open: a newer snapshot is current.
    raise PublishedWarehouseError(f"the published warehouse {path} is missing, and the pointer {pointer_path(duckdb_path)} still names it")


def checkpoint(duckdb_path: Path) -> None:
    """Folds the write-ahead log into the database file, so the file alone holds every committed
    change (a build that crashed leaves a ``.wal`` beside it; a clean close checkpoints too)."""
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute("checkpoint")
    wal = duckdb_path.with_name(duckdb_path.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise PublishedWarehouseError(f"{wal} is not empty after a checkpoint: is another process writing {duckdb_path}?")


def copy_file(source: Path, target: Path) -> None:
    """A durable copy: in-kernel (``copy_file_range``, a reflink on file systems that share
    blocks), else ``shutil.copyfile``; fsynced before it is renamed into place."""
    with open(source, "rb") as reader, open(target, "wb") as writer:
        try:
            remaining = os.fstat(reader.fileno()).st_size
            while remaining > 0:
                copied = os.copy_file_range(reader.fileno(), writer.fileno(), remaining)
                if copied == 0:
                    break
                remaining -= copied
        except OSError:  # not supported here (another file system, an old kernel): copy in user space
            reader.seek(0)
            writer.seek(0)
            writer.truncate()
            shutil.copyfileobj(reader, writer, length=16 * 1024 * 1024)
        writer.flush()
        os.fsync(writer.fileno())


def latest_event_hours(snapshot: Path) -> dict[str, str | None]:
    """Each app's newest event hour in the snapshot (one max over ods_events per app)."""
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        schemas = [row[0] for row in connection.execute(_LATEST_EVENT_HOURS).fetchall()]
        hours: dict[str, str | None] = {}
        for schema in schemas:
            quoted = schema.replace('"', '""')
            newest = connection.execute(f'select max(event_timestamp) from "{quoted}".ods_events').fetchone()[0]
            hours[schema] = None if newest is None else _hour(newest)
    return hours


def prune(directory: Path, kept: set[str]) -> None:
    """Deletes every snapshot (and leftover temporary copy) but ``kept``."""
    for path in directory.iterdir():
        is_snapshot = path.name.endswith(SNAPSHOT_SUFFIX) or path.name.endswith(f"{SNAPSHOT_SUFFIX}.tmp")
        if is_snapshot and path.name not in kept:
            path.unlink(missing_ok=True)


def _hour(epoch_ms: int) -> str:
    hour = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).replace(minute=0, second=0, microsecond=0)
    return hour.isoformat().replace("+00:00", "Z")


def _readable_current(duckdb_path: Path) -> Published | None:
    # A garbled pointer names nothing worth keeping: the new one replaces it.
    try:
        return current(duckdb_path)
    except PublishedWarehouseError:
        return None


def _write_pointer(pointer: Path, published: Published) -> None:
    temporary = pointer.with_name(f"{_TEMPORARY_PREFIX}{pointer.name}.tmp")
    with open(temporary, "w") as handle:
        json.dump(asdict(published), handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, pointer)
    _fsync_directory(pointer.parent)


def _fsync_directory(directory: Path) -> None:
    # The renames themselves survive a power loss only once the directory is synced.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
