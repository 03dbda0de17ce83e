"""What the operations pages' tests share: a stand-in ingestion service, and the project file of
the Dagster test webserver pointed at it, so a console on that file reads that Dagster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.console.dagster_webserver import DagsterWebserver
from tests.http_stub import QuietHandler, serving


@dataclass
class Ingestion:
    """What the stand-in ingestion service answers on /ready (it is always live)."""

    ready: bool = True


@contextmanager
def ingestion_stub() -> Iterator[tuple[str, Ingestion]]:
    state = Ingestion()

    class Handler(QuietHandler):
        def do_GET(self):
            # The shapes of ingestion/views.py's health() and ready() (503 through its ApiError).
            if self.path == "/health":
                self._json(200, {"status": "ok"})
            elif self.path == "/ready" and state.ready:
                self._json(200, {"status": "ok", "sink": {"status": "ok", "type": "local"}})
            elif self.path == "/ready":
                message = "the sink cannot store requests (status: refusing; the server log has the cause)"
                self._json(503, {"error": "sink_unhealthy", "message": message, "sink": {"status": "refusing"}})
            else:
                self._json(404, {"error": "not_found", "message": "no such page"})

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving(Handler) as url:
        yield url, state


def point_console_at(server: DagsterWebserver, ingestion_url: str, database: Path) -> None:
    """The webserver's project file with the console reading that Dagster, the ingestion endpoint
    at ``ingestion_url``, and the console's own database (each test module its own)."""
    data = yaml.safe_load(server.project_file.read_text())
    data["console"] = {"dagster_url": server.url, "database_url": f"sqlite:///{database}"}
    data["pipeline"] = {"ingestion": {"public_endpoint": ingestion_url}}
    server.project_file.write_text(yaml.safe_dump(data, sort_keys=False))
