"""The answer chain: question → retrieval → coverage check → verdict → cited answer.

One function, ``Assistant.ask``, serves the CLI, the eval runner and (later) the UI and the API.
No language model is needed: everything in the answer comes from the retrieved units.
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import asdict, dataclass, field, replace

from config import Settings, apply_thread_policy
from indexer.embed import Embedder, EmbedderPool, make_embedder
from indexer.store import Index, IndexMissing, open_store
from indexer.parse import Unit
from indexer.tokenize import tokens
from qa import english
from qa.coverage import Coverage
from qa.followup import core, is_followup, own_topic, standalone
from qa.intent import Intent, classify, language_of
from qa.memory import ReviewedMemory
from qa.language import DUTY, PERMISSION, PROHIBITION
from qa.retrieve import (
    Hit,
    Retrieval,
    Retriever,
    Weights,
)
from qa.verdict import (
    conclusion,
    decide,
    exception,
    hedged,
    key_clause,
    safe_permission,
)

MAX_CITATIONS = 3
RULE_PATTERN = {"prohibited": PROHIBITION, "allowed": PERMISSION, "required": DUTY, "info": None}
CITE_MARGIN = 0.35  # a second unit scoring this close to the top one is cited beside it
LOW_CONFIDENCE = 0.6  # below this coverage probability the answer says it is not sure and gives no 可以


CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL, controls, ANSI escapes


def clean(text: str | None) -> str:
    """Every question (and previous turn) passes here first: control characters, NUL and terminal
    escapes go (they change nothing a person meant, and break databases and terminals)."""
    return CONTROL.sub("", text or "").strip()


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long)."""


@dataclass
class Citation:
    id: str
    doc_id: str
    doc_title: str
    label: str
    heading_path: str  # "营销人员合规营销规定 > 第三部分… > 第二节业务要求"
    text: str
    score: float
    quote: str = ""  # the clause the answer rests on, verbatim from text (highlighted in the UI)

    @classmethod
    def of(cls, hit: Hit, quote: str = "") -> Citation:
        """A retrieved unit as cited (answers and draft screens alike), with the clause it rests on."""
        u = hit.unit
        return cls(u.id, u.doc_id, u.doc_title, u.label, " > ".join(u.path), u.text, round(hit.score, 4), quote)


@dataclass
class Answer:
    question: str
    answer: str
    verdict: str
    language: str
    intent: str
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    latency_ms: float = 0.0
    resolved: str = ""  # the question as understood: a follow-up joined to the turn before it
    id: str = ""  # set when the answer is recorded in the audit trail
    # How sure the answerer is that this is the answer: the coverage model's probability that the
    # policies cover the question (for a refusal, that they do not); 1.0 for a supervisor-reviewed question.
    confidence: float = 0.0
    confident: bool = True  # False: the answer says it is not sure, shows the candidates, and gives no 可以
    remembered: str = ""  # the reviewed answer this question matched (qa/memory.py), if any

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        """For a person at a terminal."""
        lines = [self.answer, ""]
        if self.citations:
            lines.append("依据 / Citations:" if self.language == "zh" else "Citations:")
            for c in self.citations:
                path = " > ".join(p if len(p) <= 30 else p[:20] + "…" for p in c.heading_path.split(" > "))
                lines += [f"  [{c.doc_title} · {c.label}]  {path}", *("    " + t for t in c.text.splitlines()), ""]
        if self.related:
            lines.append("相关条文（仅供参考，非依据）:" if self.language == "zh" else "Related (for reference only, not a basis):")
            lines += [f"  [{c.doc_title} · {c.label}] {c.text.splitlines()[0][:60]}" for c in self.related]
        return "\n".join(lines).rstrip() + "\n"


@dataclass
class Turn:
    """A question as understood: what was asked, what it means in the conversation, what was found."""

    question: str
    resolved: str
    retrieval: Retrieval
    followup: str | None  # the follow-up's own words, when it leaned on the previous turn


def _citation(hit: Hit, question: str = "", verdict: str = "") -> Citation:
    return Citation.of(hit, key_clause(hit.unit.text, question, RULE_PATTERN.get(verdict)) if verdict else "")


class Assistant:
    def __init__(self, settings: Settings, index: Index, embedders: dict[str, Embedder],
                 weights: Weights | None = None, coverage: Coverage | None = None,
                 memory: ReviewedMemory | None = None) -> None:
        self.settings = settings
        self.retriever = Retriever(index, embedders, weights)
        self.coverage = coverage or Coverage()
        self.memory = memory

    @classmethod
    def open(cls, settings: Settings, build_if_missing: bool = True) -> Assistant:
        store = open_store(settings)
        try:
            index = store.open()
        except IndexMissing:
            if not build_if_missing:
                raise
            from indexer.build import build_index

            build_index(settings)
            index = store.open()
        names = index.meta.get("embedders", list(settings.embedders))
        apply_thread_policy()
        embedders = {n: EmbedderPool(functools.partial(make_embedder, n, settings.query_threads, settings.st_model_path),
                                     settings.answer_workers) for n in names}
        memory = ReviewedMemory(settings.memory_path, embedders.get("e5")) if settings.reviewed_memory else None
        return cls(settings, index, embedders, memory=memory)

    def with_index(self, index: Index) -> Assistant:
        """The same assistant (models, weights, coverage model and question memory) over a newer build."""
        return Assistant(self.settings, index, self.retriever.embedders, self.retriever.weights, self.coverage,
                         self.memory)

    @property
    def index(self) -> Index:
        return self.retriever.index

    def check(self, question: str) -> str:
        q = clean(question)
        if not q:
            raise QuestionError("请输入问题。 / The question is empty.")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(
                f"问题太长（{len(q)} 字），请控制在 {self.settings.max_question_chars} 字以内。"
                f" / The question is too long ({len(q)} characters; limit {self.settings.max_question_chars})."
            )
        return q

    def ask(self, question: str, previous: str | None = None) -> Answer:
        """Answer one question. ``previous`` is the last turn's ``resolved`` question, so that a
        follow-up ("那如果经过公司批准呢？") is read in its light."""
        started = time.perf_counter()
        turn = self.understand(question, previous)
        answer = self.answer(turn)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def understand(self, question: str, previous: str | None = None, rewrite=None) -> Turn:
        """The question checked, read with the previous turn if it is a follow-up, and retrieved.
        ``rewrite`` (a language model's follow-up rewriting) may supply the standalone question."""
        q = self.check(question)
        # the previous turn is at most a resolved question: longer input is cut, so the work is bounded
        previous = clean(previous)[-2 * self.settings.max_question_chars:] or None
        k = max(self.settings.top_k, MAX_CITATIONS)
        if previous and is_followup(q):
            rewritten = rewrite(q, previous) if rewrite else None
            if rewritten:
                intent = replace(classify(rewritten), language=language_of(q))
                retrieval, resolved = self.retriever.retrieve(rewritten, k=k, intent=intent), rewritten
            else:
                retrieval, resolved = self._followup(q, previous, k), standalone(q, previous)
        else:
            retrieval, resolved = self.retriever.retrieve(q, k=k), q
        return Turn(q, resolved[-2 * self.settings.max_question_chars:], retrieval, q if resolved != q else None)

    def answer(self, turn: Turn) -> Answer:
        """The rule-based answer to an understood turn."""
        answer = self.compose(turn.retrieval, followup=turn.followup)
        answer.question, answer.resolved = turn.question, turn.resolved
        return answer

    def _followup(self, question: str, previous: str, k: int) -> Retrieval:
        """A follow-up with a subject of its own is retrieved alone if the policies cover it; otherwise
        (and always for a condition such as approval) together with the previous question. The
        question kind comes from the conversation, the language from the follow-up."""
        intent = replace(classify(standalone(question, previous)), language=language_of(question))
        if own_topic(question):
            alone = self.retriever.retrieve(core(question), k=k, intent=intent)
            if self.covered(alone):
                return alone
        return self.retriever.retrieve(standalone(question, previous), k=k, intent=intent)

    def covered(self, retrieval: Retrieval) -> bool:
        """Do the policies address this retrieval's question? Decided once per retrieval: a follow-up
        retrieved alone is checked before it is chosen, and not embedded again when it is answered."""
        if retrieval.covered is None:
            retrieval.coverage = self.coverage.assess(self.retriever, retrieval)
            retrieval.covered = retrieval.coverage >= self.coverage.threshold
        return retrieval.covered

    def telling_terms(self, question: str) -> set[str]:
        """The question's words (with their policy-word expansions) that few units use: the ones that
        say what it is about (not 客户 or 公司), so two texts sharing one are about the same action."""
        frequency, n = self.retriever.frequency, len(self.index.units)
        return {t for t in tokens(self.retriever.query_text(question))
                if len(t) >= 2 and frequency.get(t, 0) <= max(3, 0.05 * n)}

    def recall(self, retrieval: Retrieval) -> str:
        """A supervisor-reviewed question this one repeats: its coverage is the review's, and its
        reviewed units (those still in the index) come first. Returns the reviewed answer's id or ''."""
        seen = self.memory.lookup(retrieval.question) if self.memory else None
        if seen is None:
            return ""
        retrieval.covered, retrieval.coverage = seen.verdict != "not_covered", 1.0
        by_id = self.index.by_id
        reviewed = [uid for uid in seen.units if uid in by_id]
        if reviewed:
            rest = [h for h in retrieval.hits if h.unit.id not in reviewed]
            top = retrieval.hits[0].score if retrieval.hits else 0.0
            found = {h.unit.id: h for h in retrieval.hits}
            first = [found.get(uid) or Hit(by_id[uid], top, {}) for uid in reviewed]
            retrieval.hits = first + rest
        return seen.answer_id

    @staticmethod
    def _conclusion(verdict: str, intent: Intent, unit: Unit | None, question: str) -> str:
        """The one-line conclusion in the asker's language (qa/english.py for English questions)."""
        if intent.language == "zh":
            return conclusion(verdict, intent, unit, question)
        return english.conclusion(verdict, unit, question)

    def compose(self, retrieval: Retrieval, followup: str | None = None) -> Answer:
        intent = retrieval.intent
        remembered = self.recall(retrieval)
        hits = retrieval.hits
        base = dict(question=retrieval.question, language=intent.language, intent=intent.kind, remembered=remembered)
        if not self.covered(retrieval):
            text = self._conclusion("not_covered", intent, None, retrieval.question)
            return Answer(answer=text, verdict="not_covered", related=[_citation(h) for h in hits[:3]],
                          confidence=round(1.0 - retrieval.coverage, 3), **base)
        verdict = decide(intent, hits[0].unit.text, retrieval.question)
        if intent.kind == "permission":
            terms = self.telling_terms(retrieval.question)
            verdict, at = safe_permission(verdict, hits, terms, retrieval.question)
            hits = [hits[at]] + hits[:at] + hits[at + 1:]
        top, rule = hits[0], verdict
        confident = retrieval.coverage >= LOW_CONFIDENCE
        if not confident and verdict == "allowed":
            verdict = rule = "info"  # never a 可以 we are not sure of
        text = self._conclusion(verdict, intent, top.unit, retrieval.question)
        if followup and (special := exception(verdict, intent, top.unit, retrieval.question, followup)):
            verdict, text = special
            if intent.language != "zh":
                text = english.exception(verdict, text, top.unit, retrieval.question)
        if not confident:
            text = hedged(text, intent.language)
        if confident:
            cited = [top] + [h for h in hits[1:MAX_CITATIONS] if top.score - h.score <= CITE_MARGIN]
        else:
            cited = hits[:MAX_CITATIONS]  # not sure: show the top candidates
        return Answer(
            answer=text,
            verdict=verdict,
            citations=[_citation(h, retrieval.question, rule) for h in cited],
            related=[_citation(h) for h in hits[len(cited):3]],
            confidence=round(retrieval.coverage, 3),
            confident=confident,
            **base,
        )
