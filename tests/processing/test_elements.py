"""Decoding and cleaning rules in plain Python (plugins/elements.py), no Spark."""

import base64
import gzip
import json

import pytest

from plugins.base import Transformer
from plugins.elements import (
    FUTURE_EVENT,
    MISSING_FIELD,
    NOT_AN_ARRAY,
    STALE_EVENT,
    UNDECODABLE,
    UNKNOWN_APP,
    Freshness,
    Rules,
    as_float,
    as_int,
    as_string,
    compact_json,
    decode_body,
    elements_of,
    parse_path,
    request_of,
)

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", "a"), (3, "3"), (True, "true"), (False, "false"), (None, None), ({"b": 1, "a": [1]}, '{"a":[1],"b":1}'), ([1, "x"], '[1,"x"]')],
)
def test_as_string(value, expected):
    assert as_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (3.0, 3), (3.5, None), ("42", 42), (" -7 ", -7), ("4.2", None), (True, None), (None, None),
     ({"a": 1}, None), (2**63, None), (-(2**63), -(2**63)), ("99999999999999999999", None)],
)  # fmt: skip
def test_as_int(value, expected):
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), (1.5, 1.5), ("2.5", 2.5), ("1e3", 1000.0), ("nan", None), ("x", None), (False, None)]
)
def test_as_float(value, expected):
    assert as_float(value) == expected


def test_compact_json_sorts_keys_so_reruns_write_identical_text():
    assert compact_json({"b": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"b":1}'


@pytest.mark.parametrize(
    ("path", "keys"),
    [("$.event_id", ("event_id",)), ("$.user._user_id.value", ("user", "_user_id", "value")),
     ("$['with space']['it''s']", None), ("$['a.b']", ("a.b",)), ('$["x"]', ("x",)), ("$['q\\'s']", ("q's",))],
)  # fmt: skip
def test_parse_path(path, keys):
    if keys is None:
        with pytest.raises(ValueError, match="JSON path"):
            parse_path(path)
    else:
        assert parse_path(path) == keys


def test_parse_path_must_start_at_the_root():
    with pytest.raises(ValueError, match="must start with"):
        parse_path("event_id")


def test_decode_body_plain_gzip_and_garbage():
    payload = json.dumps([{"a": 1}])
    assert decode_body(payload, None) == payload
    assert decode_body(base64.b64encode(gzip.compress(payload.encode())).decode(), "gzip") == payload.encode()
    assert decode_body("%%%", "gzip") is None
    assert decode_body(base64.b64encode(b"not gzip").decode(), "gzip") is None
    truncated = base64.b64encode(gzip.compress(payload.encode())[:-8]).decode()
    assert decode_body(truncated, "gzip") is None
    assert decode_body(base64.b64encode(gzip.compress(b"\xff\xfe")).decode(), "gzip") is None
    assert decode_body(None, None) is None
    assert decode_body(12, None) is None


def test_a_gzip_bomb_is_undecodable(monkeypatch):
    import plugins.elements as elements

    monkeypatch.setattr(elements, "MAX_DECODED_BYTES", 1000)
    bomb = base64.b64encode(gzip.compress(b"[" + b"0," * 5000 + b"0]")).decode()
    assert elements_of({"data": bomb, "compression": "gzip"}) == (None, UNDECODABLE)


@pytest.mark.parametrize(
    ("data", "expected"),
    [('[{"a": 1}]', ([{"a": 1}], None)), ('{"a": 1}', (None, NOT_AN_ARRAY)), ("[1, 2", (None, NOT_AN_ARRAY)),
     ("", (None, NOT_AN_ARRAY)), ("[1e400]", ([float("inf")], None)), ("[NaN]", (None, NOT_AN_ARRAY))],
)  # fmt: skip
def test_elements_of(data, expected):
    assert elements_of({"data": data}) == expected


def test_request_reads_old_archives_m_field_and_odd_types():
    request = request_of({"m": "GET", "ingest_time": "1700000000000", "rid": 5, "appId": "a"}, "2023111422")
    assert request.method == "GET" and request.ingest_time == NOW and request.rid == "5" and request.app_id == "a"
    assert request_of({"method": "POST", "m": "GET"}, "h").method == "POST"


def element(**overrides):
    base = {"event_id": "e1", "app_id": "shop", "timestamp": NOW - 1000}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [(element(), None), (element(event_id=None), MISSING_FIELD), (element(app_id=None), MISSING_FIELD),
     (element(timestamp=None), MISSING_FIELD), (element(timestamp="soon"), MISSING_FIELD), ("a string", MISSING_FIELD),
     (element(app_id="other"), UNKNOWN_APP), (element(timestamp=NOW - 73 * 3_600_000), STALE_EVENT),
     (element(timestamp=NOW + 16 * 60_000), FUTURE_EVENT), (element(timestamp=NOW + 14 * 60_000), None)],
)  # fmt: skip
def test_rules_check(candidate, reason):
    rules = Rules.of(Transformer, ["shop"], Freshness(72, 15))
    assert rules.check(candidate, NOW)[0] == reason


def test_rules_of_a_transformer_without_app_ids_use_its_configured_app():
    class Records(Transformer):
        required_fields = {"$.records": "array<variant>", "$.id": "string"}  # noqa: RUF012
        timestamp_path = "$.time"
        app_id_path = None
        app_id = "prefs"

    rules = Rules.of(Records, ["prefs"])
    assert rules.check({"records": [], "id": "x", "time": NOW}, NOW) == (None, "prefs")
    assert rules.check({"records": {}, "id": "x", "time": NOW}, NOW) == (MISSING_FIELD, "prefs")


def test_unknown_required_field_type_is_rejected():
    class Odd(Transformer):
        required_fields = {"$.x": "timestamp"}  # noqa: RUF012

    with pytest.raises(ValueError, match="required field type 'timestamp'"):
        Rules.of(Odd, ["a"])
