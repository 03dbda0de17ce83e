"""The local destination: a directory laid out like the S3 bucket of the scale-out shape.

A segment is copied to `<root>/year=/month=/day=/hour=/<stem>.gz` through a hidden temporary
name, flushed to disk and renamed, so readers globbing `*.gz` only ever see complete files and a
repeated shipment of the same segment replaces the same file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.layout import partition_path, sealed_name


class LocalLakeDestination:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ship(self, segment: SealedSegment) -> None:
        directory = self.root / partition_path(segment.hour)
        target = directory / sealed_name(segment.stem)
        staging = directory / f".{target.name}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(segment.path, "rb") as source, open(staging, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(staging, target)
            _fsync_directory(directory)
        except OSError as error:
            # The cleanup fails the same way when the directory is the problem (not a
            # directory, not writable); the cause to report is the first error.
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)
            raise DestinationError(f"cannot write {target}: {error.strerror or error}") from None

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "root": str(self.root)}


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
