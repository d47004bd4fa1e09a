"""Find the units that answer a question: several signals, fused, then re-ranked by the question's intent.

Signals (each optional, so the ablation in eval/ can switch them off):
- dense similarity from every embedder in the index (e5, USE), the question expanded with the corpus
  words for its everyday or English words;
- BM25 over jieba tokens of the unit text, same expansion;
- structure and intent: a "can I …?" question wants a rule (不得/可以), a duty question wants 必须/应/
  负责; a heading with no body (a step title) should not win on one shared word.

Each signal's scores are turned into z-scores over its own top candidates (the models' score scales
differ) and summed with weights chosen on the dev part of the gold set (docs/retrieval.md).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from indexer.bridge import build_bridge, english_terms, translate
from indexer.embed import Embedder
from indexer.parse import Unit
from indexer.store import Index
from indexer.tokenize import lexicon, to_simplified, tokens
from qa.intent import Intent, classify, expand, language_of

PROHIBITION = re.compile(r"不得|严禁|禁止|不能|不许|不准|不可|绝对不许|不宜")
PERMISSION = re.compile(r"可以|允许|方可|才可|可采用|可在")
DUTY = re.compile(r"必须|应当|应|须|需|负责|至少|要求|要")


# How a question is asked, not what it is about: left out when judging whether the policies cover it.
QUESTION_WORDS = set(
    "怎么办 为什么 什么 哪里 哪儿 哪个 哪些 怎么 怎样 如何 多少 多久 几 几个 几天 几年 这样 那样 这个 那个 行 能 能否 "
    "可以 要 需要 应该 说 一下 一点 那天 时候 有 没有 是 不 没 我们 自己 你们 他们 别人 会 就 去 来 做 搞 弄 给 让 "
    "想 请问 一般 具体 主要 必须 应当 允许".split()
)


@dataclass(frozen=True)
class Weights:
    """Chosen on the dev split (docs/retrieval.md has the ablation)."""

    dense: dict[str, float] = field(default_factory=lambda: {"e5": 1.0, "use": 1.0})
    bm25: float = 0.3  # jieba words
    bigram: float = 0.6  # Chinese character bigrams: catches 改 ~ 修改, 摸底会, partial terms
    heading: float = 0.3  # the unit's heading path: 呼叫中心主管岗位职责
    rule_boost: float = 0.3  # permission question → unit states a rule (不得/可以)
    prohibition_boost: float = 0.0  # measured: no gain once the other signals are in
    duty_boost: float = 0.2  # duty question → unit states a duty
    stub_penalty: float = 1.5
    candidates: int = 30


@dataclass
class Hit:
    unit: Unit
    score: float
    signals: dict[str, float]


@dataclass
class Retrieval:
    question: str
    intent: Intent
    hits: list[Hit]
    raw: dict[str, float]  # best raw score per signal: what the coverage check reads


SCAFFOLD = re.compile(
    r"^(请问|我想问一下|我想问|问一下|我们|我)?(能不能|可不可以|可以|能否|能|是否可以|可否)?|"
    r"(吗|嘛|呢|吧)?[？?。！!\s]*$"
)


def focus(question: str) -> str:
    """A Chinese question without its asking scaffold (我能…吗): what the dense models should match.
    Measured: it helps e5 on Chinese and hurts on English, where "Can I …" is the natural query form."""
    if language_of(question) != "zh":
        return question
    stripped = SCAFFOLD.sub("", question.strip()).strip()
    return stripped or question


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of the Chinese in a text (traditional folded to simplified)."""
    han = "".join(re.findall(r"[\u4e00-\u9fff]+", to_simplified(text)))
    return [han[i:i + 2] for i in range(len(han) - 1)]


def _z(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    values = np.array(list(scores.values()), dtype=np.float64)
    mean, std = float(values.mean()), float(values.std()) or 1.0
    return {k: (v - mean) / std for k, v in scores.items()}


class Retriever:
    def __init__(self, index: Index, embedders: dict[str, Embedder], weights: Weights | None = None) -> None:
        from rank_bm25 import BM25Okapi

        self.index = index
        self.embedders = embedders
        self.weights = weights or Weights()
        self._lexical = {
            "bm25": (BM25Okapi(index.tokens), tokens),
            "bigram": (BM25Okapi([bigrams(u.text) for u in index.units]), bigrams),
            "heading": (BM25Okapi([tokens(" ".join(u.context())) or ["_"] for u in index.units]), tokens),
        }
        self._frequency = Counter(t for unit_tokens in index.tokens for t in set(unit_tokens))
        self._bridge = build_bridge(set(self._frequency), self._frequency, len(index.units))

    def with_weights(self, **changes) -> "Retriever":
        clone = object.__new__(Retriever)
        clone.__dict__ = self.__dict__ | {"weights": replace(self.weights, **changes)}
        return clone

    def query_text(self, question: str) -> str:
        extra, covered = expand(question)
        if language_of(question) == "en":
            extra += [w for w in translate(question, self._bridge, skip=covered) if w not in extra]
        return question + (" " + " ".join(extra) if extra else "")

    def signals(self, question: str) -> dict[str, dict[str, float]]:
        """Raw scores per signal for its top candidates, by unit id."""
        w = self.weights
        text = self.query_text(question)
        out: dict[str, dict[str, float]] = {}
        dense_text = focus(question) + text[len(question):]
        for name, embedder in self.embedders.items():
            if w.dense.get(name, 0) > 0:
                out[name] = self.index.dense_search(name, embedder.embed_queries([dense_text])[0], w.candidates)
        for name, (bm25, tokenize) in self._lexical.items():
            if getattr(w, name) > 0:
                scores = bm25.get_scores(tokenize(text))
                top = np.argsort(-scores)[: w.candidates]
                out[name] = {self.index.units[i].id: float(scores[i]) for i in top if scores[i] > 0}
        return out

    def retrieve(self, question: str, k: int = 5) -> Retrieval:
        intent = classify(question)
        w = self.weights
        raw = self.signals(question)
        fused: dict[str, float] = {}
        parts: dict[str, dict[str, float]] = {}
        for name, scores in raw.items():
            weight = getattr(w, name) if name in self._lexical else w.dense.get(name, 0.0)
            z = _z(scores)
            floor = min(z.values()) if z else 0.0
            for uid in set(fused) | set(z):
                fused.setdefault(uid, 0.0)
            for uid in fused:
                value = z.get(uid, floor)
                fused[uid] += weight * value
                parts.setdefault(uid, {})[name] = round(value, 3)
        for uid in fused:
            unit = self.index.by_id[uid]
            bonus = self._intent_bonus(intent, unit)
            fused[uid] += bonus
            parts[uid]["intent"] = round(bonus, 3)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        hits = [Hit(self.index.by_id[uid], score, parts[uid]) for uid, score in ranked]
        best = {name: max(scores.values()) if scores else 0.0 for name, scores in raw.items()}
        return Retrieval(question, intent, hits, best)

    def _alternatives(self, term: str, language: str) -> set[str]:
        """Corpus words that may stand for a question term (lexicon synonyms; for English, the bridge)."""
        out: set[str] = set()
        for phrase, words in lexicon().get("synonyms", {}).items():
            if phrase.isascii() == (language == "en") and (term in english_terms(phrase) if language == "en" else phrase in term):
                out.update(words)
        if language == "en":
            out.update(w for w, _ in self._bridge.get(term, [])[:3])
        return out

    def explained(self, question: str, hits: list[Hit]) -> float:
        """Share of the question's information (idf-weighted terms) that the top units account for."""
        language = language_of(question)
        unit_tokens = {t for h in hits for t in tokens(" ".join(h.unit.context(1) + [h.unit.text]))}
        unit_pairs = {b for h in hits for b in bigrams(h.unit.text)}
        terms = english_terms(question) if language == "en" else [
            t for t in tokens(question) if not t.isdigit() and t not in QUESTION_WORDS]
        total = found = 0.0
        for term in terms:
            alternatives = self._alternatives(term, language)
            candidates = alternatives if language == "en" else {term}
            weight = max((self._idf(w) for w in candidates), default=self._idf(""))
            hit = term in unit_tokens or bool(alternatives & unit_tokens) or (
                language == "zh" and len(term) >= 2 and any(b in unit_pairs for b in bigrams(term)))
            total += weight
            found += weight * hit
        return found / total if total else 0.0

    def _idf(self, word: str) -> float:
        n = len(self.index.units)
        return math.log((n + 1) / (self._frequency.get(word, 0) + 1))

    def coverage_features(self, retrieval: Retrieval) -> list[float]:
        """What the coverage model reads: how strongly, and how completely, the top units match."""
        raw = retrieval.raw
        share = self.explained(retrieval.question, retrieval.hits[:3])
        return [raw.get("e5", 0.0), raw.get("use", 0.0), min(raw.get("bigram", 0.0), 40.0) / 40.0, share,
                retrieval.hits[0].score]

    def _intent_bonus(self, intent: Intent, unit: Unit) -> float:
        w = self.weights
        text = unit.text
        bonus = -w.stub_penalty if unit.stub else 0.0
        if intent.kind == "permission":
            if PROHIBITION.search(text) or PERMISSION.search(text):
                bonus += w.rule_boost
            if PROHIBITION.search(text):
                bonus += w.prohibition_boost
        elif intent.kind == "duty" and (DUTY.search(text) or PROHIBITION.search(text)):
            bonus += w.duty_boost
        return bonus
