"""Idempotent output: files are committed per raw arrival hour.

``ods_events`` is partitioned by event day, but work is done per arrival hour, and one hour of
arrivals can touch several days. Spark writes a run into a staging directory partitioned by
``ingest_hour`` first; the commit then deletes whatever an earlier run wrote for those hours and
moves the new files into the day partitions, named ``h<YYYYMMDDHH>-...``. Re-running an hour
therefore replaces exactly that hour's rows: no duplicates, no leftovers. A crash between the
delete and the move loses only derived rows, which the next run of the hour rebuilds from raw.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

HOUR_TAG = "h{hour}-"


def committed_files(dataset_root: Path, hour: str) -> list[Path]:
    return sorted(dataset_root.glob(f"*/*/*/*/{HOUR_TAG.format(hour=hour)}*.parquet"))


def commit_hours(staging_root: Path, dataset_root: Path, hours: list[str]) -> list[Path]:
    """Replace the committed files of ``hours`` with the staged ones; returns the new files."""
    for hour in hours:
        for old in committed_files(dataset_root, hour):
            old.unlink()
    committed: list[Path] = []
    for hour in hours:
        hour_dir = staging_root / f"ingest_hour={hour}"
        if not hour_dir.is_dir():
            continue
        for staged in sorted(hour_dir.glob("*/*/*/*/*.parquet")):
            partition = staged.parent.relative_to(hour_dir)
            target_dir = dataset_root / partition
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / f"{HOUR_TAG.format(hour=hour)}{staged.name}"
            os.replace(staged, target)
            committed.append(target)
    shutil.rmtree(staging_root, ignore_errors=True)
    return committed


def replace_partitions(staging_root: Path, dataset_root: Path, hours: list[str]) -> list[Path]:
    """For datasets partitioned by the hour itself (the quarantine): swap whole directories."""
    committed: list[Path] = []
    for hour in hours:
        target = dataset_root / f"ingest_hour={hour}"
        shutil.rmtree(target, ignore_errors=True)
        staged = staging_root / f"ingest_hour={hour}"
        if staged.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            committed.extend(sorted(target.glob("*.parquet")))
    shutil.rmtree(staging_root, ignore_errors=True)
    return committed
