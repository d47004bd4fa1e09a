"""Knowledge-base changes: every add, replace and remove of a document (issue 14 #7).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.String(32), nullable=False, index=True),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("doc_id", sa.String(40), nullable=False, index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("old_hash", sa.String(64), nullable=False),
        sa.Column("new_hash", sa.String(64), nullable=False),
        sa.Column("old_units", sa.Integer, nullable=False),
        sa.Column("new_units", sa.Integer, nullable=False),
        sa.Column("build_id", sa.String(64), nullable=False),
        sa.Column("conflicts", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kb_changes")
