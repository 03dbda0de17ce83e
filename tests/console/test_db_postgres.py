"""The console database on PostgreSQL only, where it differs from SQLite: URLs as deployments
write them and a server whose time zone is not UTC. Everything both backends share is in
test_db.py, which runs on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine, upgrade
from clickstream_console.db.models import User


def test_a_plain_postgresql_url_uses_the_shipped_driver(postgresql_url):
    """``postgresql://`` means psycopg2 to SQLAlchemy; the console ships psycopg 3 (the
    ``postgres`` extra) and uses it for such URLs, in the migrations too."""
    plain = make_url(postgresql_url).set(drivername="postgresql").render_as_string(hide_password=False)
    upgrade(plain)
    engine = console_engine(plain)
    assert engine.driver == "psycopg"
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()


def test_the_server_checks_the_password_the_url_carries(postgresql_url):
    """The test server authenticates as a deployment's does, so the shared tests' URLs prove
    that a password needing URL quotes (and a '%') reaches the server intact through Alembic."""
    engine = console_engine(make_url(postgresql_url).set(password="wrong").render_as_string(hide_password=False))
    with pytest.raises(OperationalError, match="password authentication failed"):
        engine.connect()
    engine.dispose()


def test_timestamps_are_utc_whatever_the_server_zone(postgresql_url):
    upgrade(postgresql_url)
    login = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    new_york = make_url(postgresql_url).update_query_dict({"options": "-c TimeZone=America/New_York"})
    engine = console_engine(new_york.render_as_string(hide_password=False))
    with Session(engine) as session:
        assert session.scalar(text("show timezone")) == "America/New_York"
        session.add(User(email="ana@example.com", last_login_at=login))
        session.commit()
        assert session.scalar(text("select last_login_at::text from users")) == "2024-07-01 08:00:00-04"
    with Session(engine) as session:
        read = session.scalars(select(User.last_login_at)).one()
        assert read == login and read.tzinfo is UTC
    engine.dispose()
