"""Retrieval ablation: each signal alone, all fused, and fused without one signal, on both splits.

    python -m eval.ablation
    POLICYQA_EMBEDDERS=e5,use,st POLICYQA_DATA=/tmp/ablation python -m eval.ablation   # with the st model

Prints a Markdown table (top-1 / top-3 over in-scope questions) for docs/retrieval.md.
"""
from __future__ import annotations

import config
from eval.runner import DEFAULT_SET, load_set
from qa.answer import Assistant
from qa.retrieve import Weights

LEXICAL = ("bm25", "bigram", "heading")


def weights_with(only: set[str], intent: bool = True, dense_default: float = 0.0) -> dict:
    base = Weights()
    out = {
        "dense": {k: (base.dense.get(k, dense_default) if k in only else 0.0) for k in set(base.dense) | only},
        "bm25": base.bm25 if "bm25" in only else 0.0,
        "bigram": base.bigram if "bigram" in only else 0.0,
        "heading": base.heading if "heading" in only else 0.0,
    }
    if not intent:
        out |= {"rule_boost": 0.0, "duty_boost": 0.0, "stub_penalty": 0.0}
    return out


def score(retriever, rows: list[dict]) -> tuple[float, float]:
    top1 = top3 = 0
    for r in rows:
        ok = set(r["gold"]) | set(r.get("accept", []))
        got = [h.unit.id for h in retriever.retrieve(r["question"], k=3).hits]
        top1 += bool(got) and got[0] in ok
        top3 += any(g in ok for g in got)
    return top1 / len(rows), top3 / len(rows)


def main() -> None:
    assistant = Assistant.open(config.get_settings())
    signals = tuple(assistant.retriever.embedders) + LEXICAL
    rows = [r for r in load_set(DEFAULT_SET) if r["gold"]]
    splits = {s: [r for r in rows if r.get("split", "dev") == s] for s in ("dev", "heldout")}
    default = set(Weights().dense) & set(signals) | set(LEXICAL)
    configs = [(f"{s} alone", weights_with({s}, intent=False, dense_default=1.0)) for s in signals]
    configs += [("fused, no intent/structure boosts", weights_with(default, intent=False))]
    configs += [(f"fused without {s}", weights_with(default - {s})) for s in signals if s in default]
    configs += [(f"fused plus {s}", weights_with(default | {s}, dense_default=0.5)) for s in signals if s not in default]
    configs += [("fused (default)", weights_with(default))]
    print("| retriever | dev top-1 | dev top-3 | held-out top-1 | held-out top-3 |")
    print("|---|---|---|---|---|")
    for name, changes in configs:
        retriever = assistant.retriever.with_weights(**changes)
        cells = []
        for split in ("dev", "heldout"):
            t1, t3 = score(retriever, splits[split])
            cells += [f"{t1:.3f}", f"{t3:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
