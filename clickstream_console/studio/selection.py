"""The report state a query string carries (the page's URL is its permalink): the date range, the
time zone, the comparison, the filters and the report's own parameters, each checked, with the
name of the field that is wrong.

``start``/``end`` (ISO dates, inclusive) or ``range`` (a preset, relative to today), default the
last 7 days; ``tz``, the app's time zone (the default) or UTC; ``compare=1``; ``f_<dimension>=value``.
Dates are days in that zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from clickstream_console.studio.model import Report


@dataclass(frozen=True)
class Preset:
    label: str
    # The range runs from today minus ``first`` days to today minus ``last`` days.
    first: int
    last: int


PRESETS = {
    "today": Preset("Today", 0, 0),
    "yesterday": Preset("Yesterday", 1, 1),
    "last7": Preset("Last 7 days", 6, 0),
    "last30": Preset("Last 30 days", 29, 0),
    "last90": Preset("Last 90 days", 89, 0),
}
DEFAULT_PRESET = "last7"
UTC = "UTC"
# A leap year's days: any whole year fits; longer ranges are another kind of report (and cost).
MAX_DAYS = 366
MAX_VALUE_LENGTH = 256
FILTER_PREFIX = "f_"


class BadParameter(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Selection:
    start: date
    end: date
    tz: str
    compare: bool
    # dimension name -> value, for the filters given
    filters: Mapping[str, str]
    # the report's own parameters given (Report.parameters)
    parameters: Mapping[str, str]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Selection:
        """The same number of days just before this range."""
        shift = timedelta(days=self.days)
        return Selection(self.start - shift, self.end - shift, self.tz, False, self.filters, self.parameters)

    def query_parameters(self, report: Report) -> dict[str, object]:
        """The values every query of ``report`` binds (null for a filter or parameter not given)."""
        values = range_parameters(self.start, self.end, self.tz)
        values |= {f"{FILTER_PREFIX}{dimension.name}": self.filters.get(dimension.name) for dimension in report.dimensions}
        values |= {parameter.name: self.parameters.get(parameter.name) for parameter in report.parameters}
        return values


def range_parameters(start: date, end: date, tz: str) -> dict[str, object]:
    """The range's values for model.events_in_range and its kin: ``start_date``, ``end_date`` and
    ``tz``, and ``scan_start``/``scan_end``, the UTC dates the range's days overlap: a zone's day
    starts up to 14 hours either side of UTC's, so one more day each side (what lets a query prune
    by the views' UTC event_date)."""
    margin = timedelta(days=0 if tz == UTC else 1)
    return {"start_date": start, "end_date": end, "tz": tz, "scan_start": start - margin, "scan_end": end + margin}


# What a link to another report keeps of this one's state (its own filters only where they mean the same there).
_CARRIED_FIELDS = ("range", "start", "end", "tz", "compare")


def carried_over(args: MultiDict[str, str], report: Report) -> dict[str, str]:
    """The query string a link to ``report`` keeps: the range, zone and comparison, and the filters
    ``report`` has too (a filter or parameter it lacks would be refused there)."""
    names = {*_CARRIED_FIELDS, *(f"{FILTER_PREFIX}{dimension.name}" for dimension in report.dimensions)}
    return {key: value for key, value in args.items() if key in names and value}


def time_zones(app_zone: str) -> tuple[str, ...]:
    """The zones a report of an app in ``app_zone`` offers, the default first."""
    return tuple(dict.fromkeys((app_zone, UTC)))


def parse_selection(report: Report, args: MultiDict[str, str], now: datetime, app_zone: str) -> Selection:
    """The selection ``args`` describe; presets count back from ``now``'s day in the chosen zone."""
    start, end, tz = parse_range(args, now, app_zone)
    compare = _single(args, "compare") or "0"
    if compare not in ("0", "1"):
        raise BadParameter("compare", "give 1 (compare with the previous period) or 0")
    dimensions = {dimension.name: dimension for dimension in report.dimensions}
    filters = {}
    for key in args:
        if not key.startswith(FILTER_PREFIX):
            continue
        name = key.removeprefix(FILTER_PREFIX)
        if name not in dimensions:
            raise BadParameter(key, f"{report.title} has no dimension {name!r} (it has {', '.join(dimensions)})")
        value = _value(args, key)
        if value and dimensions[name].choices and value not in dimensions[name].choices:
            raise BadParameter(key, f"{value!r} is not one of {', '.join(dimensions[name].choices)}")
        if value:
            filters[name] = value
    parameters = {parameter.name: value for parameter in report.parameters if (value := _value(args, parameter.name))}
    for parameter in report.parameters:
        if parameter.name in parameters and parameter.choices and parameters[parameter.name] not in parameter.choices:
            raise BadParameter(parameter.name, f"{parameters[parameter.name]!r} is not one of {', '.join(parameter.choices)}")
    return Selection(start, end, tz, compare == "1", filters, parameters)


def parse_range(args: Mapping[str, str] | MultiDict[str, str], now: datetime, app_zone: str) -> tuple[date, date, str]:
    """The days and the zone of ``range`` or ``start``/``end``, and ``tz`` (BadParameter names the
    wrong field); presets count back from ``now``'s day in the chosen zone."""
    if not isinstance(args, MultiDict):
        for key in ("range", "start", "end", "tz"):
            if args.get(key) is not None and not isinstance(args[key], str):
                raise BadParameter(key, f"expected text, got {type(args[key]).__name__}")
        args = MultiDict({key: value for key, value in args.items() if key in ("range", "start", "end", "tz") and value is not None})
    offered = time_zones(app_zone)
    tz = _single(args, "tz") or offered[0]
    if tz not in offered:
        raise BadParameter("tz", f"{tz!r} is not offered: give {' or '.join(offered)} (the app's zone is set where it is registered)")
    start, end = _range(args, now.astimezone(ZoneInfo(tz)).date())
    return start, end, tz


def _range(args: MultiDict[str, str], today: date) -> tuple[date, date]:
    preset, start_text, end_text = _single(args, "range"), _single(args, "start"), _single(args, "end")
    if preset and (start_text or end_text):
        raise BadParameter("range", "give either range or start and end, not both")
    if not (start_text or end_text):
        preset = preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise BadParameter("range", f"{preset!r} is not one of {', '.join(PRESETS)}")
        return today - timedelta(days=PRESETS[preset].first), today - timedelta(days=PRESETS[preset].last)
    start, end = _date(start_text, "start"), _date(end_text, "end")
    if end < start:
        raise BadParameter("end", f"{end} is before start {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadParameter("end", f"the range is {(end - start).days + 1} days; at most {MAX_DAYS}")
    return start, end


def _date(text: str | None, field: str) -> date:
    if not text:
        raise BadParameter(field, "missing: give both start and end (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter(field, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _single(args: MultiDict[str, str], field: str) -> str | None:
    values = args.getlist(field)
    if len(values) > 1:
        raise BadParameter(field, "given more than once")
    return values[0].strip() if values else None


def _value(args: MultiDict[str, str], field: str) -> str | None:
    value = _single(args, field)
    if value is not None and len(value) > MAX_VALUE_LENGTH:
        raise BadParameter(field, f"longer than {MAX_VALUE_LENGTH} characters")
    return value
