"""How the operations pages write times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


_TONES = {
    "ok": {"SUCCESS", "SUCCEEDED", "RUNNING"},
    "bad": {"FAILURE", "FAILED", "EXECUTION_FAILED", "ERROR"},
    "warn": {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "IN_PROGRESS", "CANCELING", "WARN"},
}


def tone(status: str | None) -> str:
    """The badge class (console.css) of a Dagster status word; none for the neutral ones
    (skipped, canceled, never evaluated)."""
    return next((name for name, words in _TONES.items() if status in words), "")


HELPERS = {"moment": moment, "duration": duration, "tone": tone}
