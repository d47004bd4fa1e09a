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
import hashlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    exists,
    func,
    insert,
    or_,
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
    Column("kind", String(10), nullable=False, server_default="answer", index=True),  # answer, screen
    Column("detail", Text, nullable=False, server_default="{}"),  # JSON: a screen's sentences and their findings
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

kb_changes = Table(
    "kb_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created", String(32), nullable=False, index=True),
    Column("user", String(100), nullable=False),
    Column("action", String(10), nullable=False),  # add, replace, remove
    Column("doc_id", String(40), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("file", Text, nullable=False),
    Column("old_hash", String(64), nullable=False),  # the document version before ("" for an add)
    Column("new_hash", String(64), nullable=False),  # and after ("" for a remove)
    Column("old_units", Integer, nullable=False),
    Column("new_units", Integer, nullable=False),
    Column("build_id", String(64), nullable=False),
    Column("conflicts", Text, nullable=False),  # JSON: contradictions flagged at add time
)

REVIEW_STATUSES = ("correct", "incorrect", "follow_up")
KINDS = ("answer", "screen")
MIGRATIONS = Path(__file__).with_name("migrations")
PAGE_SIZE = 1000  # answers read per query by exports: memory stays one page whatever the trail's size
STATS_GAPS = 200  # newest not_covered questions listed by stats (all are counted)


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
        row = dict(id=answer_id, created=_now(), user=user, channel=channel, question=answer.question,
                   resolved=answer.resolved or answer.question, answer=answer.answer, verdict=answer.verdict,
                   citations=_cited(answer.citations), related=_cited(answer.related), index_version=index_version,
                   answerer=answerer, settings=json.dumps(settings, ensure_ascii=False), latency_ms=answer.latency_ms)
        with self.engine.begin() as conn:
            conn.execute(insert(answers).values(**row))
        return answer_id

    def record_screen(self, screen, *, user: str, channel: str, index_version: str, settings: dict) -> str:
        """Store one draft screen (a qa.screen.Screen): the draft, each sentence's finding, and the
        evidence of every flag as the broker saw it. Reviewed, exported and counted like an answer."""
        screen_id = str(uuid.uuid4())
        citations = _cited({c.id: c for s in screen.sentences for c in s.citations}.values())
        sentences = [{"text": s.text, "label": s.label, "trigger": s.trigger, "advice": s.advice,
                      "probability": s.probability, "citations": [c.id for c in s.citations],
                      "quotes": [c.quote for c in s.citations]} for s in screen.sentences]
        summary = screen.summary()
        report = (f"{summary['flagged']}/{summary['sentences']} flagged ({summary['breach']} breach, {summary['risk']} risk)"
                  + "".join(f"\n[{s.label}] {s.text}" for s in screen.sentences if s.label != "ok"))
        row = dict(id=screen_id, created=_now(), user=user, channel=channel, question=screen.draft,
                   resolved=screen.draft, answer=report, verdict=screen.worst, citations=citations, related="[]",
                   index_version=index_version, answerer="screen", settings=json.dumps(settings, ensure_ascii=False),
                   latency_ms=screen.latency_ms, kind="screen",
                   detail=json.dumps({"sentences": sentences}, ensure_ascii=False))
        with self.engine.begin() as conn:
            conn.execute(insert(answers).values(**row))
        return screen_id

    def record_kb_change(self, change: dict, *, user: str) -> None:
        """Store one knowledge-base change (indexer.build.KbChange as a dict): who, when, which versions."""
        row = {k: change[k] for k in ("action", "doc_id", "title", "file", "old_hash", "new_hash", "old_units",
                                      "new_units", "build_id")}
        with self.engine.begin() as conn:
            conn.execute(insert(kb_changes).values(**row, created=_now(), user=user,
                                                   conflicts=json.dumps(change.get("conflicts", []), ensure_ascii=False)))

    def kb_changes(self, limit: int | None = None) -> list[dict]:
        """Knowledge-base changes, newest first."""
        query = select(kb_changes).order_by(kb_changes.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_plain(r) | {"conflicts": json.loads(r["conflicts"])} for r in conn.execute(query).mappings()]

    def _require_answer(self, conn, answer_id: str) -> None:
        self._kind(conn, answer_id)

    @staticmethod
    def _kind(conn, answer_id: str) -> str:
        """answer or screen (KeyError when there is no such row)."""
        kind = conn.execute(select(answers.c.kind).where(answers.c.id == answer_id)).scalar_one_or_none()
        if kind is None:
            raise KeyError(f"no answer with id {answer_id}")
        return kind

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
        from qa.screen import LABELS
        from qa.verdict import VERDICTS

        if status not in REVIEW_STATUSES:
            raise ValueError(f"status is one of {', '.join(REVIEW_STATUSES)}")
        with self.engine.begin() as conn:
            kind = self._kind(conn, answer_id)
            allowed = LABELS if kind == "screen" else VERDICTS  # a screen is corrected to ok, risk or breach
            if status == "incorrect" and (not right_verdict or right_verdict not in allowed):
                raise ValueError(f"an incorrect {kind} needs the right verdict ({', '.join(allowed)})")
            if status == "incorrect" and right_verdict not in ("not_covered", "ok") and not right_units:
                raise ValueError(f"an incorrect {kind} needs the right units (or the verdict "
                                 f"{'ok' if kind == 'screen' else 'not_covered'})")
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

    def _conditions(self, f: "Filters") -> list:
        """Every filter as an SQL condition, so counts, pages and statistics agree at any size."""
        a = answers.c
        conditions = []
        if f.since:
            conditions.append(a.created >= f.since)
        if f.until:
            conditions.append(a.created < f.until + "T99")  # the whole of that day
        if f.user:
            conditions.append(a.user == f.user)
        if f.verdict:
            conditions.append(a.verdict == f.verdict)
        if f.kind:
            conditions.append(a.kind == f.kind)
        if f.doc:  # citations are JSON written by record(): '"doc_id": "p1"'
            needle = json.dumps({"doc_id": f.doc}, ensure_ascii=False)[1:-1]
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(a.citations.like(f"%{escaped}%", escape="\\"))
        mine = feedback.c.answer_id == a.id
        if f.feedback == "up":
            conditions.append(exists().where(mine, feedback.c.rating > 0))
        elif f.feedback == "down":
            conditions.append(exists().where(mine, feedback.c.rating < 0))
        elif f.feedback == "comment":
            conditions.append(exists().where(mine, feedback.c.comment != ""))
        elif f.feedback == "none":
            conditions.append(~exists().where(mine))
        if f.review:
            conditions.append(_latest_status() == f.review if f.review != "unreviewed"
                              else ~exists().where(reviews.c.answer_id == a.id))
        return conditions

    def iter_rows(self, filters: "Filters | None" = None, *, limit: int | None = None,
                  page: int = PAGE_SIZE, offset: int = 0) -> Iterator[dict]:
        """Matching answers, newest first, each with its feedback summary and latest review.

        Read in pages by keyset (created, id), so an export of any size holds one page in memory;
        offset skips that many matches first (in SQL), for a screen's page of results."""
        conditions = self._conditions(filters or Filters())
        after: tuple[str, str] | None = None
        sent = 0
        while limit is None or sent < limit:
            size = page if limit is None else min(page, limit - sent)
            query = select(answers).where(*conditions)
            if after:
                query = query.where(or_(answers.c.created < after[0],
                                        and_(answers.c.created == after[0], answers.c.id < after[1])))
            elif offset:
                query = query.offset(offset)
            query = query.order_by(answers.c.created.desc(), answers.c.id.desc()).limit(size)
            with self.engine.connect() as conn:
                rows = [_decode(_plain(r)) for r in conn.execute(query).mappings().all()]
                self._attach(conn, rows)
            yield from rows
            sent += len(rows)
            if len(rows) < size:
                return
            after = (rows[-1]["created"], rows[-1]["id"])

    @staticmethod
    def _attach(conn, rows: list[dict]) -> None:
        """Feedback summary and latest review of one page of answers."""
        ids = [r["id"] for r in rows]
        notes: dict[str, list] = {}
        judged: dict[str, dict] = {}
        if ids:
            for n in conn.execute(select(feedback).where(feedback.c.answer_id.in_(ids))).mappings():
                notes.setdefault(n["answer_id"], []).append(_plain(n))
            for r in conn.execute(select(reviews).where(reviews.c.answer_id.in_(ids)).order_by(reviews.c.id)).mappings():
                judged[r["answer_id"]] = _plain(r) | {"right_units": json.loads(r["right_units"])}
        for r in rows:
            fb = notes.get(r["id"], [])
            r["thumbs"] = sum(n["rating"] for n in fb if n["rating"])
            r["comments"] = [n["comment"] for n in fb if n["comment"]]
            r["review"] = judged.get(r["id"])
            r["review_status"] = r["review"]["status"] if r["review"] else "unreviewed"

    def search(self, *, since: str = "", until: str = "", user: str = "", verdict: str = "", doc: str = "",
               feedback_filter: str = "", review: str = "", limit: int | None = None) -> list[dict]:
        """Answers, newest first (all of them unless limit), filtered in SQL.

        since/until: dates (YYYY-MM-DD, inclusive); doc: a document id among the citations;
        feedback_filter: up, down, comment, none; review: unreviewed, correct, incorrect, follow_up."""
        filters = Filters(since, until, user, verdict, doc, feedback_filter, review)
        return list(self.iter_rows(filters, limit=limit))

    def count(self, filters: "Filters | None" = None) -> int:
        """How many answers match, counted by the database."""
        with self.engine.connect() as conn:
            return _count(conn, *self._conditions(filters or Filters()))

    # --- exports and statistics ------------------------------------------------------------------
    @staticmethod
    def iter_jsonl(rows: Iterable[dict]) -> Iterator[str]:
        for r in rows:
            yield json.dumps(r, ensure_ascii=False) + "\n"

    @classmethod
    def to_jsonl(cls, rows: Iterable[dict]) -> str:
        return "".join(cls.iter_jsonl(rows))

    @staticmethod
    def iter_csv(rows: Iterable[dict]) -> Iterator[str]:
        """CSV one line at a time; evidence is each cited unit's text as the answerer saw it."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "created", "user", "channel", "question", "answer", "verdict", "citations",
                         "index_version", "answerer", "latency_ms", "thumbs", "comments", "review_status",
                         "review_note", "evidence"])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        for r in rows:
            writer.writerow([r["id"], r["created"], r["user"], r["channel"], r["question"], r["answer"], r["verdict"],
                             " ".join(c["id"] for c in r["citations"]), r["index_version"], r["answerer"],
                             r["latency_ms"], r.get("thumbs", 0), " | ".join(r.get("comments", [])),
                             r.get("review_status", ""), (r.get("review") or {}).get("note", ""),
                             " | ".join(f"{c['id']}: {c.get('text', '')}" for c in r["citations"])])
            yield out.getvalue()
            out.seek(0)
            out.truncate()

    @classmethod
    def to_csv(cls, rows: Iterable[dict]) -> str:
        return "".join(cls.iter_csv(rows))

    def gold_rows(self, rows: Iterable[dict] | None = None) -> Iterator[dict]:
        """Supervisors' corrections as gold questions in the eval set's format (eval/README.md)."""
        from qa.intent import language_of

        for r in rows if rows is not None else self.iter_rows(Filters(review="incorrect")):
            review = r.get("review")
            if not review or review["status"] != "incorrect":
                continue
            units = review["right_units"]
            if r.get("kind") == "screen":
                yield self._draft_gold(r, review)
                continue
            yield {
                "id": f"audit-{r['id'][:8]}", "question": r["question"], "lang": language_of(r["question"]),
                "gold": units, "verdict": review["right_verdict"], "doc": units[0].split(":")[0] if units else None,
                "split": "dev", "tags": ["supervisor_correction"],
                "why": f"{review['note'] or 'corrected'} (review by {review['reviewer']}, {review['created'][:10]}; "
                       f"the assistant had answered {r['verdict']} citing {[c['id'] for c in r['citations']]})",
            }

    @staticmethod
    def _draft_gold(r: dict, review: dict) -> dict:
        """A corrected screen as a gold draft (eval/README.md, drafts): the draft, the right worst
        label and the articles it breaches, for the draft as a whole."""
        from qa.intent import language_of

        units = review["right_units"]
        return {
            "id": f"audit-{r['id'][:8]}", "draft": r["question"], "lang": language_of(r["question"]),
            "verdict": review["right_verdict"], "gold": units, "clean": review["right_verdict"] == "ok",
            "split": "dev", "tags": ["supervisor_correction"],
            "why": f"{review['note'] or 'corrected'} (review by {review['reviewer']}, {review['created'][:10]}; "
                   f"the screen had said {r['verdict']} citing {[c['id'] for c in r['citations']]})",
        }

    def stats(self, filters: "Filters | None" = None, *, gaps: int = STATS_GAPS) -> dict:
        """Statistics over every matching answer, aggregated by the database (filters applied first)."""
        a = answers.c
        where = self._conditions(filters or Filters())
        day = func.substr(a.created, 1, 10)
        thumbs = (select(func.coalesce(func.sum(feedback.c.rating), 0)).where(feedback.c.answer_id == a.id)
                  .scalar_subquery())
        flagged = or_(thumbs < 0, _latest_status().in_(("incorrect", "follow_up")))
        with self.engine.connect() as conn:
            total = _count(conn, *where)
            per_day = conn.execute(select(day, func.count()).where(*where).group_by(day).order_by(day)).all()
            verdicts = conn.execute(select(a.verdict, func.count()).where(*where).group_by(a.verdict)
                                    .order_by(func.count().desc())).all()
            n_flagged = _count(conn, *where, flagged)
            reviewed = _count(conn, *where, exists().where(reviews.c.answer_id == a.id))
            cited = Counter()
            for (citations,) in conn.execution_options(yield_per=PAGE_SIZE).execute(select(a.citations).where(*where)):
                cited.update(c["id"] for c in json.loads(citations))
            gap_rows = conn.execute(select(a.question).where(*where, a.verdict == "not_covered")
                                    .order_by(a.created.desc()).limit(gaps)).scalars().all()
            n_gaps = _count(conn, *where, a.verdict == "not_covered")
        return {
            "answers": total,
            "per_day": {d: n for d, n in per_day},
            "verdicts": {v: n for v, n in verdicts},
            "flagged_share": n_flagged / total if total else 0.0,
            "reviewed": reviewed,
            "most_cited": cited.most_common(10),
            "not_covered": n_gaps,
            "not_covered_questions": list(gap_rows),
        }


@dataclass(frozen=True)
class Filters:
    """What a supervisor filters the trail by; empty strings mean no filter."""
    since: str = ""
    until: str = ""
    user: str = ""
    verdict: str = ""
    doc: str = ""
    feedback: str = ""
    review: str = ""
    kind: str = ""  # answer or screen


def day(value: str) -> str:
    """A since/until filter value: a real date as YYYY-MM-DD (ValueError otherwise), so a typo is
    refused rather than compared as text."""
    import re
    from datetime import date

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def export_lines(log: AuditLog, fmt: str, filters: Filters) -> Iterator[str]:
    """An export (csv, jsonl or gold) of every matching answer, one line at a time."""
    rows = log.iter_rows(filters)
    if fmt == "csv":
        return log.iter_csv(rows)
    return log.iter_jsonl(log.gold_rows(rows) if fmt == "gold" else rows)


def stream_export(log: AuditLog, fmt: str, filters: Filters, out: Path | None = None) -> Path:
    """Write an export to out (a fresh private temporary file by default) without holding it in memory."""
    import tempfile

    name = {"csv": "audit.csv", "gold": "gold-from-audit.jsonl"}.get(fmt, "audit.jsonl")
    path = out or Path(tempfile.mkdtemp(prefix="policyqa-")) / name
    with open(path, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
        for line in export_lines(log, fmt, filters):
            handle.write(line)
    return path


def _count(conn, *where) -> int:
    """How many answers meet every condition, counted by the database."""
    return conn.execute(select(func.count()).select_from(answers).where(*where)).scalar_one()


def _latest_status():
    """The status of an answer's newest review (None when unreviewed), as a correlated subquery."""
    later = reviews.alias("later")
    newest = (select(func.max(later.c.id)).where(later.c.answer_id == answers.c.id)
              .correlate(answers).scalar_subquery())
    return select(reviews.c.status).where(reviews.c.id == newest).correlate(answers).scalar_subquery()


def _cited(citations: Iterable) -> str:
    """Citations (qa.answer.Citation) as an audit row keeps them: the unit's text as shown, and its hash."""
    return json.dumps([{"id": c.id, "doc_id": c.doc_id, "label": c.label, "score": c.score,
                        "text": c.text, "sha256": text_hash(c.text)} for c in citations], ensure_ascii=False)


def text_hash(text: str) -> str:
    """The hash an audit row keeps of each cited unit's text, to tell later whether it changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence(citation: dict, current: str | None) -> tuple[str, str]:
    """What the answerer saw, and how it relates to the text indexed now: same, changed, gone, or
    unknown (a row written before the audit kept the text)."""
    if "text" not in citation:
        return (current or "", "unknown")
    if current is None:
        return (citation["text"], "gone")
    return (citation["text"], "same" if text_hash(current) == citation["sha256"] else "changed")


def _plain(row) -> dict:
    """A result row as a plain dict with plain str keys (SQLAlchemy's key type trips JSON encoders)."""
    return {str(k): v for k, v in row.items()}


def _decode(row: dict) -> dict:
    row["citations"], row["related"] = json.loads(row["citations"]), json.loads(row["related"])
    row["settings"] = json.loads(row["settings"])
    row["detail"] = json.loads(row.get("detail") or "{}")
    return row
