"""What one console process holds: the project file, the database, the sign-in limiter. Views
reach it through ``console_state()`` and the request's database session through ``db()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker

from clickstream_console.auth.limiter import LoginLimiter
from clickstream_console.project_source import ProjectSource
from clickstream_project.config import ProjectConfig
from clickstream_project.console_settings import ConsoleSettings

EXTENSION = "clickstream_console"


@dataclass
class ConsoleState:
    project: ProjectSource
    # The console's own settings as it started: where it listens, its database and cookies
    # cannot change under a running process (the other sections of the file can).
    settings: ConsoleSettings
    sessions: sessionmaker[Session]
    limiter: LoginLimiter
    # Clients of outside services (the OpenID provider, Dagster) created by the areas that use them.
    services: dict[str, Any] = field(default_factory=dict)


def console_state() -> ConsoleState:
    return current_app.extensions[EXTENSION]


def project() -> ProjectConfig:
    """The project configuration as the file holds it now."""
    return console_state().project.current()


def db() -> Session:
    """This request's database session; closed (and rolled back unless committed) at its end."""
    if "db" not in g:
        g.db = console_state().sessions()
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
