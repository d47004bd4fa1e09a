"""Follow-up questions in a chat: "那如果经过公司批准呢？" means nothing alone.

A follow-up is read together with the previous question (as that one was understood), so
retrieval finds the article the conversation is about; the follow-up's own words still decide the
answer's language and any exception it asks about (approval, an amount).
"""
from __future__ import annotations

import re

from indexer.bridge import english_terms
from indexer.tokenize import tokens
from qa.intent import language_of

LEAD_ZH = re.compile(r"^(那么|那如果|那要是|那假如|那万一|那|如果|要是|假如|万一|若是|还有|另外|其他的|那其他)")
TAIL_ZH = re.compile(r"呢[？?。！!\s]*$")
LEAD_EN = re.compile(r"^(what about|how about|and what about|and if|what if|but what if|but if|even if|and|also|then)\b", re.IGNORECASE)
APPROVAL = re.compile(r"批准|同意|允许|许可|审批|授权|审核|approv\w*|permission|permit\w*|authori[sz]\w*|consent|sign[- ]?off", re.IGNORECASE)
AMOUNT = re.compile(r"\d|[一二三四五六七八九十百千万]+[元块]|元|块钱|yuan|rmb|dollars?|\$", re.IGNORECASE)


def is_followup(question: str) -> bool:
    """Does this question lean on the previous one? Only openings and endings that say so count:
    a complete question after another one is a new question."""
    q = question.strip()
    if language_of(q) == "zh":
        return bool(LEAD_ZH.match(q)) or (bool(TAIL_ZH.search(q)) and len(q) <= 12)
    return bool(LEAD_EN.match(q)) or len(q.split()) <= 3


def standalone(question: str, previous: str) -> str:
    """The question to retrieve with: the previous question followed by the follow-up."""
    joint = "，" if language_of(previous) == "zh" else ", "
    return previous.strip().rstrip("？?。.!！ ") + joint + question.strip()


def core(question: str) -> str:
    """The follow-up without its leaning words: 那收客户的礼物呢？ → 收客户的礼物."""
    q = question.strip()
    if language_of(q) == "zh":
        return TAIL_ZH.sub("", LEAD_ZH.sub("", q)).strip("，,？? ") or q
    return LEAD_EN.sub("", q).strip(" ,?") or q


def own_topic(question: str) -> bool:
    """Does the follow-up name a subject of its own (那收客户的礼物呢？) rather than a condition on the
    previous one (那如果经过公司批准呢？ / 那会后呢？)?"""
    rest = APPROVAL.sub(" ", core(question))
    words = english_terms(rest) if language_of(rest) == "en" else [t for t in tokens(rest) if len(t) > 1]
    return len(words) >= 2 and not asks_approval(question)


def asks_approval(question: str) -> bool:
    return bool(APPROVAL.search(question))


def asks_amount(question: str) -> bool:
    return bool(AMOUNT.search(question))
