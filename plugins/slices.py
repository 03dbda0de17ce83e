"""Micro-batches that read only the raw files new since the last run of their hour (``--only-new``).

Sealing a raw file every few seconds and reprocessing the whole hour each time would make an
hour's processing quadratic. Instead, per raw arrival hour, a slice record
``<ods root>/_slices/ingest_hour=<YYYYMMDDHH>.json`` lists the raw files whose events are already
in the output, and how many slices wrote them. A slice run processes the hour's other files and
commits them as slice ``n + 1``: its ``ods_events`` files are named ``h<hour>-s<n>-...`` and its
quarantine files ``s<n>-...`` (plugins/commit.py), so it adds files to the hour instead of
rewriting it.

The record is written LAST, as the commit point. A run that dies before it leaves the record as
it was: the next run takes the same slice number and its commit replaces whatever the dead one
had moved in (never duplicates, the quarantine included). Events repeated across slices of the
hour are dropped like copies from other hours: the dedup against committed output keeps every
other slice's files and leaves out only the slice being (re)written (plugins/load.py).

A source's runs (``--source``, plugins/load.py) keep their records apart, in
``<ods root>/_slices/source=<name>/``: their raw files are another lake's, numbered on their own.

A whole-hour run (no ``--only-new``) still replaces every file of the hour and then resets the
record to the files it read, slice 0. Before its commit deletes the slices' files it empties the
record's file list (keeping the number): if it dies half way, the next slice reads the whole
hour again, the dedup dropping what did get committed, and its number is past every old slice's.

The record is read before the run (which files to read), and again under the commit lock
(plugins/run_locks.py), where the slice number is taken and the new record is the union of the
then-current one and this run's files: a run of the same hour that committed in between is
neither overwritten nor forgotten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from plugins.storage import Storage, join

SLICES = "_slices"


def records_dir(ods_root: str, source: str | None = None) -> str:
    """Where the slice records of the SDK files (``source`` None) or of one source live."""
    return join(ods_root, SLICES, f"source={source}") if source else join(ods_root, SLICES)


def record_path(records: str, hour: str) -> str:
    return join(records, f"ingest_hour={hour}.json")


@dataclass(frozen=True)
class SliceRecord:
    """The raw files whose events an hour's output holds, and the number of its last slice."""

    files: frozenset[str] = frozenset()
    slices: int = 0


@dataclass(frozen=True)
class Slice:
    hour: str
    number: int

    @property
    def tag(self) -> str:
        """The slice's part of its output file names (plugins/commit.py)."""
        return f"s{self.number:05d}"


def read_record(storage: Storage, records: str, hour: str) -> SliceRecord:
    """The hour's record; an empty one when none was written (no run yet, or only whole-hour runs
    from before slices: the first slice then reads the hour once, the dedup dropping what is there)."""
    text = storage.read_text(record_path(records, hour))
    if text is None:
        return SliceRecord()
    value = json.loads(text)
    return SliceRecord(frozenset(value["files"]), int(value["slices"]))


def write_record(storage: Storage, records: str, hour: str, record: SliceRecord) -> None:
    text = json.dumps({"files": sorted(record.files), "slices": record.slices}, indent=1)
    storage.write_text_atomically(record_path(records, hour), text)


def new_files(storage: Storage, records: str, files_by_hour: dict[str, list[str]]) -> dict[str, list[str]]:
    """The listed files of each hour that its record does not hold yet."""
    new: dict[str, list[str]] = {}
    for hour, files in files_by_hour.items():
        done = read_record(storage, records, hour).files
        new[hour] = [file for file in files if file not in done]
    return new


def open_slices(storage: Storage, records: str, hours: list[str]) -> dict[str, Slice]:
    """The slice each hour's output is about to get. Call it under the commit lock."""
    return {hour: Slice(hour, read_record(storage, records, hour).slices + 1) for hour in hours}


def commit_slices(storage: Storage, records: str, slices: dict[str, Slice], files_by_hour: dict[str, list[str]]) -> None:
    """After the output of ``slices`` is committed: record their files (the commit point)."""
    for hour, piece in slices.items():
        done = read_record(storage, records, hour).files
        write_record(storage, records, hour, SliceRecord(done | frozenset(files_by_hour[hour]), piece.number))


def before_whole_hours(storage: Storage, records: str, hours: list[str]) -> None:
    """Before a whole-hour commit replaces the slices' files: forget their raw files, keep the
    numbering (see the module's docstring)."""
    for hour in hours:
        record = read_record(storage, records, hour)
        if record.files:
            write_record(storage, records, hour, SliceRecord(frozenset(), record.slices))


def after_whole_hours(storage: Storage, records: str, files_by_hour: dict[str, list[str]]) -> None:
    """After a whole-hour commit: its files are the hour's output, no slice is left."""
    for hour, files in files_by_hour.items():
        write_record(storage, records, hour, SliceRecord(frozenset(files), 0))
