"""Analysts' custom reports: SQL over an app's views and the chart drawing its result.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("chart_kind", sa.String(length=20), nullable=False),
        sa.Column("x_column", sa.String(length=200), nullable=True),
        sa.Column("series_column", sa.String(length=200), nullable=True),
        sa.Column("y_columns", sa.JSON(), nullable=False),
        sa.Column("stacked", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reports")),
        sa.UniqueConstraint("app_id", "name", name=op.f("uq_saved_reports_app_id")),
    )
    with op.batch_alter_table("saved_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_reports_app_id"), ["app_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_reports_app_id"))

    op.drop_table("saved_reports")
