"""Analysts' saved Explore analyses: an app, a name, the analysis type and its spec.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_analyses")),
        sa.UniqueConstraint("app_id", "name", name=op.f("uq_saved_analyses_app_id")),
    )
    with op.batch_alter_table("saved_analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_analyses_app_id"), ["app_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_analyses_app_id"))

    op.drop_table("saved_analyses")
