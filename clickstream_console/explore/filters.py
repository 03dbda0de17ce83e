"""An analysis' filters: a property (properties.py), an operator and its value(s), as a saved
analysis holds them in JSON (``{"property": "geo_country", "operator": "in", "values": ["FR"]}``),
checked with the field that is wrong named, and written as one SQL condition on an event row.

Operators (PostHog's, by which users measure us):

- ``eq``/``neq``: equal / not equal; ``neq`` also keeps events without the property.
- ``contains``: the value is part of the text, ignoring case.
- ``in``: equal to one of 1-100 values.
- ``gt``/``lt``: greater / less than a number; an attribute that is not a number does not match.
- ``is_set``/``is_not_set``: the event (or user) has the property, or has not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from clickstream_console.explore.properties import BadProperty, Property, parse_property, value_sql
from clickstream_console.explore.sql_params import SqlParams

Operator = Literal["eq", "neq", "contains", "in", "gt", "lt", "is_set", "is_not_set"]
OPERATORS: tuple[str, ...] = get_args(Operator)
OPERATOR_LABELS = {
    "eq": "=",
    "neq": "≠",
    "contains": "contains",
    "in": "in",
    "gt": ">",
    "lt": "<",
    "is_set": "is set",
    "is_not_set": "is not set",
}
MAX_FILTERS = 20
MAX_IN_VALUES = 100
MAX_VALUE_LENGTH = 256
_NUMERIC = ("gt", "lt")
_NO_VALUE = ("is_set", "is_not_set")


class BadSpec(ValueError):
    """Part of an analysis is wrong: ``field`` is its path in the analysis (``steps[1].filters[0].value``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Filter:
    property: Property
    operator: Operator
    # One value for eq/neq/contains/gt/lt, 1-100 for in, none for is_set/is_not_set; numbers
    # for gt/lt and for a number column, else text.
    values: tuple[str | float, ...]

    def to_json(self) -> dict:
        data: dict = {"property": str(self.property), "operator": self.operator}
        if self.operator == "in":
            data["values"] = list(self.values)
        elif self.values:
            data["value"] = self.values[0]
        return data


def parse_filters(data: object, field: str) -> tuple[Filter, ...]:
    """A list of filters (null or missing: none)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise BadSpec(field, f"expected a list of filters, got {type(data).__name__}")
    if len(data) > MAX_FILTERS:
        raise BadSpec(field, f"{len(data)} filters; at most {MAX_FILTERS}")
    return tuple(parse_filter(item, f"{field}[{index}]") for index, item in enumerate(data))


def parse_filter(data: object, field: str) -> Filter:
    if not isinstance(data, Mapping):
        raise BadSpec(field, f"expected an object with property, operator and value, got {type(data).__name__}")
    unknown = set(data) - {"property", "operator", "value", "values"}
    if unknown:
        raise BadSpec(field, f"unknown field {', '.join(sorted(unknown))} (a filter has property, operator and value or values)")
    try:
        prop = parse_property(data.get("property"))
    except BadProperty as error:
        raise BadSpec(f"{field}.property", str(error)) from None
    operator = data.get("operator")
    if operator not in OPERATORS:
        raise BadSpec(f"{field}.operator", f"{operator!r} is not one of {', '.join(OPERATORS)}")
    if operator in _NUMERIC and prop.value_type == "string":
        raise BadSpec(f"{field}.operator", f"{prop.label} is text; {OPERATOR_LABELS[operator]} compares numbers")
    if operator == "contains" and prop.value_type == "number":
        raise BadSpec(f"{field}.operator", f"{prop.label} is a number; contains compares text")
    if operator in _NO_VALUE:
        if "value" in data or "values" in data:
            raise BadSpec(field, f"{OPERATOR_LABELS[operator]} takes no value")
        return Filter(prop, operator, ())
    numeric = operator in _NUMERIC or prop.value_type == "number"
    if operator == "in":
        if "value" in data:
            raise BadSpec(f"{field}.value", "in takes a list: give values")
        values = data.get("values")
        if not isinstance(values, list) or not values:
            raise BadSpec(f"{field}.values", "expected a list of 1 or more values")
        if len(values) > MAX_IN_VALUES:
            raise BadSpec(f"{field}.values", f"{len(values)} values; at most {MAX_IN_VALUES}")
        return Filter(prop, operator, tuple(_value(value, f"{field}.values[{index}]", numeric) for index, value in enumerate(values)))
    if "values" in data:
        raise BadSpec(f"{field}.values", f"{OPERATOR_LABELS[operator]} takes one value: give value")
    if "value" not in data:
        raise BadSpec(f"{field}.value", "missing")
    return Filter(prop, operator, (_value(data["value"], f"{field}.value", numeric),))


def _value(value: object, field: str, numeric: bool) -> str | float:
    if numeric:
        # bool is an int to Python, not a number to a user.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise BadSpec(field, f"expected a number, got {type(value).__name__}")
        try:
            number = float(value)
        except ValueError:
            raise BadSpec(field, f"expected a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise BadSpec(field, f"expected a finite number, got {value!r}")
        return number
    if not isinstance(value, str):
        raise BadSpec(field, f"expected text, got {type(value).__name__}")
    if len(value) > MAX_VALUE_LENGTH:
        raise BadSpec(field, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


def condition_sql(filters: Sequence[Filter], event_alias: str, params: SqlParams) -> str:
    """All of ``filters`` on the clickstream_ods_event_view row aliased ``event_alias``, as one SQL
    condition (``1 = 1`` when there are none); values become parameters of ``params``."""
    return " and ".join(_condition(item, event_alias, params) for item in filters) or "1 = 1"


def _condition(item: Filter, event_alias: str, params: SqlParams) -> str:
    value = value_sql(item.property, event_alias, params)
    if item.operator == "is_set":
        return f"{value} is not null"
    if item.operator == "is_not_set":
        return f"{value} is null"
    # An attribute is text: as a number where the operator or the value is one (null if it is none).
    if item.property.kind != "column" and isinstance(item.values[0], float):
        value = f"try_cast({value} as double)"
    placeholders = [params.add(each) for each in item.values]
    if item.operator == "eq":
        return f"{value} = {placeholders[0]}"
    if item.operator == "neq":
        return f"({value} is null or {value} <> {placeholders[0]})"
    if item.operator == "contains":
        return f"strpos(lower({value}), lower({placeholders[0]})) > 0"
    if item.operator == "in":
        return f"{value} in ({', '.join(placeholders)})"
    return f"{value} {'>' if item.operator == 'gt' else '<'} {placeholders[0]}"
