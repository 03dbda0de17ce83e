"""Serving the console: ``clickstream console`` runs it under gunicorn, one worker process with
threads. One process because the sign-in limiter counts failures in memory; the console's load is
people clicking, which threads serve well."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from clickstream_project.config import load_config

THREADS = 8


class ConsoleServer(BaseApplication):
    def __init__(self, config_path: Path, options: dict[str, Any]) -> None:
        self._config_path = config_path
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from clickstream_console.app import create_app

        return create_app(self._config_path)


def run_console(config_path: Path, bind: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(config_path)
    bind = bind or config.console.bind
    options = {
        "bind": [bind],
        "workers": 1,
        "threads": THREADS,
        "worker_class": "gthread",
        # The app (and its database migration) is built before serving, so a bad setting fails now.
        "preload_app": True,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,
        "proc_name": f"clickstream-console-{config.project_id}",
    }
    print(f"console for project {config.project_id!r}: {config.console.public_url or 'http://' + bind}", flush=True)
    ConsoleServer(config_path, options).run()
