"""The body rules ingestion and the job share (clickstream_contract/request_body.py), no Spark."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest

from clickstream_contract.request_body import (
    MAX_JSON_DEPTH,
    DecodedTooLarge,
    GzipError,
    NestedTooDeeply,
    gunzip,
    nested_deeper_than,
    parse_json,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_job_can_write_every_value_of_a_body_within_the_depth_limit():
    # The job writes elements and attribute values with orjson (compact_json); an element is one
    # level less deep than its body. Pinned so that an orjson upgrade cannot undercut the limit.
    element = json.loads(nested(MAX_JSON_DEPTH))[0]
    assert orjson.dumps(element)


@pytest.mark.parametrize("depth", [0, 1, 2, MAX_JSON_DEPTH])
def test_bodies_up_to_the_depth_limit_parse(depth):
    text = nested(depth) if depth else "1"
    assert parse_json(text) == json.loads(text)


@pytest.mark.parametrize(
    "text", [nested(MAX_JSON_DEPTH + 1), '[{"a": ' + nested(MAX_JSON_DEPTH - 1) + "}]", nested(1024), nested(1025), nested(50_000)]
)
def test_deeper_bodies_are_refused_whatever_parser_reads_them(text):
    # 1024 levels is orjson's own limit; past it the standard parser reads, or runs out of stack.
    with pytest.raises(NestedTooDeeply, match=f"more than {MAX_JSON_DEPTH} levels"):
        parse_json(text)


def test_depth_counts_arrays_and_objects_alike():
    value = {"a": [1, {"b": []}], "c": "[[[[not json]]]]"}
    assert not nested_deeper_than(value, 4) and nested_deeper_than(value, 3)
    assert not nested_deeper_than("scalar", 0)


@pytest.mark.parametrize(
    ("text", "value"),
    [('"\\ud83d"', "\ufffd"), ('"a\\udc00b"', "a\ufffdb"), ('"\\ude00\\ud83d"', "\ufffd\ufffd"), ('"\\ud83d\\ude00"', "\U0001f600"),
     ('{"\\ud800": ["\\udfff", 1]}', {"\ufffd": ["\ufffd", 1]}), ('["\\ud83d", 1e400]', ["\ufffd", float("inf")])],
)  # fmt: skip
def test_lone_surrogates_are_read_as_the_replacement_character(text, value):
    assert parse_json(text) == value
    assert orjson.dumps(parse_json(text))  # writable as UTF-8 now


def test_integers_orjson_would_read_as_floats_are_floats_on_the_fallback_path_too():
    # orjson reads 2**64 as a float; the standard parser runs for the surrogate and must agree.
    assert parse_json('[18446744073709551616, 18446744073709551615, "\\ud83d"]') == [2.0**64, 2**64 - 1, "\ufffd"]
    assert parse_json("[18446744073709551616]") == [2.0**64]
    assert parse_json("[1" + "0" * 400 + ", -1" + "0" * 400 + "]") == [float("inf"), float("-inf")]


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity]", "[1, 2", "", "[1] [2]"])
def test_what_is_not_json_is_refused(text):
    with pytest.raises(ValueError):
        parse_json(text)


def test_gunzip_decodes_every_member_and_ignores_zero_padding():
    data = gzip.compress(b"[1,") + gzip.compress(b"") + gzip.compress(b"2]") + b"\x00" * 10
    assert gunzip(data) == b"[1,2]"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"[1]", "not gzip data"), (gzip.compress(b"[1]")[:-3], "truncated"), (gzip.compress(b"[1]") + b"junk", "not valid gzip data"),
     (b"\x1f\x8b" + b"\x00" * 20, "not valid gzip data")],
)  # fmt: skip
def test_gunzip_refuses_what_is_not_gzip(data, message):
    with pytest.raises(GzipError, match=message):
        gunzip(data)


def test_the_size_limit_holds_across_members():
    member = gzip.compress(b" " * 600)
    assert len(gunzip(member + member, limit=1200)) == 1200
    with pytest.raises(DecodedTooLarge, match="more than 1000 bytes"):
        gunzip(member + member, limit=1000)
