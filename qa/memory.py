"""Supervisors' reviewed answers, remembered: the same question asked again gets the reviewed outcome.

A supervisor who marks an answer correct, or corrects it with the right units and verdict (审计),
adds it here. When a later question is the same question (e5 similarity ≥ SAME, so a reworded or
re-typed copy counts but a different question about the same article does not), its coverage is
taken from the review and the reviewed units are put first. The verdict is still read from the cited
unit's text, so the memory can never make the assistant state a rule an article does not contain.

Stored as JSON lines under the data dir (``Settings.memory_path``); listed, exported and removed with
``python app.py memory``. It is product data that grows as supervisors work; the eval never counts a
question that is in it, and nothing here comes from eval/.
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SAME = 0.95  # e5 cosine similarity at which two questions count as one


@dataclass
class Remembered:
    answer_id: str
    question: str
    verdict: str  # the right verdict, as reviewed
    units: list[str] = field(default_factory=list)  # the right units, as reviewed
    reviewer: str = ""
    reviewed: str = ""  # when (ISO time)


class ReviewedMemory:
    def __init__(self, path: Path, embedder=None) -> None:
        self.path = Path(path)
        self.embedder = embedder  # the e5 query model; without it only identical questions match
        self._lock = threading.Lock()
        self._entries: list[Remembered] = []
        self._vectors: np.ndarray | None = None
        self._mtime = -1.0
        self._reload()

    # --- the file --------------------------------------------------------------------------------
    def _reload(self) -> None:
        """Read the file again if another process (the CLI, another app instance) changed it."""
        mtime = self.path.stat().st_mtime if self.path.exists() else 0.0
        if mtime == self._mtime:
            return
        entries = []
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entries.append(Remembered(**json.loads(line)))
        self._entries, self._vectors, self._mtime = entries, None, mtime

    def _write(self, entries: list[Remembered]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
        tmp.replace(self.path)
        self._mtime = -1.0
        self._reload()

    def entries(self) -> list[Remembered]:
        with self._lock:
            self._reload()
            return list(self._entries)

    def remember(self, entry: Remembered) -> None:
        """Add a review; a newer review of the same answer replaces the older one."""
        with self._lock:
            self._reload()
            self._write([e for e in self._entries if e.answer_id != entry.answer_id] + [entry])

    def forget(self, answer_id: str) -> bool:
        """Remove the review of one answer, named by its id or at least its first 8 characters (a
        shorter prefix, or an empty one, could name many and removes nothing)."""
        answer_id = (answer_id or "").strip()
        if len(answer_id) < 8:
            return False
        with self._lock:
            self._reload()
            kept = [e for e in self._entries if e.answer_id != answer_id and not e.answer_id.startswith(answer_id)]
            if len(kept) == len(self._entries):
                return False
            self._write(kept)
            return True

    # --- matching --------------------------------------------------------------------------------
    def lookup(self, question: str) -> Remembered | None:
        """The reviewed question this one is the same as, or None."""
        with self._lock:
            self._reload()
            if not self._entries:
                return None
            exact = [e for e in self._entries if e.question.strip() == question.strip()]
            if exact:
                return exact[-1]
            if self.embedder is None:
                return None
            if self._vectors is None:
                self._vectors = _unit(np.asarray(self.embedder.embed_queries([e.question for e in self._entries])))
            entries, vectors = self._entries, self._vectors
        v = _unit(np.asarray(self.embedder.embed_queries([question]), dtype=np.float32))[0]
        sims = vectors @ v
        best = int(np.argmax(sims))
        return entries[best] if sims[best] >= SAME else None


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
