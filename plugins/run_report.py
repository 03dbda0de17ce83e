"""The run report: the JSON object the job prints (and writes to ``--report``) after a run.

Dagster reads it into the ``lake/ods_events`` materialisation and its quarantine check
(clickstream_dagster/processing/assets.py, clickstream_dagster/quality/checks.py); operators read
``step_seconds`` to see where a run's time went.
"""

from __future__ import annotations

import time

from plugins.elements import CORRUPT_FILE, EVENT_REASONS, REASONS
from plugins.transform import Counts


class Laps:
    """How long each step of a run took: a step ends when it is named, and the next one starts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step] = round(now - self._since, 3)
        self._since = now


def run_report(
    *,
    hours: list[str],
    files_by_hour: dict[str, list[str]],
    corrupt: dict[str, tuple[str, str]],
    counts: Counts,
    earlier_copies_by_app: dict[str, int],
    removed_staging: list[str],
    output_files: list[str],
    load_manifests: dict[str, str] | None,
    laps: Laps,
    duration_seconds: float,
) -> dict:
    """``events_read`` counts good and quarantined events (not requests quarantined whole);
    ``duplicates`` are the good events not written, as repeats within the batch or copies of
    events that runs of other hours wrote (``duplicates_of_earlier_runs``)."""
    quarantined = {reason: 0 for reason in REASONS}
    quarantined.update(counts.quarantined)
    quarantined[CORRUPT_FILE] = len(corrupt)
    good_events = sum(counts.events_by_app.values())
    written_by_app = {
        app: count - counts.duplicates_by_app.get(app, 0) - earlier_copies_by_app.get(app, 0) for app, count in counts.events_by_app.items()
    }
    written = sum(written_by_app.values())
    report = {
        "hours": hours,
        "hours_with_data": sum(1 for files in files_by_hour.values() if files),
        "raw_files": sum(len(files) for files in files_by_hour.values()),
        "requests": counts.requests,
        "events_read": good_events + sum(quarantined[reason] for reason in EVENT_REASONS),
        "written": written,
        "duplicates": good_events - written,
        "duplicates_of_earlier_runs": sum(earlier_copies_by_app.values()),
        "quarantined": quarantined,
        "written_by_app": written_by_app,
        "output_files": len(output_files),
        "corrupt_files": [{"path": path, "problem": problem, "detail": detail} for path, (problem, detail) in sorted(corrupt.items())],
        "removed_staging": removed_staging,
        "step_seconds": laps.seconds,
        "duration_seconds": duration_seconds,
    }
    if load_manifests is not None:
        report["load_manifests"] = load_manifests
    return report
