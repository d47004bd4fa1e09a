"""A confident wrong 可以 is the worst answer: a permission must be about the asked action, a
prohibition among the candidates wins, a conditional permission is a no until the condition is met,
and an unsure answer says so and never says 可以."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eval.runner import default_sets, load_set
from qa.answer import LOW_CONFIDENCE
from qa.intent import ask_of, classify
from qa.verdict import UNSURE_EN, UNSURE_ZH

ROOT = Path(__file__).resolve().parent.parent


def test_a_forbidding_article_beats_a_permitting_attractor(assistant):
    answer = assistant.ask("我可以跟客户说这只基金肯定赚钱吗？")  # 第十条 permits passing on materials
    assert answer.verdict == "prohibited"
    assert answer.citations[0].id == "p1:第二十一条"


def test_a_permission_only_after_a_condition_is_a_no(assistant):
    answer = assistant.ask("广场已经批了我们的活动申请表，但协议还没签、费用也没交，我们能先把活动办起来吗？")
    assert answer.verdict == "prohibited" and answer.citations[0].id == "p2:8、"


def test_the_ask_of_a_story_decides_the_kind_of_question():
    story = "小区物业同意我们周末在楼下摆摊做宣传，但要求签一份场地合作协议。店长不在，我能直接以营业部的名义签吗？"
    assert ask_of(story) == "店长不在，我能直接以营业部的名义签吗？"
    assert classify(story).kind == "permission"  # the narrative's 要求 is not the ask
    assert classify("Two clients rang me about the same stock. I told each what they wanted to hear. "
                    "Is that a problem?").kind == "permission"


def test_unsure_answers_say_so_and_never_say_yes(assistant):
    rows = [r for _, path in default_sets() for r in load_set(path)][:300]
    answers = [assistant.ask(r["question"]) for r in rows]
    unsure = [a for a in answers if a.verdict != "not_covered" and not a.confident]
    assert unsure, "no unsure answer among 300 questions: the check would prove nothing"
    for a in unsure:
        assert a.verdict != "allowed"
        assert a.answer.startswith(UNSURE_ZH if a.language == "zh" else UNSURE_EN)
        assert len(a.citations) >= 2  # the candidates are shown
    for a in answers:
        assert 0.0 <= a.confidence <= 1.0
        assert a.confident == (a.verdict == "not_covered" or a.confidence >= LOW_CONFIDENCE)


def test_cli_json_carries_the_confidence(settings, built):
    done = subprocess.run([sys.executable, "app.py", "ask", "--json", "我能以公司名义和客户签合同吗？"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-500:]
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "prohibited" and answer["confident"] is True and answer["confidence"] >= 0.6
