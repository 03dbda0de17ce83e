"""A throwaway PostgreSQL server for the console's database tests, from the machine's own
binaries (Debian's ``postgresql`` package; ``./dev.sh setup`` installs it): one server for the
run, a fresh database for each test, stopped and removed at the end.

The server is what production looks like from the console's side: TCP on 127.0.0.1 with a
password (scram-sha-256), so the URLs the tests use carry credentials the way a deployment's do.
Durability is off (``fsync``, ``synchronous_commit``, ``full_page_writes``): nothing here has to
survive a crash, so the server need not wait for the disk.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from tests.conftest import free_port

SUPERUSER = "postgres"
# URL-reserved characters and a '%': the URL must quote them, and Alembic's config (which
# interpolates '%') must cope with the quoted form, as a real deployment's password would need.
PASSWORD = "p@ss%w/rd:#1"
# initdb refuses to run as root; Debian's package creates this account for its own clusters.
SERVER_ACCOUNT = "postgres"


def postgres_bin_dir() -> Path | None:
    """The directory of ``initdb``, ``pg_ctl`` and ``postgres``: on PATH (some machine images link
    them into /usr/local/bin) or Debian's versioned directory, the newest version first."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parent.parent.name), reverse=True)
    return versions[0].parent if versions else None


class PostgresServer:
    """A cluster in ``root`` (data, log, socket), run as the server's account (see ``_run``)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.log_file = root / "server.log"
        # Not the default /var/run/postgresql: that belongs to the machine's own clusters.
        self.socket_dir = root / "socket"
        self.port = 0
        self._databases = itertools.count(1)

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        """``command`` as the caller, or as SERVER_ACCOUNT when that is root."""
        if os.geteuid() == 0:
            command = ("runuser", "-u", SERVER_ACCOUNT, "--", *command)
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)

    def _own(self, path: Path) -> None:
        """``path`` for the server's account to write (initdb and the server run as it)."""
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_ACCOUNT)
            os.chown(path, account.pw_uid, account.pw_gid)

    def init(self) -> None:
        self._own(self.root)
        self.socket_dir.mkdir()
        self._own(self.socket_dir)
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        self._own(password_file)
        result = self._run(
            str(self.bin_dir / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C",
            # No fsync of the new cluster's files: half of initdb's time (0.6 of 1.2 s here).
            "--no-sync",
        )
        password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        """``pg_ctl start`` on a free port; it waits until the server accepts connections. The
        port is free when chosen but may be taken before the server binds it: then another."""
        for _ in range(3):
            self.port = free_port()
            options = [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                # pg_ctl hands these to a shell.
                f"-c unix_socket_directories={shlex.quote(str(self.socket_dir))}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
            result = self._run(
                str(self.bin_dir / "pg_ctl"),
                "start",
                "--wait",
                f"--pgdata={self.data_dir}",
                f"--log={self.log_file}",
                "-o",
                " ".join(options),
            )
            if result.returncode == 0:
                return
            log = self.log_file.read_text() if self.log_file.exists() else ""
            if not re.search(r"could not bind|Address already in use", log):
                break
        raise RuntimeError(f"pg_ctl start failed ({result.returncode}):\n{result.stdout}{result.stderr}\nserver log:\n{log}")

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        result = self._run(str(self.bin_dir / "pg_ctl"), "stop", "--wait", "--mode=fast", f"--pgdata={self.data_dir}")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=PASSWORD, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"console_{next(self._databases)}"
        with self.admin() as connection:
            connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open (an engine not disposed): the next test's
        # database is a new one either way, and the server goes at the end of the run.
        with self.admin() as connection:
            connection.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        # Failing, not skipping: CI must run the console database on PostgreSQL.
        pytest.fail(
            "PostgreSQL's server binaries (initdb, pg_ctl) are neither on PATH nor in /usr/lib/postgresql/*/bin;"
            " ./dev.sh setup installs them (Debian: apt-get install postgresql)",
            pytrace=False,
        )
    # Not pytest's tmp_path: its directories are private to the user running pytest, which the
    # server's account (when that is root) could not enter.
    server = PostgresServer(bin_dir=bin_dir, root=Path(tempfile.mkdtemp(prefix="clickstream-postgres-")))
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the run's server (``postgresql+psycopg://``)."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def console_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty console database on each backend the console supports: the same test runs on
    SQLite (the default) and PostgreSQL (production). The server starts only when a PostgreSQL
    case runs (``-k sqlite`` never starts it)."""
    if request.param == "sqlite":
        # A '%' in the path: Alembic's config interpolates values, so it must survive that.
        return f"sqlite:///{tmp_path}/con%sole.db"
    return request.getfixturevalue("postgresql_url")
