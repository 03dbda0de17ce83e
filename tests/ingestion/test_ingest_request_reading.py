"""How the worker's event loop decides that a request is complete (ingestion.workers), and the
deadlines it holds a slow one to. The real-server behaviour is in test_ingest_slow_clients.py
and test_ingest_framing.py."""

from __future__ import annotations

import pytest

from ingestion.workers import MAX_HEAD_BYTES, PendingRequest, ReadLimits

LIMITS = ReadLimits(header_timeout=10, body_timeout=10, body_min_rate=500, request_timeout=60, max_body_read=4096)
HEAD = b"POST /collect?appId=a HTTP/1.1\r\nHost: x\r\n"


def fed(*pieces: bytes, now: float = 0.0) -> tuple[PendingRequest, list[bool]]:
    pending = PendingRequest(LIMITS, now)
    return pending, [pending.feed(piece, now) for piece in pieces]


def test_a_request_without_a_body_is_complete_with_its_head():
    assert fed(b"GET /ping HTTP/1.1\r\nHost: x\r", b"\n\r\n")[1] == [False, True]


def test_a_content_length_body_is_complete_at_its_last_byte():
    _, done = fed(HEAD + b"Content-Length: 5\r\n\r\n12", b"34", b"5")
    assert done == [False, False, True]


def test_a_body_declared_over_what_the_app_reads_goes_to_the_app_at_once():
    # The app answers 413 without the body being buffered here first.
    pending, done = fed(HEAD + b"Content-Length: 5000\r\n\r\n")
    assert done == [True]
    assert not pending.complete


@pytest.mark.parametrize(
    "pieces, done",
    [
        ([b"5\r\nhello\r\n", b"0\r\n", b"\r\n"], [False, False, True]),
        ([b"5;ext=1\r\nhello\r\n0\r\n\r\n"], [True]),
        ([b"5\r\nhel", b"lo\r\n0\r\nTrailer: x\r\n", b"\r\n"], [False, False, True]),
        ([b"0\r\n\r\n"], [True]),
        # Malformed: handed over at once, for the HTTP parser to answer 400 with the reason.
        ([b"zz\r\nhello\r\n"], [True]),
        ([b"-5\r\nhello\r\n"], [True]),
        ([b"5\r\nhelloXX"], [False]),  # not yet known to be malformed: more may come
    ],
)
def test_chunked_bodies_are_complete_at_the_last_chunk(pieces, done):
    pending, result = fed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", *pieces)
    assert result == [False, *done]
    assert pending.complete == (b"0\r\n" in b"".join(pieces))


def test_a_chunked_body_past_the_limit_goes_to_the_app():
    _, done = fed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"%x\r\n" % 100_000 + b"x" * 100_000)
    assert done == [False, True]


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: ten\r\n",
        b"Content-Length: 1\r\nContent-Length: 2\r\n",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: identity\r\n",
        b"Transfer-Encoding: chunked, gzip\r\n",
    ],
)
def test_ambiguous_framing_goes_to_the_parser_at_once(framing):
    assert fed(HEAD + framing + b"\r\n")[1] == [True]


def test_an_oversized_head_is_refused_without_a_thread():
    pending, done = fed(HEAD + b"X-Pad: " + b"a" * MAX_HEAD_BYTES)
    assert done == [True]
    assert pending.refusal is not None and pending.refusal[0] == 431


def test_deadlines_headers_then_body_extended_by_the_bytes_received():
    pending = PendingRequest(LIMITS, now=100.0)
    assert pending.deadline() == 110.0  # headers within header_timeout
    pending.feed(HEAD + b"Content-Length: 1000\r\n\r\n", now=104.0)
    assert pending.deadline() == 114.0  # body_timeout after the head
    pending.feed(b"x" * 500, now=110.0)
    assert pending.deadline() == 115.0  # one more second per 500 bytes
    pending.feed(b"x" * 499, now=114.0)
    assert pending.deadline() == pytest.approx(115.998)


def test_the_request_deadline_caps_a_fast_enough_but_endless_body():
    limits = ReadLimits(header_timeout=10, body_timeout=10, body_min_rate=1, request_timeout=60, max_body_read=10**9)
    pending = PendingRequest(limits, now=0.0)
    pending.feed(HEAD + b"Content-Length: 1000000000\r\n\r\n" + b"x" * 10_000, now=1.0)
    assert pending.deadline() == 60.0
