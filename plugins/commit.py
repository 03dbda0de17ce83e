"""Idempotent output: files are committed per raw arrival hour.

``ods_events`` is partitioned by event day, but work is done per arrival hour, and one hour of
arrivals can touch several days. Spark writes a run into a staging directory partitioned by
``ingest_hour`` first; the commit then deletes whatever an earlier run wrote for those hours and
moves the new files into the day partitions, named ``h<YYYYMMDDHH>-...``. Re-running an hour
therefore replaces exactly that hour's rows: no duplicates, no leftovers. A crash between the
delete and the move loses only derived rows, which the next run of the hour rebuilds from raw.

A slice of an hour (``--only-new``, plugins/slices.py) commits the same way with its ``part``
(``s00003``): it replaces only the files named ``h<hour>-<part>-...`` (quarantine:
``<part>-...`` in the hour's directory), so the hour's other files stay.

A configured source's runs (``--source cognito``, plugins/load.py) write into the same
``ods_events`` partitions under their own names, ``cognito.h<hour>-...``: the SDK files' hour
prefix never matches them, nor theirs the SDK files, so the two jobs of an arrival hour (each
reading its own raw lake) never replace each other's output.

All file operations go through plugins/storage.py, so the same commit works on local disk and S3.
"""

from __future__ import annotations

from plugins.storage import Storage, base_name, join

HOUR_TAG = "h{hour}-"
# ods_events/partition_app=/partition_year=/partition_month=/partition_day=/<file>
PARTITION_DEPTH = 4


def file_prefix(hour: str, part: str | None = None, source: str | None = None) -> str:
    """The start of the ``ods_events`` file names of an hour (``h<hour>-``), or of one slice of it
    (``h<hour>-<part>-``), of the SDK files or of one ``source``'s (``<source>.h<hour>-``). A whole
    hour's prefix covers its slices' files; no slice's covers the files of a whole-hour run
    (``h<hour>-part-...``). Source names start with a letter and hold no dot
    (clickstream_contract/raw_lake.py), so no prefix of one source covers another's."""
    return (f"{source}." if source else "") + HOUR_TAG.format(hour=hour) + (f"{part}-" if part else "")


def committed_files(storage: Storage, dataset_root: str, hour: str, part: str | None = None, source: str | None = None) -> list[str]:
    return storage.glob(join(dataset_root, *["*"] * PARTITION_DEPTH, f"{file_prefix(hour, part, source)}*.parquet"))


def commit_hours(
    storage: Storage,
    staging_root: str,
    dataset_root: str,
    hours: list[str],
    parts: dict[str, str] | None = None,
    source: str | None = None,
) -> list[str]:
    """Replace the committed files of ``hours`` (of the hour's slice where ``parts`` names one;
    of ``source``'s files, or the SDK files) with the staged ones; returns the new files."""
    parts = parts or {}
    for hour in hours:
        for old in committed_files(storage, dataset_root, hour, parts.get(hour), source):
            storage.delete(old)
    committed: list[str] = []
    for hour in hours:
        hour_dir = storage.qualify(join(staging_root, f"ingest_hour={hour}"))
        for staged in storage.glob(join(hour_dir, *["*"] * PARTITION_DEPTH, "*.parquet")):
            partition = staged[len(hour_dir) + 1 :].rsplit("/", 1)[0]
            target = join(dataset_root, partition, f"{file_prefix(hour, parts.get(hour), source)}{base_name(staged)}")
            storage.rename(staged, target)
            committed.append(target)
    storage.delete(staging_root, recursive=True)
    return committed


def replace_partitions(
    storage: Storage, staging_root: str, dataset_root: str, hours: list[str], parts: dict[str, str] | None = None
) -> list[str]:
    """For datasets partitioned by the hour itself (the quarantine): swap whole directories, or
    for a slice (``parts``) its own ``<part>-`` files within the hour's directory."""
    parts = parts or {}
    committed: list[str] = []
    for hour in hours:
        target = join(dataset_root, f"ingest_hour={hour}")
        staged = join(staging_root, f"ingest_hour={hour}")
        part = parts.get(hour)
        if part is None:
            storage.delete(target, recursive=True)
            if storage.exists(staged):
                storage.rename(staged, target)
                committed.extend(storage.glob(join(target, "*.parquet")))
            continue
        for old in storage.glob(join(target, f"{part}-*.parquet")):
            storage.delete(old)
        for file in storage.glob(join(staged, "*.parquet")):
            committed.append(join(target, f"{part}-{base_name(file)}"))
            storage.rename(file, committed[-1])
    storage.delete(staging_root, recursive=True)
    return committed
