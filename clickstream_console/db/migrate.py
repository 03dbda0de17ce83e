"""The console database at the newest schema: Alembic's migrations run from this package, so
they work wherever the package is installed (no alembic.ini next to the process)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, event, make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _with_driver(url: str) -> URL:
    """``url`` with the driver the console ships for PostgreSQL (the ``postgres`` extra,
    psycopg 3): a plain ``postgresql://`` would otherwise mean psycopg2, which is not installed."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def console_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path/console.db``, ``postgresql://…``); SQLite
    enforces foreign keys only when asked, per connection."""
    engine = create_engine(_with_driver(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA foreign_keys=ON"))
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's options are interpolated ConfigParser values: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
