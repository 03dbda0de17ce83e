"""The gunicorn workers of the ingestion service.

`RequestBufferingWorker` (the default, gthread) reads every request in the worker's event
loop, without a thread, until its headers and body are complete; only then does a request
thread run the app, and the app reads the body from memory. So clients that send slowly
(a slowloris attack, or a phone on a bad network) cost a socket and a buffer each, never one
of the few request threads, and each is cut when it misses its deadline:

- headers: `header_timeout_seconds` from the connection (or the keep-alive turn);
- body: `body_timeout_seconds` after the headers, plus one second per
  `body_min_bytes_per_second` received (Apache mod_reqtimeout's rule);
- the whole request: `request_timeout_seconds`.

A request that misses one is answered 408 (JSON) when the socket can still take it, and is
never seen by the app, so never stored. A body the event loop does not hold entirely (one
declared over the body limit, which the app refuses with 413, or a chunked one past it) is
read by the request thread under the same deadlines.

Every error gunicorn answers itself (a broken request line, too many or too large headers,
broken chunked framing) is DATA_CONTRACT §1's JSON error instead of gunicorn's HTML page.
"""

from __future__ import annotations

import errno
import json
import math
import selectors
import socket
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker
from gunicorn.workers.sync import SyncWorker

from clickstream_project.config import IngestionSettings
from ingestion.settings import EXTENSION_KEY
from ingestion.views import DRAIN_FACTOR

# A request head larger than this is refused (431) without handing it to a thread. Gunicorn's
# own limits (request line 4094 bytes, 100 fields of 8190) are checked by its parser below it;
# no SDK request comes near 64 KiB of headers.
MAX_HEAD_BYTES = 64 * 1024
# Chunked framing around a body at the body limit: chunk-size lines, CRLFs, trailers.
_CHUNKED_SLACK_BYTES = 64 * 1024
_RECV_BYTES = 64 * 1024
# Closing after an answer: how long, and how much, to read what the client still sends (the
# values of gunicorn's util.close_graceful), so that the kernel does not reset the connection
# and lose the answer.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class ReadLimits:
    header_timeout: float
    body_timeout: float
    body_min_rate: float
    request_timeout: float
    # The most body bytes the app reads: up to the body limit, or to DRAIN_FACTOR times it
    # for a body it refuses (413) but reads to the end, so the connection can be reused.
    max_body_read: int

    @classmethod
    def from_settings(cls, settings: IngestionSettings) -> ReadLimits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            body_min_rate=settings.body_min_bytes_per_second,
            request_timeout=settings.request_timeout_seconds,
            max_body_read=settings.max_body_bytes * DRAIN_FACTOR,
        )


class PendingRequest:
    """One request's bytes as they arrive, where its head ends and when its body is complete."""

    def __init__(self, limits: ReadLimits, now: float) -> None:
        self.limits = limits
        self.data = bytearray()
        self.header_deadline = now + limits.header_timeout
        self.request_deadline = now + limits.request_timeout
        self.body_start: int | None = None  # offset of the body in `data`, once the head is in
        self.body_started_at = 0.0
        self.body_read_later = 0  # body bytes the request thread read from the socket itself
        self.content_length: int | None = None
        self.chunked = False
        self.complete = False  # all of the request is in `data`
        self._chunk_at = 0  # offset in the body of the next chunk-size line
        self.refusal: tuple[int, str, str] | None = None

    @property
    def started(self) -> bool:
        return bool(self.data)

    def deadline(self) -> float:
        if self.body_start is None:
            return min(self.header_deadline, self.request_deadline)
        received = len(self.data) - self.body_start + self.body_read_later
        body_deadline = self.body_started_at + self.limits.body_timeout + received / self.limits.body_min_rate
        return min(body_deadline, self.request_deadline)

    def feed(self, chunk: bytes, now: float) -> bool:
        """Add received bytes; True once the request can go to a thread (complete, or to be
        refused: `refusal`, or for the HTTP parser to refuse)."""
        searched_from = max(0, len(self.data) - 3)
        self.data += chunk
        if self.body_start is None:
            end = self.data.find(b"\r\n\r\n", searched_from)
            if end < 0:
                if len(self.data) > MAX_HEAD_BYTES:
                    self.refusal = (431, "header_fields_too_large", f"the request line and headers are larger than {MAX_HEAD_BYTES} bytes")
                    return True
                return False
            self.body_start = end + 4
            self.body_started_at = now
            if not self._read_framing(bytes(self.data[:end])):
                return True  # framing the parser will refuse
        return self._body_complete()

    def expects_continue(self) -> bool:
        head = bytes(self.data[: self.body_start or 0]).lower()
        return b"\r\nexpect:" in head and b"100-continue" in head

    def _read_framing(self, head: bytes) -> bool:
        lengths, codings = [], []
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings += [coding.strip().lower() for coding in value.split(b",")]
        if codings:
            # Only a final "chunked" frames the body (RFC 9112 6.1); the parser refuses the rest.
            self.chunked = codings[-1] == b"chunked" and not lengths
            return self.chunked
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            return False
        self.content_length = int(lengths[0]) if lengths else 0
        return True

    def _body_complete(self) -> bool:
        assert self.body_start is not None
        body_bytes = len(self.data) - self.body_start
        if not self.chunked:
            assert self.content_length is not None
            self.complete = body_bytes >= self.content_length
            # A body larger than the app reads is refused (413) without it being buffered first.
            return self.complete or self.content_length > self.limits.max_body_read
        if body_bytes > self.limits.max_body_read + _CHUNKED_SLACK_BYTES:
            return True
        return self._chunks_complete()

    def _chunks_complete(self) -> bool:
        """Walk the chunk-size lines received so far: True at the last chunk (or at anything
        malformed, which the HTTP parser then refuses with the exact reason)."""
        data, base = self.data, self.body_start or 0
        while True:
            at = base + self._chunk_at
            line_end = data.find(b"\r\n", at)
            if line_end < 0:
                return len(data) - at > 1024
            size_text = bytes(data[at:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return True
            if size < 0 or not size_text.isalnum():
                return True
            if size == 0:
                # The last chunk, then optional trailer fields, then an empty line.
                self.complete = data.startswith(b"\r\n", line_end + 2) or data.find(b"\r\n\r\n", line_end) >= 0
                return self.complete
            next_at = line_end + 2 + size + 2
            if len(data) < next_at:
                return False
            self._chunk_at = next_at - base


class _DeadlineReader:
    """What the HTTP parser reads from: the socket, but never past the request's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending: PendingRequest | None = None

    def recv(self, size: int) -> bytes:
        prior = self.sock.gettimeout()
        remaining = math.inf if self.pending is None else self.pending.deadline() - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive within its deadline")
        self.sock.settimeout(remaining if prior is None else min(prior, remaining))
        try:
            chunk = self.sock.recv(size)
        finally:
            self.sock.settimeout(prior)
        if self.pending is not None and self.pending.body_start is not None:
            self.pending.body_read_later += len(chunk)
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def json_error_response(status: int, error: str, message: str) -> bytes:
    body = json.dumps({"error": error, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


# Gunicorn's refusals, as (status, error code); the message is the parser's own words.
_PARSER_ERRORS: list[tuple[type[Exception] | tuple[type[Exception], ...], int, str]] = [
    (http_errors.LimitRequestLine, 414, "request_line_too_long"),
    (http_errors.LimitRequestHeaders, 431, "header_fields_too_large"),
    (
        (http_errors.InvalidChunkSize, http_errors.ChunkMissingTerminator, http_errors.InvalidChunkExtension),
        400,
        "invalid_chunked_encoding",
    ),
    (http_errors.UnsupportedTransferCoding, 501, "unsupported_transfer_encoding"),
    (http_errors.ExpectationFailed, 417, "expectation_failed"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden_proxy"),
    ((http_errors.InvalidHeader, http_errors.InvalidHeaderName, http_errors.ObsoleteFolding), 400, "invalid_header"),
    ((http_errors.InvalidRequestLine, http_errors.InvalidRequestMethod, http_errors.InvalidHTTPVersion), 400, "invalid_request_line"),
    ((http_errors.InvalidProxyLine, http_errors.InvalidProxyHeader, http_errors.InvalidSchemeHeaders), 400, "invalid_request"),
]


class _JsonErrorsMixin:
    """Gunicorn's own error answers as JSON (its base worker writes an HTML page)."""

    log: Any

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        for types, status, error in _PARSER_ERRORS:
            if isinstance(exc, types) and not isinstance(exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)):
                self.log.warning("invalid request from %s: %s", self._logged_peer(addr), exc)
                response = json_error_response(status, error, str(exc) or HTTPStatus(status).phrase)
                break
        else:
            self.log.exception("error handling request")
            response = json_error_response(500, "internal_error", "the server failed to handle the request; it was not stored")
        try:
            util.write_nonblock(client, response)
        except OSError:
            self.log.debug("could not send the error response")

    def _logged_peer(self, addr: Any) -> str | None:
        peer = (addr or ("",))[0]
        ingestion = getattr(getattr(self, "wsgi", None), "extensions", {}).get(EXTENSION_KEY)
        # Under ip_anonymization this log holds no full address either (ingestion/client_address.py).
        return peer if ingestion is None else ingestion.client_addresses.logged(None, peer)


class _GracefulQuitMixin:
    """SIGINT and SIGQUIT stop a worker the way SIGTERM does: after its current requests."""

    def handle_quit(self, sig: int, frame: Any) -> None:
        self.handle_exit(sig, frame)  # type: ignore[attr-defined]


class GracefulSyncWorker(_GracefulQuitMixin, _JsonErrorsMixin, SyncWorker):
    """One request at a time (`--threads 1`): no defence against slow clients; for debugging."""


class GracefulThreadWorker(_GracefulQuitMixin, _JsonErrorsMixin, ThreadWorker):
    pass


class RequestBufferingWorker(GracefulThreadWorker):
    """See the module docstring. TLS and HTTP/2 prior knowledge (both off in this service:
    TLS ends at the load balancer) keep gthread's own reading."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits: ReadLimits | None = None
        self._reading: dict[TConn, PendingRequest] = {}
        self._handed_over: set[TConn] = set()  # read by the event loop, now with a thread
        self._stopping_at: float | None = None
        self._lingering: dict[TConn, list[float]] = {}  # closing: [deadline, bytes drained]

    def load_wsgi(self) -> None:
        super().load_wsgi()
        ingestion = getattr(self.wsgi, "extensions", {}).get(EXTENSION_KEY)
        if ingestion is not None:
            self._limits = ReadLimits.from_settings(ingestion.settings)

    def _buffers(self, conn: TConn) -> bool:
        return self._limits is not None and not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(self.cfg, conn.client)

    # Connections enter the event loop here: new ones, and kept-alive ones with a new request.

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self._buffers(conn):
            self._start_reading(conn, read_now=True)
        else:
            client_sock.setblocking(True)
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        if not self._buffers(conn):
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn, read_now=True)

    def finish_request(self, conn: TConn, fs: Any) -> None:
        if conn not in self._handed_over:
            super().finish_request(conn, fs)
            return
        self._handed_over.discard(conn)
        keep_alive = not fs.cancelled() and fs.exception() is None and fs.result() is True
        if keep_alive and self.alive and conn.parser.unreader.buf.getvalue():
            # Pipelined requests: what the thread read past its request goes through the event
            # loop too, so that the next request is also complete before a thread takes it.
            self._start_reading(conn, conn.parser.unreader.take_buffered())
        elif keep_alive:
            super().finish_request(conn, fs)
        else:
            self.nr_conns -= 1
            self._linger(conn)

    def _linger(self, conn: TConn) -> None:
        """Close after the answer without a reset (RFC 9112 9.6): send FIN, read what the
        client still sends for a while, then close. Gthread lingers inside its event loop,
        blocking it for up to 2 s per connection; here the loop only waits for readability."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, lambda _sock, conn=conn: self._on_linger_readable(conn))
        except (OSError, ValueError):
            conn.close()
            return
        self._lingering[conn] = [time.monotonic() + LINGER_SECONDS, 0]

    def _on_linger_readable(self, conn: TConn) -> None:
        try:
            chunk = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        state = self._lingering[conn]
        state[1] += len(chunk)
        if not chunk or state[1] > LINGER_MAX_BYTES:
            self._end_linger(conn)

    def _end_linger(self, conn: TConn) -> None:
        del self._lingering[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn.close()

    def _start_reading(self, conn: TConn, initial: bytes = b"", *, read_now: bool = False) -> None:
        """``read_now``: the socket is (likely) readable already, a kept-alive connection the
        poller reported or a new one whose client sent at once, so it is read here: a request
        that is complete in one read (nearly all SDK requests) then skips a poller round trip
        (two epoll_ctl calls and a loop turn). bench/ingest's do-nothing handler went from
        2.9-3.2k to 7.2-7.5k req/s with this, as fast as on stock gthread."""
        assert self._limits is not None
        now = time.monotonic()
        pending = PendingRequest(self._limits, now)
        conn.sock.setblocking(False)
        self._reading[conn] = pending
        if initial and pending.feed(initial, now):
            self._hand_over(conn, pending)
            return
        if read_now:
            complete = self._read_some(conn, pending)
            if complete is None:
                return
            if complete:
                self._hand_over(conn, pending)
                return
        self.poller.register(conn.sock, selectors.EVENT_READ, lambda _sock, conn=conn: self._on_readable(conn))

    def _on_readable(self, conn: TConn) -> None:
        pending = self._reading[conn]
        if self._read_some(conn, pending):
            self.poller.unregister(conn.sock)
            self._hand_over(conn, pending)

    def _read_some(self, conn: TConn, pending: PendingRequest) -> bool | None:
        """One read: True when the request can go to a thread, False when more is to come,
        None when the connection was dropped."""
        try:
            chunk = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self._drop(conn)
            return None
        if not chunk:
            if pending.started:
                # Closed (or half-closed) mid-request: a body shorter than announced is refused.
                self._drop(conn, (400, "incomplete_request", "the connection ended before the request was complete; it was not stored"))
            else:
                self._drop(conn)
            return None
        had_head = pending.body_start is not None
        if pending.feed(chunk, time.monotonic()):
            return True
        if not had_head and pending.body_start is not None and pending.expects_continue():
            self._send_quietly(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        return False

    def _hand_over(self, conn: TConn, pending: PendingRequest) -> None:
        if pending.refusal is not None:
            self._drop(conn, pending.refusal)
            return
        del self._reading[conn]
        conn.prebuffered = (bytes(pending.data), pending)
        self._handed_over.add(conn)
        self.enqueue_req(conn)

    def handle(self, conn: TConn) -> Any:
        prebuffered = getattr(conn, "prebuffered", None)
        if prebuffered is None:
            return super().handle(conn)
        conn.prebuffered = None
        data, pending = prebuffered
        conn.sock.setblocking(True)
        try:
            conn.init()
        except OSError:
            return False
        unreader = conn.parser.unreader
        if not isinstance(unreader.sock, _DeadlineReader):
            unreader.sock = _DeadlineReader(conn.sock)
        # Stays after the request: a pipelined request read by this thread meets the same deadline.
        unreader.sock.pending = pending
        unreader.unread(data)
        conn.data_ready = True
        return super().handle(conn)

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        # The rest of a body the event loop did not hold is not waited for (gthread would drain
        # it for up to 5 s in this thread): the connection closes after the answer instead.
        reader = conn.parser.unreader.sock if conn.parser is not None else None
        if keepalive and isinstance(reader, _DeadlineReader) and reader.pending is not None and not reader.pending.complete:
            return False
        return super()._keepalive_after(conn, keepalive)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self._stopping_at is None:
            self._stopping_at = now
        for conn, (linger_deadline, _) in list(self._lingering.items()):
            if linger_deadline <= now:
                self._end_linger(conn)
        for conn, pending in list(self._reading.items()):
            if self._stopping_at is not None and (
                not pending.started or (pending.body_start is None and now > self._stopping_at + STOP_KEEPALIVE_LINGER)
            ):
                # Stopping: an idle connection has no request to finish, and headers that are
                # still arriving get as long as a kept-alive connection (a body, its deadline).
                self._drop(conn)
            elif pending.deadline() <= now:
                what = "body" if pending.body_start is not None else "headers"
                self._drop(conn, (408, "request_timeout", f"the request {what} did not arrive in time; it was not stored"))

    def _drop(self, conn: TConn, error: tuple[int, str, str] | None = None) -> None:
        del self._reading[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        if error is None:
            conn.close()
            return
        self._send_quietly(conn, json_error_response(*error))
        self._linger(conn)

    def _send_quietly(self, conn: TConn, data: bytes) -> None:
        # Non-blocking, once: a client that does not read its error loses it, not a thread.
        try:
            conn.sock.send(data)
        except OSError:
            pass
