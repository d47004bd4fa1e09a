"""The conclusion for an English question: the framing in English, the article's own words beside it
in Chinese. A rule is never translated, so what the policy says is always the article's quote.

qa/verdict.conclusion frames an English answer with the Chinese condition or heading bare inside it
("No — not without approval (公司批准).", "Required (客服部 职责): …"); here they are quoted and
said to be the article's words. The ruling clause of a duty or a reference answer stays the text after
the first ": ", unquoted, so the groundedness check (eval/grounding.py) still finds it in the unit.
"""
from __future__ import annotations

from indexer.parse import Unit
from qa.language import DUTY, PROHIBITION
from qa.verdict import condition, key_clause, topic

OWN_WORDS = "in the article's words"


def quoted(words: str) -> str:
    """The article's own words inside an English sentence."""
    return f"“{words}”"


def conclusion(verdict: str, unit: Unit | None, question: str) -> str:
    """What qa/verdict.conclusion says for an English question, as English."""
    text = unit.text if unit else ""
    if verdict == "not_covered":
        return "The policies do not cover this question."
    if verdict == "prohibited":
        cond = condition(key_clause(text, question, PROHIBITION))
        return f"No — not without approval ({quoted(cond)}, {OWN_WORDS})." if cond else "No."
    if verdict == "allowed":
        return "Yes."
    clause = key_clause(text, question, DUTY if verdict == "required" else None)
    where = topic(unit) if unit is not None and unit.kind != "article" else ""
    under = f", under {quoted(where)}" if where else ""
    lead = "Required" if verdict == "required" else "For reference"
    return f"{lead}{under} — {OWN_WORDS}: {clause}"


def exception(verdict: str, text: str, unit: Unit, question: str) -> str:
    """qa/verdict.exception's English text with the article's condition quoted. Only its approval
    case (allowed) names the condition; its other replies are English throughout already."""
    if verdict != "allowed":
        return text
    cond = condition(key_clause(unit.text, question, PROHIBITION))
    return (f"Yes, once approved ({quoted(cond)}, {OWN_WORDS}): "
            "the article only forbids it without that approval.")
