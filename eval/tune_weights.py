"""Grid search over fusion weights on the dev split (top-1, then top-3); prints the best few.

    python -m eval.tune_weights

Only the dev split is read. Paste the winner into qa.retrieve.Weights, then refit coverage
(`python -m eval.fit_coverage`), since the coverage model reads the fused score.
"""
from __future__ import annotations

import itertools

import config
from eval.ablation import score
from eval.runner import DEFAULT_SET, load_set
from qa.answer import Assistant

GRID = {
    "use": (0.6, 1.0),
    "bm25": (0.3, 0.6),
    "bigram": (0.6, 0.8),
    "heading": (0.3,),
    "rule_boost": (0.3, 0.8, 1.5),
}


def main() -> None:
    assistant = Assistant.open(config.get_settings())
    dev = [r for r in load_set(DEFAULT_SET) if r["gold"] and r.get("split", "dev") == "dev"]
    results = []
    for values in itertools.product(*GRID.values()):
        chosen = dict(zip(GRID, values))
        changes = {k: v for k, v in chosen.items() if k != "use"} | {"dense": {"e5": 1.0, "use": chosen["use"]}}
        results.append((score(assistant.retriever.with_weights(**changes), dev), chosen))
    results.sort(key=lambda r: (-r[0][0], -r[0][1]))
    for (top1, top3), weights in results[:8]:
        print(f"top1 {top1:.3f} top3 {top3:.3f} {weights}")


if __name__ == "__main__":
    main()
