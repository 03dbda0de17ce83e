"""Setting up the console of a project: its database at the newest schema and, for the embedded
default (no identity provider), the first administrator."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine, upgrade
from clickstream_console.identity.accounts import create_first_administrator
from clickstream_project.config import ProjectConfig


def prepare_database(config: ProjectConfig) -> str:
    url = config.console_database_url
    if url.startswith("sqlite:///"):
        config.console_root.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    return url


def generated_password() -> str:
    # ~96 bits, readable aloud; well above the 12-character minimum.
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def add_first_administrator(config: ProjectConfig, email: str, password: str) -> str:
    """Create the Administrator; returns the stored (normalised) email. Raises AccountError."""
    engine = console_engine(prepare_database(config))
    try:
        with Session(engine) as session:
            user = create_first_administrator(session, email, password)
            session.commit()
            return user.email
    finally:
        engine.dispose()
