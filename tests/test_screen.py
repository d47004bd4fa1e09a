"""Draft screening (issue 16) on the real corpus, the real models, a real index and a real audit file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.language import forbids
from qa.screen import LABELS, ScreenError, Screener, advice, condition, split_sentences

ROOT = Path(__file__).resolve().parent.parent
DRAFT = "王总您好！\n这只新基金稳赚不赔，年化收益至少12%，亏了算我的。\n周六下午两点在营业部三楼见。"


@pytest.fixture(scope="module")
def screener(assistant):
    return Screener(assistant)


@pytest.fixture(scope="module")
def screened(screener):
    return screener.screen(DRAFT)


def test_sentences_are_verbatim_in_order_and_cover_the_draft():
    draft = "Hi Mr. Li, thanks for coming!  Our fee is 0.3% per trade.\n时间：周六下午2点\n地点：三楼……欢迎参加！“稳赚”。"
    spans = split_sentences(draft)
    parts = [draft[a:b] for a, b in spans]
    assert parts == ["Hi Mr. Li, thanks for coming!", "Our fee is 0.3% per trade.", "时间：周六下午2点", "地点：三楼……",
                     "欢迎参加！", "“稳赚”。"]
    assert "".join(parts).replace(" ", "") == draft.replace(" ", "").replace("\n", "")
    assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:]))


def test_a_promise_of_returns_is_a_breach_citing_the_article_that_forbids_it(screened):
    greeting, promise, meeting = screened.sentences
    assert (greeting.text, promise.text, meeting.text) == tuple(DRAFT.split("\n"))
    assert greeting.label == "ok" and not greeting.citations
    assert promise.label == "breach"
    first = promise.citations[0]
    assert first.doc_id == "p1" and "承诺" in first.text and forbids(first.quote)
    assert first.quote in first.text  # the ruling clause, verbatim
    assert promise.trigger and all(word in promise.text for word in promise.trigger)
    assert first.quote.rstrip("。") in promise.advice and first.label in promise.advice  # names its source
    assert screened.worst == "breach"
    summary = screened.summary()
    assert summary["sentences"] == 3 and summary["flagged"] == sum(s.label != "ok" for s in screened.sentences)


def test_the_json_has_the_documented_shape(screened, assistant):
    data = json.loads(json.dumps(screened.to_dict(), ensure_ascii=False))
    assert set(data) == {"summary", "sentences"}
    ask_fields = set(assistant.ask("我能以公司名义和客户签合同吗？").to_dict()["citations"][0])
    for s in data["sentences"]:
        assert set(s) == {"text", "label", "trigger", "citations", "advice"} and s["label"] in LABELS
        assert all(set(c) == ask_fields for c in s["citations"])


def test_advice_for_a_conditional_rule_names_the_articles_own_condition(assistant):
    unit = next(u for u in assistant.index.units if "经公司批准后才可" in u.text)
    clause = next(c for c in unit.text.split("。") if "批准后才可" in c)
    text = advice("risk", unit, clause, "zh")
    assert condition(clause) and condition(clause) in text and condition(clause) in unit.text
    assert unit.label in advice("risk", unit, clause, "en")


def test_clean_text_passes(screener):
    screen = screener.screen("谢谢您昨天抽空来营业部。\n您要的开户材料清单我已发到您的邮箱。\n有问题随时联系我。")
    assert [s.label for s in screen.sentences] == ["ok", "ok", "ok"]


def test_a_seminar_invitation_is_a_risk_until_the_article_s_step_is_taken(screener):
    (sentence,) = screener.screen("各位好，本周六上午十点营业部举办投资者教育讲座。").sentences
    assert sentence.label == "risk"
    first = sentence.citations[0]
    assert "报备" in first.quote and first.quote.rstrip("。") in sentence.advice


def test_an_added_regulations_prohibition_is_screened(external_assistant):
    screen = Screener(external_assistant).screen("本私募基金面向所有市民公开募集，起投1000元，保本保息。")
    (sentence,) = screen.sentences
    assert sentence.label != "ok"
    assert sentence.citations[0].doc_id not in {"p1", "p2", "p3", "p4", "p5"}


def test_bad_drafts_get_clear_errors(screener):
    for draft in ("", "   \n ", "\x00\x1b[31m"):
        with pytest.raises(ScreenError, match="empty"):
            screener.screen(draft)
    with pytest.raises(ScreenError, match="too long"):
        screener.screen("稳赚不赔。" * 5000)


def _cli(settings, *args, stdin: bytes = b""):
    env = os.environ | {"POLICYQA_DATA": str(settings.data_dir), "POLICYQA_CORPUS": str(settings.corpus_dir)}
    return subprocess.run([sys.executable, str(ROOT / "app.py"), "screen", *args], input=stdin, env=env,
                          capture_output=True, timeout=300, cwd=ROOT)


def test_cli_reads_stdin_as_one_draft_and_records_it(settings, built, tmp_path):
    from audit.log import AuditLog, Filters

    done = _cli(settings, "--json", stdin=DRAFT.encode("utf-8"))
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    assert [s["text"] for s in out["sentences"]] == DRAFT.split("\n")
    row = AuditLog(settings.audit_url).answer(out["summary"]["id"])
    assert row["kind"] == "screen" and row["channel"] == "cli" and row["question"] == DRAFT
    assert [s["label"] for s in row["detail"]["sentences"]] == [s["label"] for s in out["sentences"]]
    assert AuditLog(settings.audit_url).count(Filters(kind="screen")) >= 1
    report = tmp_path / "report.md"
    draft = tmp_path / "draft.txt"
    draft.write_text(DRAFT, encoding="gbk")
    done = _cli(settings, str(draft), "--out", str(report))
    assert done.returncode == 0 and "稳赚不赔" in report.read_text(encoding="utf-8")


def test_cli_refuses_empty_and_binary_input(settings, built, tmp_path):
    done = _cli(settings, stdin=b"")
    assert done.returncode == 2 and "empty" in done.stderr.decode()
    binary = tmp_path / "x.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    done = _cli(settings, str(binary))
    assert done.returncode == 2 and "error:" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


def test_a_screen_is_reviewed_and_exported_as_a_gold_draft(settings, built, tmp_path):
    from dataclasses import replace

    from audit.log import AuditLog
    from service import Service

    service = Service(replace(settings, database_url=f"sqlite:///{tmp_path / 'audit.db'}"))
    screen = service.screen(DRAFT, user="broker1")
    with pytest.raises(ValueError, match="ok, risk, breach"):
        service.review(screen.id, reviewer="sup", status="incorrect", right_verdict="prohibited", right_units=["p1:第二十一条"])
    service.review(screen.id, reviewer="sup", status="incorrect", right_verdict="breach", right_units=["p1:第二十一条"],
                   note="the promise breaches 21")
    log = AuditLog(service.settings.audit_url)
    (gold,) = list(log.gold_rows())
    assert gold["draft"] == DRAFT and gold["verdict"] == "breach" and gold["gold"] == ["p1:第二十一条"]
    assert screen.id not in {r.answer_id for r in service.remembered()}  # a draft's review is no remembered question


def test_the_dev_drafts_are_screened_and_measured(assistant):
    """The eval's draft metrics on the open dev drafts (what the model was fitted on): a broken screen
    (no flags, flags everywhere, wrong citations) falls below these."""
    from eval.drafts import run, summarize

    m = summarize(run(("dev-drafts",), {"five": assistant}))
    assert m["drafts"] == 36 and m["gold_flagged"] >= 20
    assert m["recall"] >= 0.8 and m["clean_passed"] >= 0.7 and m["right_article"] >= 0.4
    assert m["latency_median_ms"] < 1000
