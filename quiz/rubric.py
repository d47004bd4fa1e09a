"""What makes a quiz item worth keeping, checked by code (the rubric in quiz/README.md).

``problems(item, units)`` re-reads the corpus text and lists what is wrong with an item; an empty
list means the item is keepable. ``absurd_flip(item, units)`` says whether a true/false item is a
statement turned into its opposite that nobody would believe. Neither looks at how the item was
built (its ``kind``): both compare the item with the article text.

The modality and condition patterns are qa/language.py's (one place for the policies' language);
this module only adds what a quiz needs on top of them.
"""
from __future__ import annotations

import difflib
import re
import statistics
from collections.abc import Iterable

from indexer.parse import Unit, without_marker
from qa.language import (
    CLAUSE_BODY,
    CONDITIONAL,
    DUTY,
    ONLY_AFTER,
    PERMISSION,
    PROHIBITION,
    STATES_NUMBER,
    UNLESS,
)

# Longest explanation: "依据《title》label：" and the ruling clause(s), never the whole unit.
MAX_EXPLANATION = 200
# A document whose median unit is longer than this is prose (an essay, an article), not a list of
# rules: the policy documents' articles are one to three sentences (median 20–90 characters), the
# essay's paragraphs several hundred.
ESSAY_MEDIAN_CHARS = 200
# A unit where fewer than half the sentences carry a modality or a condition describes, it does not rule.
NORMATIVE_SHARE = 0.5

PUNCT = re.compile(r"[\s,，。；;：:、!！?？“”\"'（）()《》]")
# Words that contain a duty character without being a duty (重要 is not 要, 需求 is not 需).
NOT_MODAL = re.compile(r"重要|主要|要点|要素|纲要|摘要|需求|应用|相应|适应|响应|对应|供应|反应|效应")
# A role's power (有…的审核权) is a rule about that role, as much as a duty is.
POWER = re.compile(r"^有[^，,。；;]{1,20}权")
# The words a true/false flip changes, and what they may become.
MODAL_WORD = re.compile(r"不得|严禁|禁止|不准|可以|必须|应当|无需|有权|无权|需")


def norm(text: str) -> str:
    return PUNCT.sub("", text)


def modal(text: str) -> bool:
    """The text forbids, permits or requires (qa/language.py's broad patterns), or grants a power."""
    text = NOT_MODAL.sub("", text)
    return bool(PROHIBITION.search(text) or PERMISSION.search(text) or DUTY.search(text) or POWER.search(text))


def condition(text: str) -> re.Match[str] | None:
    """An approval or other condition the rule depends on (未经…批准, 经…批准后方可, …后方可)."""
    found = [m for p in (UNLESS, ONLY_AFTER, CONDITIONAL) if (m := p.search(text))]
    return min(found, key=lambda m: m.start()) if found else None


def number(text: str) -> re.Match[str] | None:
    return STATES_NUMBER.search(text)


def rule_clause(text: str) -> bool:
    """A clause a staff member could get wrong: it carries a modality, a number or a condition."""
    return modal(text) or bool(number(text)) or bool(condition(text))


def sentences(unit: Unit) -> list[str]:
    return [s for s in CLAUSE_BODY.findall(without_marker(unit.text)) if len(s.strip(" ,，")) >= 8]


def duty_list(unit: Unit) -> bool:
    """A unit listed under a role's 职责 / 权力 heading states that role's duty or power by its place."""
    return bool(re.search(r"职责|权力", " ".join(unit.path)))


def essay_document(doc_units: list[Unit]) -> bool:
    lengths = [len(u.text) for u in doc_units if not u.stub]
    return bool(lengths) and statistics.median(lengths) > ESSAY_MEDIAN_CHARS


def descriptive_unit(unit: Unit) -> bool:
    """Running description: most of its sentences neither rule nor set a condition."""
    said = sentences(unit)
    if not said:
        return True
    ruling = sum(1 for s in said if modal(s) or condition(s))
    return ruling / len(said) < NORMATIVE_SHARE


class Corpus:
    """The units, with which documents are prose and which units describe rather than rule."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self.units = list(units)
        self.by_id = {u.id: u for u in self.units}
        docs: dict[str, list[Unit]] = {}
        for u in self.units:
            docs.setdefault(u.doc_id, []).append(u)
        self.essays = {d for d, us in docs.items() if essay_document(us)}
        self.doc_text = {d: norm("".join(u.text for u in us)) for d, us in docs.items()}

    def source(self, unit: Unit) -> bool:
        """May a quiz item rest on this unit? Not the essay, not a descriptive passage, not an intro."""
        return (not unit.stub and unit.kind != "intro" and unit.doc_id not in self.essays
                and (duty_list(unit) or not descriptive_unit(unit)))


def modal_change(original: str, statement: str) -> list[tuple[int, str, str]] | None:
    """Where ``statement`` is ``original`` with modal words changed: [(position, old, new)], else None."""
    ops = [op for op in difflib.SequenceMatcher(None, original, statement, autojunk=False).get_opcodes()
           if op[0] != "equal"]
    if not ops:
        return None
    changes = []
    for _, i1, i2, j1, j2 in ops:
        # the change touches a modal word of the original and puts at most a short word in its place
        word = next((m for m in MODAL_WORD.finditer(original) if m.start() <= i1 and i2 <= m.end()
                     or (i1 < m.end() and m.start() < i2)), None)
        if word is None or j2 - j1 > 3:
            return None
        changes.append((word.start(), word.group(), statement[j1:j2]))
    return changes


def governed(clause: str, position: int) -> bool:
    """Does a condition or a number govern the modal word at ``position``? It must come before the
    word and open the rule: no modal word before it (in 不得开展未经公司许可的业务,并不得擅自销售…
    the 未经 belongs to the first prohibition's object, it does not qualify the second)."""
    before = clause[:position]
    found = [m for m in (condition(before), number(before)) if m]
    return any(not MODAL_WORD.search(NOT_MODAL.sub("", before[:m.start()])) for m in found)


def flip_of(item, ruling: str) -> list[tuple[int, str, str]] | None:
    """The modal changes that turn the ruling clause into this (false) true/false statement."""
    statement = re.sub(r"^(判断正误：|True or false\? The policy says: “)", "", item.stem).rstrip("”")
    if norm(statement) == norm(ruling):
        return None
    return modal_change(ruling, statement)


def absurd_flip(item, units: Iterable[Unit] | Corpus) -> bool:
    """A false statement made by changing the modality of a clause whose rule no condition or number
    qualifies (严禁高音扰民 → 可以高音扰民), or by changing more than one modal word at once."""
    if item.type != "tf":
        return False
    corpus = units if isinstance(units, Corpus) else Corpus(units)
    unit = corpus.by_id.get(item.source.unit_id)
    candidates = list(getattr(item, "ruling", None) or [])
    if unit is not None:  # the ruling clause as recorded, else any clause of the source
        candidates += [c.strip(" ,，") for c in CLAUSE_BODY.findall(without_marker(unit.text))]
    changes = None
    for ruling in candidates:
        changes = flip_of(item, ruling)
        if changes:
            break
    if not changes:
        return False
    return len(changes) > 1 or not governed(ruling, changes[0][0])


def problems(item, units: Iterable[Unit] | Corpus) -> list[str]:
    """Why the item is not keepable (empty: it is). See quiz/README.md for the rubric."""
    corpus = units if isinstance(units, Corpus) else Corpus(units)
    out = []
    sources = item.sources or [item.source]
    unit_list = [corpus.by_id.get(s.unit_id) for s in sources]
    if any(u is None for u in unit_list):
        return ["source: unit not in the index"]
    # 1. sources: rules, not the essay nor descriptive text
    for u in unit_list:
        if not corpus.source(u):
            out.append(f"source: {u.doc_id} {u.label} is descriptive text, not a rule")
    # 2. one document
    if len({u.doc_id for u in unit_list}) > 1:
        out.append("documents: the item's sources come from more than one document")
    doc = unit_list[0].doc_id
    # 3. the ruling clause: one per source, verbatim in it, and a rule (modality, number or condition)
    ruling = item.ruling or []
    if len(ruling) != len(unit_list):
        out.append("ruling: not one ruling clause per source")
    for clause, u in zip(ruling, unit_list):
        if norm(clause) not in norm(u.text):
            out.append(f"ruling: “{clause[:20]}…” is not in {u.label}")
        elif not (rule_clause(clause) or duty_list(u)):
            out.append(f"ruling: “{clause[:20]}…” has no modality, number or condition")
    # 4. options from the same document (numbers made up for a quantity item excepted)
    if item.type in ("choice", "multi") and item.kind != "quantity":
        for option in item.options:
            if norm(option) not in corpus.doc_text[doc]:
                out.append(f"options: “{option[:20]}…” is not from {doc}")
    if item.type == "tf" and item.kind == "duty":
        quoted = re.search(r"“(.+)”", item.stem.split("includes")[-1], re.DOTALL)
        if quoted and norm(quoted.group(1)) not in corpus.doc_text[doc]:
            out.append(f"options: the duty in the statement is not from {doc}")
    # 4b. a blank whose answer stands elsewhere in the stem is given away
    if item.type == "cloze" and any(a and a in item.stem for a in item.answer):
        out.append("cloze: the answer already stands in the stem")
    # 5. a flipped statement stays plausible
    if absurd_flip(item, corpus):
        out.append("flip: the opposite of an unconditional rule (nobody would believe it)")
    # 6. explanation: short, the ruling clause(s) verbatim, not the whole unit
    if len(item.explanation) > MAX_EXPLANATION:
        out.append(f"explanation: {len(item.explanation)} characters (at most {MAX_EXPLANATION})")
    for clause, u in zip(ruling, unit_list):
        if clause not in item.explanation:
            out.append("explanation: does not quote the ruling clause verbatim")
        if len(norm(without_marker(u.text))) > len(norm(clause)) + 5 and without_marker(u.text) in item.explanation:
            out.append("explanation: pastes the whole unit")
    return out
