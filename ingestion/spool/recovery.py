"""Sealing what crashed writers left in the spool's `open/` directory.

A writer holds an exclusive `flock` on its in-flight file for the file's whole life. The kernel
drops the lock when the process dies, however it dies, so a file whose lock can be taken has no
writer any more. `flock` rather than `fcntl` locks: those are released when the process closes
*any* descriptor of the file, which a recovery scan in the writer's own process would do.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Collection
from pathlib import Path

from ingestion.sinks.layout import parse_inflight_name, sealed_segment_name
from ingestion.spool.gzip_lines import GzipLineWriter, iter_complete_lines

logger = logging.getLogger(__name__)


def recover_abandoned(inflight_dir: Path, sealed_dir: Path, *, skip: Collection[str] = ()) -> int:
    """Recover every abandoned file in `inflight_dir` but those named in `skip`; returns records saved.

    Names starting with "." are a writer's or a recovery's own staging files, never scanned.
    """
    recovered = 0
    for entry in sorted(os.scandir(inflight_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name in skip or parse_inflight_name(entry.name) is None:
            continue
        try:
            records = recover_inflight_file(Path(entry.path), sealed_dir)
        except OSError as error:
            logger.error("spool: cannot recover %s yet: %s", entry.name, error)
            continue
        if records is not None:
            logger.warning("spool: recovered %d records from abandoned %s", records, entry.name)
            recovered += records
    return recovered


def recover_inflight_file(path: Path, sealed_dir: Path) -> int | None:
    """Seal the complete records of an abandoned in-flight segment into `sealed_dir`.

    Returns the number of records saved, or None when the file is not abandoned (a live
    writer holds its lock, or it was sealed meanwhile) or not an in-flight file at all.
    Safe to repeat after a crash halfway: the sealed name is derived from the in-flight name.
    """
    parsed = parse_inflight_name(path.name)
    if parsed is None:
        return None
    hour, stem = parsed
    try:
        source = open(path, "rb")
    except FileNotFoundError:
        return None
    with source:
        try:
            fcntl.flock(source.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            still_there = os.path.samestat(os.stat(path), os.fstat(source.fileno()))
        except FileNotFoundError:
            still_there = False
        if not still_there:
            return None
        staging = path.with_name(f".recover-{path.name}")
        records = 0
        with open(staging, "wb") as out:
            writer = GzipLineWriter(out)
            for lines in iter_complete_lines(source):
                writer.append(lines)
                records += lines.count(b"\n")
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        if records:
            os.replace(staging, sealed_dir / sealed_segment_name(hour, stem))
        else:
            staging.unlink()
        path.unlink()
        return records
