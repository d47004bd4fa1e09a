"""Find the units that answer a question: several signals, fused, then nudged by the question's intent.

The question is first expanded with the policies' own words for its everyday or English words
(qa/lexicon.json, then the CC-CEDICT bridge for English). Signals, each with a weight (0 switches it
off, which is how eval/ablation.py measures them):
- dense similarity from every embedder in the index (e5, USE);
- BM25 over jieba words, over Chinese character bigrams, and over the unit's nearest headings;
- intent and structure: a "can I …?" question prefers a unit stating a rule (不得/可以), a duty
  question one stating a duty; a step title with no body should not win on one shared word.

Each signal's scores become z-scores over its own top candidates (the models' score scales differ)
and are summed with weights chosen on the dev split of the gold set (docs/retrieval.md).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from indexer.bridge import build_bridge, translate
from indexer.embed import Embedder
from indexer.lexical import bigrams
from indexer.parse import Unit
from indexer.store import Index
from indexer.tokenize import tokens
from qa.intent import Intent, classify, expand, language_of
from qa.language import DUTY, PERMISSION, PROHIBITION

# Job titles in duty lists (…经理职责, …主管岗位职责) and how a question names one.
ROLE_IN_HEADING = re.compile(r"经理|主管|专员|总监")
ROLE_IN_QUESTION = re.compile(r"经理|主管|专员|总监|\b(manager|supervisor|director|head|officer|specialist|lead)s?\b", re.I)
DUTY_LIST = re.compile(r"职责|权力")


@dataclass(frozen=True)
class Weights:
    """Fitted on the dev split by `python -m eval.tune_weights` (docs/retrieval.md has the fit and the ablation)."""

    dense: dict[str, float] = field(default_factory=lambda: {"e5": 1.0, "use": 0.83})
    bm25: float = 0.56  # jieba words
    bigram: float = 0.63  # Chinese character bigrams: catches 改 ~ 修改, 摸底会, partial terms
    heading: float = 0.0  # the unit's heading path; fitted to 0: the passages' heading prefix carries it
    rule_boost: float = 3.17  # permission question → unit states a rule (不得/可以)
    duty_boost: float = 0.05  # duty question → unit states a duty
    stub_penalty: float = 3.89  # a step title with no body
    role_mismatch: float = 1.89  # "企划部的职责" ≠ 企划部经理职责; "what does the manager do" ≠ the department's
    candidates: int = 30

    def coefficients(self) -> dict[str, float]:
        """One coefficient per term of the fused score: each signal's z-score and each structure
        indicator (Retriever.structure; a penalty is a negative coefficient). eval.tune_weights fits these."""
        return dict(self.dense) | {"bm25": self.bm25, "bigram": self.bigram, "heading": self.heading,
                                   "rule": self.rule_boost, "duty": self.duty_boost,
                                   "stub": -self.stub_penalty, "role": -self.role_mismatch}


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
    covered: bool | None = None  # the coverage check's decision, once made (Assistant.covered)
    coverage: float = 0.0  # its probability that the policies cover the question
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # raw score per signal, by unit id


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


def _z(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    values = np.array(list(scores.values()), dtype=np.float64)
    mean, std = float(values.mean()), float(values.std()) or 1.0
    return {k: (v - mean) / std for k, v in scores.items()}


class Retriever:
    def __init__(self, index: Index, embedders: dict[str, Embedder], weights: Weights | None = None) -> None:
        self.index = index
        self.embedders = embedders
        self.weights = weights or Weights()
        lexical = index.lexical()  # bm25s, saved with the build (indexer/lexical.py); same scores as BM25Okapi
        self._lexical = {"bm25": (lexical["bm25"], tokens), "bigram": (lexical["bigram"], bigrams),
                         "heading": (lexical["heading"], tokens)}
        self.frequency = Counter(t for unit_tokens in index.tokens for t in set(unit_tokens))  # units per word
        self.bridge = build_bridge(set(self.frequency), self.frequency, len(index.units))

    def with_weights(self, **changes) -> "Retriever":
        clone = object.__new__(Retriever)
        clone.__dict__ = self.__dict__ | {"weights": replace(self.weights, **changes)}
        return clone

    def query_text(self, question: str) -> str:
        extra, covered = expand(question)
        if language_of(question) == "en":
            extra += [w for w in translate(question, self.bridge, skip=covered) if w not in extra]
        return question + (" " + " ".join(extra) if extra else "")

    def dense_text(self, question: str, text: str | None = None) -> str:
        """What the dense models embed for a question: its focus plus its policy-word expansions
        (``text``: its query_text, when computed already)."""
        text = text or self.query_text(question)
        return focus(question) + text[len(question):]

    def embed(self, questions: list[str]) -> dict[str, np.ndarray]:
        """Query vectors for several questions at once, per embedder (one model call each, not one per question)."""
        coefficients = self.weights.coefficients()
        texts = [self.dense_text(q) for q in questions]
        return {name: embedder.embed_queries(texts) for name, embedder in self.embedders.items()
                if coefficients.get(name, 0) > 0}

    def signals(self, question: str, vectors: dict[str, np.ndarray] | None = None) -> dict[str, dict[str, float]]:
        """Raw scores per signal for its top candidates, by unit id. ``vectors``: the question's
        query vectors, when already embedded (Retriever.embed)."""
        coefficients = self.weights.coefficients()
        text = self.query_text(question)
        out: dict[str, dict[str, float]] = {}
        for name, embedder in self.embedders.items():
            if coefficients.get(name, 0) > 0:
                vector = vectors[name] if vectors else embedder.embed_queries([self.dense_text(question, text)])[0]
                out[name] = self.index.dense_search(name, vector, self.weights.candidates)
        for name, (bm25, tokenize) in self._lexical.items():
            if coefficients[name] > 0:
                scores = bm25.scores(tokenize(text))
                top = np.argsort(-scores, kind="stable")[: self.weights.candidates]
                out[name] = {self.index.units[i].id: float(scores[i]) for i in top if scores[i] > 0}
        return out

    def retrieve(self, question: str, k: int = 5, intent: Intent | None = None,
                 vectors: dict[str, np.ndarray] | None = None) -> Retrieval:
        """``intent`` overrides the one read from the question (a follow-up takes it from the conversation);
        ``vectors`` are its query vectors when embedded already."""
        intent = intent or classify(question)
        coefficients = self.weights.coefficients()
        raw = self.signals(question, vectors)
        candidates = {uid for scores in raw.values() for uid in scores}
        fused = {uid: 0.0 for uid in candidates}
        parts: dict[str, dict[str, float]] = {uid: {} for uid in candidates}
        for name, scores in raw.items():
            weight = coefficients.get(name, 0.0)
            z = _z(scores)
            floor = min(z.values()) if z else 0.0  # a unit outside this signal's top candidates
            for uid in candidates:
                value = z.get(uid, floor)
                fused[uid] += weight * value
                parts[uid][name] = round(value, 3)
        asks_role = bool(ROLE_IN_QUESTION.search(question))
        for uid in candidates:
            structure = self.structure(intent, self.index.by_id[uid], asks_role)
            bonus = sum(coefficients[k] * v for k, v in structure.items())
            fused[uid] += bonus
            parts[uid]["intent"] = round(bonus, 3)
        # ties (the same duty text under eight departments) go to the earlier unit, so runs repeat
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], self.index.position[kv[0]]))[:k]
        hits = [Hit(self.index.by_id[uid], score, parts[uid]) for uid, score in ranked]
        best = {name: max(scores.values()) if scores else 0.0 for name, scores in raw.items()}
        return Retrieval(question, intent, hits, best, scores=raw)

    @staticmethod
    def structure(intent: Intent, unit: Unit, asks_role: bool) -> dict[str, float]:
        """Does the unit's form suit the question? 1.0 where it holds: a stub (a step title with no
        body), a role mismatch (a job's duties for a department question, or the reverse), a rule for
        a permission question (不得/可以), a duty for a duty question."""
        heading = " ".join(unit.path[1:])
        text = unit.text
        return {
            "stub": float(unit.stub),
            "role": float(bool(DUTY_LIST.search(heading)) and bool(ROLE_IN_HEADING.search(heading)) != asks_role),
            "rule": float(intent.kind == "permission" and bool(PROHIBITION.search(text) or PERMISSION.search(text))),
            "duty": float(intent.kind == "duty" and bool(DUTY.search(text) or PROHIBITION.search(text))),
        }
