"""Run gold question sets through the answer function the UI, API and CLI use, and report the metrics.

    python app.py eval [--set FILE ...] [--split dev|heldout] [--json] [--verbose]
                       [--report DIR [--previous DIR] [--ablation]] [--record]

Gold set format (JSONL, one question per line; see eval/README.md):
    {"id", "question", "lang", "gold": [unit ids], "accept": [unit ids, optional],
     "verdict", "doc", "split": "dev"|"heldout", "tags": [optional], "why"}

Exit status: 0 when every core floor holds and every answer is grounded; 1 otherwise; 2 for a bad set.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config import get_settings
from eval.grounding import failures
from eval.metrics import Outcome, failed_floors, groups, outcome, summarize
from qa.verdict import VERDICTS

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_SET = EVAL_DIR / "gold.jsonl"
SETS_FILE = EVAL_DIR / "sets.json"
EXPECTED = EVAL_DIR / "expected.json"
REQUIRED = ("id", "question", "lang", "gold", "verdict", "why")


def default_sets() -> list[tuple[str, Path]]:
    meta = json.loads(SETS_FILE.read_text(encoding="utf-8"))
    return [(s["file"], EVAL_DIR / s["file"]) for s in meta["sets"]]


def load_set(path: Path) -> list[dict]:
    rows, seen = [], set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: not valid JSON ({exc})") from exc
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise SystemExit(f"{path}:{n}: missing {', '.join(missing)}")
        if row["verdict"] not in VERDICTS:
            raise SystemExit(f"{path}:{n}: verdict must be one of {', '.join(VERDICTS)}")
        if (row["verdict"] == "not_covered") != (not row["gold"]):
            raise SystemExit(f"{path}:{n}: not_covered questions, and only they, have no gold ids")
        if row["id"] in seen:
            raise SystemExit(f"{path}:{n}: duplicate id {row['id']}")
        seen.add(row["id"])
        rows.append(row)
    return rows


def evaluate(ask, rows: list[tuple[str, dict]], index=None, verdicts: bool = True) -> list[Outcome]:
    """Ask every (set name, row) question; with an index, check every answer's grounding."""
    out = []
    for set_name, row in rows:
        answer = ask(row["question"])
        out.append(outcome(row, answer, set_name, failures(answer, index) if index is not None else [], verdicts))
    return out


COLUMNS = ["questions", "top1", "top3", "mrr", "cite_precision", "cite_recall", "verdict", "oos_refusal",
           "false_refusal", "latency_median_ms", "latency_p95_ms"]


def print_table(summary: dict[str, dict]) -> None:
    print(f"{'group':<24}" + "".join(f"{c[:11]:>12}" for c in COLUMNS))
    for name, m in summary.items():
        cells = "".join(f"{'—':>12}" if m[c] is None else f"{m[c]:>12.3f}" if isinstance(m[c], float) else f"{m[c]:>12}"
                        for c in COLUMNS)
        print(f"{name:<24}{cells}")


def main(args: argparse.Namespace) -> int:
    from eval import gate
    from qa.answer import Assistant

    named = [(Path(p).name, Path(p)) for p in args.sets] if args.sets else default_sets()
    rows = [(name, r) for name, path in named for r in load_set(path)]
    if args.split != "all":
        rows = [(n, r) for n, r in rows if r.get("split", "dev") == args.split]
    settings = get_settings()
    assistant = Assistant.open(settings)
    missing = sorted({g for _, r in rows for g in r["gold"] + r.get("accept", []) if g not in assistant.index.by_id})
    if missing:
        print(f"gold ids not in the index: {missing}", file=sys.stderr)
        return 2
    ask, fallbacks = assistant.ask, []
    if args.answerer == "llm":
        from qa.chain import build_chain
        from qa.llm import LLMAnswerer, make_chat_model

        model = make_chat_model(settings)
        if model is None:
            print("no language model configured (LLM_BASE_URL and LLM_MODEL, or OLLAMA_HOST and LLM_MODEL)",
                  file=sys.stderr)
            return 2
        chain = build_chain(assistant, LLMAnswerer(model, timeout=settings.llm_timeout))

        def ask(question: str):
            outcome = chain.invoke({"question": question})
            fallbacks.append(outcome.fallback)
            return outcome.answer

    ours = evaluate(ask, rows, assistant.index)
    summary = {name: summarize(group) for name, group in groups(ours).items()}
    if args.answerer == "llm":
        failed_validation = [f for f in fallbacks if f]
        summary["all"]["llm_fallback_rate"] = len(failed_validation) / len(fallbacks) if fallbacks else None
        rules = evaluate(assistant.ask, rows, assistant.index)
        summary["rules-based (same sets)"] = summarize(rules)
    baseline = None
    if args.report or args.baseline:
        from eval.baseline import TutorialPipeline

        baseline = evaluate(TutorialPipeline(settings, assistant.index).ask, rows, verdicts=False)
    if args.record:
        gate.record(ours, [r for _, r in rows], summary["all"], EXPECTED)
        print(f"recorded {len(ours)} outcomes in {EXPECTED}")
    if args.report:
        from eval.report import write_report

        ablation = None
        if args.ablation:
            from eval.ablation import table

            ablation = table(assistant, [r for _, r in rows], settings)
        path = write_report(Path(args.report), ours, baseline, previous=Path(args.previous) if args.previous else None,
                            ablation=ablation, sets=named)
        print(f"report written to {path}")
    if args.json:
        print(json.dumps({"summary": summary,
                          "baseline": summarize(baseline) if baseline else None,
                          "outcomes": [o.to_dict() for o in ours]}, ensure_ascii=False, indent=1))
    else:
        print_table(summary)
        if "llm_fallback_rate" in summary["all"]:
            print(f"language model: {summary['all']['llm_fallback_rate']:.1%} of answers failed validation, timed out "
                  f"or errored and were replaced by the rule-based answer")
        if baseline:
            print_table({"baseline (tutorial)": summarize(baseline)})
        if args.verbose:
            for o in ours:
                if not o.passed:
                    print(json.dumps({"id": o.id, "question": o.question, "gold": o.gold, "got": o.ranked[:3],
                                      "verdict": o.verdict, "gold_verdict": o.gold_verdict}, ensure_ascii=False))
        print(f"{sum(not o.passed for o in ours)} of {len(ours)} questions with a wrong first citation or verdict")
    ungrounded = [(o.id, f) for o in ours for f in o.grounding]
    for qid, failure in ungrounded:
        print(f"UNGROUNDED {qid}: {failure}", file=sys.stderr)
    failed = failed_floors(summary["all"])
    if failed:
        print("below floor: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed or ungrounded else 0
