"""Idempotent output: files are committed per raw arrival hour.

``ods_events`` is partitioned by event day, but work is done per arrival hour, and one hour of
arrivals can touch several days. Spark writes a run into a staging directory partitioned by
``ingest_hour`` first; the commit then deletes whatever an earlier run wrote for those hours and
moves the new files into the day partitions, named ``h<YYYYMMDDHH>-...``. Re-running an hour
therefore replaces exactly that hour's rows: no duplicates, no leftovers. A crash between the
delete and the move loses only derived rows, which the next run of the hour rebuilds from raw.

All file operations go through plugins/storage.py, so the same commit works on local disk and S3.
"""

from __future__ import annotations

from plugins.storage import Storage, base_name, join

HOUR_TAG = "h{hour}-"
# ods_events/partition_app=/partition_year=/partition_month=/partition_day=/<file>
PARTITION_DEPTH = 4


def committed_files(storage: Storage, dataset_root: str, hour: str) -> list[str]:
    return storage.glob(join(dataset_root, *["*"] * PARTITION_DEPTH, f"{HOUR_TAG.format(hour=hour)}*.parquet"))


def commit_hours(storage: Storage, staging_root: str, dataset_root: str, hours: list[str]) -> list[str]:
    """Replace the committed files of ``hours`` with the staged ones; returns the new files."""
    for hour in hours:
        for old in committed_files(storage, dataset_root, hour):
            storage.delete(old)
    committed: list[str] = []
    for hour in hours:
        hour_dir = storage.qualify(join(staging_root, f"ingest_hour={hour}"))
        for staged in storage.glob(join(hour_dir, *["*"] * PARTITION_DEPTH, "*.parquet")):
            partition = staged[len(hour_dir) + 1 :].rsplit("/", 1)[0]
            target = join(dataset_root, partition, f"{HOUR_TAG.format(hour=hour)}{base_name(staged)}")
            storage.rename(staged, target)
            committed.append(target)
    storage.delete(staging_root, recursive=True)
    return committed


def replace_partitions(storage: Storage, staging_root: str, dataset_root: str, hours: list[str]) -> list[str]:
    """For datasets partitioned by the hour itself (the quarantine): swap whole directories."""
    committed: list[str] = []
    for hour in hours:
        target = join(dataset_root, f"ingest_hour={hour}")
        storage.delete(target, recursive=True)
        staged = join(staging_root, f"ingest_hour={hour}")
        if storage.exists(staged):
            storage.rename(staged, target)
            committed.extend(storage.glob(join(target, "*.parquet")))
    storage.delete(staging_root, recursive=True)
    return committed
