"""The request format of the official SDKs: base64 of gzip for mobile, plain JSON for web."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest

from clickstream_tools.generator import SdkRequest, decode_body, encode_body, hash_code

PAYLOAD = json.dumps([{"event_type": "_session_start", "event_id": "e1", "timestamp": 1714564800000}])


def request(platform: str, compress: bool) -> SdkRequest:
    return SdkRequest(
        app_id="shop",
        platform=platform,
        device_id="d1",
        sequence_id=3,
        compress=compress,
        user_agent="test",
        payload=PAYLOAD,
        event_count=1,
        first_timestamp=1,
        last_timestamp=1,
    )


def test_compressed_body_is_base64_text_of_gzip_bytes():
    body = encode_body(PAYLOAD, compress=True)
    assert body.isascii() and b"\n" not in body
    raw = base64.b64decode(body, validate=True)
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).decode() == PAYLOAD
    assert decode_body(body, "gzip") == PAYLOAD


def test_compressed_body_is_the_same_bytes_every_time():
    assert encode_body(PAYLOAD, compress=True) == encode_body(PAYLOAD, compress=True)


def test_uncompressed_body_is_the_json_array_itself():
    assert encode_body(PAYLOAD, compress=False) == PAYLOAD.encode()
    assert decode_body(PAYLOAD.encode(), None) == PAYLOAD


def test_hash_code_is_the_sha256_prefix_of_the_body_as_sent():
    body = encode_body(PAYLOAD, compress=True)
    assert hash_code(body) == hashlib.sha256(body).hexdigest()[:8]
    assert hash_code(body) != hash_code(PAYLOAD.encode())


@pytest.mark.parametrize(
    "platform, compress, expected_keys, compression",
    [
        ("Android", True, ["platform", "appId", "hashCode", "event_bundle_sequence_id", "compression", "upload_timestamp"], "gzip"),
        ("iOS", False, ["platform", "appId", "hashCode", "event_bundle_sequence_id", "compression", "upload_timestamp"], ""),
        ("Web", False, ["platform", "appId", "event_bundle_sequence_id", "upload_timestamp", "hashCode"], None),
    ],
)
def test_query_parameters_follow_each_sdk(platform, compress, expected_keys, compression):
    sdk_request = request(platform, compress)
    body = sdk_request.body()
    params = sdk_request.query(body, upload_timestamp=1714564801234)
    assert [key for key, _ in params] == expected_keys
    values = dict(params)
    assert values["appId"] == "shop" and values["platform"] == platform
    assert values["event_bundle_sequence_id"] == "3" and values["upload_timestamp"] == "1714564801234"
    assert values["hashCode"] == hash_code(body)
    assert values.get("compression") == compression
    assert sdk_request.headers()["Content-Type"].startswith("application/json")
