"""Answers on the real index: verdict, conclusion, citations, refusals."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.answer import QuestionError

ROOT = Path(__file__).resolve().parent.parent


def test_contract_question_cites_article_25(assistant):
    answer = assistant.ask("我能以公司名义和客户签合同吗？")
    assert answer.verdict == "prohibited"
    assert answer.answer.startswith("不可以")
    top = answer.citations[0]
    assert top.id == "p1:第二十五条" and top.label == "第二十五条"
    assert top.text == assistant.index.by_id["p1:第二十五条"].text
    assert "第二节业务要求" in top.heading_path


def test_english_gift_question_finds_the_chinese_article(assistant):
    answer = assistant.ask("Can I accept a gift from a client?")
    assert answer.language == "en"
    assert answer.citations[0].id == "p1:第三十条"
    assert answer.verdict == "prohibited" and answer.answer.startswith("No")


def test_condition_of_the_article_is_kept(assistant):
    answer = assistant.ask("电视台有个炒股比赛节目邀请我参加，可以去吗")
    assert answer.citations[0].id == "p1:第二十八条"
    assert answer.answer == "不可以，除非经公司允许。"


def test_permission_and_duty(assistant):
    allowed = assistant.ask("我可以给客户介绍开户和交易流程吗？")
    assert allowed.verdict == "allowed" and allowed.citations[0].id == "p1:第七条"
    duty = assistant.ask("投资咨询的合同和档案要保存几年？")
    assert duty.verdict == "required" and duty.citations[0].id == "p1:第四十一条"
    assert "10年" in duty.answer


def test_uncovered_question_cites_nothing(assistant):
    answer = assistant.ask("How many days of annual leave do I get?")
    assert answer.verdict == "not_covered"
    assert answer.citations == [] and answer.related
    assert "do not cover" in answer.answer


def test_quoted_conclusions_occur_in_the_cited_unit(assistant):
    for question in ("投资咨询的合同和档案要保存几年？", "活动时弄坏了广场的设备要怎么赔", "谁负责代表公司和客户谈判签销售合同"):
        answer = assistant.ask(question)
        quoted = answer.answer.split("：", 1)[1]
        assert quoted in answer.citations[0].text, (question, answer.answer)


@pytest.mark.parametrize("question", ["", "   ", "问" * 501])
def test_empty_or_huge_question_is_refused_clearly(assistant, question):
    with pytest.raises(QuestionError):
        assistant.ask(question)


def test_cli_json_reads_questions_from_stdin_in_order(settings, built):
    env = os.environ | {"POLICYQA_CORPUS": str(settings.corpus_dir), "POLICYQA_DATA": str(settings.data_dir)}
    out = subprocess.run(
        [sys.executable, "app.py", "ask", "--json"], cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        input="我能以公司名义和客户签合同吗？\nCan I accept a gift from a client?\n", timeout=120,
    ).stdout.splitlines()
    first, second = (json.loads(line) for line in out)
    assert first["question"] == "我能以公司名义和客户签合同吗？" and second["question"].startswith("Can I")
    for obj in (first, second):
        assert {"question", "answer", "verdict", "citations"} <= obj.keys()
        assert {"doc_id", "doc_title", "label", "heading_path", "text", "score", "quote"} <= obj["citations"][0].keys()
    assert first["citations"][0]["label"] == "第二十五条"


def test_gold_set_shape(assistant):
    from eval.runner import DEFAULT_SET, load_set

    rows = load_set(DEFAULT_SET)
    english = [r for r in rows if r["lang"] == "en"]
    assert len(rows) >= 120 and len(english) >= len(rows) / 4
    assert sum(1 for r in rows if not r["gold"]) >= 10
    assert {r["doc"] for r in rows if r["gold"]} == {"p1", "p2", "p3", "p4", "p5"}
    assert all(g in assistant.index.by_id for r in rows for g in r["gold"])


def test_cli_json_batch_keeps_line_n_for_line_n_through_bad_lines(settings, built):
    """A blank or undecodable line gets an error line of its own, so output line N answers input line N."""
    env = os.environ | {"POLICYQA_CORPUS": str(settings.corpus_dir), "POLICYQA_DATA": str(settings.data_dir)}
    data = "我能以公司名义和客户签合同吗？\n".encode() + b"\xff\xfe bad \xc3\n" + b"\n" + "Can I accept a gift?\n".encode()
    done = subprocess.run([sys.executable, "app.py", "ask", "--json"], cwd=ROOT, env=env, capture_output=True,
                          input=data, timeout=120)
    lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert done.returncode == 2 and len(lines) == 4
    assert lines[0]["verdict"] == "prohibited" and "UTF-8" in lines[1]["error"] and "error" in lines[2]
    assert lines[3]["question"] == "Can I accept a gift?" and lines[3]["citations"]
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")


def test_control_characters_and_escapes_in_a_question_change_nothing(assistant):
    plain = assistant.ask("我能以公司名义和客户签合同吗？")
    noisy = assistant.ask("\x00\x1b[31m我能以公司名义和客户签合同吗？\x07")
    assert noisy.question == plain.question and noisy.verdict == plain.verdict
    assert [c.id for c in noisy.citations] == [c.id for c in plain.citations]
