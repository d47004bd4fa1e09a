"""Run gold question sets through the same answer function the CLI uses, and report the metrics.

Gold set format (JSONL, one question per line; see eval/README.md):
    {"id", "question", "lang", "gold": [unit ids], "accept": [unit ids, optional],
     "verdict", "doc", "split": "dev"|"heldout", "why"}
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from config import get_settings
from qa.verdict import VERDICTS

DEFAULT_SET = Path(__file__).resolve().parent / "gold.jsonl"
FLOORS = {"top1": 0.90, "top3": 0.97, "verdict": 0.90, "oos_refusal": 0.90}
MAX_FALSE_REFUSAL = 0.05


def load_set(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not valid JSON ({exc})") from exc
            if row.get("verdict") not in VERDICTS:
                raise SystemExit(f"{path}:{n}: verdict must be one of {', '.join(VERDICTS)}")
            rows.append(row)
    return rows


def ranked_ids(answer) -> list[str]:
    return [c.id for c in answer.citations] + [c.id for c in answer.related]


def score(rows: list[dict], answers: list) -> dict:
    """All metrics for one group of questions."""
    in_scope = [(r, a) for r, a in zip(rows, answers) if r["gold"]]
    oos = [(r, a) for r, a in zip(rows, answers) if not r["gold"]]
    top1 = top3 = rr = 0.0
    for r, a in in_scope:
        ok = set(r["gold"]) | set(r.get("accept", []))
        ranked = ranked_ids(a)
        first = next((i for i, uid in enumerate(ranked) if uid in ok), None)
        top1 += first == 0
        top3 += first is not None and first < 3
        rr += 1.0 / (first + 1) if first is not None else 0.0
    n = len(in_scope) or 1
    latencies = sorted(a.latency_ms for a in answers)
    return {
        "questions": len(rows),
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "top1": top1 / n,
        "top3": top3 / n,
        "mrr": rr / n,
        "verdict": sum(a.verdict == r["verdict"] for r, a in zip(rows, answers)) / (len(rows) or 1),
        "oos_refusal": sum(a.verdict == "not_covered" for _, a in oos) / (len(oos) or 1),
        "false_refusal": sum(a.verdict == "not_covered" for _, a in in_scope) / n,
        "latency_median_ms": statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    }


def run(assistant, rows: list[dict]) -> tuple[dict, list[dict]]:
    answers = [assistant.ask(r["question"]) for r in rows]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups["all"].append(i)
        groups[f"split:{r.get('split', 'dev')}"].append(i)
        groups[f"lang:{r['lang']}"].append(i)
        groups[f"doc:{r.get('doc') or 'none'}"].append(i)
        groups[f"verdict:{r['verdict']}"].append(i)
    report = {name: score([rows[i] for i in idx], [answers[i] for i in idx]) for name, idx in sorted(groups.items())}
    misses = []
    for r, a in zip(rows, answers):
        ok = set(r["gold"]) | set(r.get("accept", []))
        ranked = ranked_ids(a)
        if (r["gold"] and (not ranked or ranked[0] not in ok)) or a.verdict != r["verdict"]:
            misses.append({"id": r["id"], "question": r["question"], "gold": r["gold"], "got": ranked[:3],
                           "verdict": a.verdict, "gold_verdict": r["verdict"]})
    return report, misses


def failed_floors(metrics: dict) -> list[str]:
    failed = [f"{k} {metrics[k]:.3f} < {v}" for k, v in FLOORS.items() if metrics[k] < v]
    if metrics["false_refusal"] > MAX_FALSE_REFUSAL:
        failed.append(f"false_refusal {metrics['false_refusal']:.3f} > {MAX_FALSE_REFUSAL}")
    return failed


def print_report(report: dict) -> None:
    cols = ["questions", "top1", "top3", "mrr", "verdict", "oos_refusal", "false_refusal", "latency_median_ms", "latency_p95_ms"]
    print(f"{'group':<22}" + "".join(f"{c[:12]:>13}" for c in cols))
    for name, m in report.items():
        cells = "".join(f"{m[c]:>13.3f}" if isinstance(m[c], float) else f"{m[c]:>13}" for c in cols)
        print(f"{name:<22}{cells}")


def main(args: argparse.Namespace) -> int:
    from qa.answer import Assistant

    paths = [Path(p) for p in (args.sets or [DEFAULT_SET])]
    rows = [r for p in paths for r in load_set(p)]
    if args.split != "all":
        rows = [r for r in rows if r.get("split", "dev") == args.split]
    assistant = Assistant.open(get_settings())
    missing = sorted({g for r in rows for g in r["gold"] + r.get("accept", []) if g not in assistant.index.by_id})
    if missing:
        print(f"gold ids not in the index: {missing}", file=sys.stderr)
        return 2
    report, misses = run(assistant, rows)
    if args.json:
        print(json.dumps({"report": report, "misses": misses}, ensure_ascii=False, indent=1))
    else:
        print_report(report)
        if args.verbose:
            for m in misses:
                print(json.dumps(m, ensure_ascii=False))
        print(f"{len(misses)} questions with a wrong first citation or verdict")
    failed = failed_floors(report["all"])
    if failed:
        print("below floor: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0
