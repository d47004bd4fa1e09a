"""Do the policies address this question at all? If not, the answer is `not_covered` and cites nothing.

Two checks: a question that asks for a number needs a top unit that states one; and a small
logistic model over retrieval features (how well the best units match and how much of the question
they explain), fitted by `python -m eval.fit_coverage` on the dev questions (refit whenever
retrieval changes, since it reads the fused score). The features are read off the live index and the
question alone, so the model carries to documents added later; supervisors' reviewed answers
(qa/memory.py) settle the same question asked again.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from indexer.bridge import english_terms
from indexer.tokenize import tokens
from qa.language import STATES_NUMBER
from qa.intent import ask_of, chinese_phrases, english_phrases, language_of
from qa.retrieve import Hit, Retrieval, Retriever, bigrams

# How a question is asked, not what it is about: left out when judging what the top units explain.
QUESTION_WORDS = set(
    "怎么办 为什么 什么 哪里 哪儿 哪个 哪些 怎么 怎样 如何 多少 多久 几 几个 几天 几年 这样 那样 这个 那个 行 能 能否 "
    "可以 要 需要 应该 说 一下 一点 那天 时候 有 没有 是 不 没 我们 自己 你们 他们 别人 会 就 去 来 做 搞 弄 给 让 "
    "想 请问 一般 具体 主要 必须 应当 允许".split()
)


# The question asks for a quantity, so only a unit that states one can answer it.
ASKS_NUMBER = re.compile(r"多少|几[个天年次倍级人项点岁]|比例|标准是|多长时间|how many|how much|what percentage|what ratio", re.I)


def answers_quantity(question: str, intent_kind: str, unit_text: str) -> bool:
    """False when the question wants a number the unit does not give (提成比例是多少 → 第六条).
    "Can I recruit a few helpers?" asks permission, not a number."""
    if intent_kind == "permission" or not ASKS_NUMBER.search(question):
        return True
    return bool(STATES_NUMBER.search(unit_text))


def _alternatives(retriever: Retriever, term: str, language: str) -> set[str]:
    """Corpus words that may stand for a question term (lexicon synonyms; for English, the bridge)."""
    out: set[str] = set()
    if language == "en":
        for stems, words in english_phrases():
            if term in stems:
                out.update(words)
        out.update(w for w, _ in retriever.bridge.get(term, [])[:3])
    else:
        for phrase, words in chinese_phrases():
            if phrase in term:
                out.update(words)
    return out


def explained(retriever: Retriever, question: str, hits: list[Hit]) -> float:
    """Share of the question's information (idf-weighted terms) that the top units account for."""
    n = len(retriever.index.units)

    def idf(word: str) -> float:
        return math.log((n + 1) / (retriever.frequency.get(word, 0) + 1))

    language = language_of(question)
    unit_tokens = {t for h in hits for t in tokens(" ".join(h.unit.context(1) + [h.unit.text]))}
    unit_pairs = {b for h in hits for b in bigrams(h.unit.text)}
    terms = english_terms(question) if language == "en" else [
        t for t in tokens(question) if not t.isdigit() and t not in QUESTION_WORDS]
    total = found = 0.0
    for term in terms:
        alternatives = _alternatives(retriever, term, language)
        weight = max((idf(w) for w in (alternatives if language == "en" else {term})), default=idf(""))
        hit = term in unit_tokens or bool(alternatives & unit_tokens) or (
            language == "zh" and len(term) >= 2 and any(b in unit_pairs for b in bigrams(term)))
        total += weight
        found += weight * hit
    return found / total if total else 0.0


def features(retriever: Retriever, retrieval: Retrieval) -> list[float]:
    """Best e5 and USE similarity, best character-bigram BM25 (capped), the share of the question's
    ask the top three units explain, the top unit's fused score; the question's language and length
    (and the language's interaction with similarity and share), which shift what "a good match" is."""
    raw = retrieval.raw
    share = explained(retriever, ask_of(retrieval.question), retrieval.hits[:3])  # the ask, not the story
    english = float(retrieval.intent.language == "en")  # cross-lingual similarities run lower
    length = math.log(1 + len(retrieval.question))  # a story scores differently from a short question
    return [raw.get("e5", 0.0), raw.get("use", 0.0), min(raw.get("bigram", 0.0), 40.0) / 40.0, share,
            retrieval.hits[0].score, english, length, english * raw.get("e5", 0.0), english * share]


def logistic(values: list[float], mean, scale, weights, bias: float) -> float:
    """A fitted logistic model's probability (eval/logistic.py fits them: this model and qa/screen.py's)."""
    z = bias + sum(w * (x - m) / s for w, x, m, s in zip(weights, values, mean, scale))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Coverage:
    """The fitted model (values printed by eval/fit_coverage.py) and the decision threshold."""

    mean: tuple[float, ...] = (0.8931, 0.426, 0.4613, 0.5036, 8.6733, 0.3333, 3.2971, 0.2935, 0.183)
    scale: tuple[float, ...] = (0.0203, 0.1094, 0.2585, 0.2976, 4.2527, 0.4714, 0.8569, 0.4151, 0.3052)
    weights: tuple[float, ...] = (0.553, 0.07, 0.179, 0.69, 1.133, -0.263, 1.274, -0.272, -0.337)
    bias: float = 1.789
    threshold: float = 0.4  # chosen on dev: most out-of-scope refused with at most 5% false refusals

    def probability(self, values: list[float]) -> float:
        return logistic(values, self.mean, self.scale, self.weights, self.bias)

    def assess(self, retriever: Retriever, retrieval: Retrieval) -> float:
        """The probability that the policies cover the question (0 when nothing was found, or when a
        number is asked for and the best unit states none)."""
        if not retrieval.hits:
            return 0.0
        if not answers_quantity(retrieval.question, retrieval.intent.kind, retrieval.hits[0].unit.text):
            return 0.0
        return self.probability(features(retriever, retrieval))
