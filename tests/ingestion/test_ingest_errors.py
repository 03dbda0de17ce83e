"""Refused requests: status, the JSON error body, and that nothing was stored."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random

import pytest
from ingest_helpers import base64_gzip

VALID = json.dumps([{"event_type": "_page_view", "event_id": "e-1"}])


def assert_error(response, status: int, error: str, *message_parts: str) -> dict:
    assert response.status_code == status
    assert response.is_json, response.data
    body = response.get_json()
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    for part in message_parts:
        assert part in body["message"]
    return body


@pytest.mark.parametrize(
    "query, error",
    [
        ("", "missing_app_id"),
        ("?appId=", "missing_app_id"),
        ("?platform=Web", "missing_app_id"),
        ("?appId=not_registered", "unknown_app_id"),
        ("?appId=SHOP_WEB", "unknown_app_id"),
    ],
)
def test_missing_or_unknown_app_id_is_forbidden(client, sink, query, error):
    response = client.post(f"/collect{query}", data=VALID)

    assert_error(response, 403, error, "appId")
    assert sink.records == []


def test_unknown_app_id_is_named_in_the_message(client):
    assert_error(client.post("/collect?appId=nope", data=VALID), 403, "unknown_app_id", "'nope'")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_the_collect_path_are_not_allowed(client, sink, method):
    response = client.open("/collect?appId=shop_web", method=method, data=VALID)

    assert_error(response, 405, "method_not_allowed", method, "/collect")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    assert sink.records == []


def test_head_on_the_collect_path_is_not_allowed(client):
    assert client.head("/collect?appId=shop_web").status_code == 405


def test_unknown_paths_are_json_404s(client):
    assert_error(client.get("/nothing-here"), 404, "not_found", "/nothing-here")


def test_wrong_method_on_a_probe_is_a_json_405(client):
    assert_error(client.post("/ping"), 405, "method_not_allowed", "POST", "/ping")


def test_a_declared_length_over_the_limit_is_refused_before_reading(make_app, sink):
    client = make_app(max_body_bytes=1024).test_client()

    response = client.post("/collect?appId=shop_web", data="[" + " " * 2000 + "]")

    assert_error(response, 413, "body_too_large", "2002", "1024")
    assert sink.records == []


def test_an_undeclared_length_is_limited_while_reading(make_app, sink):
    client = make_app(max_body_bytes=1024).test_client()

    # No Content-Length, like a chunked upload behind gunicorn.
    response = client.post(
        "/collect?appId=shop_web",
        input_stream=io.BytesIO(b"[" + b" " * 5000 + b"]"),
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_error(response, 413, "body_too_large", "1024")
    assert sink.records == []


def test_a_body_exactly_at_the_limit_is_accepted(make_app, sink):
    client = make_app(max_body_bytes=1024).test_client()
    body = VALID + " " * (1024 - len(VALID))

    assert client.post("/collect?appId=shop_web", data=body).status_code == 200


def test_a_base64_gzip_bomb_is_refused(make_app, sink):
    client = make_app(max_body_bytes=4096).test_client()  # inflates to at most 64 KiB
    bomb = base64.b64encode(gzip.compress(b"[" + b" " * 1_000_000 + b"]")).decode()
    assert len(bomb) < 4096

    response = client.post("/collect?appId=shop_android&compression=gzip", data=bomb)

    assert_error(response, 413, "decompressed_body_too_large")
    assert sink.records == []


def test_a_content_encoding_gzip_bomb_is_refused(make_app, sink):
    client = make_app(max_body_bytes=4096).test_client()

    response = client.post(
        "/collect?appId=shop_web", data=gzip.compress(b"[" + b" " * 1_000_000 + b"]"), headers={"Content-Encoding": "gzip"}
    )

    assert_error(response, 413, "decompressed_body_too_large")


@pytest.mark.parametrize(
    "query, body, error, detail",
    [
        ("", b"", "empty_body", "empty"),
        ("", b"hello", "invalid_json", "not valid JSON"),
        ("", b'{"event_type": "x"}', "not_an_array", "object"),
        ("", b'"just a string"', "not_an_array", "string"),
        ("", b"null", "not_an_array", "null"),
        ("", b'[{"a": 1}, 2]', "invalid_event", "element 1"),
        ("", b'[{"a": 1}, "x"]', "invalid_event", "string"),
        ("", b"[[]]", "invalid_event", "array"),
        ("", b'[{"a": NaN}]', "invalid_json", "NaN"),
        ("", b"[" * 100_000 + b"]" * 100_000, "nested_too_deeply", "nested more than"),
        ("", b'[{"a": 1}', "invalid_json", "not valid JSON"),
        ("", b"\xff\xfe[\x00]\x00", "invalid_utf8", "offset 0"),
        ("", b'[{"a": "\xc3\x28"}]', "invalid_utf8", "UTF-8"),
        ("&compression=gzip", b"!!!not base64!!!", "invalid_base64", "base64"),
        ("&compression=gzip", '[{"é": 1}]'.encode(), "invalid_base64", "ASCII"),
        ("&compression=gzip", VALID.encode(), "invalid_base64", "base64"),
        ("&compression=gzip", base64.b64encode(b"hello, not gzip"), "invalid_gzip", "magic"),
        ("&compression=gzip", base64.b64encode(gzip.compress(VALID.encode())[:-12]), "invalid_gzip", "truncated"),
        ("&compression=gzip", base64.b64encode(gzip.compress(b"\xff\xfe garbage")), "invalid_utf8", "decompressed"),
        ("&compression=gzip", base64.b64encode(gzip.compress(b"not json")), "invalid_json", "JSON"),
        ("&compression=gzip", base64.b64encode(gzip.compress(b'{"a": 1}')), "not_an_array", "object"),
        ("&compression=deflate", VALID.encode(), "unsupported_compression", "deflate"),
    ],
)
def test_undecodable_bodies_are_bad_requests(client, sink, query, body, error, detail):
    response = client.post(f"/collect?appId=shop_android{query}", data=body)

    assert_error(response, 400, error, detail)
    assert sink.records == []


@pytest.mark.parametrize(
    "encoding, body, error",
    [
        ("gzip", VALID.encode(), "invalid_gzip"),
        ("gzip", gzip.compress(VALID.encode())[:-5], "invalid_gzip"),
        ("gzip", gzip.compress(VALID.encode()) + b"trailing junk", "invalid_gzip"),
        ("gzip", gzip.compress(b'{"not": "an array"}'), "not_an_array"),
        ("br", VALID.encode(), "unsupported_content_encoding"),
    ],
)
def test_undecodable_content_encodings_are_bad_requests(client, sink, encoding, body, error):
    response = client.post("/collect?appId=shop_web", data=body, headers={"Content-Encoding": encoding})

    assert_error(response, 400, error)
    assert sink.records == []


@pytest.mark.parametrize("seed", range(20))
def test_random_garbage_is_refused_without_a_server_error(client, sink, seed):
    generator = random.Random(seed)
    garbage = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 2000)))
    query = generator.choice(["", "&compression=gzip"])
    headers = generator.choice([{}, {"Content-Encoding": "gzip"}])

    response = client.post(f"/collect?appId=shop_web{query}", data=garbage, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]
    assert sink.records == []


def test_a_sink_that_cannot_store_answers_503_with_retry_after(client, sink):
    sink.available = False

    response = client.post("/collect?appId=shop_web", data=VALID)

    assert_error(response, 503, "sink_unavailable", "retry")
    assert int(response.headers["Retry-After"]) > 0


def test_unexpected_failures_are_json_500s_that_reveal_nothing(make_app, sink, monkeypatch):
    def broken_write(record, arrival_ms):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(sink, "write", broken_write)
    client = make_app().test_client()

    response = client.post("/collect?appId=shop_web", data=VALID)

    body = assert_error(response, 500, "internal_error", "not stored")
    assert "secret" not in body["message"]


def test_base64_gzip_of_a_valid_array_passes_the_same_checks(client, sink):
    body = base64_gzip([{"event_type": "x"}, 3])

    assert_error(client.post("/collect?appId=shop_android&compression=gzip", data=body), 400, "invalid_event", "element 1")
