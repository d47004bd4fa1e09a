"""The audit trail on SQLite and on a real PostgreSQL server: records, append-only reviews, filters,
exports (including supervisors' corrections as gold questions), statistics and concurrent writers."""
from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from audit.log import AuditLog, answers
from eval.runner import load_set

QUESTIONS = ["我能以公司名义和客户签合同吗？", "Can I accept a gift from a client?", "外场活动要提前多少天申请？",
             "公司的年假有几天？"]


@pytest.fixture(scope="module")
def real_answers(assistant):
    return [assistant.ask(q) for q in QUESTIONS]


def record(log: AuditLog, answer, user: str = "alice", channel: str = "ui") -> str:
    return log.record(answer, user=user, channel=channel, index_version="fp/build", answerer="rules",
                      settings={"top_k": 5})


def test_schema_comes_from_the_alembic_migration(audit_url):
    log = AuditLog(audit_url)
    with log.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    AuditLog(audit_url)  # opening again is a no-op upgrade


def test_answer_feedback_and_review_are_appended_never_edited(audit_url, real_answers):
    log = AuditLog(audit_url)
    answer = real_answers[0]
    answer_id = record(log, answer)
    with log.engine.connect() as conn:
        before = dict(conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().one())
    log.add_feedback(answer_id, user="alice", rating=-1, comment="should cite more")
    log.add_review(answer_id, reviewer="sam", status="incorrect", right_units=["p1:第二十五条", "p1:第二十九条"],
                   right_verdict="prohibited", note="两条都相关")
    log.add_review(answer_id, reviewer="sam", status="correct", note="on second thought")
    with log.engine.connect() as conn:
        after = dict(conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().one())
    assert after == before  # the answer itself is never edited
    stored = log.answer(answer_id)
    assert stored["question"] == answer.question and stored["verdict"] == answer.verdict
    assert [c["id"] for c in stored["citations"]] == [c.id for c in answer.citations]
    assert stored["citations"][0]["score"] == answer.citations[0].score
    assert [r["status"] for r in stored["reviews"]] == ["incorrect", "correct"]
    assert stored["feedback"][0]["comment"] == "should cite more"
    with pytest.raises(KeyError):
        log.add_review("nope", reviewer="sam", status="correct")
    with pytest.raises(ValueError):
        log.add_review(answer_id, reviewer="sam", status="wrong-ish")
    with pytest.raises(ValueError):
        log.add_review(answer_id, reviewer="sam", status="incorrect", right_verdict="prohibited")  # no units


def test_filters_exports_gold_and_stats(audit_url, real_answers, tmp_path):
    log = AuditLog(audit_url)
    contract, gift, stage, leave = real_answers
    ids = {
        "contract": record(log, contract, user="alice"),
        "gift": record(log, gift, user="bob", channel="api"),
        "stage": record(log, stage, user="bob"),
        "leave": record(log, leave, user="carol"),
    }
    log.add_feedback(ids["gift"], user="bob", rating=-1)
    log.add_feedback(ids["stage"], user="bob", rating=1)
    log.add_review(ids["contract"], reviewer="sam", status="incorrect", right_units=["p1:第二十五条"],
                   right_verdict="prohibited", note="verdict should be prohibited")
    log.add_review(ids["stage"], reviewer="sam", status="follow_up", note="ask the mall")

    def found(**filters) -> set[str]:
        return {r["id"] for r in log.search(**filters)}

    assert found(user="bob") == {ids["gift"], ids["stage"]}
    assert found(verdict="not_covered") == {ids["leave"]}
    assert found(doc="p2") == {ids["stage"]}
    assert found(feedback_filter="down") == {ids["gift"]} and found(feedback_filter="up") == {ids["stage"]}
    assert found(feedback_filter="none") == {ids["contract"], ids["leave"]}
    assert found(review="incorrect") == {ids["contract"]} and found(review="unreviewed") == {ids["gift"], ids["leave"]}
    today = datetime.now(UTC).date()
    assert found(since=today.isoformat(), until=today.isoformat()) == set(ids.values())
    assert found(since=(today + timedelta(days=1)).isoformat()) == set()

    rows = log.search()
    table = list(csv.DictReader(io.StringIO(log.to_csv(rows))))
    assert len(table) == 4 and {r["review_status"] for r in table} == {"incorrect", "follow_up", "unreviewed"}
    lines = [json.loads(line) for line in log.to_jsonl(rows).splitlines()]
    assert {line["id"] for line in lines} == set(ids.values())

    gold = tmp_path / "gold.jsonl"
    gold.write_text(log.to_jsonl(log.gold_rows()), encoding="utf-8")
    loaded = load_set(gold)  # the eval runner accepts it as a gold set
    assert len(loaded) == 1 and loaded[0]["gold"] == ["p1:第二十五条"] and loaded[0]["verdict"] == "prohibited"
    assert loaded[0]["question"] == contract.question and "sam" in loaded[0]["why"]

    stats = log.stats()
    assert stats["answers"] == 4 and stats["per_day"] == {today.isoformat(): 4}
    assert stats["flagged_share"] == pytest.approx(3 / 4)  # thumbs down, incorrect, follow-up
    assert stats["not_covered_questions"] == [leave.question]
    assert stats["most_cited"][0][1] >= 1


def test_eight_writers_lose_nothing(audit_url, real_answers):
    log = AuditLog(audit_url)
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(500):
                record(log, real_answers[i % len(real_answers)], user=f"writer{n}")
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert log.count() == 8 * 500
    assert {r["user"] for r in log.search()} == {f"writer{n}" for n in range(8)}
    assert sum(1 for r in log.search() if r["user"] == "writer3") == 500


def test_cli_audit_export_and_stats(settings, built, assistant, capsys, tmp_path):
    import app
    from service import Service

    service = Service(settings)
    first = service.ask("我能以公司名义和客户签合同吗？", user="dora", channel="cli")
    service.review(first.id, reviewer="sam", status="incorrect", right_units=["p1:第二十五条"],
                   right_verdict="prohibited", note="test")
    with pytest.raises(ValueError, match="unknown unit"):
        service.review(first.id, reviewer="sam", status="incorrect", right_units=["p1:第九十九条"],
                       right_verdict="prohibited")
    out = tmp_path / "gold.jsonl"
    assert app.main(["audit", "export", "--format", "gold", "--user", "dora", "--out", str(out)]) == 0
    assert load_set(out)[0]["question"] == "我能以公司名义和客户签合同吗？"
    assert app.main(["audit", "stats", "--json", "--user", "dora"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["answers"] >= 1 and stats["reviewed"] >= 1


def test_a_database_that_never_answers_fails_fast_with_one_line(settings, built):
    """A host that accepts the connection and then says nothing must not hang `audit stats`."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel completes the handshake) and never answers
    port = silent.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    env = os.environ | {"DATABASE_URL": f"postgresql+psycopg://u:p@127.0.0.1:{port}/db"}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "app.py", "audit", "stats"], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        silent.close()
    assert done.returncode == 2 and time.monotonic() - started < 60
    assert done.stderr.strip().startswith("error: cannot use the audit database") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_nul_in_feedback_and_review_text_is_stored_without_it(audit_url, real_answers):
    log = AuditLog(audit_url)
    answer_id = record(log, real_answers[0])
    log.add_feedback(answer_id, user="bob", rating=0, comment="依据\x00准确")
    log.add_review(answer_id, reviewer="sue", status="follow_up", note="再\x00看看")
    row = log.answer(answer_id)
    assert row["feedback"][-1]["comment"] == "依据准确" and row["reviews"][-1]["note"] == "再看看"
