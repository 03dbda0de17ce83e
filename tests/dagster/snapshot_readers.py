"""A dashboard stand-in for the concurrency test of the published snapshots: a process that,
until told to stop, opens the current snapshot read-only and counts what two tables and two views
of one app's build hold, as the console would (tests/dagster/test_published_snapshots.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from clickstream_project.published_warehouse import open_published

# ods_events and the session view are tables a build writes one after the other: a snapshot
# taken between the two would show the new events without their sessions.
COUNTS = """
select
    (select count(*) from {app}.ods_events),
    (select count(*) from {app}.clickstream_ods_event_view),
    (select count(*) from {app}.clickstream_session_view),
    (select count(distinct user_pseudo_id) from {app}.clickstream_session_view)
"""
# A reader that keeps failing stops early: the test fails on the first error anyway.
MAX_ERRORS = 20


def read_continuously(duckdb_path: str, app_id: str, stop: Any, building: Any, seen: Any, results: Any) -> None:
    """Puts (observations, errors) on ``results`` once ``stop`` is set. An observation is
    (version, counts..., whether a build ran for the whole read) → how often it was made;
    ``seen`` holds the newest version read, for the test to wait on."""
    observations: Counter[tuple] = Counter()
    errors: list[str] = []
    sql = COUNTS.format(app=app_id)
    while not stop.is_set() and len(errors) < MAX_ERRORS:
        try:
            build_running = building.is_set()
            published, connection = open_published(duckdb_path)
            with connection:
                counts = connection.execute(sql).fetchone()
            observations[(published.version, *counts, build_running and building.is_set())] += 1
            seen.value = published.version.encode()
        except Exception as error:  # every failure is what the test counts
            errors.append(repr(error))
    results.put((dict(observations), errors))
