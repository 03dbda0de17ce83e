"""One ``lake/ods_events`` materialization for several job runs over the same hours: the SDK
job's and each configured source's (processing/assets.py). The reports' shape is the job's
(plugins/run_report.py); this module only adds them up, so Dagster never imports the job."""

from __future__ import annotations

# Summed over runs: the counts of one run; dicts of counts are summed per key.
_SUMMED = (
    "raw_files",
    "requests",
    "events_read",
    "written",
    "duplicates",
    "duplicates_of_earlier_runs",
    "output_files",
    "duration_seconds",
)
_SUMMED_BY_KEY = ("quarantined", "written_by_app", "step_seconds")
_JOINED = ("corrupt_files", "removed_staging")


def merge_reports(reports: dict[str, dict]) -> dict:
    """One report for the runs of one set of hours over several raw lakes (the SDK job's and each
    configured source's, named by the keys): counts add up, lists are joined. ``load_manifests``
    becomes app id → list of manifests, as an app can get both SDK events and a source's records;
    ``slices`` and ``hours_with_data`` are kept per lake in ``by_lake``."""
    if not reports:
        raise ValueError("no run reports to merge")
    first = next(iter(reports.values()))
    # Fields a report lacks count as empty (a job shipped to EMR before the field existed).
    merged: dict = {"hours": first.get("hours", [])}
    for field in _SUMMED:
        merged[field] = sum(report.get(field, 0) for report in reports.values())
    merged["duration_seconds"] = round(merged["duration_seconds"], 3)
    for field in _SUMMED_BY_KEY:
        totals: dict[str, float] = {}
        for report in reports.values():
            for key, count in report.get(field, {}).items():
                totals[key] = totals.get(key, 0) + count
        merged[field] = {key: round(value, 3) if isinstance(value, float) else value for key, value in totals.items()}
    for field in _JOINED:
        merged[field] = [item for report in reports.values() for item in report.get(field, [])]
    if any("load_manifests" in report for report in reports.values()):
        manifests: dict[str, list[str]] = {}
        for report in reports.values():
            for app_id, uri in report.get("load_manifests", {}).items():
                manifests.setdefault(app_id, []).append(uri)
        merged["load_manifests"] = manifests
    merged["by_lake"] = {
        lake: {
            "hours_with_data": report.get("hours_with_data", 0),
            "written": report.get("written", 0),
            **({"slices": report["slices"]} if "slices" in report else {}),
        }
        for lake, report in reports.items()
    }
    merged["hours_with_data"] = max(report.get("hours_with_data", 0) for report in reports.values())
    return merged
