"""The eval report: Markdown, PNG charts and the per-question results, with a diff against a previous run.

    DIR/report.md        summary (ours beside the tutorial baseline), floors, groundedness, breakdowns,
                         confusion matrix, latency, ablation, what got better or worse
    DIR/results.json     every question's outcome (what the next report diffs against)
    DIR/per_document.png, DIR/confusion.png, DIR/latency.png
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from eval.metrics import Outcome, confusion, failed_floors, groups, summarize
from qa.verdict import VERDICTS

METRICS = [("top1", "correct unit first"), ("top3", "hit@3"), ("mrr", "MRR"), ("cite_precision", "citation precision"),
           ("cite_recall", "citation recall"), ("verdict", "verdict accuracy"), ("oos_refusal", "out-of-scope refused"),
           ("false_refusal", "in-scope refused"), ("unsafe_yes", "unsafe 可以/Yes"),
           ("missed_prohibition", "prohibition missed"), ("grounding_failures", "groundedness failures"),
           ("latency_median_ms", "latency median (ms)"), ("latency_p95_ms", "latency p95 (ms)")]
BREAKDOWN = ["questions", "top1", "top3", "mrr", "cite_precision", "cite_recall", "verdict", "oos_refusal", "false_refusal",
             "unsafe_yes", "missed_prohibition"]


def _fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]


def _charts(folder: Path, ours: list[Outcome], baseline: list[Outcome] | None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    docs = sorted({o.doc for o in ours if o.in_scope})
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.38
    ours_top1 = [summarize([o for o in ours if o.doc == d])["top1"] or 0 for d in docs]
    ax.bar([i - width / 2 for i in range(len(docs))], ours_top1, width, label="policy-qa")
    if baseline:
        base_top1 = [summarize([o for o in baseline if o.doc == d])["top1"] or 0 for d in docs]
        ax.bar([i + width / 2 for i in range(len(docs))], base_top1, width, label="tutorial baseline")
    ax.set_xticks(range(len(docs)), docs)
    ax.set_ylim(0, 1)
    ax.set_ylabel("correct unit first")
    ax.set_title("Top-1 citation accuracy per document")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(folder / "per_document.png", dpi=110)
    plt.close(fig)
    files.append("per_document.png")

    matrix = confusion(ours)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    values = [[matrix[g][v] for v in VERDICTS] for g in VERDICTS]
    ax.imshow(values, cmap="Blues")
    for i, row in enumerate(values):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center", color="black" if n < max(map(max, values)) / 2 else "white")
    ax.set_xticks(range(len(VERDICTS)), VERDICTS, rotation=30, ha="right")
    ax.set_yticks(range(len(VERDICTS)), VERDICTS)
    ax.set_xlabel("answered")
    ax.set_ylabel("gold")
    ax.set_title("Verdict confusion matrix")
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=110)
    plt.close(fig)
    files.append("confusion.png")

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist([o.latency_ms for o in ours], bins=30, color="#0969da")
    ax.set_xlabel("answer latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=110)
    plt.close(fig)
    files.append("latency.png")
    return files


def diff(previous: dict, ours: list[Outcome]) -> tuple[list[dict], list[dict], int, int]:
    """Questions that now pass but failed before (better), the reverse (worse), and how many were added/removed."""
    before = {o["id"]: o for o in previous.get("outcomes", [])}
    now = {o.id: o for o in ours}
    better = [{"id": o.id, "question": o.question, "before": before[o.id]["ranked"][:1], "now": o.ranked[:1]}
              for o in ours if o.id in before and o.passed and not before[o.id]["passed"]]
    worse = [{"id": o.id, "question": o.question, "before": before[o.id]["ranked"][:1], "now": o.ranked[:1],
              "verdict": o.verdict, "gold": o.gold, "gold_verdict": o.gold_verdict}
             for o in ours if o.id in before and not o.passed and before[o.id]["passed"]]
    return better, worse, len(set(now) - set(before)), len(set(before) - set(now))


def write_report(folder: Path, ours: list[Outcome], baseline: list[Outcome] | None, previous: Path | None = None,
                 ablation: list[list] | None = None, sets: list[tuple[str, Path]] | None = None,
                 loo: dict | None = None) -> Path:
    """Sealed splits appear in aggregate only: per-question lists (the diff, results.json) hold dev questions."""
    from eval.metrics import risk_coverage
    from eval.runner import SEALED_FILE, SETS_FILE

    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    previous_file = (previous / "results.json") if previous else results
    old = json.loads(previous_file.read_text(encoding="utf-8")) if previous_file.exists() else None

    summary = {name: summarize(group) for name, group in groups(ours).items()}
    base = {name: summarize(group) for name, group in groups(baseline).items()} if baseline else {}
    lines = [f"# Eval report, {time.strftime('%Y-%m-%d %H:%M')}", ""]
    meta = {s["file"]: s for s in json.loads(SETS_FILE.read_text(encoding="utf-8"))["sets"]}
    meta |= {s["file"]: {"editors": "sealed (eval/sealed.json)", "purpose": s["about"]}
             for s in json.loads(SEALED_FILE.read_text(encoding="utf-8"))["sets"]}
    lines += ["## Gold sets", ""]
    lines += _table(["set", "questions", "editors", "purpose"],
                    [[name, sum(o.set == name for o in ours), meta.get(name, {}).get("editors", "—"),
                      meta.get(name, {}).get("purpose", "—")] for name, _ in (sets or [])])
    lines += ["", "## Summary: policy-qa beside the LangChain-tutorial baseline", "",
              ("The baseline: 300-character chunks, multilingual-e5-small, Chroma, top-3, no verdict logic "
               "(its verdict metrics are —)."), ""]
    lines += _table(["metric", "policy-qa", "baseline"],
                    [[label, summary["all"][key], base.get("all", {}).get(key)] for key, label in METRICS])
    splits = sorted({o.split for o in ours})
    lines += ["", "## Per split", ""]
    lines += _table(["metric"] + splits, [[label] + [summarize([o for o in ours if o.split == sp])[key] for sp in splits]
                                          for key, label in METRICS])
    lines += ["", "## Risk–coverage", "",
              "Accuracy (right first unit and verdict) / unsafe 可以/Yes of the answers kept when the least "
              "confident share is withheld.", ""]
    lines += _table(["split", "withhold 0%", "10%", "20%", "30%"],
                    [[sp] + [f"{r['accuracy'] or 0:.3f} / {r['unsafe_yes'] or 0:.3f}"
                             for r in risk_coverage([o for o in ours if o.split == sp])] for sp in splits])
    if loo and loo.get("folds"):
        lines += ["", "## Leave one document out", "",
                  "Sealed questions about the left-out document; vocabulary, weights and coverage fitted without "
                  "it, beside the parts fitted on all five." + (" **Stale fits: refit with `python -m eval.loo`.**"
                                                                if loo.get("stale") else ""), ""]
        folds = list(loo["folds"].items()) + [("mean", loo["mean"])]
        lines += _table(["document", "questions", "top1", "top3", "verdict", "unsafe_yes", "top1 (all five)",
                         "verdict (all five)"],
                        [[d, f["without"]["questions"], f["without"]["top1"], f["without"]["top3"], f["without"]["verdict"],
                          f["without"]["unsafe_yes"], f["with"]["top1"], f["with"]["verdict"]] for d, f in folds])
    failed = failed_floors(summarize([o for o in ours if o.split == "dev"]))
    lines += ["", "## Core floors (dev)", "", "All met." if not failed else "Missed: " + "; ".join(failed)]
    ungrounded = [(o.id, f) for o in ours for f in o.grounding]
    lines += ["", "## Groundedness", "",
              "Every quoted span occurs verbatim in the unit it cites, and every cited id exists in the index."
              if not ungrounded else "**FAILURES**:"]
    lines += [f"- {qid}: {f}" for qid, f in ungrounded]
    lines += ["", "## Breakdown", ""]
    lines += _table(["group"] + BREAKDOWN + ["baseline top1", "baseline top3"],
                    [[name] + [m[k] for k in BREAKDOWN] + [base.get(name, {}).get("top1"), base.get(name, {}).get("top3")]
                     for name, m in summary.items()])
    charts = _charts(folder, ours, baseline)
    matrix = confusion(ours)
    lines += ["", "## Verdicts (rows: gold, columns: answered)", ""]
    lines += _table(["gold \\ answered"] + list(VERDICTS), [[g] + [matrix[g][v] for v in VERDICTS] for g in VERDICTS])
    lines += [""] + [f"![{c}]({c})" for c in charts]
    if ablation:
        lines += ["", "## Retrieval ablation (in-scope questions)", ""]
        lines += _table(["retriever", "dev top-1", "dev top-3", "sealed top-1", "sealed top-3"], ablation)
    lines += ["", "## Against the previous report", ""]
    if old is None:
        lines.append("No previous report to compare with.")
    else:
        better, worse, added, removed = diff(old, [o for o in ours if o.split == "dev"])
        lines.append(f"{len(better)} better, {len(worse)} worse, {added} new questions, {removed} removed.")
        for title, items in (("Worse", worse), ("Better", better)):
            if items:
                lines += ["", f"### {title}", ""]
                lines += [f"- {i['id']} {i['question']}: {i['before']} → {i['now']}" for i in items]
    report = folder / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results.write_text(json.dumps({"summary": summary, "baseline": base.get("all"),
                                   "outcomes": [o.to_dict() for o in ours if o.split == "dev"]},
                                  ensure_ascii=False, indent=1),
                       encoding="utf-8")
    return report
