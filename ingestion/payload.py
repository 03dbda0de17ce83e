"""Checking a request body: it must decode to a JSON array of event objects.

Three shapes arrive (DATA_CONTRACT §1): a plain JSON array; with `compression=gzip` the base64
text of gzip bytes (the Android and Swift SDKs' default); a binary gzip body sent with
`Content-Encoding: gzip`. The body is decoded only to validate it; what is stored is the body
as received, except that binary gzip is stored as its base64 text (records are text).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from clickstream_contract import request_body
from ingestion.errors import ApiError

_WHITESPACE = re.compile(rb"\s+")
_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Payload:
    data: str  # the raw record's `data`
    compression: str | None  # the raw record's `compression`
    event_count: int


def decode_payload(
    body: bytes,
    *,
    compression: str | None,
    content_encoding: str | None,
    max_decompressed_bytes: int,
    max_events: int,
) -> Payload:
    """Validate `body` and return what the raw record stores; raises ApiError (400/413)."""
    if not body:
        raise ApiError(400, "empty_body", "the request body is empty; expected a JSON array of events")
    if compression not in (None, "", "gzip"):
        raise ApiError(400, "unsupported_compression", f"compression={_shorten(compression)} is not supported; use gzip or omit it")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inner = gunzip(body, max_decompressed_bytes, what="the Content-Encoding: gzip body")
        if compression == "gzip":
            # Transport gzip around SDK-style base64-gzip text: store that text, as the SDK sent it.
            text = _base64_text(inner)
            return Payload(text, "gzip", _count_events(_base64_gzip_json(text, max_decompressed_bytes), max_events))
        events = _count_events(_utf8(inner, "the decompressed body"), max_events)
        return Payload(base64.b64encode(body).decode("ascii"), "gzip", events)
    if encoding != "identity":
        raise ApiError(
            400, "unsupported_content_encoding", f"Content-Encoding {_shorten(content_encoding)} is not supported; use gzip or none"
        )
    if compression == "gzip":
        text = _base64_text(body)
        return Payload(text, compression, _count_events(_base64_gzip_json(text, max_decompressed_bytes), max_events))
    text = _utf8(body, "the body")
    return Payload(text, compression, _count_events(text, max_events))


def gunzip(data: bytes, limit: int, *, what: str) -> bytes:
    """All gzip members of `data`, as the job decodes them (clickstream_contract/request_body.py)."""
    try:
        return request_body.gunzip(data, limit)
    except request_body.DecodedTooLarge:
        raise ApiError(413, "decompressed_body_too_large", f"{what} decompresses to more than {limit} bytes") from None
    except request_body.GzipError as error:
        raise ApiError(400, "invalid_gzip", f"{what} {error}") from None


def _base64_text(body: bytes) -> str:
    try:
        return body.decode("ascii")
    except UnicodeDecodeError as error:
        raise ApiError(
            400, "invalid_base64", f"compression=gzip expects base64 text, but byte {error.start} of the body is not ASCII"
        ) from None


def _base64_gzip_json(text: str, limit: int) -> str:
    encoded = text.encode("ascii")
    try:
        compressed = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        try:
            # Some encoders wrap base64 lines; whitespace carries no data, anything else non-base64
            # is an error. Checked only on failure: the SDKs send one unbroken line.
            compressed = base64.b64decode(_WHITESPACE.sub(b"", encoded), validate=True)
        except binascii.Error as error:
            raise ApiError(400, "invalid_base64", f"compression=gzip expects base64 text of gzip bytes: {error}") from None
    return _utf8(gunzip(compressed, limit, what="the base64-decoded body"), "the decompressed body")


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "invalid_utf8", f"{what} is not UTF-8 text (invalid byte at offset {error.start})") from None


def _count_events(text: str, max_events: int) -> int:
    """Check that `text` is a JSON array of at most `max_events` objects; return their number.

    Objects and arrays are what a body costs in memory (an empty object is 2 bytes of JSON and
    64 of Python), so a body that may hold more containers than the cap is read one element at
    a time and refused at element max_events + 1, instead of building all of them first.
    """
    containers = text.count("{") + text.count("[")
    if containers > max_events + 1:
        return _count_streaming(text, max_events)
    value = _parse_array(text, containers)
    for index, event in enumerate(value):
        _check_event(index, event)
    _check_count(len(value), max_events)
    return len(value)


def _parse_array(text: str, containers: int | None = None) -> list:
    try:
        # The job's parser and rules (clickstream_contract/request_body.py): what is accepted gets processed.
        value = request_body.parse_json(text, containers=containers)
    except request_body.NestedTooDeeply as error:
        raise ApiError(400, "nested_too_deeply", f"the body's {error}") from None
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(value, list):
        raise ApiError(400, "not_an_array", f"expected a JSON array of events, got a JSON {_json_type(value)}")
    return value


def _count_streaming(text: str, max_events: int) -> int:
    start = _NOT_WHITESPACE.search(text)
    if start is None or text[start.start()] != "[":
        _parse_array(text)  # refused: not an array, or not JSON; this says which
    index, count = start.start() + 1, 0
    try:
        while True:
            index = _next_token(text, index)
            if count == 0 and text.startswith("]", index):
                break
            event, index = _ELEMENT_DECODER.raw_decode(text, index)
            if request_body.nested_deeper_than(event, request_body.MAX_JSON_DEPTH - 1):  # the array is a level
                raise request_body.NestedTooDeeply()
            _check_event(count, event)
            count += 1
            _check_count(count, max_events)
            index = _next_token(text, index)
            if text.startswith(",", index):
                index += 1
            elif text.startswith("]", index):
                break
            else:
                raise ValueError(f"expected ',' or ']' at offset {index}")
        if _NOT_WHITESPACE.search(text, index + 1):
            raise ValueError(f"extra data after the array at offset {index + 1}")
    except (request_body.NestedTooDeeply, RecursionError):
        raise ApiError(400, "nested_too_deeply", f"the body's {request_body.NestedTooDeeply()}") from None
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None
    return count


def _next_token(text: str, index: int) -> int:
    match = _NOT_WHITESPACE.search(text, index)
    if match is None:
        raise ValueError("the array is not closed")
    return match.start()


def _check_event(index: int, event: object) -> None:
    if not isinstance(event, dict):
        raise ApiError(400, "invalid_event", f"element {index} of the array is a JSON {_json_type(event)}; every event must be an object")


def _check_count(count: int, max_events: int) -> None:
    if count > max_events:
        raise ApiError(
            413, "too_many_events", f"the body holds more than {max_events} events; the limit is {max_events} events per request"
        )


# One element at a time (_count_streaming), with the rules of request_body.parse_json's
# fallback parser; each element is then held to the same nesting limit.
_ELEMENT_DECODER = json.JSONDecoder(parse_constant=request_body.reject_constant)


def _json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _shorten(value: str | None, limit: int = 64) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
