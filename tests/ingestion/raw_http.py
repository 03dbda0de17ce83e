"""HTTP over a bare socket, for requests no HTTP client library will send (broken framing,
slow senders) and for reading exactly what the server answered."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> dict:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return json.loads(self.body)


def connect(url: str, timeout: float = 10) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def exchange(url: str, request: bytes, *, half_close: bool = False, timeout: float = 30) -> RawResponse | None:
    """Send `request`, read until the server closes or one response is complete.

    `half_close` ends the sending side after the request (what a client that sends a short
    body and then closes does), while still reading the answer. None: closed without one."""
    with connect(url, timeout) as sock:
        try:
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading all of it
        return read_response(sock)


def read_response(sock: socket.socket) -> RawResponse | None:
    data = b""
    while True:
        response = parse_response(data)
        if response is not None:
            return response
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return parse_response(data, complete=True)
        data += chunk


def parse_response(data: bytes, *, complete: bool = False) -> RawResponse | None:
    """The first final (non-1xx) response in `data`, once all of it is there."""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return None
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            data = rest
            continue
        length = headers.get("content-length")
        if length is None:
            return RawResponse(status, headers, rest) if complete else None
        if len(rest) < int(length):
            return RawResponse(status, headers, rest) if complete else None
        return RawResponse(status, headers, rest[: int(length)])
