"""Fit the coverage model (qa.coverage.Coverage) on the dev questions.

    python -m eval.fit_coverage

Prints the fitted Coverage to paste into qa/coverage.py, and the out-of-scope refusal and in-scope
false-refusal rates per threshold. Only the dev sets are read; the features come from the live index
and the question alone (no question memory), so the fit carries to documents added later.
Out-of-scope questions are weighted OOS_WEIGHT times because there are fewer of them.
`fit` is also what eval.loo calls with one document's questions left out.
"""
from __future__ import annotations

import numpy as np

import config
from eval.logistic import fit_logistic
from eval.runner import dev_rows
from qa.answer import Assistant
from qa.coverage import Coverage, answers_quantity, features
from qa.retrieve import Retriever

OOS_WEIGHT = 2.0
MAX_FALSE_REFUSAL = 0.05


def measure(retriever: Retriever, rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, quantity gate, covered?) per question."""
    retrievals = [retriever.retrieve(r["question"], k=3) for r in rows]
    values = np.array([features(retriever, x) for x in retrievals])
    gate = np.array([answers_quantity(x.question, x.intent.kind, x.hits[0].unit.text) for x in retrievals])
    y = np.array([1.0 if r["gold"] or r.get("evidence") else 0.0 for r in rows])
    return values, gate, y


def fit(values: np.ndarray, gate: np.ndarray, y: np.ndarray, verbose: bool = False) -> Coverage:
    """Logistic regression (L2 0.01), and the threshold that refuses the most out-of-scope questions
    while refusing at most 5% of the in-scope ones."""
    mean, scale, w, p = fit_logistic(values, y, np.where(y == 1, 1.0, OOS_WEIGHT))
    best = (0.5, -1.0)
    for threshold in np.arange(0.20, 0.71, 0.05):
        refused = (p < threshold) | ~gate
        oos, false = refused[y == 0].mean(), refused[y == 1].mean()
        if verbose:
            print(f"threshold {threshold:.2f}  oos refusal {oos:.3f} false refusal {false:.3f}")
        if false <= MAX_FALSE_REFUSAL and oos > best[1]:
            best = (round(float(threshold), 2), oos)
    return Coverage(mean=tuple(mean.round(4).tolist()), scale=tuple(scale.round(4).tolist()),
                    weights=tuple(w[:-1].round(3).tolist()), bias=round(float(w[-1]), 3), threshold=best[0])


def main() -> None:
    assistant = Assistant.open(config.get_settings())
    rows = dev_rows(assistant.index)
    values, gate, y = measure(assistant.retriever, rows)
    print(f"{len(rows)} dev questions, {int((y == 0).sum())} out of scope")
    print(fit(values, gate, y, verbose=True))


if __name__ == "__main__":
    main()
