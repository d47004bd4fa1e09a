"""Do the policies address this question at all? If not, the answer is `not_covered` and cites nothing.

Two checks: a question that asks for a number needs a top unit that states one; and a small
logistic model, fitted on the dev split of the gold set (`python -m eval.fit_coverage`; refit
whenever retrieval changes, since it reads the fused score), over
- retrieval features: how well the best units match and how much of the question they explain;
- the question memory: how close the question is to labelled questions the policies do cover and
  to ones they do not (leave-one-out: a question is never compared with itself). Out-of-scope
  questions come in kinds (leave, pay, IT, account procedures); a new one of a known kind is
  recognised even when some article shares its words.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.bridge import english_terms
from indexer.tokenize import tokens
from qa.intent import chinese_phrases, english_phrases, language_of
from qa.retrieve import Hit, Retrieval, Retriever, bigrams

# How a question is asked, not what it is about: left out when judging what the top units explain.
QUESTION_WORDS = set(
    "怎么办 为什么 什么 哪里 哪儿 哪个 哪些 怎么 怎样 如何 多少 多久 几 几个 几天 几年 这样 那样 这个 那个 行 能 能否 "
    "可以 要 需要 应该 说 一下 一点 那天 时候 有 没有 是 不 没 我们 自己 你们 他们 别人 会 就 去 来 做 搞 弄 给 让 "
    "想 请问 一般 具体 主要 必须 应当 允许".split()
)


# The question asks for a quantity, so only a unit that states one can answer it.
ASKS_NUMBER = re.compile(r"多少|几[个天年次倍级人项点岁]|比例|标准是|多长时间|how many|how much|what percentage|what ratio", re.I)
STATES_NUMBER = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:个|天|年|次|倍|人|分钟|小时|级|项|%)|百分")


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


MEMORY_EMBEDDERS = ("e5", "use")


class QuestionMemory:
    """Labelled questions (covered or not) embedded with the query models, for nearest-neighbour
    features. Built from the dev split of a gold set; held-out questions are never included."""

    K = 5

    def __init__(self, questions: list[str], covered: list[bool], vectors: dict[str, np.ndarray]) -> None:
        self.questions = questions
        self.covered = np.array(covered, dtype=bool)
        self.vectors = {n: v / np.linalg.norm(v, axis=1, keepdims=True) for n, v in vectors.items()}

    @classmethod
    def load(cls, path: Path, embedders: dict, cache) -> "QuestionMemory":
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [r for r in rows if r.get("split", "dev") != "heldout"]
        questions = [r["question"] for r in rows]
        vectors = {n: cache.queries(embedders[n], questions) for n in MEMORY_EMBEDDERS if n in embedders}
        return cls(questions, [bool(r["gold"]) for r in rows], vectors)

    def features(self, question: str, retriever: Retriever) -> list[float]:
        """Per model: mean similarity to the K nearest uncovered and the K nearest covered questions."""
        out: list[float] = []
        same = np.array([q == question for q in self.questions], dtype=bool)
        for name in MEMORY_EMBEDDERS:
            if name not in self.vectors:
                out += [0.0, 0.0]
                continue
            v = np.asarray(retriever.embedders[name].embed_queries([question])[0], dtype=np.float32)
            sims = self.vectors[name] @ (v / np.linalg.norm(v))
            sims[same] = -1.0
            for label in (False, True):
                pool = np.sort(sims[(self.covered == label) & ~same])
                out.append(float(pool[-self.K:].mean()) if len(pool) else 0.0)
        return out


def features(retriever: Retriever, retrieval: Retrieval, memory: QuestionMemory | None = None) -> list[float]:
    """Best e5 and USE similarity, best character-bigram BM25 (capped), the share of the question
    the top three units explain, the top unit's fused score; then the question-memory features."""
    raw = retrieval.raw
    share = explained(retriever, retrieval.question, retrieval.hits[:3])
    base = [raw.get("e5", 0.0), raw.get("use", 0.0), min(raw.get("bigram", 0.0), 40.0) / 40.0, share,
            retrieval.hits[0].score]
    return base + (memory.features(retrieval.question, retriever) if memory else [0.0] * 2 * len(MEMORY_EMBEDDERS))


@dataclass(frozen=True)
class Coverage:
    """The fitted model (values printed by eval/fit_coverage.py) and the decision threshold."""

    mean: tuple[float, ...] = (0.8951, 0.4197, 0.4681, 0.5843, 9.1359, 0.869, 0.8969, 0.4432, 0.5612)
    scale: tuple[float, ...] = (0.0189, 0.116, 0.2637, 0.2913, 4.3133, 0.0255, 0.0276, 0.078, 0.0942)
    weights: tuple[float, ...] = (0.596, 0.222, 0.235, 0.407, 0.937, -0.853, 0.902, -1.064, 0.859)
    bias: float = 2.118
    threshold: float = 0.5  # chosen on dev: most out-of-scope refused with at most 5% false refusals

    def probability(self, values: list[float]) -> float:
        z = self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, values, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-z))

    def covered(self, retriever: Retriever, retrieval: Retrieval, memory: QuestionMemory | None = None) -> bool:
        if not retrieval.hits:
            return False
        if not answers_quantity(retrieval.question, retrieval.intent.kind, retrieval.hits[0].unit.text):
            return False
        return self.probability(features(retriever, retrieval, memory)) >= self.threshold
