"""The audit trail: answers, feedback and supervisor reviews (append-only).

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created", sa.String(32), nullable=False, index=True),
        sa.Column("user", sa.String(100), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("resolved", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False, index=True),
        sa.Column("citations", sa.Text, nullable=False),
        sa.Column("related", sa.Text, nullable=False),
        sa.Column("index_version", sa.String(64), nullable=False),
        sa.Column("answerer", sa.String(100), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(36), sa.ForeignKey("answers.id"), nullable=False, index=True),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(36), sa.ForeignKey("answers.id"), nullable=False, index=True),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("right_units", sa.Text, nullable=False),
        sa.Column("right_verdict", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("feedback")
    op.drop_table("answers")
