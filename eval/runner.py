"""Run the question sets through the answer function the UI, API and CLI use, and report the metrics.

    python app.py eval [--set FILE ...] [--split dev|added|sealed|external|all] [--json] [--verbose] [--no-drafts]
                       [--no-vocabulary] [--no-loo] [--report DIR [--previous DIR] [--ablation]] [--record]

Three splits (eval/README.md):
- dev: eval/gold.jsonl and eval/variants.jsonl, the questions the method may be tuned on;
- sealed: realistic questions on the five documents, written blind and sealed (eval/sealed.json);
- external: sealed questions on six public regulations, asked of an index of the five documents plus
  those six, each added through `python app.py add` (eval/external.py).
Sealed splits are reported in aggregate only: --verbose lists misses of the dev split alone.

A question is right first when its first citation is one of its gold units. Dev rows name gold unit
ids; sealed rows quote `evidence` (verbatim spans of the document), resolved here to the units of the
live index whose text contains a span (or lies within one), so they survive any change of parsing.

Exit status: 0 when every core floor holds and every answer is grounded; 1 otherwise; 2 for a bad set.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from config import get_settings
from eval.grounding import failures
from eval.metrics import (
    Outcome,
    failed_floors,
    groups,
    outcome,
    risk_coverage,
    summarize,
)
from qa.verdict import VERDICTS

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_SET = EVAL_DIR / "gold.jsonl"
SETS_FILE = EVAL_DIR / "sets.json"
SEALED_FILE = EVAL_DIR / "sealed.json"
EXPECTED = EVAL_DIR / "expected.json"
REQUIRED = ("id", "question", "lang", "verdict", "why")
SPLITS = ("dev", "added", "sealed", "external")
OPEN_SPLITS = ("dev", "added")  # misses may be read one by one


@dataclass(frozen=True)
class EvalSet:
    name: str
    path: Path
    split: str
    corpus: str  # "five": the product's corpus; "external": the five documents + six regulations
    sha256: str = ""  # sealed sets only


def all_sets() -> list[EvalSet]:
    dev = json.loads(SETS_FILE.read_text(encoding="utf-8"))["sets"]
    sealed = json.loads(SEALED_FILE.read_text(encoding="utf-8"))["sets"]
    return [EvalSet(s["file"], EVAL_DIR / s["file"], s.get("split", "dev"), s.get("corpus", "five")) for s in dev] + [
        EvalSet(s["file"], EVAL_DIR / s["file"], s["split"], s["corpus"], s["sha256"]) for s in sealed]


def default_sets() -> list[tuple[str, Path]]:
    """The dev sets as (name, path)."""
    return [(s.name, s.path) for s in all_sets() if s.split == "dev"]


def dev_rows(index=None) -> list[dict]:
    """Every dev question: what fitting (weights, coverage, vocabulary) may read. With an index,
    evidence rows are resolved to its unit ids (fitting needs ids)."""
    rows = [r for _, path in default_sets() for r in load_set(path)]
    return [resolve(r, index) for r in rows] if index is not None else rows


def sealed_problems() -> list[str]:
    """Sealed files whose content no longer matches the SHA-256 recorded when they were sealed."""
    out = []
    for s in all_sets():
        if s.sha256 and hashlib.sha256(s.path.read_bytes()).hexdigest() != s.sha256:
            out.append(f"{s.name} changed after it was sealed (eval/sealed.json): replace it, don't edit it")
    return out


def load_set(path: Path) -> list[dict]:
    rows, seen = [], set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: not valid JSON ({exc})") from exc
        missing = [k for k in REQUIRED if k not in row] + ([] if "gold" in row or "evidence" in row else ["gold"])
        if missing:
            raise SystemExit(f"{path}:{n}: missing {', '.join(missing)}")
        if row["verdict"] not in VERDICTS:
            raise SystemExit(f"{path}:{n}: verdict must be one of {', '.join(VERDICTS)}")
        basis = row.get("gold", row.get("evidence"))
        if (row["verdict"] == "not_covered") != (not basis):
            raise SystemExit(f"{path}:{n}: not_covered questions, and only they, have no gold ids or evidence")
        if row["id"] in seen:
            raise SystemExit(f"{path}:{n}: duplicate id {row['id']}")
        seen.add(row["id"])
        rows.append(row)
    return rows


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).translate(str.maketrans(",;:()!?", "，；：（）！？"))


def resolve(row: dict, index) -> dict:
    """A sealed row with `gold` filled in: the units of its document whose text contains an evidence
    span, or (a short item of a longer span) lies within one. A span no unit holds stays unresolved:
    the question then cannot be answered right first, which is what a user would see."""
    if "evidence" not in row:
        return row
    spans = [_norm(e) for e in row["evidence"]]
    gold = []
    for unit in index.units:
        if unit.doc_id != row.get("doc"):
            continue
        text = _norm(unit.text)
        if any(s in text or (len(text) >= 8 and text in s) for s in spans):
            gold.append(unit.id)
    return row | {"gold": gold, "unresolved": bool(spans) and not gold}


def evaluate(ask, rows: list[tuple[str, dict]], index=None, verdicts: bool = True) -> list[Outcome]:
    """Ask every (set name, row) question; with an index, check every answer's grounding."""
    out = []
    for set_name, row in rows:
        answer = ask(row["question"])
        out.append(outcome(row, answer, set_name, failures(answer, index) if index is not None else [], verdicts))
    return out


COLUMNS = ["questions", "top1", "top3", "cited_correct", "verdict", "oos_refusal", "false_refusal", "unsafe_yes",
           "missed_prohibition", "latency_median_ms", "latency_p95_ms"]
HEADS = ["questions", "top1", "hit@3", "cited ok", "verdict", "oos refused", "false refus", "unsafe_yes",
         "missed proh", "median ms", "p95 ms"]


def print_table(summary: dict[str, dict], columns=COLUMNS, heads=HEADS) -> None:
    print(f"{'group':<26}" + "".join(f"{h[:11]:>12}" for h in heads))
    for name, m in summary.items():
        cells = "".join(f"{'—':>12}" if m.get(c) is None else f"{m[c]:>12.3f}" if isinstance(m[c], float)
                        else f"{m[c]:>12}" for c in columns)
        print(f"{name:<26}{cells}")


def print_risk_coverage(per_split: dict[str, list[Outcome]]) -> None:
    print("\nrisk–coverage: accuracy (right first unit and verdict) and unsafe_yes of the answers kept when the "
          "least confident share is withheld")
    print(f"{'split':<12}" + "".join(f"{'withhold ' + format(w, '.0%'):>22}" for w in (0, .1, .2, .3)))
    for split, outs in per_split.items():
        cells = "".join(f"{r['accuracy'] or 0:>13.3f} / {r['unsafe_yes'] or 0:.3f}" for r in risk_coverage(outs))
        print(f"{split:<12}{cells}")


def collect(chosen: list[EvalSet], assistants: dict) -> tuple[dict[str, list[tuple[str, dict]]], int, int]:
    """Per corpus, the (set name, row) questions to ask, sealed rows resolved against that corpus's
    index; with how many were left out (supervisors reviewed them) and how many quote unindexed text."""
    rows: dict[str, list[tuple[str, dict]]] = {c: [] for c in assistants}
    excluded = unresolved = 0
    for s in chosen:
        assistant = assistants[s.corpus]
        for r in load_set(s.path):
            r = resolve(r | {"split": s.split}, assistant.index)
            if assistant.memory and assistant.memory.lookup(r["question"]):
                excluded += 1  # a supervisor reviewed this very question: the eval must not count it
                continue
            unresolved += bool(r.get("unresolved"))
            rows[s.corpus].append((s.name, r))
    return rows, excluded, unresolved


def open_assistants(corpora: set[str]):
    """One Assistant per corpus the chosen sets need."""
    from qa.answer import Assistant

    settings = get_settings()
    out = {}
    if "five" in corpora:
        out["five"] = Assistant.open(settings)
    for corpus in sorted(corpora - {"five"}):
        from eval.external import prepare

        out[corpus] = Assistant.open(prepare(settings, corpus=corpus))
    return settings, out


def main(args: argparse.Namespace) -> int:
    from eval import gate

    problems = sealed_problems()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    if args.sets:
        chosen = [EvalSet(Path(p).name, Path(p), "dev", "five") for p in args.sets]
    else:
        chosen = [s for s in all_sets() if args.split in ("all", s.split)]
    if args.no_vocabulary:
        from indexer.tokenize import use_synonyms

        use_synonyms({})
    settings, assistants = open_assistants({s.corpus for s in chosen})
    rows, excluded, unresolved = collect(chosen, assistants)
    for corpus, assistant in assistants.items():
        missing = sorted({g for _, r in rows[corpus] for g in r["gold"] + r.get("accept", [])
                          if g not in assistant.index.by_id})
        if missing:
            print(f"gold ids not in the index: {missing}", file=sys.stderr)
            return 2
    ask_for = {c: a.ask for c, a in assistants.items()}
    fallbacks: list = []
    if args.answerer == "llm":
        from qa.chain import build_chain
        from qa.llm import LLMAnswerer, make_chat_model

        model = make_chat_model(settings)
        if model is None:
            print("no language model configured (LLM_BASE_URL and LLM_MODEL, or OLLAMA_HOST and LLM_MODEL)",
                  file=sys.stderr)
            return 2
        for corpus, assistant in assistants.items():
            chain = build_chain(assistant, LLMAnswerer(model, timeout=settings.llm_timeout))

            def ask(question: str, chain=chain):
                result = chain.invoke({"question": question})
                fallbacks.append(result.fallback)
                return result.answer

            ask_for[corpus] = ask

    ours = [o for c, a in assistants.items() for o in evaluate(ask_for[c], rows[c], a.index)]
    all_rows = [row for c in assistants for row in rows[c]]
    summary = {name: summarize(group) for name, group in groups(ours).items()}
    per_split = {s: [o for o in ours if o.split == s] for s in SPLITS if any(o.split == s for o in ours)}
    rules = ours
    if args.answerer == "llm":
        summary["all"]["llm_fallback_rate"] = sum(map(bool, fallbacks)) / len(fallbacks) if fallbacks else None
        rules = [o for c, a in assistants.items() for o in evaluate(a.ask, rows[c], a.index)]
        summary["rules-based (same sets)"] = summarize(rules)
    loo = None
    if not args.sets and not args.no_loo and "five" in assistants and args.split in ("all", "sealed"):
        from eval.loo import leave_one_document_out

        loo = leave_one_document_out(assistants["five"], [r for _, r in rows["five"] if r["split"] == "sealed"],
                                     {o.id: o for o in rules if o.split == "sealed"})
    baseline = None
    if args.report or args.baseline:
        from eval.baseline import TutorialPipeline

        baseline = [o for c, a in assistants.items()
                    for o in evaluate(TutorialPipeline(settings, a.index).ask, rows[c], verdicts=False)]
    if args.record:
        gate.record(ours, [r for _, r in all_rows], summary["all"], EXPECTED,
                    {s: summarize(outs) for s, outs in per_split.items()})
        print(f"recorded {len(ours)} outcomes in {EXPECTED}")
    if args.report:
        from eval.report import write_report

        ablation = None
        if args.ablation:
            from eval.ablation import table

            ablation = table(assistants.get("five") or next(iter(assistants.values())),
                             [r for _, r in rows.get("five", [])], settings)
        path = write_report(Path(args.report), ours, baseline, previous=Path(args.previous) if args.previous else None,
                            ablation=ablation, sets=[(s.name, s.path) for s in chosen], loo=loo)
        print(f"report written to {path}")
    from eval import drafts as screening

    drafts = None
    if not args.sets and not getattr(args, "no_drafts", False) and args.split == "all":
        problems = screening.sealed_problems()
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
        drafts = screening.run(None, assistants)
    if args.json:
        print(json.dumps({"summary": summary,
                          "drafts": screening.tables(drafts) if drafts else None,
                          "risk_coverage": {s: risk_coverage(o) for s, o in per_split.items()},
                          "leave_one_document_out": loo,
                          "baseline": summarize(baseline) if baseline else None,
                          "outcomes": [o.to_dict() for o in ours if o.split in OPEN_SPLITS]},
                         ensure_ascii=False, indent=1))
    else:
        if args.no_vocabulary:
            print("vocabulary OFF (qa/lexicon.json synonyms not used)")
        shown = {k: v for k, v in summary.items()
                 if k == "all" or k.startswith(("split:", "lang:", "set:")) or k == "rules-based (same sets)"}
        print_table(shown)
        print_risk_coverage(per_split)
        if loo:
            from eval.loo import print_loo

            print_loo(loo)
        if "llm_fallback_rate" in summary["all"]:
            print(f"language model: {summary['all']['llm_fallback_rate']:.1%} of answers failed validation, timed out "
                  f"or errored and were replaced by the rule-based answer")
        if baseline:
            print_table({"baseline (tutorial)": summarize(baseline)})
        if args.verbose:
            for o in ours:
                if not o.passed and o.split in OPEN_SPLITS:
                    print(json.dumps({"id": o.id, "split": o.split, "question": o.question, "gold": o.gold, "got": o.ranked[:3],
                                      "verdict": o.verdict, "gold_verdict": o.gold_verdict}, ensure_ascii=False))
        for split, outs in per_split.items():
            print(f"{split}: {sum(not o.passed for o in outs)} of {len(outs)} questions with a wrong first citation "
                  f"or verdict")
        if unresolved:
            print(f"{unresolved} sealed questions quote evidence no indexed unit holds (lost in parsing)")
        if drafts:
            print("\ndraft screening (issue 16): per-sentence recall of breach+risk, right article among the "
                  "caught, precision, ok sentences passed, clean drafts passed whole")
            screening.report(drafts, verbose=args.verbose)
        if excluded:
            print(f"{excluded} questions left out: supervisors reviewed them (qa/memory.py)")
    ungrounded = [(o.id, f) for o in ours for f in o.grounding]
    for qid, failure in ungrounded:
        print(f"UNGROUNDED {qid}: {failure}", file=sys.stderr)
    failed = failed_floors(summarize(per_split["dev"])) if "dev" in per_split else []
    if failed:
        print("below floor (dev): " + "; ".join(failed), file=sys.stderr)
    return 1 if failed or ungrounded else 0
