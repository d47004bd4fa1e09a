"""Draft screens in the audit trail beside answers (issue 16): what kind of row, and a screen's sentences.

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
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="answer"))
        batch.add_column(sa.Column("detail", sa.Text, nullable=False, server_default="{}"))
        batch.create_index("ix_answers_kind", ["kind"])


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_index("ix_answers_kind")
        batch.drop_column("detail")
        batch.drop_column("kind")
