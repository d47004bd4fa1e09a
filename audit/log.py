"""The audit trail: every answer and every piece of feedback, append-only.

A supervisor must be able to say months later who asked what, what the assistant said, on which
articles, with which index. Rows are only ever inserted; feedback and reviews are new rows that
refer to an answer. SQLite (WAL) by default; any SQLAlchemy URL through DATABASE_URL.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

answers = Table(
    "answers", metadata,
    Column("id", String(36), primary_key=True),
    Column("created", String(32), nullable=False, index=True),
    Column("user", String(100), nullable=False),
    Column("channel", String(20), nullable=False),  # ui, api, cli
    Column("question", Text, nullable=False),
    Column("resolved", Text, nullable=False),  # a follow-up joined to the turn before it
    Column("answer", Text, nullable=False),
    Column("verdict", String(20), nullable=False, index=True),
    Column("citations", Text, nullable=False),  # JSON: id, label, doc, score
    Column("related", Text, nullable=False),
    Column("index_version", String(64), nullable=False),
    Column("answerer", String(100), nullable=False),
    Column("settings", Text, nullable=False),  # JSON: retrieval settings
    Column("latency_ms", Float, nullable=False),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(36), ForeignKey("answers.id"), nullable=False, index=True),
    Column("created", String(32), nullable=False),
    Column("user", String(100), nullable=False),
    Column("rating", Integer, nullable=False),  # 1 thumbs up, -1 thumbs down, 0 comment only
    Column("comment", Text, nullable=False, default=""),
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class AuditLog:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        metadata.create_all(self.engine)

    def record(self, answer, *, user: str, channel: str, index_version: str, answerer: str, settings: dict) -> str:
        """Store one answer (a qa.answer.Answer) and return its id."""
        answer_id = str(uuid.uuid4())
        cite = lambda cs: json.dumps([{"id": c.id, "doc_id": c.doc_id, "label": c.label, "score": c.score} for c in cs],
                                     ensure_ascii=False)
        row = dict(id=answer_id, created=_now(), user=user, channel=channel, question=answer.question,
                   resolved=answer.resolved or answer.question, answer=answer.answer, verdict=answer.verdict,
                   citations=cite(answer.citations), related=cite(answer.related), index_version=index_version,
                   answerer=answerer, settings=json.dumps(settings, ensure_ascii=False), latency_ms=answer.latency_ms)
        with self.engine.begin() as conn:
            conn.execute(insert(answers).values(**row))
        return answer_id

    def add_feedback(self, answer_id: str, *, user: str, rating: int, comment: str = "") -> None:
        if rating not in (-1, 0, 1):
            raise ValueError("rating is 1, -1 or 0")
        with self.engine.begin() as conn:
            if conn.execute(select(answers.c.id).where(answers.c.id == answer_id)).first() is None:
                raise KeyError(f"no answer with id {answer_id}")
            conn.execute(insert(feedback).values(answer_id=answer_id, created=_now(), user=user, rating=rating,
                                                 comment=comment.strip()[:2000]))

    def answer(self, answer_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().first()
            if row is None:
                return None
            notes = conn.execute(select(feedback).where(feedback.c.answer_id == answer_id)
                                 .order_by(feedback.c.id)).mappings().all()
        out = dict(row)
        out["citations"], out["related"] = json.loads(out["citations"]), json.loads(out["related"])
        out["feedback"] = [dict(n) for n in notes]
        return out
