"""Building a console on a temporary project, and signing people in through its real forms."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from clickstream_console.app import create_app
from clickstream_console.catalogue.store import Documentation, save_documentation
from clickstream_console.db.models import User, UserRole
from clickstream_console.identity.passwords import hash_password
from clickstream_console.identity.roles import Role
from clickstream_console.state import console_state
from tests.conftest import free_port

PASSWORD = "correct horse battery staple"
# Hashing once: argon2 costs ~50 ms per hash, and tests create many users.
PASSWORD_HASH = hash_password(PASSWORD)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def write_project(directory: Path, **overrides) -> Path:
    data = {
        "project_id": "console_test",
        "data_dir": "var",
        "apps": [
            {"app_id": "shop_web", "name": "Shop Web", "platforms": ["Web"]},
            {"app_id": "shop_android", "name": "Shop Android", "platforms": ["Android"], "package_name": "com.example.shop"},
        ],
        # No Dagster in these tests: pages that read it must say it is unreachable, fast.
        "console": {"dagster_url": f"http://127.0.0.1:{free_port()}"},
    }
    data.update(overrides)
    path = directory / "clickstream.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def console_app(project_file: Path) -> Flask:
    app = create_app(project_file, secret_key="test-secret-key-" + "x" * 32)
    app.testing = True
    return app


def add_user(app: Flask, email: str, roles: Iterable[Role] | None, *, password: bool = True, claims: dict | None = None) -> int:
    """A user with stored roles (None: no stored roles, the mapping of ``claims`` applies)."""
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        user = User(
            email=email,
            password_hash=PASSWORD_HASH if password else None,
            roles_stored=roles is not None,
            roles=[UserRole(role=role) for role in roles or ()],
            last_claims=claims,
        )
        session.add(user)
        session.commit()
        return user.id


def name_events(app: Flask, app_id: str, display_names: dict[str, str]) -> None:
    """Display names for events, as an Analyst saves them in Data Management."""
    with Session(console_state_of(app).sessions.kw["bind"]) as session:
        for event_name, display_name in display_names.items():
            save_documentation(session, app_id, event_name, Documentation(display_name, None), actor="test@example.com")
        session.commit()


def console_state_of(app: Flask):
    with app.app_context():
        return console_state()


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_path: str | None = None):
    data = {"email": email, "password": password, "csrf_token": csrf_of(client)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data)
