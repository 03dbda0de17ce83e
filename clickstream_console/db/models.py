"""The console database's tables (SQLAlchemy 2 declarative). A change here comes with a new
migration in ``migrations/versions/``; tests/console/test_db.py fails while the two differ."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Dialect, ForeignKey, Integer, MetaData, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored as UTC and read back as an aware UTC datetime on every backend.
    SQLite keeps no offset: it would store 03:30 Berlin time as 03:30 and read back a naive value
    (``last_login_at < utc_now()`` then raises); PostgreSQL returns the session's time zone.
    Naive values are refused rather than guessed: PostgreSQL would read them in its server's zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: console timestamps need a time zone (datetime.now(UTC))")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints: later migrations can drop or alter them by name, which SQLite's batch
    # mode (copy the table) and PostgreSQL both need.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    """A person who signed in (OIDC) or was created by an administrator or at setup (local)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-case: the identity a person signs in with, whatever the case they type.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    # argon2 hash for a local login; None for users of an identity provider.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The provider's `sub`, once the user signed in through it.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    # True once an administrator set this user's roles (System → Users), even to none: stored
    # roles then take precedence over the mapping of the token's groups.
    roles_stored: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ID token's claims at the last sign-in through the provider: roles are mapped from them on
    # every request, so a change of the role mapping takes effect without a new sign-in.
    # none_as_null: None is SQL NULL (``IS NULL`` finds it), not SQLAlchemy's default JSON ``null``
    # text; the DDL is the same, so no migration.
    last_claims: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # Sessions signed in before this moment are void (sign-out, a removed user): the session
    # cookie is signed but stateless, so the server keeps this one date instead of every session.
    sessions_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # A clickstream_console.identity.roles.Role value ("Analyst Reader").
    role: Mapped[str] = mapped_column(String(40), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class RoleMappingSettings(Base):
    """System → Users → Settings: one row; absent until an administrator saves it (defaults apply)."""

    __tablename__ = "role_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    json_path: Mapped[str] = mapped_column(String(500))
    # Role value -> comma-separated group names, as the page edits them.
    role_groups: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(320))


class AuditEntry(Base):
    """Who changed what, when: every change made in the console, shown to administrators."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(500))
    # What changed (old and new values; secrets masked before they get here). None is SQL NULL.
    detail: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    note: Mapped[str | None] = mapped_column(Text)


class SavedReport(Base):
    """An Analyst's custom report: SQL over one app's views and the chart that draws its result
    (clickstream_console/studio/custom/). Rows of an app removed from the project stay, unlisted."""

    __tablename__ = "saved_reports"
    __table_args__ = (UniqueConstraint("app_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # DuckDB dialect over the app's views, unqualified; the query layer transpiles it per warehouse.
    sql: Mapped[str] = mapped_column(Text)
    # A clickstream_console.studio.model.ChartKind value, and the result's columns it draws.
    chart_kind: Mapped[str] = mapped_column(String(20))
    x_column: Mapped[str | None] = mapped_column(String(200))
    series_column: Mapped[str | None] = mapped_column(String(200))
    y_columns: Mapped[list[str]] = mapped_column(JSON)
    # Line and bar with a series column: the series stacked.
    stacked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class EventDefinition(Base):
    """An event's display name and description in the event catalogue (Data Management), edited by
    Analysts; what the warehouse observed about the event comes from the dbt catalogue models.
    Rows of an event no longer sent stay (it may come back)."""

    __tablename__ = "event_definitions"
    __table_args__ = (UniqueConstraint("app_id", "event_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[str] = mapped_column(String(128), index=True)
    event_name: Mapped[str] = mapped_column(String(500))
    display_name: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SavedAnalysis(Base):
    """An Explore analysis saved by an Analyst (clickstream_console/explore/): its type and its spec
    as the type parses it (a relative range stays relative). Analyst Readers open saved ones."""

    __tablename__ = "saved_analyses"
    __table_args__ = (UniqueConstraint("app_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # An explore.registry.KINDS key.
    kind: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
