"""Per-question outcomes and the metrics over a group of them. ID-based: no language model judges."""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from indexer.tokenize import to_simplified
from qa.verdict import VERDICTS

# The core issue's floors: at least these (false refusal: at most).
FLOORS = {"top1": 0.90, "top3": 0.97, "verdict": 0.90, "oos_refusal": 0.90}
MAX_FALSE_REFUSAL = 0.05


@dataclass
class Outcome:
    """One gold question and what the answerer did with it."""

    id: str
    question: str
    lang: str
    doc: str
    split: str
    set: str
    tags: list[str]
    gold: list[str]
    accept: list[str]
    gold_verdict: str
    verdict: str | None  # None: the answerer gives no verdict (the baseline)
    cited: list[str]  # units the answer rests on
    ranked: list[str]  # cited, then related: the order a reader sees them
    latency_ms: float
    grounding: list[str] = field(default_factory=list)
    confidence: float = 0.0  # the answer's own confidence (qa.answer.Answer.confidence)

    @property
    def in_scope(self) -> bool:
        return self.gold_verdict != "not_covered"

    @property
    def ok_ids(self) -> set[str]:
        return set(self.gold) | set(self.accept)

    @property
    def first(self) -> int | None:
        return next((i for i, uid in enumerate(self.ranked) if uid in self.ok_ids), None)

    @property
    def passed(self) -> bool:
        """Right first citation and right verdict (for out-of-scope questions: refused)."""
        if not self.in_scope:
            return self.verdict == "not_covered"
        return self.first == 0 and self.verdict in (None, self.gold_verdict) and not self.grounding

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed, "first": self.first}


def tags_of(row: dict) -> list[str]:
    """The row's own tags plus those that can be read off it (English, traditional characters, two articles)."""
    tags = list(row.get("tags", []))
    if row["lang"] == "en":
        tags.append("english")
    if to_simplified(row["question"]) != row["question"]:
        tags.append("traditional")
    if len(row.get("gold", [])) >= 2 and "evidence" not in row:
        tags.append("two_articles")
    if row["verdict"] == "not_covered":
        tags.append("out_of_scope")
    return sorted(set(tags))


def outcome(row: dict, answer, set_name: str, grounding: list[str] | None = None, verdict: bool = True) -> Outcome:
    return Outcome(
        id=row["id"], question=row["question"], lang=row["lang"], doc=row.get("doc") or "none",
        split=row.get("split", "dev"), set=set_name, tags=tags_of(row), gold=list(row["gold"]),
        accept=list(row.get("accept", [])), gold_verdict=row["verdict"],
        verdict=answer.verdict if verdict else None,
        cited=[c.id for c in answer.citations], ranked=[c.id for c in answer.citations + answer.related],
        latency_ms=answer.latency_ms, grounding=list(grounding or []),
        confidence=getattr(answer, "confidence", 0.0),
    )


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def summarize(outcomes: list[Outcome]) -> dict:
    """Every metric for one group; None where the group has nothing to measure (or no verdicts)."""
    ins = [o for o in outcomes if o.in_scope]
    oos = [o for o in outcomes if not o.in_scope]
    with_verdict = [o for o in outcomes if o.verdict is not None]
    cited = [(uid, o) for o in outcomes for uid in o.cited]
    latencies = sorted(o.latency_ms for o in outcomes)
    return {
        "questions": len(outcomes),
        "in_scope": len(ins),
        "out_of_scope": len(oos),
        "top1": _ratio(sum(o.first == 0 for o in ins), len(ins)),
        "top3": _ratio(sum(o.first is not None and o.first < 3 for o in ins), len(ins)),
        "mrr": _ratio(sum(1 / (o.first + 1) for o in ins if o.first is not None), len(ins)),
        "cited_correct": _ratio(sum(bool(set(o.cited) & o.ok_ids) for o in ins), len(ins)),
        "cite_precision": _ratio(sum(uid in o.ok_ids for uid, o in cited), len(cited)),
        "cite_recall": _ratio(sum(len(set(o.gold) & set(o.cited)) for o in ins), sum(len(o.gold) for o in ins)),
        "verdict": _ratio(sum(o.verdict == o.gold_verdict for o in with_verdict), len(with_verdict)) if with_verdict else None,
        "oos_refusal": _ratio(sum(o.verdict == "not_covered" for o in oos), len(oos)) if with_verdict else None,
        "false_refusal": _ratio(sum(o.verdict == "not_covered" for o in ins), len(ins)) if with_verdict else None,
        # what hurts users: a 可以/Yes that the policies do not give, and a prohibition not reported
        "unsafe_yes": _ratio(sum(o.verdict == "allowed" and o.gold_verdict != "allowed" for o in with_verdict),
                             len(with_verdict)) if with_verdict else None,
        "missed_prohibition": _ratio(sum(o.verdict != "prohibited" for o in with_verdict if o.gold_verdict == "prohibited"),
                                     sum(o.gold_verdict == "prohibited" for o in with_verdict)) if with_verdict else None,
        "grounding_failures": sum(len(o.grounding) for o in outcomes),
        "passed": _ratio(sum(o.passed for o in outcomes), len(outcomes)),
        "latency_median_ms": statistics.median(latencies) if latencies else None,
        "latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
    }


def risk_coverage(outcomes: list[Outcome], withheld: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)) -> list[dict]:
    """Accuracy (right first unit and verdict; refused when out of scope) and unsafe 可以/Yes among the
    answers kept when the least confident share is withheld: what a "not sure" threshold would buy."""
    ranked = sorted(outcomes, key=lambda o: -o.confidence)
    out = []
    for share in withheld:
        kept = ranked[: len(ranked) - int(round(share * len(ranked)))]
        out.append({"withheld": share, "kept": len(kept),
                    "accuracy": _ratio(sum(o.passed for o in kept), len(kept)),
                    "unsafe_yes": _ratio(sum(o.verdict == "allowed" and o.gold_verdict != "allowed" for o in kept),
                                         len(kept))})
    return out


def groups(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """all, and per split, set, language, document, gold verdict and tag."""
    out: dict[str, list[Outcome]] = {"all": list(outcomes)}
    for o in outcomes:
        keys = [f"split:{o.split}", f"set:{o.set}", f"lang:{o.lang}", f"doc:{o.doc}", f"verdict:{o.gold_verdict}"]
        keys += [f"tag:{t}" for t in o.tags]
        for key in keys:
            out.setdefault(key, []).append(o)
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "all", kv[0])))


def confusion(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Gold verdict (rows) against the answer's verdict (columns)."""
    matrix = {g: {v: 0 for v in VERDICTS} for g in VERDICTS}
    for o in outcomes:
        if o.verdict is not None:
            matrix[o.gold_verdict][o.verdict] += 1
    return matrix


def failed_floors(metrics: dict) -> list[str]:
    failed = [f"{k} {metrics[k]:.3f} < {v}" for k, v in FLOORS.items() if metrics[k] is not None and metrics[k] < v]
    if metrics["false_refusal"] is not None and metrics["false_refusal"] > MAX_FALSE_REFUSAL:
        failed.append(f"false_refusal {metrics['false_refusal']:.3f} > {MAX_FALSE_REFUSAL}")
    return failed
