"""Retrieval ablation: each signal alone, all fused, and fused without one signal, on both splits.

    python -m eval.ablation          (also in the eval report: python app.py eval --report DIR --ablation)
    POLICYQA_EMBEDDERS=e5,use,st POLICYQA_DATA=/tmp/ablation python -m eval.ablation   # with the st model

Prints a Markdown table (top-1 / top-3 over in-scope questions) for docs/retrieval.md.
"""
from __future__ import annotations

import config
from eval.runner import load_set
from qa.answer import Assistant
from qa.retrieve import Weights

LEXICAL = ("bm25", "bigram", "heading")


def weights_with(only: set[str], intent: bool = True, off_default: float = 0.0) -> dict:
    """Weights using only the signals in ``only``: each at its default weight, or at ``off_default``
    where the default switches it off (to measure a signal alone, or added to the fusion)."""
    current = Weights().coefficients()

    def weight(name: str) -> float:
        return (current.get(name) or off_default) if name in only else 0.0

    out: dict = {"dense": {k: weight(k) for k in set(Weights().dense) | only}}
    out |= {name: weight(name) for name in LEXICAL}
    if not intent:
        out |= {"rule_boost": 0.0, "duty_boost": 0.0, "stub_penalty": 0.0, "role_mismatch": 0.0}
    return out


def score(retriever, rows: list[dict]) -> tuple[float, float]:
    top1 = top3 = 0
    for r in rows:
        ok = set(r["gold"]) | set(r.get("accept", []))
        got = [h.unit.id for h in retriever.retrieve(r["question"], k=3).hits]
        top1 += bool(got) and got[0] in ok
        top3 += any(g in ok for g in got)
    return top1 / len(rows), top3 / len(rows)


def plain_text_retriever(assistant, settings) -> object:
    """The same retriever over dense vectors of the unit text alone, without the heading-path prefix
    that indexer.build.unit_passage adds (vectors come from the embedding cache after the first run)."""
    from indexer.embed import EmbeddingCache
    from indexer.store import Index
    from qa.retrieve import Retriever

    index = assistant.index
    plain = Index(index.build_id, index.meta, index.units, index.tokens, index.collection_of)
    cache = EmbeddingCache(settings.cache_path)
    try:
        for name, embedder in assistant.retriever.embedders.items():
            plain._vectors[name] = cache.passages(embedder, [u.text for u in index.units])[0]
    finally:
        cache.close()
    return Retriever(plain, assistant.retriever.embedders, assistant.retriever.weights)


def table(assistant, rows: list[dict], settings) -> list[list]:
    """Rows of [retriever, dev top-1, dev top-3, sealed top-1, sealed top-3] over in-scope questions
    (sealed rows already resolved to unit ids by eval.runner.resolve; read in aggregate only)."""
    signals = tuple(assistant.retriever.embedders) + LEXICAL
    rows = [r for r in rows if r["gold"]]
    splits = {s: [r for r in rows if r.get("split", "dev") == s] for s in ("dev", "sealed")}
    default = {s for s in signals if Weights().coefficients().get(s, 0.0) > 0}
    configs = [(f"{s} alone", weights_with({s}, intent=False, off_default=1.0)) for s in signals]
    configs += [("fused, no intent/structure boosts", weights_with(default, intent=False))]
    configs += [(f"fused without {s}", weights_with(default - {s})) for s in signals if s in default]
    configs += [(f"fused plus {s}", weights_with(default | {s}, off_default=0.5)) for s in signals if s not in default]
    configs += [("fused (default)", weights_with(default))]
    plain = plain_text_retriever(assistant, settings)
    dense = [s for s in assistant.retriever.embedders if s in default]
    variants = [(name, assistant.retriever.with_weights(**changes)) for name, changes in configs]
    variants += [(f"{s} alone, no heading prefix", plain.with_weights(**weights_with({s}, intent=False, off_default=1.0)))
                 for s in dense]
    variants += [("fused (default), no heading prefix", plain.with_weights(**weights_with(default)))]
    out = []
    for name, retriever in variants:
        cells: list = [name]
        for split in ("dev", "sealed"):
            cells += list(score(retriever, splits[split])) if splits[split] else [None, None]
        out.append(cells)
    return out


def main() -> None:
    from eval.runner import all_sets, resolve

    settings = config.get_settings()
    assistant = Assistant.open(settings)
    rows = [resolve(r | {"split": s.split}, assistant.index) for s in all_sets() if s.corpus == "five"
            for r in load_set(s.path)]
    print("| retriever | dev top-1 | dev top-3 | sealed top-1 | sealed top-3 |")
    print("|---|---|---|---|---|")
    for name, *cells in table(assistant, rows, settings):
        print(f"| {name} | " + " | ".join("—" if c is None else f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
