"""Contradictions between documents, flagged when one is added (issue 14 #7).

A newly added unit that permits something (可以/允许/有权) which a unit of another document forbids
(不得/禁止/严禁) would win every question about it. Retrieval is not changed: the pair is reported
by `add` and kept in the build's metadata, so an admin decides which document is right.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from indexer.parse import Unit
from indexer.tokenize import tokens
from qa.language import CLAUSE_END
from qa.language import EXPLICIT_PERMISSION as PERMITS
from qa.language import EXPLICIT_PROHIBITION as FORBIDS

MODAL_WORDS = {"可以", "允许", "有权", "不得", "禁止", "严禁", "员工", "公司", "人员"}


@dataclass(frozen=True)
class Conflict:
    new: str  # the added unit that permits
    existing: str  # the other document's unit that forbids
    similarity: float
    shared: tuple[str, ...]  # content words of both governed actions



def _actions(unit: Unit, modal: re.Pattern) -> set[str]:
    """Content words of what the modal governs: the clause after each 可以/不得…, up to its punctuation."""
    words: set[str] = set()
    for match in modal.finditer(unit.text):
        clause = CLAUSE_END.split(unit.text[match.end():], maxsplit=1)[0]
        words |= {t for t in tokens(clause) if t not in MODAL_WORDS and len(t) > 1}
    return words


def _common_words(units: list[Unit], words: Callable[[Unit], list[str]], share: float = 0.03) -> set[str]:
    """Words in more than a few percent of all units (客户, 产品, 进行…): sharing them says nothing
    about two clauses being about the same action."""
    seen: dict[str, int] = {}
    for u in units:
        for t in set(words(u)):
            seen[t] = seen.get(t, 0) + 1
    limit = max(3, share * len(units))
    return {t for t, n in seen.items() if n > limit}


def find_conflicts(units: list[Unit], vectors: np.ndarray, doc_id: str, *, min_similarity: float,
                   min_shared: int, words: Callable[[Unit], list[str]] | None = None) -> list[Conflict]:
    """Pairs (new permitting unit, other document's forbidding unit) about the same action: close in
    the e5 space (vectors in the order of units, normalised) and sharing content words. ``words`` gives a
    unit's text tokens (the build passes the ones it already has; default: tokenised here)."""
    new = [i for i, u in enumerate(units) if u.doc_id == doc_id and PERMITS.search(u.text) and not FORBIDS.search(u.text)]
    old = [i for i, u in enumerate(units) if u.doc_id != doc_id and FORBIDS.search(u.text)]
    if not new or not old:
        return []
    similarity = vectors[new] @ vectors[old].T
    common = _common_words(units, words or (lambda u: tokens(u.text)))
    words = {i: _actions(units[i], PERMITS) - common for i in new} | {i: _actions(units[i], FORBIDS) - common for i in old}
    found = []
    for a, row in zip(new, similarity):
        for b, score in zip(old, row):
            shared = words[a] & words[b]
            if score >= min_similarity and len(shared) >= min_shared:
                found.append(Conflict(units[a].id, units[b].id, round(float(score), 3), tuple(sorted(shared))))
    return sorted(found, key=lambda c: -c.similarity)


def describe(conflict: dict) -> str:
    """One flagged pair, as the build metadata keeps it, in words (what `add` prints)."""
    return (f"{conflict['new']} permits what {conflict['existing']} forbids (similarity "
            f"{conflict['similarity']:.2f}, shared words: {'、'.join(conflict['shared'])})")


def as_meta(conflicts: list[Conflict]) -> list[dict]:
    return [asdict(c) | {"shared": list(c.shared)} for c in conflicts]
