"""An analysis' breakdown: one property (properties.py) whose values split the result, the top N
of them by the analysis' own measure and every other value together as ``OTHER``; events or users
without the property as ``NONE``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clickstream_console.explore.filters import BadSpec
from clickstream_console.explore.properties import BadProperty, Property, parse_property, value_sql
from clickstream_console.explore.sql_params import SqlParams

DEFAULT_TOP = 10
MAX_TOP = 50
OTHER = "(other)"
NONE = "(none)"


@dataclass(frozen=True)
class Breakdown:
    property: Property
    top: int = DEFAULT_TOP

    def to_json(self) -> dict:
        return {"property": str(self.property), "top": self.top}


def parse_breakdown(data: object, field: str) -> Breakdown | None:
    """``{"property": "geo_country", "top": 10}``; null or missing: no breakdown."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise BadSpec(field, f"expected an object with property and top, got {type(data).__name__}")
    unknown = set(data) - {"property", "top"}
    if unknown:
        raise BadSpec(field, f"unknown field {', '.join(sorted(unknown))} (a breakdown has property and top)")
    try:
        prop = parse_property(data.get("property"))
    except BadProperty as error:
        raise BadSpec(f"{field}.property", str(error)) from None
    top = data.get("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise BadSpec(f"{field}.top", f"expected a whole number from 1 to {MAX_TOP}, got {top!r}")
    return Breakdown(prop, top)


def breakdown_value_sql(breakdown: Breakdown | None, event_alias: str, params: SqlParams) -> str:
    """The event's breakdown value as text (``NONE`` without it); a constant without a breakdown."""
    if breakdown is None:
        return "cast(null as varchar)"
    return f"coalesce(cast({value_sql(breakdown.property, event_alias, params)} as varchar), {params.add(NONE)})"


def top_values_sql(breakdown: Breakdown | None, source: str, value_column: str, weight_sql: str) -> str:
    """A query (for a CTE) of the ``top`` values of ``value_column`` in ``source`` by ``weight_sql``
    (an aggregate such as ``count(distinct user_pseudo_id)``; ties by value), one column ``value``."""
    limit = breakdown.top if breakdown else 1
    return (
        f"select {value_column} as value from {source} group by {value_column}"
        f" order by {weight_sql} desc, {value_column} limit {int(limit)}"
    )


def label_sql(breakdown: Breakdown | None, value_column: str, top_values: str, params: SqlParams) -> str:
    """``value_column`` where it is among ``top_values`` (the CTE above), else ``OTHER``."""
    if breakdown is None:
        return "cast(null as varchar)"
    return f"case when {value_column} in (select value from {top_values}) then {value_column} else {params.add(OTHER)} end"
