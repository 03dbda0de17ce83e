"""Broken HTTP framing against the real server, over raw sockets.

Whatever part of the stack refuses a request (the HTTP parser, the worker, the app), the
client gets DATA_CONTRACT §1's JSON error with the status that names the fault, and nothing of
the request is stored: malformed chunked encoding and a body shorter than its Content-Length
are 400, an over-long request line 414, too many or too large header fields 431.
"""

from __future__ import annotations

import json

import pytest
from raw_http import exchange
from test_ingest_server import Server

COLLECT = "POST /collect?appId=shop&platform=Web HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"


def events(event_id: str) -> bytes:
    return json.dumps([{"event_type": "_screen_view", "event_id": event_id, "app_id": "shop", "timestamp": 1700000000000}]).encode()


def chunked(*chunks: bytes) -> bytes:
    return COLLECT.encode() + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(chunks)


def short_body() -> bytes:
    # A complete JSON array in its first 50 bytes: a server that stores what it got stores it.
    body = b'[{"event_id": "short-body", "app_id": "shop"}]'.ljust(50)
    assert len(body) == 50
    return COLLECT.encode() + b"Content-Length: 100\r\n\r\n" + body


# (name, request, half-close after sending, expected status)
CASES = [
    ("bad_chunk_size", chunked(b"zz\r\n", events("bad-chunk-size"), b"\r\n0\r\n\r\n"), False, 400),
    ("chunk_without_terminator", chunked(b"%x\r\n" % len(events("no-terminator")), events("no-terminator"), b"XX0\r\n\r\n"), False, 400),
    ("negative_chunk_size", chunked(b"-5\r\n", events("negative-chunk"), b"\r\n0\r\n\r\n"), False, 400),
    ("short_body", short_body(), True, 400),
    ("request_line_10_kb", b"GET /ping?" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: ingest\r\n\r\n", False, 414),
    ("200_headers", COLLECT.encode() + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"Content-Length: 2\r\n\r\n[]", False, 431),
    ("huge_header", COLLECT.encode() + b"X-Junk: " + b"j" * 20_000 + b"\r\nContent-Length: 2\r\n\r\n[]", False, 431),
    ("invalid_header_name", COLLECT.encode() + b"Bad Header: x\r\nContent-Length: 2\r\n\r\n[]", False, 400),
    ("header_name_with_colon_space", COLLECT.encode() + b"X-A\x01B: x\r\nContent-Length: 2\r\n\r\n[]", False, 400),
    ("content_length_not_a_number", COLLECT.encode() + b"Content-Length: ten\r\n\r\n[]", False, 400),
    ("bad_request_line", b"NOT AN HTTP REQUEST\r\n\r\n", False, 400),
    ("unsupported_transfer_coding", COLLECT.encode() + b"Transfer-Encoding: gzip\r\n\r\n[]", False, 400),
    (
        "content_length_and_chunked",
        COLLECT.encode() + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n",
        False,
        400,
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("framing"), threads=4)
    server.wait_until_ready()
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.mark.parametrize("name, request_bytes, half_close, status", CASES, ids=[case[0] for case in CASES])
def test_broken_framing_gets_a_json_error(server, name, request_bytes, half_close, status):
    response = exchange(server.url, request_bytes, half_close=half_close)

    assert response is not None, "closed without an answer"
    assert response.status == status, response
    assert response.headers["content-type"].startswith("application/json"), response
    error = json.loads(response.body)
    assert set(error) >= {"error", "message"}
    assert isinstance(error["message"], str) and error["message"]


def test_well_formed_chunked_and_pipelined_requests_are_stored(server):
    body = events("chunked-ok")
    response = exchange(server.url, chunked(b"%x\r\n" % len(body), body, b"\r\n0\r\n\r\n"))
    assert response is not None and response.status == 200, response

    first, second = events("pipelined-1"), events("pipelined-2")
    pipelined = (
        b"".join(COLLECT.encode() + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in (first, second))
        + b"GET /ping HTTP/1.1\r\nHost: ingest\r\nConnection: close\r\n\r\n"
    )
    response = exchange(server.url, pipelined, half_close=False)
    assert response is not None and response.status == 200, response


def test_nothing_of_a_broken_request_is_stored(server):
    """Runs last in this module: stops the server and reads the lake."""
    assert server.stop() == 0
    assert sorted(server.stored_event_ids()) == ["chunked-ok", "pipelined-1", "pipelined-2"]
