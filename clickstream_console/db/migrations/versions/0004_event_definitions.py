"""The event catalogue's display names and descriptions (Data Management).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=128), nullable=False),
        sa.Column("event_name", sa.String(length=500), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_definitions")),
        sa.UniqueConstraint("app_id", "event_name", name=op.f("uq_event_definitions_app_id")),
    )
    with op.batch_alter_table("event_definitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_definitions_app_id"), ["app_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_definitions_app_id"))

    op.drop_table("event_definitions")
