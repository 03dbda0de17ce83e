"""Slow clients (slowloris) against the real server with its default settings.

Fifty connections hold the server the way a slowloris attack does: some send a request's
headers one byte at a time, some send complete headers and then drip the body, some connect
and send nothing. Meanwhile `/ping` and SDK-shaped `POST /collect` requests must still be
answered within a second (the bound issue 11 asks for), every slow connection must eventually
be closed by the server, and nothing of a dripped body may be stored.

The test speaks plain sockets and HTTP, so it holds for any server stack behind `Server`.
"""

from __future__ import annotations

import json
import select
import threading
import time
from pathlib import Path

import requests
from ingest_helpers import base64_gzip
from raw_http import connect, parse_response
from test_ingest_server import Server

SDK_EVENT = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "sdk-samples" / "android_event.json").read_text())
SLOW_CONNECTIONS = 50
DRIP_EVERY_SECONDS = 2.0
OBSERVE_SECONDS = 15.0
# Generous against a loaded 2-core machine; a starved server does not answer at all.
LATENCY_BOUND_SECONDS = 1.0
# The slowest default cut (body timeout, extended by the bytes dripped) plus slack.
CLOSE_WITHIN_SECONDS = 90.0
COLLECT = "/collect?appId=shop&platform=Android&compression=gzip"


def sdk_body(event_id: str) -> bytes:
    return base64_gzip([{**SDK_EVENT, "event_id": event_id}]).encode()


class SlowClient:
    def __init__(self, url: str, kind: str, n: int) -> None:
        self.kind = kind
        self.sock = connect(url)
        self.opened_at = time.monotonic()
        self.sock.setblocking(False)
        self.closed_at: float | None = None
        self.received = b""
        if kind == "headers":
            self.pending = f"POST {COLLECT} HTTP/1.1\r\nHost: ingest\r\n".encode() + b"X-Padding: aaaaaaaaaa\r\n" * 1000
        elif kind in ("body", "oversized_body", "late_oversized_body"):
            body = sdk_body(f"dripped-{n}")
            # Oversized: declared far over the body limit, so refused (413) without being read.
            length = len(body) if kind == "body" else 64 * 1024 * 1024
            self.sock.sendall(
                f"POST {COLLECT} HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
            )
            self.pending = body
        elif kind == "chunked_body":
            body = sdk_body(f"dripped-{n}")
            self.sock.sendall(f"POST {COLLECT} HTTP/1.1\r\nHost: ingest\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            self.pending = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        else:
            self.pending = b""

    def tick(self, now: float) -> None:
        """Read what the server sent (a close, maybe an error first), then drip one byte."""
        if self.closed_at is not None:
            return
        try:
            while select.select([self.sock], [], [], 0)[0]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self._closed(now)
                    return
                self.received += chunk
            if self.pending:
                self.sock.send(self.pending[:1])
                self.pending = self.pending[1:]
        except OSError:
            self._closed(now)

    def _closed(self, now: float) -> None:
        self.closed_at = now
        self.sock.close()


def drip(clients: list[SlowClient], all_opened: threading.Event) -> None:
    """Until every slow connection, including any opened later, is closed (a daemon thread)."""
    while True:
        now = time.monotonic()
        for client in list(clients):
            client.tick(now)
        if all_opened.is_set() and all(client.closed_at is not None for client in clients):
            return
        time.sleep(DRIP_EVERY_SECONDS)


def timed(call) -> tuple[float, int]:
    started = time.monotonic()
    try:
        status = call().status_code
    except requests.RequestException:
        status = 0  # no answer within the client's timeout: starved
    return time.monotonic() - started, status


def test_fifty_slow_connections_do_not_starve_other_clients(tmp_path):
    server = Server(tmp_path, threads=4)  # the server's defaults: 2 workers x 4 threads
    server.wait_until_ready()
    kinds = ["headers"] * 15 + ["body"] * 10 + ["chunked_body"] * 5 + ["oversized_body"] * 5 + ["idle"] * 15
    clients = [SlowClient(server.url, kind, n) for n, kind in enumerate(kinds)]
    assert len(clients) == SLOW_CONNECTIONS
    kinds.append("late_oversized_body")
    all_opened = threading.Event()
    dripper = threading.Thread(target=drip, args=(clients, all_opened), daemon=True)
    dripper.start()
    time.sleep(2 * DRIP_EVERY_SECONDS)  # every slow connection has been accepted and has sent something

    pings, posts = [], []
    good_ids: set[str] = set()
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < OBSERVE_SECONDS:
        # New slow connections keep coming: refused ones (413) must not stall the server either.
        clients.append(SlowClient(server.url, "late_oversized_body", 1000 + n))
        pings.append(timed(lambda: requests.get(f"{server.url}/ping", timeout=5)))
        event_id = f"good-{n}"
        body = sdk_body(event_id)
        latency, status = timed(lambda body=body: requests.post(f"{server.url}{COLLECT}", data=body, timeout=5))
        posts.append((latency, status))
        if status == 200:
            good_ids.add(event_id)
        n += 1
        time.sleep(0.2)

    print(
        f"with {SLOW_CONNECTIONS} slow connections: /ping max {max(latency for latency, _ in pings):.3f} s, "
        f"POST max {max(latency for latency, _ in posts):.3f} s over {len(posts)} requests each"
    )
    assert {status for _, status in pings} == {200}
    assert {status for _, status in posts} == {200}
    assert max(latency for latency, _ in pings) < LATENCY_BOUND_SECONDS
    assert max(latency for latency, _ in posts) < LATENCY_BOUND_SECONDS

    # The server cuts every slow connection (header or body timeout); the dripped bodies never complete.
    all_opened.set()
    dripper.join(CLOSE_WITHIN_SECONDS)
    still_open = [(client.kind, client.received[:100]) for client in clients if client.closed_at is None]
    assert still_open == []
    closed_after = {kind: max(c.closed_at - c.opened_at for c in clients if c.kind == kind) for kind in dict.fromkeys(kinds)}
    print("slow connections closed by the server within (s):", {k: round(v, 1) for k, v in closed_after.items()})
    for client in clients:
        response = parse_response(client.received, complete=True) if client.received else None
        if response is not None:  # a server that still can answers the cut with an error
            assert response.status == (413 if "oversized" in client.kind else 408), client.received[:300]
            assert set(response.json()) >= {"error", "message"}

    assert server.stop() == 0
    stored = server.stored_event_ids()
    assert not [event_id for event_id in stored if event_id.startswith("dripped-")]
    assert sorted(stored) == sorted(good_ids)
