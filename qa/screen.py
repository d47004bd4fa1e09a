"""Check a draft (a client message, a post, an invitation, a flyer) against the policies, sentence by sentence.

Each sentence is retrieved like a question ("may I write this?"), with the same retriever and the
same policy-language patterns as answers (qa/language.py). Among its best units, only those that
forbid something or set a condition can be breached; a small logistic model over how well the
sentence matches such a rule (dense similarity, the fused retrieval score, the share of the
sentence's telling words the ruling clause uses, whether the sentence itself negates) decides
whether it is flagged. It is fitted by `python -m eval.fit_screen` on the dev drafts only; its
features are read off the live index, so it carries to documents added later.

A flagged sentence is a `breach` when the rule forbids outright, a `risk` when the rule permits only
on a condition (经…批准后方可, 未经…不得) that the draft cannot show is met. The advice quotes or
names the article's own words, never a rule of its own.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field

from indexer.parse import Unit
from indexer.tokenize import tokens
from qa.intent import NEGATED, Intent, language_of
from qa.language import CONDITIONAL, ONLY_AFTER, PROHIBITION, UNLESS, forbids
from qa.retrieve import Hit, Retrieval
from qa.verdict import condition, key_clause

LABELS = ("ok", "risk", "breach")  # worst last
MAX_DRAFT_CHARS = 20_000  # a long flyer is a few thousand characters; more is not a draft
MAX_SENTENCES = 200
CANDIDATES = 5  # units per sentence considered as the rule it may breach
MAX_CITED = 2

# A sentence ends after 。！？!? or ……, after a full stop that ends an English sentence, and at a line
# break; closing quotes and brackets stay with their sentence.
_END = r"(?:[。！？!?]+|…{1,2}|\.(?=\s|$))[”’」』）)\"']*"
SENTENCE = re.compile(rf"[^\n]*?(?:{_END}|(?=\n)|$)")


# A full stop that ends an abbreviation or an initial (Mr. Li, Dr., U.S., e.g.), not a sentence.
ABBREVIATION = re.compile(r"(?:^|[\s(])(?:[A-Z][a-z]{0,3}|[A-Za-z](?:\.[A-Za-z])+|etc|vs|approx|no)\.$")


def split_sentences(draft: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in the draft, in order, verbatim (surrounding spaces left out)."""
    spans: list[tuple[int, int]] = []
    glued = False  # the previous span ended in an abbreviation: this one continues it
    for m in SENTENCE.finditer(draft):
        text = m.group(0)
        if not text.strip():
            continue
        start = m.start() + len(text) - len(text.lstrip())
        end = m.start() + len(text.rstrip())
        if glued and spans and "\n" not in draft[spans[-1][1]:start]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        glued = bool(ABBREVIATION.search(draft[spans[-1][0]:end]))
    return spans


def substantive(sentence: str) -> bool:
    """Something a rule could be about: at least two Chinese characters or two words (not "——", "Hi!")."""
    han = len(re.findall(r"[\u4e00-\u9fff]", sentence))
    words = len(re.findall(r"[A-Za-z]{2,}", sentence))
    return han >= 2 or words >= 2


def rule_clause(unit: Unit, sentence: str) -> str:
    """The unit's clause that forbids or conditions what the sentence does, verbatim ('' if it rules nothing).
    An item of a list takes its rule from the lead-in ("不得有下列行为：") when it has no modal word itself."""
    clause = key_clause(unit.text, sentence, PROHIBITION)
    if forbids(clause):
        return clause
    if any(forbids(h) for h in unit.path[1:]):
        return clause
    return ""


def conditional(clause: str) -> bool:
    """The rule permits on a condition (approval first) rather than forbidding outright."""
    return bool(UNLESS.search(clause) or ONLY_AFTER.search(clause) or CONDITIONAL.search(clause))


def _words(text: str) -> set[str]:
    return {t for t in tokens(text) if len(t) >= 2}


@dataclass(frozen=True)
class ScreenModel:
    """The fitted model (values printed by eval/fit_screen.py) and the flagging threshold."""

    mean: tuple[float, ...] = (0.0,) * 7
    scale: tuple[float, ...] = (1.0,) * 7
    weights: tuple[float, ...] = (1.0, 0.5, 0.3, 1.0, -0.5, 0.0, -0.3)
    bias: float = -1.0
    threshold: float = 0.5

    def probability(self, values: list[float]) -> float:
        z = self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, values, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def features(retrieval: Retrieval, hit: Hit, rank: int, clause: str, terms: set[str]) -> list[float]:
    """How well one sentence matches one rule: e5 and USE similarity to the unit, its fused score,
    the share of the sentence's telling words the ruling clause (or its headings) uses, its rank,
    English (cross-lingual similarity runs lower), and whether the sentence itself negates."""
    uid = hit.unit.id
    dense = {name: retrieval.scores.get(name, {}).get(uid, 0.0) for name in ("e5", "use")}
    used = terms & _words(clause + " " + " ".join(hit.unit.context(1)))
    share = len(used) / len(terms) if terms else 0.0
    return [dense["e5"], dense["use"], hit.score, share, float(rank),
            float(retrieval.intent.language == "en"), float(bool(NEGATED.search(retrieval.question)))]


@dataclass
class Flag:
    """The rule one sentence may breach: the unit, its ruling clause, and the model's probability."""

    hit: Hit
    clause: str
    probability: float
    features: list[float] = field(default_factory=list)


@dataclass
class ScreenedSentence:
    text: str
    start: int
    end: int
    label: str
    trigger: list[str]
    citations: list  # qa.answer.Citation
    advice: str
    probability: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Screen:
    draft: str
    language: str
    sentences: list[ScreenedSentence]
    latency_ms: float = 0.0
    id: str = ""  # set when the screen is recorded in the audit trail

    @property
    def worst(self) -> str:
        return max((s.label for s in self.sentences), key=LABELS.index, default="ok")

    def summary(self) -> dict:
        flagged = [s for s in self.sentences if s.label != "ok"]
        return {"sentences": len(self.sentences), "flagged": len(flagged),
                "breach": sum(s.label == "breach" for s in flagged), "risk": sum(s.label == "risk" for s in flagged),
                "worst": self.worst, "language": self.language, "latency_ms": self.latency_ms, "id": self.id}

    def to_dict(self) -> dict:
        return {"summary": self.summary(),
                "sentences": [{"text": s.text, "label": s.label, "trigger": s.trigger,
                               "citations": [asdict(c) for c in s.citations], "advice": s.advice}
                              for s in self.sentences]}

    def to_markdown(self) -> str:
        """The report a supervisor attaches to an approval: summary, then each sentence and its finding."""
        zh = self.language == "zh"
        s = self.summary()
        name = {"ok": ("通过", "clean"), "risk": ("有风险", "risk"), "breach": ("违规", "breach")}
        lines = [("# 文稿检查报告" if zh else "# Draft screening report"), ""]
        lines.append(f"{'句数' if zh else 'Sentences'}: {s['sentences']} · {'标记' if zh else 'flagged'}: {s['flagged']}"
                     f" · {'结论' if zh else 'worst'}: {name[s['worst']][0 if zh else 1]}")
        if self.id:
            lines.append(f"{'审计编号' if zh else 'Audit id'}: {self.id}")
        lines.append("")
        for n, sent in enumerate(self.sentences, 1):
            mark = name[sent.label][0 if zh else 1]
            lines.append(f"{n}. [{mark}] {sent.text}")
            if sent.label != "ok":
                if sent.trigger:
                    lines.append(f"   - {'触发词' if zh else 'Trigger'}: {'、'.join(sent.trigger) if zh else ', '.join(sent.trigger)}")
                for c in sent.citations:
                    lines.append(f"   - {c.doc_title} · {c.label}: 「{c.quote or c.text}」")
                if sent.advice:
                    lines.append(f"   - {'建议' if zh else 'Advice'}: {sent.advice}")
        return "\n".join(lines) + "\n"


class ScreenError(ValueError):
    """The draft cannot be screened as given (empty, too long)."""


class Screener:
    """Screens drafts with an Assistant's retriever (the same index, models and policy language as answers)."""

    def __init__(self, assistant, model: ScreenModel | None = None) -> None:
        self.assistant = assistant
        self.model = model or ScreenModel()

    def check(self, draft: str) -> str:
        from qa.answer import clean

        text = clean(draft.replace("\r\n", "\n").replace("\r", "\n")) if draft else ""
        if not text:
            raise ScreenError("请粘贴要检查的文稿。 / The draft is empty.")
        if len(text) > MAX_DRAFT_CHARS:
            raise ScreenError(f"文稿太长（{len(text)} 字），请控制在 {MAX_DRAFT_CHARS} 字以内，或分段检查。"
                              f" / The draft is too long ({len(text)} characters; limit {MAX_DRAFT_CHARS}).")
        return text

    def candidates(self, draft: str) -> tuple[str, list[tuple[int, int]], list[Retrieval | None]]:
        """The draft checked and split, and each substantive sentence retrieved (its vectors embedded in one batch)."""
        text = self.check(draft)
        spans = split_sentences(text)
        if len(spans) > MAX_SENTENCES:
            raise ScreenError(f"文稿句子太多（{len(spans)} 句，上限 {MAX_SENTENCES}），请分段检查。"
                              f" / Too many sentences ({len(spans)}; limit {MAX_SENTENCES}).")
        retriever = self.assistant.retriever
        wanted = [i for i, (a, b) in enumerate(spans) if substantive(text[a:b])]
        vectors = retriever.embed([text[spans[i][0]:spans[i][1]] for i in wanted]) if wanted else {}
        retrievals: list[Retrieval | None] = [None] * len(spans)
        for row, i in enumerate(wanted):
            sentence = text[spans[i][0]:spans[i][1]]
            # read as "may I write this?": the retriever prefers units that state a rule
            intent = Intent(language_of(sentence), "permission", False)
            retrievals[i] = retriever.retrieve(sentence, k=CANDIDATES, intent=intent,
                                               vectors={name: v[row] for name, v in vectors.items()})
        return text, spans, retrievals

    def flags(self, retrieval: Retrieval) -> list[Flag]:
        """The rules among a sentence's candidates, most probably breached first."""
        terms = self.assistant.telling_terms(retrieval.question)
        out = []
        for rank, hit in enumerate(retrieval.hits):
            clause = rule_clause(hit.unit, retrieval.question)
            if not clause:
                continue
            values = features(retrieval, hit, rank, clause, terms)
            out.append(Flag(hit, clause, self.model.probability(values), values))
        return sorted(out, key=lambda f: -f.probability)

    def screen(self, draft: str) -> Screen:
        started = time.perf_counter()
        text, spans, retrievals = self.candidates(draft)
        language = language_of(text)
        sentences = []
        for (a, b), retrieval in zip(spans, retrievals):
            sentence = text[a:b]
            flags = self.flags(retrieval) if retrieval else []
            flagged = [f for f in flags if f.probability >= self.model.threshold][:MAX_CITED]
            sentences.append(self._finding(sentence, a, b, flagged, flags[0].probability if flags else 0.0))
        return Screen(text, language, sentences, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    def _finding(self, sentence: str, start: int, end: int, flagged: list[Flag], probability: float) -> ScreenedSentence:
        from qa.answer import Citation

        if not flagged:
            return ScreenedSentence(sentence, start, end, "ok", [], [], "", round(probability, 3))
        top = flagged[0]
        label = "risk" if conditional(top.clause) else "breach"
        citations = [Citation(f.hit.unit.id, f.hit.unit.doc_id, f.hit.unit.doc_title, f.hit.unit.label,
                              " > ".join(f.hit.unit.path), f.hit.unit.text, round(f.hit.score, 4), f.clause)
                     for f in flagged]
        return ScreenedSentence(sentence, start, end, label, trigger(sentence, top.clause, top.hit.unit),
                                citations, advice(label, top, language_of(sentence)), round(top.probability, 3))


def trigger(sentence: str, clause: str, unit: Unit) -> list[str]:
    """The sentence's own words that the rule is about: those the ruling clause (or its headings) uses,
    directly or through the policies' words for them; verbatim from the sentence."""
    from qa.intent import expand

    rule = _words(clause + " " + " ".join(unit.context(1)))
    found = []
    for word in dict.fromkeys(t for t in tokens(sentence) if len(t) >= 2):
        extra, _ = expand(word)
        if (word in rule or rule & {w for e in extra for w in tokens(e)}) and word.lower() in sentence.lower():
            found.append(word)
    return found


def advice(label: str, flag: Flag, language: str) -> str:
    """What the article itself says would make the sentence acceptable, or that it must go; quoted, not invented."""
    unit, clause = flag.hit.unit, flag.clause
    cond = condition(clause)
    where = f"{unit.doc_title}{unit.label}"
    if language == "zh":
        if label == "risk":
            return f"须先经{cond}后方可发出（{where}）。" if cond else f"{where}规定：「{clause}」，请确认条件已满足后再发出。"
        return f"删去或改写这句话：{where}规定「{clause}」。"
    if label == "risk":
        return (f"Send only once approved ({cond}; {unit.doc_title} {unit.label})." if cond else
                f"{unit.doc_title} {unit.label} sets a condition: 「{clause}」. Check it is met before sending.")
    return f"Remove or rewrite this sentence: {unit.doc_title} {unit.label} says 「{clause}」."
