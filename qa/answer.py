"""The answer chain: question → retrieval → coverage check → verdict → cited answer.

One function, ``Assistant.ask``, serves the CLI, the eval runner and (later) the UI and the API.
No language model is needed: everything in the answer comes from the retrieved units.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from config import Settings
from indexer.embed import Embedder, make_embedder
from indexer.store import Index, IndexMissing, IndexStore
from qa.coverage import Coverage
from qa.retrieve import Hit, Retrieval, Retriever, Weights
from qa.verdict import conclusion, decide


MAX_CITATIONS = 3
CITE_MARGIN = 0.35  # a second unit scoring this close to the top one is cited beside it


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long)."""


@dataclass
class Citation:
    id: str
    doc_id: str
    doc_title: str
    label: str
    path: str
    text: str
    score: float


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

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        """For a person at a terminal."""
        lines = [self.answer, ""]
        if self.citations:
            lines.append("依据 / Citations:" if self.language == "zh" else "Citations:")
            for c in self.citations:
                path = " > ".join(p if len(p) <= 30 else p[:20] + "…" for p in c.path.split(" > "))
                lines += [f"  [{c.doc_title} · {c.label}]  {path}", *("    " + t for t in c.text.splitlines()), ""]
        if self.related:
            lines.append("相关条文（仅供参考，非依据）:" if self.language == "zh" else "Related (for reference only, not a basis):")
            lines += [f"  [{c.doc_title} · {c.label}] {c.text.splitlines()[0][:60]}" for c in self.related]
        return "\n".join(lines).rstrip() + "\n"


def _citation(hit: Hit) -> Citation:
    u = hit.unit
    return Citation(u.id, u.doc_id, u.doc_title, u.label, " > ".join(u.path), u.text, round(hit.score, 4))


class Assistant:
    def __init__(self, settings: Settings, index: Index, embedders: dict[str, Embedder],
                 weights: Weights | None = None, coverage: Coverage | None = None) -> None:
        self.settings = settings
        self.retriever = Retriever(index, embedders, weights)
        self.coverage = coverage or Coverage()

    @classmethod
    def open(cls, settings: Settings, build_if_missing: bool = True) -> "Assistant":
        store = IndexStore(settings.index_dir, settings.keep_builds)
        try:
            index = store.open()
        except IndexMissing:
            if not build_if_missing:
                raise
            from indexer.build import build_index

            build_index(settings)
            index = store.open()
        names = index.meta.get("embedders", list(settings.embedders))
        embedders = {n: make_embedder(n, settings.threads, settings.st_model_path) for n in names}
        return cls(settings, index, embedders)

    @property
    def index(self) -> Index:
        return self.retriever.index

    def check(self, question: str) -> str:
        q = (question or "").strip()
        if not q:
            raise QuestionError("请输入问题。 / The question is empty.")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(
                f"问题太长（{len(q)} 字），请控制在 {self.settings.max_question_chars} 字以内。"
                f" / The question is too long ({len(q)} characters; limit {self.settings.max_question_chars})."
            )
        return q

    def ask(self, question: str) -> Answer:
        started = time.perf_counter()
        q = self.check(question)
        retrieval = self.retriever.retrieve(q, k=max(self.settings.top_k, MAX_CITATIONS))
        answer = self.compose(retrieval)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def compose(self, retrieval: Retrieval) -> Answer:
        intent = retrieval.intent
        hits = retrieval.hits
        base = dict(question=retrieval.question, language=intent.language, intent=intent.kind)
        if not self.coverage.covered(self.retriever, retrieval):
            text = conclusion("not_covered", intent, None, retrieval.question)
            return Answer(answer=text, verdict="not_covered", related=[_citation(h) for h in hits[:3]], **base)
        top = hits[0]
        verdict = decide(intent, top.unit.text, retrieval.question)
        cited = [top] + [h for h in hits[1:MAX_CITATIONS] if top.score - h.score <= CITE_MARGIN]
        return Answer(
            answer=conclusion(verdict, intent, top.unit, retrieval.question),
            verdict=verdict,
            citations=[_citation(h) for h in cited],
            related=[_citation(h) for h in hits[len(cited):3]],
            **base,
        )
