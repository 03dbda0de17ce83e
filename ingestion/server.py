"""Running the ingestion service under gunicorn, and its command-line options.

The process that calls `run_server` is gunicorn's master. Each worker process loads the app
itself, after the fork, so every worker has its own spool and its own in-flight files; when a
worker exits, the `worker_exit` hook seals them.

Stopping:
- SIGTERM to the master: workers stop accepting, finish the requests they hold (for at most
  GRACEFUL_TIMEOUT_SECONDS), seal their files and exit; the master exits once every worker is
  gone. When the master has exited, every acknowledged request is in a sealed hour file.
- SIGINT (Ctrl-C) and SIGQUIT: the same. Gunicorn's own workers exit on these from inside a
  signal handler, which could interrupt the spool in the middle of an append; ours do not.
- SIGKILL, or a worker overrunning the graceful timeout: its in-flight files stay behind and
  are sealed by the next worker that starts (or within a minute by a running sibling).

Slow clients: each worker reads a request in its event loop until it is complete, under header,
body and request deadlines, before a request thread runs the app (ingestion.workers).

Observability: the access log is one JSON line per request on stdout (gunicorn's own access
log stays off); with `metrics: true` the workers keep their Prometheus values in files under
PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory unless the environment names one, which
is then emptied at start), so that `/metrics` on any worker reports all of them.

Why gunicorn and not granian (measured for issue 16; granian 2.8 answers a do-nothing WSGI app
about twice as fast): under granian's WSGI interface a request thread reads the body from the
socket itself, with no body or request deadline (granian bounds only the header read,
`http1_header_read_timeout`), so a few clients that stop mid-body hold every thread and
nobody is answered, for as long as they keep their connections; a read error inside a chunked
body reaches the app as the end of the body; and malformed requests get the server's own
empty 400, not a JSON error. The slow-client and framing guarantees of the reliability issue
(11) would not hold.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from clickstream_project.config import ProjectConfig, default_config_path
from ingestion import access_log
from ingestion.app import close_app, create_app
from ingestion.metrics import MULTIPROC_ENV
from ingestion.settings import layered_config
from ingestion.workers import GracefulSyncWorker, RequestBufferingWorker

logger = logging.getLogger(__name__)

# Threads run complete requests only (the worker's event loop reads them first, see
# ingestion.workers), and the spool's lock serializes only the short append itself, so a few
# threads per worker keep a core busy; slow uploads wait in the event loop, not in a thread.
DEFAULT_THREADS = 4
# Long enough for in-flight uploads to finish; whoever sends SIGTERM should wait longer than this.
GRACEFUL_TIMEOUT_SECONDS = 30
# Temporary directories for the workers' Prometheus values: <prefix><master pid>-<random>.
_METRICS_DIR_PREFIX = "clickstream-metrics-"


class IngestionServer(BaseApplication):
    """`config` is the layered configuration (ingestion.settings.layered_config): the master
    applied the environment once, and its workers build their apps from the result."""

    def __init__(self, config: ProjectConfig, options: dict[str, Any], config_path: str | os.PathLike[str] | None = None) -> None:
        self._project_config = config
        self._config_path = config_path
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self._project_config, config_path=self._config_path, environ={})


def gunicorn_options(
    config: ProjectConfig, *, bind: str | None = None, workers: int | None = None, threads: int | None = None
) -> dict[str, Any]:
    ingestion = config.pipeline.ingestion
    threads = threads or DEFAULT_THREADS
    return {
        "bind": [bind or ingestion.bind],
        "workers": workers or ingestion.workers,
        "threads": threads,
        "worker_class": RequestBufferingWorker if threads > 1 else GracefulSyncWorker,
        # Lazy loading: the app, and with it the spool, is built in each worker after the fork.
        "preload_app": False,
        "worker_exit": _seal_worker_spool,
        "child_exit": _forget_worker_metrics,
        # The app writes its own JSON access log (ingestion.access_log); gunicorn's would double it.
        "accesslog": None,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "proc_name": f"clickstream-ingest-{config.project_id}",
        # Signals are the control interface; gunicorn's default control socket is one path per
        # user ($HOME/.gunicorn/gunicorn.ctl), which two servers on one machine would share.
        "control_socket_disable": True,
        "errorlog": "-",
        "loglevel": "info",
    }


def run_server(
    config: ProjectConfig,
    *,
    bind: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    config_path: str | os.PathLike[str] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT; returns once every worker has sealed its files and exited.

    A worker still busy after GRACEFUL_TIMEOUT_SECONDS is killed; its in-flight file is then
    sealed by the next start, not by this one.

    Defaults come from `pipeline.ingestion` (bind, workers), layered with the environment
    (ingestion.settings), and DEFAULT_THREADS. With `config_path` (the file `config` was loaded
    from) the workers follow that file's app list.
    Worker processes are forked inside this call and leave it through SystemExit, as gunicorn
    intends: callers must not catch SystemExit around it.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    config = layered_config(config)
    settings = config.pipeline.ingestion
    if settings.access_log:
        access_log.send_to_stream(sys.stdout)
    master_pid = os.getpid()
    options = gunicorn_options(config, bind=bind, workers=workers, threads=threads)
    with _multiprocess_metrics(settings.metrics, master_pid):
        try:
            IngestionServer(config, options, config_path).run()
        except SystemExit as stop:
            if os.getpid() != master_pid or stop.code not in (0, None):
                raise


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bind",
        metavar="HOST:PORT",
        help="address to listen on, e.g. 0.0.0.0:8088 for all interfaces "
        "(default: pipeline.ingestion.bind in the configuration, 127.0.0.1:8088 unless set)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes, each with its own spool segments; about one per CPU core "
        "(default: pipeline.ingestion.workers in the configuration, 2 unless set)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help=f"request threads per worker; 1 runs gunicorn's sync worker (default: {DEFAULT_THREADS})",
    )


def main(args: argparse.Namespace, config: ProjectConfig) -> int:
    """`clickstream serve`: run the ingestion server until it is stopped."""
    extra: dict[str, Any] = {}
    if hasattr(args, "config"):
        # The file the command line loaded `config` from (clickstream_tools.cli._load).
        extra["config_path"] = args.config or default_config_path()
    run_server(config, bind=args.bind, workers=args.workers, threads=getattr(args, "threads", None), **extra)
    return 0


def _seal_worker_spool(server: Any, worker: Any) -> None:
    # The master calls this hook too, for workers it has lost; only a worker holds an app.
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        close_app(app)
        logger.info("worker %s sealed its raw files", worker.pid)


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    # Gauges of a dead worker must not count as live ones ("livemostrecent"); its counters stay.
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)


@contextmanager
def _multiprocess_metrics(enabled: bool, master_pid: int) -> Iterator[None]:
    """PROMETHEUS_MULTIPROC_DIR for the workers about to fork: the one the environment names,
    emptied (files of an earlier run would be added to this one's), else a fresh one, removed
    when the master is done."""
    if not enabled:
        yield
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        yield
        return
    _remove_orphaned_metrics_dirs()
    directory = tempfile.mkdtemp(prefix=f"{_METRICS_DIR_PREFIX}{master_pid}-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        # Workers leave run_server through SystemExit too; only the master cleans up.
        if os.getpid() == master_pid:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(directory, ignore_errors=True)


def _remove_orphaned_metrics_dirs() -> None:
    # A master that was killed (SIGKILL, OOM) could not remove its directory; the pid in the
    # name tells whether its owner is still running.
    for path in Path(tempfile.gettempdir()).glob(f"{_METRICS_DIR_PREFIX}*-*"):
        pid_text = path.name.removeprefix(_METRICS_DIR_PREFIX).partition("-")[0]
        if pid_text.isdigit() and not _process_exists(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
