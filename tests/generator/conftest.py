"""A stub ingestion server for the generator's tests: records every request, answers 200 unless
a test installs its own `respond` hook. It runs the real HTTP stack (werkzeug on a loopback
port) so retries, headers and bodies go over an actual socket."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask, Response, request
from werkzeug.serving import make_server

from clickstream_tools.generator.wire import decode_body

END = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Received:
    args: dict[str, str]
    # The raw query string, to check parameter presence and order.
    query_string: str
    headers: dict[str, str]
    body: bytes
    status: int

    def events(self) -> list[dict]:
        return json.loads(decode_body(self.body, self.args.get("compression") or None))


class StubIngestion:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.respond: Callable[[dict[str, str], int], Response | None] = lambda args, n: None
        self._lock = threading.Lock()
        self.url = ""

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status == 200]

    def app(self) -> Flask:
        app = Flask("stub_ingestion")

        @app.post("/collect")
        def collect() -> Response:
            args = request.args.to_dict()
            with self._lock:
                response = self.respond(args, len(self.received)) or Response(status=200)
                self.received.append(
                    Received(
                        args=args,
                        query_string=request.query_string.decode(),
                        headers=dict(request.headers),
                        body=request.get_data(),
                        status=response.status_code,
                    )
                )
            return response

        return app


@pytest.fixture
def ingestion_stub() -> Iterator[StubIngestion]:
    stub = StubIngestion()
    server = make_server("127.0.0.1", 0, stub.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield stub
    finally:
        server.shutdown()
        thread.join(timeout=5)
