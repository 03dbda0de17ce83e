"""One server for bench/ingest/run.py: `serve.py CONFIG STACK HANDLER THREADS`.

STACK is gunicorn (the service's own stack: ingestion.server's options and worker classes) or
granian (Rust HTTP server, WSGI interface). HANDLER is `noop` (a Flask app answering 200 without
reading anything: what the stack itself costs) or `real` (the ingestion app).

gunicorn + real is `clickstream serve`. granian + real is for comparison only: it runs the same
app but without the guarantees ingestion.server adds around it (no worker_exit hook seals the
spool at shutdown, no body or request deadlines), so its figure says what the stack would
give, not a supported way to run the service.
"""

from __future__ import annotations

import os
import sys
import tempfile

from flask import Flask, Response

from clickstream_project.config import load_config
from ingestion import access_log, server
from ingestion.app import create_app
from ingestion.metrics import MULTIPROC_ENV
from ingestion.settings import layered_config

CONFIG_ENV = "BENCH_INGEST_CONFIG"


def noop_app() -> Flask:
    config = load_config(os.environ[CONFIG_ENV])
    app = Flask("noop")
    app.add_url_rule(config.pipeline.ingestion.path, "collect", lambda: Response(status=200), methods=["POST"])
    app.add_url_rule("/ping", "ping", lambda: "{}", methods=["GET"])
    return app


def real_app() -> Flask:
    return create_app(config_path=os.environ[CONFIG_ENV], environ={})


def serve_gunicorn(config_path: str, handler: str, threads: int) -> None:
    config = load_config(config_path)
    if handler == "real":
        server.run_server(config, threads=threads or None)
        return

    class NoopServer(server.IngestionServer):
        def load(self) -> Flask:
            return noop_app()

    options = server.gunicorn_options(config, threads=threads or None)
    options["worker_exit"] = lambda server, worker: None
    try:
        NoopServer(config, options).run()
    except SystemExit:
        pass


def serve_granian(config_path: str, handler: str, threads: int) -> None:
    from granian import Granian

    settings = layered_config(load_config(config_path)).pipeline.ingestion
    host, _, port = settings.bind.rpartition(":")
    if handler == "real":
        # What run_server sets up before its workers fork (granian forks its workers too).
        if settings.access_log:
            access_log.send_to_stream(sys.stdout)
        if settings.metrics:
            os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="bench-granian-metrics-")
    Granian(
        f"serve:{handler}_app",
        address=host,
        port=int(port),
        interface="wsgi",
        workers=settings.workers,
        blocking_threads=threads or None,
        http="1",
        websockets=False,
        factory=True,
        log_level="warning",
    ).serve()


def main() -> None:
    config_path, stack, handler, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.environ[CONFIG_ENV] = config_path
    {"gunicorn": serve_gunicorn, "granian": serve_granian}[stack](config_path, handler, threads)


if __name__ == "__main__":
    main()
