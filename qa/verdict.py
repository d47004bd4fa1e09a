"""From the question's intent and the cited article's own words to a verdict and a one-line conclusion.

The conclusion never states a rule of its own: it says yes/no/required and quotes (or names) the
condition the article itself sets, e.g. 未经公司允许，不得… → 不可以，除非经公司允许.
"""
from __future__ import annotations

import functools
import re

from indexer.parse import Unit, without_marker
from indexer.tokenize import tokens
from qa.followup import asks_amount, asks_approval
from qa.intent import Intent
from qa.language import CLAUSE, DUTY, ONLY_AFTER, PERMISSION, PROHIBITION, STATES_AMOUNT, UNLESS, forbids

VERDICTS = ("allowed", "prohibited", "required", "info", "not_covered")
# the verdicts in words, wherever a person reads them (问答's badge, 审计's table, filters and reviews)
VERDICT_ZH = {"allowed": "可以", "prohibited": "不可以", "required": "必须", "info": "参考", "not_covered": "未涵盖"}


@functools.lru_cache(maxsize=65536)
def _token_set(clause: str) -> frozenset[str]:
    """A clause's tokens; clauses are the indexed units' own, so the same few thousand recur every question."""
    return frozenset(tokens(clause))


def key_clause(text: str, question: str, pattern: re.Pattern[str] | None = None) -> str:
    """The clause of the unit that best matches the question (and the wanted modality), verbatim."""
    body = without_marker(text)
    clauses = [c.strip() for c in CLAUSE.findall(body) if len(c.strip()) > 1]
    if not clauses:
        return text.strip()
    wanted = set(tokens(question))

    def score(clause: str) -> float:
        overlap = len(wanted & _token_set(clause))
        return overlap + (1.5 if pattern and pattern.search(clause) else 0.0)

    return max(clauses, key=score)


def decide(intent: Intent, text: str, question: str) -> str:
    """Verdict for a covered question, read from the top unit's modality."""
    if intent.kind == "duty":
        return "required"
    if intent.kind == "info":
        return "info"
    clause = key_clause(text, question, PROHIBITION)
    if forbids(clause):
        return "prohibited"
    if PERMISSION.search(clause):
        return "allowed"
    if DUTY.search(clause):
        # "may I skip…?" against a duty is a no; "may I do…?" against a duty to do it is not a permission
        return "prohibited" if intent.negated else "info"
    return "info"


PROHIBITION_MARGIN = 1.0  # a forbidding candidate this close to a permitting top unit decides instead
PERMIT_SHARE = 0.25  # a 可以 needs a permitting clause that uses at least this share of the question's telling words


def overlap(terms: set[str], clause: str) -> int:
    """How many of the question's content words (with their policy-word expansions) the clause uses;
    ``terms`` should hold only words that say something (not 客户, 公司: see Assistant.telling_terms)."""
    return len(terms & {t for t in tokens(clause) if len(t) >= 2})


def safe_permission(verdict: str, hits: list, terms: set[str], question: str) -> tuple[str, int]:
    """For a "may I…?" question: (verdict, index of the hit it rests on). A 可以 needs a permitting
    clause about the asked action; a prohibition about the same action among the close candidates
    wins over a permission, and over a top unit that rules nothing."""
    if verdict not in ("allowed", "info") or not hits:
        return verdict, 0
    top = hits[0]
    own = overlap(terms, key_clause(top.unit.text, question, PERMISSION)) if verdict == "allowed" else 0
    for n, hit in enumerate(hits[1:3], start=1):
        if top.score - hit.score > PROHIBITION_MARGIN:
            break
        clause = key_clause(hit.unit.text, question, PROHIBITION)
        if forbids(clause) and overlap(terms, clause) >= max(own, 1):
            return "prohibited", n
    if verdict == "allowed" and own < PERMIT_SHARE * len(terms):
        return "info", 0  # the permission is about something else, or only part of what is asked
    return verdict, 0


def modality_disagrees(verdict: str, quotes: list[str]) -> str:
    """Why a verdict does not follow from the clauses quoted for it, or '' when it does: a 可以 must
    quote a permission and no prohibition or condition; a 不可以 a prohibition, a condition or a duty;
    a 必须 a duty or a prohibition. (The language-model answerer's replies are checked with this.)"""
    forbidding = any(forbids(q) for q in quotes)
    if verdict == "allowed":
        if forbidding:
            return "the verdict allowed quotes a prohibition or a condition"
        if not any(PERMISSION.search(q) for q in quotes):
            return "the verdict allowed quotes no permission"
    if verdict == "prohibited" and not (forbidding or any(DUTY.search(q) for q in quotes)):
        return "the verdict prohibited quotes no prohibition, condition or duty"
    if verdict == "required" and not (forbidding or any(DUTY.search(q) for q in quotes)):
        return "the verdict required quotes no duty"
    return ""


def condition(text: str) -> str:
    m = UNLESS.search(text)
    if m:
        return f"{m.group(1)}{m.group(2)}"
    m = ONLY_AFTER.search(text)
    if m:
        return f"{m.group(1)}{m.group(2)}"
    return ""


def topic(unit: Unit) -> str:
    """The headings that say whose rule or duty this is (客服部 职责, 客户开发主管岗位职责), verbatim."""
    headings = [h for h in unit.context() if h != unit.path[0]]  # the document's own title says nothing
    return " ".join(without_marker(h).rstrip(":：―").strip() for h in headings)


UNSURE_ZH = "不能确定，可能涉及以下条款，请以条文为准或咨询合规部。"
UNSURE_EN = "Not sure — these articles may apply; read them, or ask Compliance."


def hedged(text: str, language: str) -> str:
    """A low-confidence answer says so first."""
    return (UNSURE_ZH if language == "zh" else UNSURE_EN) + " " + text


def conclusion(verdict: str, intent: Intent, unit: Unit | None, question: str) -> str:
    zh = intent.language == "zh"
    text = unit.text if unit else ""
    if verdict == "not_covered":
        return "现有制度没有涉及这个问题，无法给出依据。" if zh else "The policies do not cover this question."
    if verdict == "prohibited":
        cond = condition(key_clause(text, question, PROHIBITION))
        if zh:
            return f"不可以，除非经{cond}。" if cond else "不可以。"
        return f"No — not without approval ({cond})." if cond else "No."
    if verdict == "allowed":
        return "可以。" if zh else "Yes."
    clause = key_clause(text, question, DUTY if verdict == "required" else None)
    where = topic(unit) if unit.kind != "article" else ""
    lead = (f"（{where}）" if zh else f" ({where})") if where else ""
    if verdict == "required":
        return f"必须{lead}：{clause}" if zh else f"Required{lead}: {clause}"
    return f"依据规定{lead}：{clause}" if zh else f"Per the policy{lead}: {clause}"




def exception(verdict: str, intent: Intent, unit: Unit, question: str, followup: str) -> tuple[str, str] | None:
    """A follow-up asking for an exception to a prohibition ("那如果经过公司批准呢？", "What about gifts
    under 100 yuan?") gets what the article itself says about exceptions, and nothing more."""
    if verdict != "prohibited":
        return None
    zh = intent.language == "zh"
    cond = condition(key_clause(unit.text, question, PROHIBITION))
    if asks_approval(followup):
        if cond:
            return "allowed", (f"可以，但须先经{cond}：该条只禁止未经{cond}的做法。" if zh else
                               f"Yes, once approved ({cond}): the article only forbids it without that approval.")
        return "prohibited", "不可以。该条没有“经批准即可”的例外。" if zh else "No. The article makes no exception for approval."
    if asks_amount(followup) and not STATES_AMOUNT.search(unit.text):
        return "prohibited", "不可以。该条没有按金额设例外。" if zh else "No. The article makes no exception by amount."
    return None
