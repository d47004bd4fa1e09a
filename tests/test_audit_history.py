"""Issue 14 #3, #4, #7: the evidence an answer rested on survives a document change; exports and
statistics are complete at any size (50,000 seeded rows); knowledge-base changes are audited and a
new document that permits what another forbids is flagged at add time."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from audit.log import AuditLog, Filters, answers, evidence, export_lines, feedback, reviews, text_hash

ROOT = Path(__file__).resolve().parent.parent
SEEDED = 50_000
VERDICTS = ("allowed", "prohibited", "required", "info", "not_covered")


def seed(log: AuditLog, n: int, start: datetime | None = None) -> None:
    """n answers, one a minute backwards from start, in one bulk insert; every 7th has a thumbs down,
    every 11th an 'incorrect' review; verdicts cycle; even rows cite p1, odd rows p2."""
    start = start or datetime(2026, 11, 30, 12, tzinfo=UTC)
    rows, notes, judged = [], [], []
    for i in range(n):
        doc = "p1" if i % 2 == 0 else "p2"
        rows.append(dict(id=f"seed-{i:06d}", created=(start - timedelta(minutes=i)).isoformat(timespec="milliseconds"),
                         user=f"user{i % 5}", channel="api", question=f"问题 {i}", resolved=f"问题 {i}", answer="答",
                         verdict=VERDICTS[i % 5], related="[]", index_version="fp/b", answerer="rules",
                         settings="{}", latency_ms=1.0,
                         citations=json.dumps([{"id": f"{doc}:第一条", "doc_id": doc, "label": "第一条", "score": 1.0,
                                                "text": "条文", "sha256": text_hash("条文")}], ensure_ascii=False)))
        if i % 7 == 0:
            notes.append(dict(answer_id=rows[-1]["id"], created=rows[-1]["created"], user="u", rating=-1, comment=""))
        if i % 11 == 0:
            judged.append(dict(answer_id=rows[-1]["id"], created=rows[-1]["created"], reviewer="sam", status="incorrect",
                               right_units='["p1:第三十条"]', right_verdict="prohibited", note=""))
    with log.engine.begin() as conn:
        conn.execute(insert(answers), rows)
        conn.execute(insert(feedback), notes)
        conn.execute(insert(reviews), judged)


@pytest.fixture(scope="module")
def big_sqlite(tmp_path_factory) -> AuditLog:
    log = AuditLog(f"sqlite:///{tmp_path_factory.mktemp('big') / 'audit.sqlite'}")
    seed(log, SEEDED)
    return log


def test_counts_stats_and_exports_cover_all_50000_rows(big_sqlite):
    log = big_sqlite
    assert log.count() == SEEDED
    stats = log.stats()
    assert stats["answers"] == SEEDED and sum(stats["per_day"].values()) == SEEDED
    assert stats["verdicts"] == {v: SEEDED // 5 for v in VERDICTS}
    assert stats["not_covered"] == SEEDED // 5 and len(stats["not_covered_questions"]) <= 200
    assert stats["reviewed"] == len(range(0, SEEDED, 11))
    flagged = {i for i in range(SEEDED) if i % 7 == 0 or i % 11 == 0}
    assert stats["flagged_share"] == pytest.approx(len(flagged) / SEEDED)
    assert dict(stats["most_cited"]) == {"p1:第一条": SEEDED // 2, "p2:第一条": SEEDED // 2}
    lines = list(export_lines(log, "jsonl", Filters()))
    assert len(lines) == SEEDED and len({json.loads(x)["id"] for x in lines}) == SEEDED  # none twice, none lost
    assert sum(1 for _ in export_lines(log, "csv", Filters())) == SEEDED + 1  # and the header


def test_filters_run_in_sql_before_any_limit(big_sqlite):
    """The oldest rows (far beyond the newest 10,000) are found, and every count agrees with a recount."""
    log = big_sqlite
    oldest = (datetime(2026, 11, 30, 12, tzinfo=UTC) - timedelta(minutes=SEEDED - 1)).date().isoformat()
    expected_day = sum(1 for i in range(SEEDED) if (datetime(2026, 11, 30, 12, tzinfo=UTC)
                                                    - timedelta(minutes=i)).date().isoformat() == oldest)
    cases = {
        Filters(until=oldest): expected_day,
        Filters(verdict="info", doc="p1"): sum(1 for i in range(SEEDED) if i % 5 == 3 and i % 2 == 0),
        Filters(feedback="down"): len(range(0, SEEDED, 7)),
        Filters(feedback="none"): sum(1 for i in range(SEEDED) if i % 7),
        Filters(review="incorrect", user="user0"): sum(1 for i in range(0, SEEDED, 11) if i % 5 == 0),
        Filters(review="unreviewed"): sum(1 for i in range(SEEDED) if i % 11),
    }
    for filters, expected in cases.items():
        assert log.count(filters) == expected, filters
        assert log.stats(filters)["answers"] == expected, filters
        assert sum(1 for _ in log.iter_rows(filters, page=4000)) == expected, filters
    assert len(log.search(verdict="info", limit=10)) == 10
    assert log.search(until=oldest)[-1]["id"] == f"seed-{SEEDED - 1:06d}"


def test_the_big_export_is_complete_on_postgresql(postgres_url):
    from conftest import fresh_postgres_database

    log = AuditLog(fresh_postgres_database(postgres_url))
    seed(log, SEEDED)
    assert log.count() == SEEDED and log.stats()["answers"] == SEEDED
    assert log.count(Filters(review="incorrect", feedback="down")) == len(range(0, SEEDED, 77))
    assert sum(1 for _ in export_lines(log, "jsonl", Filters(doc="p2"))) == SEEDED // 2


@pytest.mark.parametrize("argv,needle", [
    (["audit", "export", "--since", "yesterday"], "not a date"),
    (["audit", "stats", "--until", "2026-13-01"], "not a date"),
    (["audit", "stats", "--verdict", "maybe"], "unknown verdict"),
])
def test_bad_cli_filters_are_a_clear_error_with_exit_code_2(settings, argv, needle, capsys):
    import app

    with pytest.raises(SystemExit) as stop:
        app.main(argv)
    assert stop.value.code == 2 and needle in capsys.readouterr().err


def test_cli_export_streams_every_row_to_a_file(settings, tmp_path, monkeypatch):
    import app

    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    seed(AuditLog(url), 12_000)
    monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "all.jsonl"
    assert app.main(["audit", "export", "--format", "jsonl", "--out", str(out)]) == 0
    assert sum(1 for _ in out.open(encoding="utf-8")) == 12_000
    assert app.main(["audit", "export", "--format", "csv", "--verdict", "required", "--out", str(out)]) == 0
    assert sum(1 for _ in out.open(encoding="utf-8-sig")) == 12_000 // 5 + 1


# --- #3: what the broker saw, over HTTP ----------------------------------------------------------

@pytest.fixture(scope="module")
def server(built, settings, tmp_path_factory):
    from conftest import start_app

    yield from start_app(settings, tmp_path_factory)


def _client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def test_an_old_answer_keeps_the_evidence_it_rested_on_after_the_document_changes(server, tmp_path):
    client = _client(server)
    answer = client.predict("Can I accept a gift from a client?", "", api_name="/ask")
    cited = answer["citations"][0]
    assert cited["doc_id"] == "p1"
    before = cited["text"]
    # replace p1 with a version whose cited article says something else, as an admin would
    changed = tmp_path / "p1.txt"
    original = (server["corpus"] / "p1.txt").read_text(encoding="utf-8")
    anchor = next(before[i:i + 10] for i in range(len(before)) if before[i:i + 10] in original)
    changed.write_text(original.replace(anchor, anchor + "（已修订）", 1), encoding="utf-8")
    env = {"POLICYQA_CORPUS": str(server["corpus"]), "POLICYQA_DATA": str(server["data"]), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "app.py", "add", str(changed), "--id", "p1", "--replace", "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    client.predict("年假有几天？", "", api_name="/ask")  # the server follows the rebuild
    rows = client.predict("", "", "", "", "", "", "", api_name="/audit_search")
    gift = next(r for r in rows if r["id"] == answer["id"])
    kept = next(c for c in gift["citations"] if c["id"] == cited["id"])
    assert kept["text"] == before and kept["sha256"] == text_hash(before)
    assert kept["current"] == "changed"
    exported = client.predict("jsonl", api_name="/audit_export")
    row = next(json.loads(x) for x in exported.splitlines() if json.loads(x)["id"] == answer["id"])
    assert row["citations"][0]["text"] == before  # exports carry the text as it was, too
    kb = subprocess.run([sys.executable, "app.py", "audit", "kb"], cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=60)
    assert " replace  p1 " in kb.stdout  # the replacement itself is audited


def test_the_audit_view_marks_changed_and_gone_evidence():
    from types import SimpleNamespace

    from ui.audit import AuditTab

    cite = {"id": "p1:第三十条", "score": 1.0, "text": "不得收受", "sha256": text_hash("不得收受")}
    assert evidence(cite, "不得收受") == ("不得收受", "same")
    assert "当前条文已修改" in AuditTab._evidence(cite, SimpleNamespace(text="可以收受"))
    assert "不在当前索引" in AuditTab._evidence(cite, None)
    assert "不得收受" in AuditTab._evidence(cite, None)  # what the broker saw is still shown
    old_row = {"id": "p1:第三十条", "score": 1.0}  # written before the text was kept
    assert evidence(old_row, "x") == ("x", "unknown")


def test_a_big_trail_is_complete_over_http(server):
    log = AuditLog(f"sqlite:///{server['data'] / 'audit.sqlite'}")
    before = log.count()
    seed(log, 12_000, start=datetime(2026, 10, 1, tzinfo=UTC))
    client = _client(server)
    stats = client.predict(api_name="/audit_stats")
    assert stats["answers"] == before + 12_000
    exported = client.predict("jsonl", api_name="/audit_export")
    assert len(exported.splitlines()) == before + 12_000


# --- #7: knowledge-base changes and contradictions ----------------------------------------------

def test_kb_changes_are_audited_and_a_contradiction_is_flagged_at_add(private_settings, monkeypatch, capsys, tmp_path):
    import app

    monkeypatch.setenv("POLICYQA_CORPUS", str(private_settings.corpus_dir))
    monkeypatch.setenv("POLICYQA_DATA", str(private_settings.data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    gifts = tmp_path / "gifts.txt"
    gifts.write_text("第一条 员工可以收受客户赠送的礼品和礼金。\n第二条 员工可以报销出差的交通费用。\n", encoding="utf-8")
    assert app.main(["add", str(gifts), "--id", "gifts", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "possible contradiction: gifts:第一条 permits what p1:第三十条 forbids" in out
    assert "gifts:第二条" not in out  # travel costs contradict nothing
    from indexer.store import open_store

    meta = open_store(private_settings).current_meta()
    assert [(c["new"], c["existing"]) for c in meta["conflicts"]] == [("gifts:第一条", "p1:第三十条")]
    assert app.main(["remove", "gifts", "--quiet"]) == 0
    capsys.readouterr()
    assert app.main(["audit", "kb"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "  remove  gifts  " in listed[0] and "units 2 -> 0" in listed[0]
    assert "  add  gifts  - -> " in listed[1] and "units 0 -> 2" in listed[1] and "cli:" in listed[1]
    change = AuditLog(private_settings.audit_url).kb_changes()[1]
    assert change["conflicts"][0]["existing"] == "p1:第三十条" and len(change["new_hash"]) == 12
