"""Alembic's environment for the console database (see ../migrate.py)."""

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator

from clickstream_console.db.migrate import console_engine
from clickstream_console.db.models import Base


def render_item(kind: str, item: object, autogen_context: AutogenContext) -> str | bool:
    """Autogenerate writes the models' own column types (models.UTCDateTime) as the SQLAlchemy
    types they store as: a migration must not import the models, which change after it."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


engine = console_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    # Batch mode: SQLite alters a table by copying it, which later migrations will need.
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
