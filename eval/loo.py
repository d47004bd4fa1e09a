"""Leave one document out: is what was fitted on the five documents any good on a document it never saw?

    python -m eval.loo          # refit the five folds and store them in eval/loo.json (a few minutes)
    python app.py eval          # prints the table, from the stored folds

For each of the five documents, every fitted part is fitted again without it:
- vocabulary: the synonym entries whose policy words occur only in the left-out document are dropped
  (an entry no other document can use was written for that document);
- fusion weights (eval.tune_weights.fit_weights, at the L2 strength the full fit chose) and the
  coverage model with its threshold (eval.fit_coverage.fit), on the dev questions about the other
  four documents plus every out-of-scope dev question.
Then the sealed questions about the left-out document (and a fifth of the sealed out-of-scope ones)
are asked with those parts, beside the same questions answered with the parts fitted on all five.
The folds store what they fitted and a hash of the dev questions and vocabulary; a stale file is
reported, not silently used.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

from eval.metrics import summarize
from eval.runner import EVAL_DIR, dev_rows, evaluate
from indexer.tokenize import synonyms, to_simplified, use_synonyms
from qa.coverage import Coverage
from qa.retrieve import Weights

LOO_FILE = EVAL_DIR / "loo.json"
STRENGTH = 1.0  # the L2 strength eval.tune_weights chose by cross-validation on all dev questions
SHOWN = ("questions", "top1", "top3", "verdict", "oos_refusal", "false_refusal", "unsafe_yes")


def documents(index) -> list[str]:
    return [d["id"] for d in index.meta.get("documents", [])]


def fold_vocabulary(index, left_out: str) -> dict[str, list[str]]:
    """The vocabulary without the entries that only the left-out document's words can serve."""
    others = re.sub(r"\s+", "", to_simplified(" ".join(u.text + " " + " ".join(u.path)
                                                      for u in index.units if u.doc_id != left_out)))
    return {k: words for k, words in synonyms().items() if any(w in others for w in words)}


def fingerprint() -> str:
    data = json.dumps([dev_rows(), synonyms()], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def fit_folds(assistant) -> dict:
    """Fit every fold; returns what eval/loo.json stores."""
    from eval.fit_coverage import fit, measure
    from eval.tune_weights import fit_weights

    rows = dev_rows(assistant.index)
    stamp = fingerprint()
    folds = {}
    for doc in documents(assistant.index):
        vocabulary = fold_vocabulary(assistant.index, doc)
        use_synonyms(vocabulary)
        try:
            train = [r for r in rows if r.get("doc") != doc]
            weights = fit_weights(assistant.retriever, train, STRENGTH)
            coverage = fit(*measure(assistant.retriever.with_weights(**asdict(weights)), train))
        finally:
            use_synonyms(None)
        folds[doc] = {"weights": asdict(weights), "coverage": asdict(coverage), "trained_on": len(train),
                      "vocabulary_dropped": len(synonyms()) - len(vocabulary)}
        print(f"{doc}: fitted on {len(train)} dev questions, {folds[doc]['vocabulary_dropped']} vocabulary "
              f"entries dropped; {weights}; coverage threshold {coverage.threshold}")
    return {"fingerprint": stamp, "strength": STRENGTH, "folds": folds}


def leave_one_document_out(assistant, sealed: list[dict], answered: dict) -> dict:
    """Per left-out document: the sealed questions about it, answered with the parts fitted without it
    and (``answered``: the run's rule-based outcomes by question id) with the parts fitted on all five;
    and their mean."""
    from qa.answer import Assistant

    stored = json.loads(LOO_FILE.read_text(encoding="utf-8")) if LOO_FILE.exists() else {"folds": {}}
    stale = stored.get("fingerprint") != fingerprint()
    oos = [r for r in sealed if r["verdict"] == "not_covered"]
    out = {"stale": stale, "folds": {}}
    for n, doc in enumerate(documents(assistant.index)):
        fold = stored["folds"].get(doc)
        if fold is None:
            continue
        questions = [("sealed", r) for r in sealed if r.get("doc") == doc] + [("sealed", r) for r in oos[n::5]]
        everything = summarize([answered[r["id"]] for _, r in questions])
        use_synonyms(fold_vocabulary(assistant.index, doc))
        try:
            held = Assistant(assistant.settings, assistant.index, assistant.retriever.embedders,
                             Weights(**fold["weights"]), Coverage(**{k: tuple(v) if isinstance(v, list) else v
                                                                       for k, v in fold["coverage"].items()}))
            without = summarize(evaluate(held.ask, questions, assistant.index))
        finally:
            use_synonyms(None)
        out["folds"][doc] = {"without": {k: without[k] for k in SHOWN}, "with": {k: everything[k] for k in SHOWN}}
    if out["folds"]:
        out["mean"] = {side: {k: _mean([f[side][k] for f in out["folds"].values()]) for k in SHOWN}
                       for side in ("without", "with")}
    return out


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def print_loo(loo: dict) -> None:
    print("\nleave one document out (sealed questions about the left-out document; vocabulary, weights and "
          "coverage fitted without it | fitted on all five)")
    if loo.get("stale"):
        print("  NOTE: eval/loo.json was fitted on other dev questions or vocabulary: refit with `python -m eval.loo`")
    print(f"{'document':<10}" + "".join(f"{k[:11]:>12}" for k in SHOWN) + "   | top1 all five  verdict all five")
    rows = list(loo["folds"].items()) + ([("mean", loo["mean"])] if "mean" in loo else [])
    for doc, f in rows:
        cells = "".join(f"{'—':>12}" if f["without"][k] is None else
                        f"{f['without'][k]:>12.3f}" if isinstance(f["without"][k], float) else f"{f['without'][k]:>12}"
                        for k in SHOWN)
        print(f"{doc:<10}{cells}   | {f['with']['top1'] or 0:>13.3f} {f['with']['verdict'] or 0:>16.3f}")


def main() -> None:
    import config
    from qa.answer import Assistant

    settings = config.get_settings()
    assistant = Assistant.open(settings)
    data = fit_folds(assistant)
    Path(LOO_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"stored in {LOO_FILE}")


if __name__ == "__main__":
    main()
