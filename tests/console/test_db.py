"""The console database: the migrations build exactly the models' schema, up and down, and the
identity state reads back as the role logic expects. Each test runs on SQLite (the default) and on
a real PostgreSQL server (production), through the ``console_url`` fixture
(tests/console/postgres_fixture.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from clickstream_console.db.migrate import console_engine, downgrade, upgrade
from clickstream_console.db.models import AuditEntry, Base, RoleMappingSettings, SavedReport, User, UserRole
from clickstream_console.identity.passwords import hash_password, needs_rehash, password_problem, verify_password
from clickstream_console.identity.role_mapping import DEFAULT_ROLE_JSON_PATH, effective_roles
from clickstream_console.identity.roles import Role
from clickstream_console.identity.store import role_mapping, stored_roles

TABLES = {"alembic_version", "audit_log", "event_definitions", "role_mapping", "saved_analyses", "saved_reports", "user_roles", "users"}


@pytest.fixture
def url(console_url):
    upgrade(console_url)
    return console_url


def test_the_migrations_build_the_models_schema(url):
    engine = console_engine(url)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_removes_everything(url):
    upgrade(url)
    downgrade(url, "base")
    engine = console_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = console_engine(url)
    assert set(inspect(engine).get_table_names()) == TABLES
    engine.dispose()


def test_upgrading_a_database_at_0002_adds_saved_reports_and_keeps_its_users(console_url):
    upgrade(console_url, "0002")
    engine = console_engine(console_url)
    with engine.begin() as connection:
        assert "saved_reports" not in inspect(connection).get_table_names()
        connection.execute(text("insert into users (email, roles_stored, created_at) values ('ana@example.com', false, current_timestamp)"))
    upgrade(console_url)
    with Session(engine) as session:
        assert session.scalars(select(User.email)).all() == ["ana@example.com"]
        session.add(
            SavedReport(app_id="shop", name="Daily", sql="select 1 as n", chart_kind="kpi", y_columns=["n"], created_by="a", updated_by="a")
        )
        session.commit()
        session.add(
            SavedReport(app_id="shop", name="Daily", sql="select 2", chart_kind="kpi", y_columns=[], created_by="a", updated_by="a")
        )
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        # The name is unique per app, not across apps.
        session.add(
            SavedReport(app_id="blog", name="Daily", sql="select 2", chart_kind="kpi", y_columns=[], created_by="a", updated_by="a")
        )
        session.commit()
        assert session.scalars(select(SavedReport.y_columns).where(SavedReport.app_id == "shop")).one() == ["n"]
    engine.dispose()
    downgrade(console_url, "0002")
    engine = console_engine(console_url)
    assert "saved_reports" not in inspect(engine).get_table_names()
    engine.dispose()


def test_emails_are_unique_and_roles_go_with_their_user(url):
    engine = console_engine(url)
    with Session(engine) as session:
        user = User(email="ana@example.com", roles_stored=True, roles=[UserRole(role=Role.ANALYST)])
        ben = User(email="ben@example.com", roles_stored=True, roles=[UserRole(role=Role.OPERATOR)])
        session.add_all([user, ben])
        session.commit()
        session.add(User(email="ana@example.com"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.delete(session.get(User, user.id))
        session.commit()
        assert session.scalars(select(UserRole.user_id)).all() == [ben.id]
        # The database's ON DELETE CASCADE, for deletes that bypass the ORM.
        session.execute(delete(User).where(User.id == ben.id))
        session.commit()
        assert session.scalars(select(UserRole)).all() == []
        # The foreign key holds even without the ORM's cascade.
        session.add(UserRole(user_id=12345, role=Role.OPERATOR))
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()


def test_identity_state_reads_back_for_the_role_logic(url):
    engine = console_engine(url)
    with Session(engine) as session:
        assert role_mapping(session).json_path == DEFAULT_ROLE_JSON_PATH
        session.add(RoleMappingSettings(json_path="$.payload.realm_access.roles", role_groups={"Operator": "ops, admins"}))
        mapped_only = User(email="m@example.com")
        taken_away = User(email="t@example.com", roles_stored=True)
        operator = User(email="o@example.com", roles_stored=True, roles=[UserRole(role=Role.OPERATOR)])
        session.add_all([mapped_only, taken_away, operator])
        session.commit()

        mapping = role_mapping(session)
        mapped = mapping.roles_for({"realm_access": {"roles": ["admins"]}})
        assert mapped == {Role.OPERATOR}
        assert effective_roles(stored_roles(mapped_only), mapped) == {Role.OPERATOR}
        assert effective_roles(stored_roles(taken_away), mapped) == frozenset()
        assert stored_roles(operator) == {Role.OPERATOR}
    engine.dispose()


def test_json_columns_round_trip(url):
    detail = {
        "old": {"roles": ["Operator"], "stored": False},
        "new": {"roles": [], "stored": True},
        "by": "Zoë ✓",
        "n": 3,
        "ratio": 0.5,
        "none": None,
    }
    engine = console_engine(url)
    with Session(engine) as session:
        session.add(AuditEntry(actor="admin@example.com", action="user.roles", target="ana@example.com", detail=detail))
        session.add(RoleMappingSettings(json_path="$.payload.groups", role_groups={"Administrator": "Admins, Ops-Ü", "Analyst": ""}))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(select(AuditEntry.detail)).one() == detail
        assert session.scalars(select(RoleMappingSettings.role_groups)).one() == {"Administrator": "Admins, Ops-Ü", "Analyst": ""}
    engine.dispose()


def test_none_is_sql_null_in_the_json_columns(url):
    """A missing detail or token is SQL NULL, which ``IS NULL`` finds, not SQLAlchemy's default
    JSON text ``null``."""
    engine = console_engine(url)
    with Session(engine) as session:
        session.add(AuditEntry(actor="admin@example.com", action="user.add", target="ana@example.com", detail=None))
        session.add(User(email="ana@example.com", last_claims=None))
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from audit_log where detail is null")).scalar() == 1
        assert connection.execute(text("select count(*) from users where last_claims is null")).scalar() == 1
    engine.dispose()


def test_timestamps_read_back_as_aware_utc(url):
    """PostgreSQL returns timestamptz in the session's zone and SQLite keeps no offset at all:
    both read back as UTC, so timestamps compare with ``datetime.now(UTC)`` on either."""
    berlin = datetime(2024, 3, 31, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    engine = console_engine(url)
    with Session(engine) as session:
        session.add(User(email="ana@example.com", last_login_at=berlin))
        session.commit()
    with Session(engine) as session:
        user = session.scalars(select(User)).one()
        assert user.last_login_at == berlin and user.last_login_at.tzinfo is UTC
        assert user.created_at.tzinfo is UTC and user.created_at <= datetime.now(UTC)
        # A naive value would be read in PostgreSQL's server zone: refused on every backend.
        session.add(User(email="ben@example.com", last_login_at=datetime(2024, 3, 31, 3, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()
    engine.dispose()


def test_local_passwords():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapler")
    assert not verify_password("not a hash", "anything at all")
    assert not verify_password(None, "anything at all")
    assert not verify_password(stored, "x" * 10_000)
    assert password_problem("short") == "the password must have at least 12 characters"
    with pytest.raises(ValueError, match="at most 1024 characters"):
        hash_password("x" * 1025)
