"""Follow-up questions are read in the light of the previous turn (real index, real models)."""
from __future__ import annotations

import pytest

from qa.followup import is_followup, own_topic


def ask_pair(assistant, first: str, second: str):
    before = assistant.ask(first)
    return before, assistant.ask(second, previous=before.resolved)


def test_approval_followup_keeps_the_article_and_says_it_has_no_such_exception(assistant):
    before, after = ask_pair(assistant, "我能以公司名义和客户签合同吗？", "那如果经过公司批准呢？")
    assert before.citations[0].label == after.citations[0].label == "第二十五条"
    assert after.verdict == "prohibited"
    assert "没有" in after.answer and "批准" in after.answer
    assert after.resolved.startswith("我能以公司名义和客户签合同吗")


def test_approval_followup_on_a_conditional_rule_quotes_the_articles_own_condition(assistant):
    _, after = ask_pair(assistant, "我可以擅自销售未经公司批准的金融产品吗", "那如果经过公司批准呢？")
    assert after.citations[0].label == "第十七条"
    assert after.verdict == "allowed"
    cond = after.answer.split("须先经")[1].split("：")[0]
    assert cond in after.citations[0].text  # the condition is the article's own words


def test_english_amount_followup_cites_the_gift_rule_and_adds_no_threshold(assistant):
    _, after = ask_pair(assistant, "Can I accept a gift from a client?", "What about gifts under 100 yuan?")
    assert after.citations[0].label == "第三十条" and after.language == "en"
    assert after.verdict == "prohibited" and "amount" in after.answer


def test_followup_with_a_subject_of_its_own_cites_its_own_article(assistant):
    before, after = ask_pair(assistant, "我能以公司名义和客户签合同吗？", "那收客户的礼物呢？")
    assert before.citations[0].label == "第二十五条"
    assert after.citations[0].label == "第三十条"


def test_a_complete_new_question_is_not_a_followup(assistant):
    _, after = ask_pair(assistant, "我能以公司名义和客户签合同吗？", "Can I accept a gift from a client?")
    assert after.resolved == "Can I accept a gift from a client?"
    assert after.citations[0].label == "第三十条"


@pytest.mark.parametrize("question, followup, topic", [
    ("那如果经过公司批准呢？", True, False),
    ("What about gifts under 100 yuan?", True, True),
    ("那收客户的礼物呢？", True, True),
    ("营销人员可以收客户的礼物吗？", False, True),
    ("What if my manager approves it?", True, False),
])
def test_followup_detection(question, followup, topic):
    assert is_followup(question) is followup
    assert own_topic(question) is topic
