"""What kind of question is this, and in which language? Rules, no model: they must be auditable."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from indexer.bridge import stem
from indexer.tokenize import synonyms, synonyms_version, to_simplified, word_boundaries

ASK = r"(?:吗|嘛|(?<![什怎这那多])么)"  # a yes/no particle, not the 么 of 什么
PERMISSION_ZH = re.compile(
    rf"能不能|可不可以|能否|可否|是否可以|是否允许|允许|准不准|行不行|让不让|能.{{0,20}}{ASK}|可以.{{0,20}}{ASK}|"
    rf"行{ASK}|会不会违规|算不算违规|违规{ASK}|合规{ASK}|有问题{ASK}|没问题吧|好{ASK}|"
    # asking whether a described action is all right: 没关系吧, 有啥问题吗, 这样行吧, 合适吗, 不用…吧
    rf"没关系吧|没事吧|不要紧吧|有[啥什么]{{1,2}}问题{ASK}|会有.{{0,4}}问题{ASK}|这样.{{0,4}}吧[？?]?$|合适{ASK}|妥{ASK}|"
    rf"(?:应该|就)?不用.{{0,12}}吧[？?]?$|可以吧|行吧"
)
DUTY_ZH = re.compile(
    r"必须|必需|需要|需不需要|要不要|是不是要|应该|应当|得先|要求|多久|多少年|几年|几天|提前|保存|报备|手续|审批|批准吗|申请|赔|"
    r"怎么办|要做什么|要做哪些|应做|谁批准|要谁|要(签|填|交|提交|准备|办|走|执行|遵守|注意)|最早|最晚|最迟|最多|至少|预约"
)
DUTY_WEAK_ZH = re.compile(rf"要.{{0,12}}{ASK}[？?]?$")  # "…要做记录吗": a duty unless a permission word says otherwise
INFO_ZH = re.compile(r"几|谁|哪个部门|哪些|什么|怎么|如何|多少|为什么|职责|负责|权力|是指|包括|区别|原因|作用")
PERMISSION_EN = re.compile(
    r"\b(can|could|may|might)\s+(i|we|a|an|the|staff|brokers?|marketers?|sales|employees?|our|you|someone|my)\b|"
    r"\b(am|are|is)\s+(i|we|it|staff|brokers?)\s+(allowed|permitted|ok|okay|fine|acceptable)\b|"
    r"\bis it (ok|okay|fine|allowed|acceptable|permitted|legal)\b|\b(allowed|permitted|prohibited|forbidden|banned)\b|"
    # asking whether a described action is all right: "Is that ok?", "Would that be a problem?", "no big deal, right?"
    r"\b(is|would|will|was)\s+(that|this|it)\s+(be\s+)?(ok|okay|fine|alright|all right|a problem|an issue|"
    r"against the rules|a violation|a breach|legal|illegal|appropriate|acceptable|weird)\b|"
    r"\b(am|are)\s+(i|we)\s+(ok|okay|fine|good)\s+to\b|\bno big deal\b|\bor not\b|\bis that kind of\b|"
    r"\bany (problem|issue)s?\b|\b(does|would) (that|this|it) (break|violate|breach|fit)\b",
    re.I,
)
DUTY_EN = re.compile(
    r"\b(must|have to|has to|need to|needs to|required?|requirement|should|obliged|how long|how many (days|years)|"
    r"how far in advance|in advance|keep|retain|deadline|do i need|do we need|is there a need|compensat\w*|report|"
    r"how late|how soon|at most|at the latest|at least)\b",
    re.I,
)
INFO_EN = re.compile(r"\b(who|what|which|how|why|when|where|list|describe|explain)\b", re.I)
NEGATED = re.compile(r"不用|不需要|不通过|没有|没|无需|免|跳过|without|skip|not\b|n't\b|no\b", re.I)


@dataclass(frozen=True)
class Intent:
    language: str  # "zh" or "en"
    kind: str  # "permission", "duty" or "info"
    negated: bool
    decided: bool = True  # False: nothing in the text said which kind (info by default)


def language_of(text: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk * 2 >= latin else "en"


LONG_CLAUSES = 30  # a Chinese sentence longer than this is read clause by clause for its ask
ANAPHORA = re.compile(r"^(这样|这个|这种|那样|那个|这么做|如此)|\b(that|this|it|so)\b", re.I)


def sentences(text: str) -> list[str]:
    """Sentences in order (Chinese and English punctuation)."""
    parts = [p.strip() for p in re.split(r"(?<=[。！？!?])|(?<=[.;；])\s+|\n", text) if p and p.strip()]
    return parts or [text.strip()]


def ask_of(question: str) -> str:
    """The part of a question told at length that asks: its last sentence with a question in it,
    with the sentence before when the ask is short or points back ("这样行吗？", "Is that ok?")."""
    parts = sentences(question)
    if len(parts) == 1 and language_of(question) == "zh" and len(question) > LONG_CLAUSES:
        parts = [p for p in re.split(r"(?<=[，,])", question.strip()) if p.strip()]  # one long sentence: its clauses
    if len(parts) == 1:
        return question.strip()
    asking = [i for i, p in enumerate(parts) if re.search(r"[？?]|吗|呢|吧|么", p)]
    i = asking[-1] if asking else len(parts) - 1
    ask = parts[i]
    short = len(ask) < 14 if language_of(ask) == "zh" else len(ask.split()) < 8
    if i > 0 and (short or ANAPHORA.search(ask)):
        ask = parts[i - 1] + " " + ask
    return ask


def classify(question: str) -> Intent:
    """Kind from the asking sentence of a long question (a narrative's 要求 or 必须 is not the ask),
    falling back to the whole question when the ask alone says nothing."""
    ask = ask_of(question)
    if ask != question.strip():
        own = classify_text(ask)
        if own.decided:
            return own
    return classify_text(question)


def classify_text(question: str) -> Intent:
    q = to_simplified(question).strip()
    lang = language_of(q)
    if lang == "zh":
        duty, permission, info = DUTY_ZH.search(q), PERMISSION_ZH.search(q), INFO_ZH.search(q)
        duty = duty or (None if permission else DUTY_WEAK_ZH.search(q))
    else:
        duty, permission, info = DUTY_EN.search(q), PERMISSION_EN.search(q), INFO_EN.search(q)
    decided = True
    if duty and not (permission and permission.start() < duty.start() and lang == "en"):
        kind = "duty"
    elif permission:
        kind = "permission"
    elif info:
        kind = "info"
    else:
        kind = "permission" if re.search(rf"{ASK}[？?]?$", q) else "info"
        decided = kind == "permission"
    return Intent(lang, kind, bool(NEGATED.search(q)), decided)


def _stems(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z]+", text.lower())]


def english_phrases() -> list[tuple[tuple[str, ...], list[str]]]:
    """The lexicon's English phrases as word-stem sequences with their corpus words, longest first."""
    return _english_phrases(synonyms_version())


@functools.cache
def _english_phrases(_version: int) -> list[tuple[tuple[str, ...], list[str]]]:
    phrases = [(tuple(_stems(p)), words) for p, words in synonyms().items() if p.isascii() and _stems(p)]
    return sorted(phrases, key=lambda item: -len(item[0]))


def chinese_phrases() -> list[tuple[str, list[str]]]:
    return _chinese_phrases(synonyms_version())


@functools.cache
def _chinese_phrases(_version: int) -> list[tuple[str, list[str]]]:
    return [(p, words) for p, words in synonyms().items() if not p.isascii()]


def _at_word_boundaries(text: str, phrase: str, bounds: set[int]) -> bool:
    """Does the phrase occur as whole words? (编外人员 holds 外人 but not as a word.)"""
    start = text.find(phrase)
    while start != -1:
        if start in bounds and start + len(phrase) in bounds:
            return True
        start = text.find(phrase, start + 1)
    return False


def expand(question: str) -> tuple[list[str], set[str]]:
    """Corpus words for the question's everyday or English words (qa/lexicon.json, the firm's vocabulary).

    English phrases match on word stems, longest first, and a word inside a matched phrase does not
    match again on its own ("apply to" → 适用, not also "apply" → 申请). Also returns the English stems
    the lexicon accounted for, so the dictionary bridge only translates the rest.
    """
    q = to_simplified(question).lower()
    words = _stems(q)
    used = [False] * len(words)
    extra: list[str] = []
    for target, corpus_words in english_phrases():
        n = len(target)
        for start in range(len(words) - n + 1):
            if tuple(words[start:start + n]) == target and not any(used[start:start + n]):
                used[start:start + n] = [True] * n
                extra += [w for w in corpus_words if w not in extra]
    bounds = word_boundaries(q)
    for phrase, corpus_words in chinese_phrases():
        if _at_word_boundaries(q, phrase, bounds):
            extra += [w for w in corpus_words if w not in extra]
    return extra, {w for w, u in zip(words, used) if u}
