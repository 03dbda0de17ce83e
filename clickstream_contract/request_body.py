"""What a request body may be: the one set of rules ingestion checks and the job relies on.

Ingestion answers 200 only for a body the job can process, so both decode and parse a body
with the functions here, and both read the limits here. This module lives in ``plugins/``
because EMR Serverless ships the job as a zip of that package alone; the ingestion image
copies ``plugins/`` too. Standard library and orjson (which ingestion uses anyway) only:
neither Spark nor Dagster.

The rules (the README's processing section says the same):

- **Gzip**: every member of a multi-member gzip stream is decoded (``gzip -d`` and Python's
  ``gzip.decompress`` do the same); zero padding after the last member is ignored; the decoded
  text may not exceed ``MAX_DECODED_BYTES``.
- **Nesting**: a body may nest at most ``MAX_JSON_DEPTH`` arrays/objects. Ingestion answers
  400 ``nested_too_deeply`` above it; the job quarantines such a request whole
  (``nested_too_deeply``), as ingestion would have refused it whole.
- **Lone UTF-16 surrogates** (``"\\ud83d"`` escaped in the JSON text): accepted, and read as
  U+FFFD REPLACEMENT CHARACTER, in keys and values alike. JavaScript strings may hold one (a
  string cut by UTF-16 units, as ``substring`` cuts, can split an emoji) and ``JSON.stringify``
  escapes it; it cannot be written as UTF-8, so it is replaced the way a browser's
  ``TextEncoder`` replaces it, and the event is kept.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson

# The SDKs' bodies nest four levels (array → event → user → {"value", "set_timestamp"}); a
# custom JSON-valued attribute adds a few more. orjson, which the job writes JSON with, stops at
# 254 levels per value (tests/processing/test_request_body.py pins that this limit stays below).
MAX_JSON_DEPTH = 128
# A decoded body larger than this is not processed: the SDKs cap a request at 512 KB of JSON,
# so 64 MiB can only be a gzip bomb or a corrupt stream. Ingestion's own limit
# (max_body_bytes × GZIP_MAX_EXPANSION) is capped at this, so nothing it accepts is refused here.
MAX_DECODED_BYTES = 64 * 1024 * 1024

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_CONTAINERS = (dict, list)
# orjson reads integers in this range as int and larger ones as float (as double-based readers
# do); the standard-library fallback below keeps that, so the job's writers never see a bigger int.
_ORJSON_INT_MIN, _ORJSON_INT_MAX = -(2**63), 2**64 - 1


class GzipError(ValueError):
    """Not gzip data, corrupt or truncated; the message completes a phrase like "the body ..."."""


class DecodedTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"decompresses to more than {limit} bytes")
        self.limit = limit


class NestedTooDeeply(ValueError):
    def __init__(self) -> None:
        super().__init__(f"arrays and objects are nested more than {MAX_JSON_DEPTH} levels deep")


def gunzip(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    """Decompress all gzip members of ``data``, refusing to produce more than ``limit`` bytes.

    The limit is what stops a gzip bomb: a 1 MiB body of zeros inflates to about 1 GiB.
    """
    if not data.startswith(GZIP_MAGIC):
        raise GzipError("is not gzip data (it does not start with the gzip magic bytes)")
    output = bytearray()
    remaining = data
    while remaining:
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        try:
            # max_length is at least 1 here: 0 would mean "unlimited" to zlib.
            output += decompressor.decompress(remaining, limit + 1 - len(output))
        except zlib.error as error:
            raise GzipError(f"is not valid gzip data: {error}") from None
        if len(output) > limit:
            raise DecodedTooLarge(limit)
        if not decompressor.eof:
            raise GzipError("is truncated gzip data")
        remaining = decompressor.unused_data
        if not remaining.strip(b"\x00"):
            break  # zero padding after the last member, as `gzip -d` tolerates
    return bytes(output)


def parse_json(text: bytes | str, *, containers: int | None = None) -> Any:
    """The JSON value of ``text``, read by the rules above; raises ValueError (NestedTooDeeply
    for a value nested deeper than MAX_JSON_DEPTH).

    ``containers``: an upper bound of the arrays and objects in ``text``, when the caller has
    one (the count of ``[`` and ``{`` characters is one); otherwise it is counted here. No more
    than MAX_JSON_DEPTH of them cannot nest deeper than that, so the nesting walk, which costs
    about what the parse does, is skipped: an SDK request of 10 events holds about 40."""
    try:
        # The hot path, on both sides: orjson is several times faster than the standard parser.
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _parse_what_orjson_refuses(text)
    # No more than MAX_JSON_DEPTH arrays and objects cannot nest deeper: the walk is skipped.
    bound = containers if containers is not None else _opening_brackets(text)
    if bound > MAX_JSON_DEPTH and nested_deeper_than(value, MAX_JSON_DEPTH):
        raise NestedTooDeeply()
    return value


def _opening_brackets(text: bytes | str) -> int:
    """An upper bound of how deep ``text`` nests: every array or object opens with a bracket
    (brackets inside strings only add to the bound). Counting them costs a third of walking the
    parsed value (nested_deeper_than), which most bodies then skip."""
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    data = bytes(text)  # the same object when it is bytes already
    return data.count(b"[") + data.count(b"{")


def _parse_what_orjson_refuses(text: bytes | str) -> Any:
    """The standard parser decides what orjson refuses: escaped lone surrogates, numbers beyond
    a double's range (1e400 → infinity, as Spark's parser reads it), nesting past orjson's 1024
    levels. It also words the error for the client."""
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise NestedTooDeeply() from None
    if nested_deeper_than(value, MAX_JSON_DEPTH):
        raise NestedTooDeeply()
    return _as_orjson_reads(value)


def reject_constant(name: str) -> float:
    # Python accepts NaN and Infinity; JSON does not, and neither do the downstream readers.
    raise ValueError(f"{name} is not a JSON value")


def _as_orjson_reads(value: Any) -> Any:
    """``value`` with lone surrogates replaced and out-of-range integers as floats. Recursive:
    only called on values at most MAX_JSON_DEPTH deep."""
    kind = type(value)
    if kind is str:
        return _without_lone_surrogates(value)
    if kind is int:
        if _ORJSON_INT_MIN <= value <= _ORJSON_INT_MAX:
            return value
        try:
            return float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
    if kind is list:
        return [_as_orjson_reads(item) for item in value]
    if kind is dict:
        return {_without_lone_surrogates(key): _as_orjson_reads(item) for key, item in value.items()}
    return value


def _without_lone_surrogates(text: str) -> str:
    # Python decodes an escaped surrogate *pair* to one code point, so any surrogate left in a
    # parsed string is a lone one; "surrogatepass" lets it through the encoder to be replaced.
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays/objects (``[]`` is 1, ``[{}]`` 2).

    Level by level, without recursion, so any depth a parser produces is measured safely. It
    looks at every value once: ~1.5 µs for an SDK event, about what orjson takes to parse it."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        inner: list = []
        keep = inner.append
        for container in level:
            for child in container.values() if type(container) is dict else container:
                kind = type(child)
                if kind is dict or kind is list:
                    keep(child)
        level = inner
    return False
