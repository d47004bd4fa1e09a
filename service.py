"""What the web app, its API and the CLI call: one answer path, recorded in the audit trail, and the
knowledge-base operations (browse, check, add, remove) that keep the serving index current.

The service owns the live Assistant. A rebuild (here or by another process) publishes a new build;
the next question notices the new CURRENT pointer and reopens the index, reusing the loaded models.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path

from audit.log import AuditLog, Filters
from auth.users import Users
from config import Settings
from indexer.build import (
    BuildReport,
    Document,
    Progress,
    add_document,
    check_document,
    remove_document,
)
from indexer.parse import ParseResult, Unit
from indexer.store import open_store
from qa.answer import Answer, Assistant, Citation
from qa.chain import build_chain
from qa.intent import language_of
from qa.llm import LLMAnswerer, make_chat_model
from qa.memory import Remembered
from qa.screen import Screen, Screener

HISTORY = 20  # a user's recent answers listed in 问答
CHECK_EVERY = 0.5  # seconds between looks at the index pointer (a file stat, or a Chroma server call)


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self._assistant = Assistant.open(settings)
        self.audit = AuditLog(settings.audit_url)
        self.users = Users.load(settings.users_path)
        self._swap = threading.Lock()  # reopening the index
        self._checked = 0.0
        self._pointer = self._assistant.index.build_id  # the build pointer last acted on
        self._build = threading.Lock()  # one rebuild at a time
        model = make_chat_model(settings)
        self.llm = LLMAnswerer(model, timeout=settings.llm_timeout) if model is not None else None
        self._chains: dict = {}
        self._screener: Screener | None = None

    @property
    def assistant(self) -> Assistant:
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return self._assistant
        self._checked = now
        current = self.store.current_id()
        if current is not None and current != self._pointer:
            with self._swap:
                if current != self._pointer:
                    self._pointer = current  # once per new pointer, even if it fell back to an older build
                    self._assistant = self._assistant.with_index(self.store.open())
        return self._assistant

    # --- answering -------------------------------------------------------------------------------
    def ask(self, question: str, previous: str | None = None, *, user: str = "local", channel: str = "ui") -> Answer:
        """Answer through the chain and record. Raises qa.answer.QuestionError for an empty or
        over-long question."""
        assistant = self.assistant
        started = time.perf_counter()
        outcome = self._chain(assistant).invoke({"question": question, "previous": previous})
        answer = outcome.answer
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        settings = {"weights": asdict(assistant.retriever.weights), "top_k": self.settings.top_k,
                    "embedders": list(assistant.retriever.embedders),
                    "confidence": answer.confidence, "confident": answer.confident}
        if self.llm:
            settings |= {"prompts": self.llm.prompts.version, "llm_fallback": outcome.fallback}
        answer.id = self.audit.record(
            answer, user=user, channel=channel, answerer=outcome.answerer, settings=settings,
            index_version=_index_version(assistant),
        )
        return answer

    def screen(self, draft: str, *, user: str = "local", channel: str = "ui") -> Screen:
        """Screen a draft sentence by sentence and record it. Raises qa.screen.ScreenError for an empty
        or over-long draft."""
        assistant = self.assistant
        if self._screener is None or self._screener.assistant is not assistant:
            self._screener = Screener(assistant)
        screen = self._screener.screen(draft)
        screen.id = self.audit.record_screen(screen, user=user, channel=channel, index_version=_index_version(assistant),
                                             settings={"model": asdict(self._screener.model)})
        return screen

    def _chain(self, assistant: Assistant):
        if self._chains.get("for") is not assistant:
            self._chains = {"for": assistant, "chain": build_chain(assistant, self.llm)}
        return self._chains["chain"]

    def feedback(self, answer_id: str, rating: int, comment: str = "", *, user: str = "local") -> None:
        self.audit.add_feedback(answer_id, user=user, rating=rating, comment=comment)

    def review(self, answer_id: str, *, reviewer: str, status: str, right_units: list[str] | None = None,
               right_verdict: str = "", note: str = "") -> None:
        """Record a supervisor's review; the right units must exist in the index."""
        unknown = [u for u in right_units or [] if u not in self.assistant.index.by_id]
        if unknown:
            raise ValueError(f"unknown unit id(s): {', '.join(unknown)}")
        self.audit.add_review(answer_id, reviewer=reviewer, status=status, right_units=right_units,
                              right_verdict=right_verdict, note=note)
        self._remember(answer_id, reviewer, status, right_units or [], right_verdict)

    def _remember(self, answer_id: str, reviewer: str, status: str, right_units: list[str], right_verdict: str) -> None:
        """A reviewed answer joins the memory (qa/memory.py): correct as it was, or as corrected.
        A follow-up mark decides nothing, and takes back what an earlier review of the answer had added."""
        memory = self.assistant.memory
        if memory is None:
            return
        if status == "follow_up":
            memory.forget(answer_id)
            return
        row = self.audit.answer(answer_id)
        if row["kind"] == "screen":
            return  # the memory holds questions; a draft's review corrects the screen, not future answers
        if status == "correct":
            units, verdict = [c["id"] for c in row["citations"]], row["verdict"]
        else:
            units, verdict = right_units, right_verdict
        memory.remember(Remembered(answer_id=answer_id, question=row["question"], verdict=verdict, units=units,
                                   reviewer=reviewer, reviewed=row["reviews"][-1]["created"] if row["reviews"] else ""))

    def remembered(self) -> list[Remembered]:
        """The reviewed questions the assistant remembers (shown in 审计, exported, removable)."""
        memory = self.assistant.memory
        return memory.entries() if memory else []

    def forget(self, answer_id: str) -> bool:
        memory = self.assistant.memory
        return bool(memory and memory.forget(answer_id))

    def neighbours(self, unit_id: str, n: int = 1) -> list[Unit]:
        """The units around one unit in its document: the context a citation card opens to."""
        index = self.assistant.index
        if unit_id not in index.position:
            return []  # the answer was made just before a rebuild took its unit out: its card still shows it
        at = index.position[unit_id]
        doc = index.units[at].doc_id
        around = index.units[max(0, at - n): at + n + 1]
        return [u for u in around if u.doc_id == doc]

    def document_of(self, unit_id: str) -> list[Unit]:
        """The whole document a unit belongs to, in reading order ([] once a rebuild took the unit
        out): what a citation card opens at its article."""
        index = self.assistant.index
        if unit_id not in index.position:
            return []
        doc = index.units[index.position[unit_id]].doc_id
        return [u for u in index.units if u.doc_id == doc]

    # --- a user's history ------------------------------------------------------------------------
    def history(self, user: str, limit: int = HISTORY) -> list[dict]:
        """The user's recent answers (not draft screens), newest first, as the audit trail keeps them:
        the history lives on the server, whatever browser the user comes back with."""
        return list(self.audit.iter_rows(Filters(user=user, kind="answer"), limit=limit))

    def recorded(self, answer_id: str, *, user: str) -> tuple[Answer, str] | None:
        """One of the user's own recorded answers rebuilt for display, and when it was given (None for
        another user's, a screen, or an unknown id). The verdict, conclusion and cited text are the audit row's, as the
        user saw them; the document title and headings come from the index while the unit is in it."""
        row = self.audit.answer(answer_id)
        if row is None or row["user"] != user or row["kind"] != "answer":
            return None
        answer = Answer(question=row["question"], answer=row["answer"], verdict=row["verdict"],
                        language=language_of(row["question"]), intent="", resolved=row["resolved"], id=row["id"],
                        citations=[self._as_cited(c) for c in row["citations"]],
                        related=[self._as_cited(c) for c in row["related"]])
        return answer, row["created"]

    def _as_cited(self, cited: dict) -> Citation:
        """An audit row's citation as a Citation: its recorded text, the unit's title and path if indexed."""
        unit = self.assistant.index.by_id.get(cited["id"])
        return Citation(cited["id"], cited["doc_id"], unit.doc_title if unit else cited["doc_id"], cited["label"],
                        " > ".join(unit.path) if unit else "", cited.get("text", unit.text if unit else ""),
                        cited.get("score", 0.0))

    # --- the knowledge base ----------------------------------------------------------------------
    def documents(self) -> list[dict]:
        return list(self.assistant.index.meta.get("documents", []))

    def warnings(self) -> list[str]:
        return list(self.assistant.index.meta.get("warnings", [])) + list(self.assistant.index.meta.get("errors", []))

    def units(self, doc_id: str | None = None, query: str = "") -> list[Unit]:
        """Units as the index holds them, optionally of one document and containing a search string."""
        q = query.strip().lower()
        return [u for u in self.assistant.index.units
                if (not doc_id or u.doc_id == doc_id)
                and (not q or q in u.text.lower() or q in u.label.lower() or q in " ".join(u.path).lower())]

    def check(self, path: Path, doc_id: str | None = None, title: str | None = None) -> tuple[Document, ParseResult]:
        return check_document(self.settings, path, doc_id, title)

    def add(self, path: Path, doc_id: str | None = None, title: str | None = None,
            progress: Progress | None = None, *, user: str = "local") -> tuple[Document, BuildReport]:
        """Add a document and record the change (who, versions, units, contradictions) in the audit trail."""
        with self._build:
            try:
                doc, report = add_document(self.settings, path, doc_id, title, progress=progress or False)
            finally:
                self._checked = 0.0  # look at the pointer on the next question
        self.audit.record_kb_change(report.change, user=user)
        return doc, report

    def quiz(self, n: int, types: tuple[str, ...], seed: int = 0, lang: str = "zh", docs: list[str] | None = None,
             rephrase: bool = False):
        """Validated quiz items from the units the index holds (raises quiz.generate.QuizError).
        With ``rephrase`` and a language model configured, stems are reworded and re-validated."""
        from quiz.generate import make_quiz
        from quiz.generate import rephrase as reword

        units = self.assistant.index.units
        quiz = make_quiz(units, n, types, seed, lang, docs)
        if rephrase and self.llm:
            quiz.items, quiz.rephrase_refused = reword(quiz.items, units, lang, self.llm.rephrase)
        return quiz

    def remove(self, doc_id: str, progress: Progress | None = None, *, user: str = "local") -> BuildReport:
        """Remove a document and record the change in the audit trail."""
        with self._build:
            try:
                report = remove_document(self.settings, doc_id, progress=progress or False)
            finally:
                self._checked = 0.0
        self.audit.record_kb_change(report.change, user=user)
        return report

    def kb_changes(self, limit: int | None = None) -> list[dict]:
        """Knowledge-base changes, newest first (for supervisors)."""
        return self.audit.kb_changes(limit)


def _index_version(assistant: Assistant) -> str:
    """What an audit row names as the index an answer or screen came from: fingerprint/build."""
    meta = assistant.index.meta
    return f"{meta.get('fingerprint', '')}/{meta.get('build_id', '')}"
