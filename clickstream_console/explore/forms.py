"""What the Explore builder page shows for each analysis type: its fields in order, as the page
script (static/explore.js) renders them and turns them back into the type's JSON spec. A field's
``name`` is its path in the spec (``window.value``); the types' modules check every value
(filters.BadSpec), so this only says how to ask for them.

Field types: ``choice`` (``choices``: value, label), ``number``, ``text``, ``flag`` (a checkbox),
``event`` (an event name with its own filters), ``events`` (1..``max`` of them), ``property`` (a
property name, suggested from properties.COLUMNS). ``suggest: "events"`` makes a text field suggest
the app's event names."""

from __future__ import annotations

from clickstream_console.explore.filters import OPERATOR_LABELS
from clickstream_console.explore.properties import COLUMNS
from clickstream_console.explore.timeline import GRANULARITIES


def _choice(name: str, label: str, choices: list[tuple[str, str]], default: str) -> dict:
    return {"name": name, "type": "choice", "label": label, "choices": choices, "default": default}


def _number(name: str, label: str, default: int, low: int, high: int) -> dict:
    return {"name": name, "type": "number", "label": label, "default": default, "min": low, "max": high}


FIELDS: dict[str, list[dict]] = {
    "event": [
        {"name": "events", "type": "events", "label": "Events", "min": 1, "max": 10},
        _choice(
            "measure",
            "Measure",
            [
                ("total", "Total events"),
                ("unique_users", "Unique users"),
                ("per_user", "Events per user"),
                ("sum", "Sum of"),
                ("avg", "Average of"),
            ],
            "total",
        ),
        {"name": "measure_property", "type": "property", "label": "Of (sum and average)", "optional": True},
        _choice("display", "Show", [("over_time", "Over time"), ("total", "Total")], "over_time"),
    ],
    "funnel": [
        {"name": "steps", "type": "events", "label": "Steps", "min": 2, "max": 10},
        _number("window.value", "Conversion window", 1, 1, 129_600),
        _choice("window.unit", "Window unit", [("minute", "minutes"), ("hour", "hours"), ("day", "days")], "day"),
        _choice("order", "Order", [("ordered", "In order"), ("strict", "Strictly in order"), ("any", "Any order")], "ordered"),
        _choice("count_by", "Count", [("user", "Users"), ("session", "Sessions")], "user"),
    ],
    "path": [
        _choice("anchor.side", "Paths", [("start", "Starting at"), ("end", "Ending at")], "start"),
        _choice("anchor.node_type", "Node", [("event", "Event"), ("screen", "Page or screen")], "event"),
        {"name": "anchor.node", "type": "text", "label": "Event, page or screen", "default": "", "suggest": "events"},
        _number("steps", "Steps", 5, 1, 10),
        _choice("split_by.kind", "Split paths by", [("session", "Session"), ("gap", "Time gap")], "session"),
        {"name": "split_by.minutes", "type": "number", "label": "Gap (minutes)", "optional": True, "min": 1, "max": 1440},
        {"name": "merge_repeats", "type": "flag", "label": "Merge consecutive repeats", "default": False},
        _number("top", "Branches per step", 10, 1, 50),
    ],
    "retention": [
        {"name": "start_event", "type": "event", "label": "Start event"},
        {"name": "return_event", "type": "event", "label": "Return event"},
        _choice("period", "Cohorts by", [("day", "Day"), ("week", "Week"), ("month", "Month")], "week"),
        _number("periods", "Periods", 8, 1, 90),
        _choice("counting", "Count a return", [("on", "On the period"), ("on_or_after", "On or after the period")], "on"),
    ],
}
# Offered with every type (spec.py's frame); path analyses take no breakdown.
BREAKDOWN_KINDS = ("event", "funnel", "retention")


def page_schema(kind: str, events: list[tuple[str, str]] | None = None, properties: list[tuple[str, str]] | None = None) -> dict:
    """The page script's whole description of the form for ``kind``; ``events`` (name, display name)
    are what event fields suggest, ``properties`` (name, label) the app's attributes a property
    field suggests after the columns."""
    return {
        "kind": kind,
        "events": [[name, label] for name, label in events or ()],
        "fields": FIELDS[kind],
        "granularities": list(GRANULARITIES),
        "operators": [[name, label] for name, label in OPERATOR_LABELS.items()],
        "columns": [[name, label] for name, (label, _type) in COLUMNS.items()] + [[name, label] for name, label in properties or ()],
        "breakdown": kind in BREAKDOWN_KINDS,
    }
