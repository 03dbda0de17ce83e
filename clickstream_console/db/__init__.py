"""The console's own state in a SQL database: users and the roles an administrator stored for
them, the role-mapping settings, and the audit log. SQLite file by default, PostgreSQL in
production; the schema is Alembic's migrations (``migrations/``), run by :func:`upgrade`."""
