"""Alembic's environment for the console database (see ../migrate.py)."""

from alembic import context

from clickstream_console.db.migrate import console_engine
from clickstream_console.db.models import Base

engine = console_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    # Batch mode: SQLite alters a table by copying it, which later migrations will need.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
