"""The run report (plugins/run_report.py): how the counts of a run add up, without Spark."""

from __future__ import annotations

from plugins.run_report import Laps, run_report
from plugins.transform import NO_INPUT, Counts


def test_counts_of_extract_transform_and_load_add_up():
    laps = Laps()
    laps("decode_clean_transform")
    report = run_report(
        hours=["2023-11-14T22", "2023-11-14T23"],
        files_by_hour={"2023111422": ["a.gz", "b.gz"], "2023111423": []},
        corrupt={"b.gz": ("truncated", "ends inside gzip member 1")},
        counts=Counts(
            requests=6,
            quarantined={"stale_event": 2, "undecodable": 1},
            events_by_app={"shop_android": 10, "shop_web": 3},
            duplicates_by_app={"shop_android": 2},
        ),
        earlier_copies_by_app={"shop_android": 1, "shop_web": 3},
        removed_staging=["file:/ods/_staging/dead"],
        output_files=["h2023111422-part-0.parquet"],
        load_manifests=None,
        laps=laps,
        duration_seconds=1.5,
    )

    assert report == {
        "hours": ["2023-11-14T22", "2023-11-14T23"],
        "hours_with_data": 1,
        "raw_files": 2,
        "requests": 6,
        # Good events and quarantined ones; an undecodable request holds no countable event.
        "events_read": 15,
        "written": 7,
        "duplicates": 6,
        "duplicates_of_earlier_runs": 4,
        "quarantined": {
            "undecodable": 1,
            "not_an_array": 0,
            "nested_too_deeply": 0,
            "missing_required_field": 0,
            "unknown_app": 0,
            "stale_event": 2,
            "future_event": 0,
            "corrupt_file": 1,
        },
        "written_by_app": {"shop_android": 7, "shop_web": 0},
        "output_files": 1,
        "corrupt_files": [{"path": "b.gz", "problem": "truncated", "detail": "ends inside gzip member 1"}],
        "removed_staging": ["file:/ods/_staging/dead"],
        "step_seconds": {"decode_clean_transform": laps.seconds["decode_clean_transform"]},
        "duration_seconds": 1.5,
    }


def test_load_manifests_are_reported_only_when_written():
    common = {
        "hours": [], "files_by_hour": {}, "corrupt": {}, "counts": NO_INPUT, "earlier_copies_by_app": {}, "removed_staging": [],
        "output_files": [], "laps": Laps(), "duration_seconds": 0.1,
    }  # fmt: skip
    assert "load_manifests" not in run_report(**common, load_manifests=None)
    assert run_report(**common, load_manifests={"shop_web": "s3://b/m.json"})["load_manifests"] == {"shop_web": "s3://b/m.json"}


def test_laps_time_each_step_from_the_end_of_the_last():
    laps = Laps()
    laps("first")
    laps("second")
    assert list(laps.seconds) == ["first", "second"] and all(seconds >= 0 for seconds in laps.seconds.values())
