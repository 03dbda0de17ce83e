"""Decoding and cleaning in plain Python: one raw request → its JSON-array elements, or quarantine.

This is the first half of the job's single Python pass (see plugins/passes.py): a raw record is
parsed, its body decoded (plain or base64-gzip) and parsed once with orjson, by the rules
ingestion checks too (clickstream_contract/request_body.py), and every element is checked against what the
transformer needs. Nothing is dropped silently (DATA_CONTRACT §4): a request that cannot be
decoded, a body that is not a JSON array or nests too deeply, an element lacking a required
field, an event of an unknown app, and a stale or future event each get a reason code.

Plain Python because Spark's JSON/VARIANT functions were the job's bottleneck: typing every
attribute through VARIANT expressions cost ~40 µs per event, orjson parses one in ~3 µs.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from clickstream_contract.job_defaults import DEFAULT_EVENT_FRESHNESS_HOURS, DEFAULT_FUTURE_TOLERANCE_MINUTES
from clickstream_contract.request_body import MAX_DECODED_BYTES, NestedTooDeeply, gunzip, parse_json

UNDECODABLE = "undecodable"
NOT_AN_ARRAY = "not_an_array"
MISSING_FIELD = "missing_required_field"
UNKNOWN_APP = "unknown_app"
STALE_EVENT = "stale_event"
FUTURE_EVENT = "future_event"
NESTED_TOO_DEEPLY = "nested_too_deeply"
# File-level: a raw file that is not whole gzip (plugins/raw_files.py); its readable lines are still processed.
CORRUPT_FILE = "corrupt_file"
REASONS = (UNDECODABLE, NOT_AN_ARRAY, NESTED_TOO_DEEPLY, MISSING_FIELD, UNKNOWN_APP, STALE_EVENT, FUTURE_EVENT, CORRUPT_FILE)
# Event-level reasons: the element was decoded, so it counts as read. The others are
# request-level (the record or its body is quarantined whole) or file-level.
EVENT_REASONS = (MISSING_FIELD, UNKNOWN_APP, STALE_EVENT, FUTURE_EVENT)

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Client times outside the years 1 to 9999 have no `event_date` (Spark's DATE range; Arrow's
# date32 overflows a little further out): older ones are stale, later ones future, also when
# a record lacks the ingest time the freshness window is measured from.
EARLIEST_EVENT_MS, LATEST_EVENT_MS = -62_135_596_800_000, 253_402_300_799_999


class Request(NamedTuple):
    """What the job knows about the request an element came in (the raw record's envelope)."""

    ingest_hour: str
    ingest_time: int | None
    uri: str | None
    rid: str | None
    ip: str | None
    ua: str | None
    method: str | None
    app_id: str | None


@dataclass(frozen=True)
class Freshness:
    """How far an event's client time may lie before (stale) or after (future) its arrival.

    The SDKs keep unsent events for days, so old events are normal up to a point; the
    product's default window is 72 hours. Clocks of phones drift, hence a tolerance the other
    way. Events outside go to the quarantine, never silently away.
    """

    window_hours: int = DEFAULT_EVENT_FRESHNESS_HOURS
    future_tolerance_minutes: int = DEFAULT_FUTURE_TOLERANCE_MINUTES


# --- JSON values read the way the columns are typed -------------------------------------------
# One field of an unexpected type becomes null alone, never fails the element or the row.


def as_string(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return compact_json(value)


def as_int(value: Any) -> int | None:
    """Integers, integral numbers and integer strings; anything else (booleans too) is null."""
    kind = type(value)
    if kind is int:
        return value if INT64_MIN <= value <= INT64_MAX else None
    if kind is float:
        return int(value) if value.is_integer() and INT64_MIN <= value <= INT64_MAX else None
    if kind is str and _INTEGER_TEXT.fullmatch(value):
        number = int(value)
        return number if INT64_MIN <= number <= INT64_MAX else None
    return None


def as_float(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if kind is str:
        try:
            return float(value) if _NUMBER_TEXT.fullmatch(value) else None
        except ValueError:
            return None
    return None


_INTEGER_TEXT = re.compile(r"\s*[-+]?\d{1,19}\s*")
_NUMBER_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def compact_json(value: Any) -> str:
    """Objects and arrays as compact JSON with sorted keys: the same text whatever order the
    client serialised its object in, so re-runs write identical rows."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# --- JSON paths of required fields -------------------------------------------------------------

_PATH_PART = re.compile(r"""\.([A-Za-z_][\w]*)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]""")


def parse_path(path: str) -> tuple[str, ...]:
    """``$.a.b`` / ``$['a']['b']`` → ("a", "b"). Only object keys: that is all a required field
    of a JSON-array element needs."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r}: must start with '$'")
    keys: list[str] = []
    position = 1
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if not match:
            raise ValueError(f"JSON path {path!r}: expected .name or ['name'] at character {position}")
        key = match.group(1) or match.group(2) or match.group(3) or ""
        keys.append(re.sub(r"\\(.)", r"\1", key) if match.group(1) is None else key)
        position = match.end()
    return tuple(keys)


def get_path(element: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if type(element) is not dict:
            return None
        element = element.get(key)
    return element


def _present_as(dtype: str):
    """Whether a value counts as present for a required field declared with ``dtype``."""
    dtype = dtype.strip().lower()
    if dtype in ("bigint", "int", "long"):
        return lambda value: as_int(value) is not None
    if dtype in ("double", "float"):
        return lambda value: as_float(value) is not None
    if dtype.startswith("array"):
        return lambda value: type(value) is list
    if dtype.startswith("map") or dtype.startswith("struct") or dtype == "object":
        return lambda value: type(value) is dict
    if dtype in ("string", "variant"):
        return lambda value: value is not None
    raise ValueError(f"required field type {dtype!r}: expected string, bigint, double, array<...>, map<...> or variant")


@dataclass(frozen=True)
class Rules:
    """What an element must hold, from the transformer's declarations, plus the run's settings."""

    app_ids: frozenset[str]
    required: tuple[tuple[tuple[str, ...], Any], ...]
    app_id_keys: tuple[str, ...] | None
    fixed_app_id: str | None
    timestamp_keys: tuple[str, ...]
    stale_after_ms: int
    future_after_ms: int

    @classmethod
    def of(cls, transformer: Any, app_ids: list[str], freshness: Freshness = Freshness()) -> Rules:
        app_id_path = transformer.app_id_path
        return cls(
            app_ids=frozenset(app_ids),
            required=tuple((parse_path(path), _present_as(dtype)) for path, dtype in transformer.required_fields.items()),
            app_id_keys=parse_path(app_id_path) if app_id_path is not None else None,
            fixed_app_id=None if app_id_path is not None else transformer.app_id,
            timestamp_keys=parse_path(transformer.timestamp_path),
            stale_after_ms=freshness.window_hours * HOUR_MS,
            future_after_ms=freshness.future_tolerance_minutes * MINUTE_MS,
        )

    def check(self, element: Any, ingest_time: int | None) -> tuple[str | None, str | None]:
        """(reason or None, the element's app id)."""
        if self.app_id_keys is not None:
            app_id = as_string(get_path(element, self.app_id_keys))
        else:
            app_id = self.fixed_app_id
        timestamp = as_int(get_path(element, self.timestamp_keys))
        if app_id is None or timestamp is None or not all(present(get_path(element, keys)) for keys, present in self.required):
            return MISSING_FIELD, app_id
        if app_id not in self.app_ids:
            return UNKNOWN_APP, app_id
        if timestamp < EARLIEST_EVENT_MS:
            return STALE_EVENT, app_id
        if timestamp > LATEST_EVENT_MS:
            return FUTURE_EVENT, app_id
        if ingest_time is not None:
            age_ms = ingest_time - timestamp
            if age_ms > self.stale_after_ms:
                return STALE_EVENT, app_id
            if -age_ms > self.future_after_ms:
                return FUTURE_EVENT, app_id
        return None, app_id


# --- raw records -------------------------------------------------------------------------------


def decode_body(data: Any, compression: Any) -> bytes | str | None:
    """Base64-gzip bodies to JSON bytes (every gzip member, as ingestion decodes them); plain
    bodies unchanged; undecodable ones, and those decoding past MAX_DECODED_BYTES, to None."""
    if type(data) is not str:
        return None
    if compression != "gzip":
        return data
    try:
        raw = gunzip(base64.b64decode(data, validate=False), MAX_DECODED_BYTES)
        raw.decode("utf-8")  # invalid UTF-8 is undecodable, not a JSON error
        return raw
    except ValueError:  # not base64 (binascii.Error), not gzip, too large, not UTF-8
        return None


def request_of(record: dict, ingest_hour: str) -> Request:
    method = record.get("method")
    return Request(
        ingest_hour=ingest_hour,
        ingest_time=as_int(record.get("ingest_time")),
        uri=_text(record.get("uri")),
        rid=_text(record.get("rid")),
        ip=_text(record.get("ip")),
        ua=_text(record.get("ua")),
        # Archives written by the AWS solution itself name the method `m`.
        method=_text(method if method is not None else record.get("m")),
        app_id=_text(record.get("appId")),
    )


def _text(value: Any) -> str | None:
    return value if type(value) is str or value is None else as_string(value)


def elements_of(record: dict) -> tuple[list | None, str | None]:
    """(the body's JSON array, None) or (None, reason)."""
    body = decode_body(record.get("data"), record.get("compression"))
    if body is None:
        return None, UNDECODABLE
    try:
        parsed = parse_json(body)
    except NestedTooDeeply:
        # Ingestion refuses such a body whole (400), so the job does not keep part of one.
        return None, NESTED_TOO_DEEPLY
    except ValueError:
        return None, NOT_AN_ARRAY
    if type(parsed) is not list:
        return None, NOT_AN_ARRAY
    return parsed, None
