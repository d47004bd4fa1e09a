"""The audit trail: every answer, every piece of feedback and every supervisor review, append-only.

A supervisor must be able to say months later who asked what, what the assistant said, on which
articles, with which index and answerer, and whether it was right. Rows are only ever inserted:
feedback and reviews are new rows that refer to an answer, never edits of it.

Storage goes through SQLAlchemy: an SQLite file by default (WAL, a busy timeout, so concurrent
writers wait instead of failing), or any database DATABASE_URL names (PostgreSQL in particular).
The schema is created and upgraded by the Alembic migrations in audit/migrations/.
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

answers = Table(
    "answers", metadata,
    Column("id", String(36), primary_key=True),
    Column("created", String(32), nullable=False, index=True),  # ISO 8601, UTC
    Column("user", String(100), nullable=False, index=True),
    Column("channel", String(20), nullable=False),  # ui, api, cli
    Column("question", Text, nullable=False),
    Column("resolved", Text, nullable=False),  # a follow-up joined to the turn before it
    Column("answer", Text, nullable=False),
    Column("verdict", String(20), nullable=False, index=True),
    Column("citations", Text, nullable=False),  # JSON: id, doc_id, label, score
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

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(36), ForeignKey("answers.id"), nullable=False, index=True),
    Column("created", String(32), nullable=False),
    Column("reviewer", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # correct, incorrect, follow_up
    Column("right_units", Text, nullable=False, default="[]"),  # JSON unit ids, for incorrect
    Column("right_verdict", String(20), nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
)

REVIEW_STATUSES = ("correct", "incorrect", "follow_up")
MIGRATIONS = Path(__file__).with_name("migrations")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


CONNECT_TIMEOUT = 5  # seconds to reach the database
STATEMENT_TIMEOUT = 30  # seconds any one statement may take


def _timeouts(url: str) -> dict:
    """No call may wait forever: a database host that accepts but never answers, or a statement
    stuck on a lock, fails after these many seconds with an error instead of hanging the app."""
    if url.startswith("postgresql"):
        return {"connect_timeout": CONNECT_TIMEOUT, "options": f"-c statement_timeout={STATEMENT_TIMEOUT * 1000}"}
    return {}  # SQLite waits for another writer's lock at most busy_timeout (_sqlite_pragmas)


class AuditLog:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True, connect_args=_timeouts(url))
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        upgrade(self.engine)

    # --- writing (append-only) -------------------------------------------------------------------
    def record(self, answer, *, user: str, channel: str, index_version: str, answerer: str, settings: dict) -> str:
        """Store one answer (a qa.answer.Answer) and return its id."""
        answer_id = str(uuid.uuid4())

        def cite(cs) -> str:
            return json.dumps([{"id": c.id, "doc_id": c.doc_id, "label": c.label, "score": c.score} for c in cs],
                              ensure_ascii=False)

        row = dict(id=answer_id, created=_now(), user=user, channel=channel, question=answer.question,
                   resolved=answer.resolved or answer.question, answer=answer.answer, verdict=answer.verdict,
                   citations=cite(answer.citations), related=cite(answer.related), index_version=index_version,
                   answerer=answerer, settings=json.dumps(settings, ensure_ascii=False), latency_ms=answer.latency_ms)
        with self.engine.begin() as conn:
            conn.execute(insert(answers).values(**row))
        return answer_id

    def _require_answer(self, conn, answer_id: str) -> None:
        if conn.execute(select(answers.c.id).where(answers.c.id == answer_id)).first() is None:
            raise KeyError(f"no answer with id {answer_id}")

    def add_feedback(self, answer_id: str, *, user: str, rating: int, comment: str = "") -> None:
        if rating not in (-1, 0, 1):
            raise ValueError("rating is 1, -1 or 0")
        with self.engine.begin() as conn:
            self._require_answer(conn, answer_id)
            conn.execute(insert(feedback).values(answer_id=answer_id, created=_now(), user=user, rating=rating,
                                                 comment=comment.replace("\x00", "").strip()[:2000]))

    def add_review(self, answer_id: str, *, reviewer: str, status: str, right_units: list[str] | None = None,
                   right_verdict: str = "", note: str = "") -> None:
        """A supervisor's judgement, as a new row: correct, incorrect (with the right units and
        verdict) or follow_up."""
        from qa.verdict import VERDICTS

        if status not in REVIEW_STATUSES:
            raise ValueError(f"status is one of {', '.join(REVIEW_STATUSES)}")
        if status == "incorrect" and (not right_verdict or right_verdict not in VERDICTS):
            raise ValueError("an incorrect answer needs the right verdict")
        if status == "incorrect" and right_verdict != "not_covered" and not right_units:
            raise ValueError("an incorrect answer needs the right units (or the verdict not_covered)")
        with self.engine.begin() as conn:
            self._require_answer(conn, answer_id)
            conn.execute(insert(reviews).values(
                answer_id=answer_id, created=_now(), reviewer=reviewer, status=status,
                right_units=json.dumps(right_units or [], ensure_ascii=False), right_verdict=right_verdict,
                note=note.replace("\x00", "").strip()[:4000]))

    # --- reading ---------------------------------------------------------------------------------
    def answer(self, answer_id: str) -> dict | None:
        """One answer with its evidence, its feedback and its reviews (oldest first)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().first()
            if row is None:
                return None
            notes = conn.execute(select(feedback).where(feedback.c.answer_id == answer_id)
                                 .order_by(feedback.c.id)).mappings().all()
            judged = conn.execute(select(reviews).where(reviews.c.answer_id == answer_id)
                                  .order_by(reviews.c.id)).mappings().all()
        out = _decode(_plain(row))
        out["feedback"] = [_plain(n) for n in notes]
        out["reviews"] = [_plain(r) | {"right_units": json.loads(r["right_units"])} for r in judged]
        return out

    def search(self, *, since: str = "", until: str = "", user: str = "", verdict: str = "", doc: str = "",
               feedback_filter: str = "", review: str = "", limit: int = 10000) -> list[dict]:
        """Answers, newest first, each with its feedback summary and latest review.

        since/until: dates (YYYY-MM-DD, inclusive); doc: a document id among the citations;
        feedback_filter: up, down, comment, none; review: unreviewed, correct, incorrect, follow_up."""
        conditions = []
        if since:
            conditions.append(answers.c.created >= since)
        if until:
            conditions.append(answers.c.created < until + "T99")  # the whole of that day
        if user:
            conditions.append(answers.c.user == user)
        if verdict:
            conditions.append(answers.c.verdict == verdict)
        query = select(answers).order_by(answers.c.created.desc()).limit(limit)
        if conditions:
            query = query.where(and_(*conditions))
        with self.engine.connect() as conn:
            rows = [_decode(_plain(r)) for r in conn.execute(query).mappings().all()]
            ids = [r["id"] for r in rows]
            notes: dict[str, list] = {}
            judged: dict[str, dict] = {}
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                for n in conn.execute(select(feedback).where(feedback.c.answer_id.in_(part))).mappings():
                    notes.setdefault(n["answer_id"], []).append(_plain(n))
                for r in conn.execute(select(reviews).where(reviews.c.answer_id.in_(part))
                                      .order_by(reviews.c.id)).mappings():
                    judged[r["answer_id"]] = _plain(r) | {"right_units": json.loads(r["right_units"])}
        out = []
        for r in rows:
            fb = notes.get(r["id"], [])
            r["thumbs"] = sum(n["rating"] for n in fb if n["rating"])
            r["comments"] = [n["comment"] for n in fb if n["comment"]]
            r["review"] = judged.get(r["id"])
            r["review_status"] = r["review"]["status"] if r["review"] else "unreviewed"
            if doc and doc not in {c["doc_id"] for c in r["citations"]}:
                continue
            if feedback_filter == "up" and not any(n["rating"] > 0 for n in fb):
                continue
            if feedback_filter == "down" and not any(n["rating"] < 0 for n in fb):
                continue
            if feedback_filter == "comment" and not r["comments"]:
                continue
            if feedback_filter == "none" and fb:
                continue
            if review and r["review_status"] != review:
                continue
            out.append(r)
        return out

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(answers)).scalar_one()

    # --- exports and statistics ------------------------------------------------------------------
    @staticmethod
    def to_jsonl(rows: list[dict]) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    @staticmethod
    def to_csv(rows: list[dict]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "created", "user", "channel", "question", "answer", "verdict", "citations",
                         "index_version", "answerer", "latency_ms", "thumbs", "comments", "review_status", "review_note"])
        for r in rows:
            writer.writerow([r["id"], r["created"], r["user"], r["channel"], r["question"], r["answer"], r["verdict"],
                             " ".join(c["id"] for c in r["citations"]), r["index_version"], r["answerer"],
                             r["latency_ms"], r.get("thumbs", 0), " | ".join(r.get("comments", [])),
                             r.get("review_status", ""), (r.get("review") or {}).get("note", "")])
        return out.getvalue()

    def gold_rows(self, rows: list[dict] | None = None) -> list[dict]:
        """Supervisors' corrections as gold questions in the eval set's format (eval/README.md)."""
        from qa.intent import language_of

        out = []
        for r in rows if rows is not None else self.search(review="incorrect"):
            review = r.get("review")
            if not review or review["status"] != "incorrect":
                continue
            units = review["right_units"]
            out.append({
                "id": f"audit-{r['id'][:8]}", "question": r["question"], "lang": language_of(r["question"]),
                "gold": units, "verdict": review["right_verdict"], "doc": units[0].split(":")[0] if units else None,
                "split": "dev", "tags": ["supervisor_correction"],
                "why": f"{review['note'] or 'corrected'} (review by {review['reviewer']}, {review['created'][:10]}; "
                       f"the assistant had answered {r['verdict']} citing {[c['id'] for c in r['citations']]})",
            })
        return out

    def stats(self, rows: list[dict] | None = None) -> dict:
        rows = rows if rows is not None else self.search()
        flagged = [r for r in rows if r["thumbs"] < 0 or r["review_status"] in ("incorrect", "follow_up")]
        cited = Counter(c["id"] for r in rows for c in r["citations"])
        return {
            "answers": len(rows),
            "per_day": dict(sorted(Counter(r["created"][:10] for r in rows).items())),
            "verdicts": dict(Counter(r["verdict"] for r in rows).most_common()),
            "flagged_share": len(flagged) / len(rows) if rows else 0.0,
            "reviewed": sum(r["review_status"] != "unreviewed" for r in rows),
            "most_cited": cited.most_common(10),
            "not_covered_questions": [r["question"] for r in rows if r["verdict"] == "not_covered"],
        }


def _plain(row) -> dict:
    """A result row as a plain dict with plain str keys (SQLAlchemy's key type trips JSON encoders)."""
    return {str(k): v for k, v in row.items()}


def _decode(row: dict) -> dict:
    row["citations"], row["related"] = json.loads(row["citations"]), json.loads(row["related"])
    row["settings"] = json.loads(row["settings"])
    return row
