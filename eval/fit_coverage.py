"""Fit the coverage model (qa.coverage.Coverage) on the dev split and report both splits.

    python -m eval.fit_coverage

Prints the normalisation, weights and bias to paste into Coverage, and the out-of-scope refusal and
in-scope false-refusal rates per threshold on dev and held-out questions. Out-of-scope questions are
weighted OOS_WEIGHT times because there are fewer of them.
"""
from __future__ import annotations

import numpy as np

import config
from eval.runner import default_sets, load_set
from qa.answer import Assistant
from qa.coverage import answers_quantity, features

OOS_WEIGHT = 2.0


def main() -> None:
    assistant = Assistant.open(config.get_settings())
    rows = [r for _, path in default_sets() for r in load_set(path)]
    retriever = assistant.retriever
    retrievals = [retriever.retrieve(r["question"], k=3) for r in rows]
    values = np.array([features(retriever, x, assistant.memory) for x in retrievals])
    # the quantity check refuses first; the model decides the rest
    gate = np.array([answers_quantity(x.question, x.intent.kind, x.hits[0].unit.text) for x in retrievals])
    y = np.array([1.0 if r["gold"] else 0.0 for r in rows])
    dev = np.array([r.get("split", "dev") == "dev" for r in rows])
    mean, scale = values[dev].mean(0), values[dev].std(0)
    z = np.c_[(values - mean) / scale, np.ones(len(rows))]
    w = np.zeros(z.shape[1])
    sample_weight = np.where(y == 1, 1.0, OOS_WEIGHT)
    for _ in range(5000):
        p = 1 / (1 + np.exp(-z[dev] @ w))
        w -= 0.5 * (z[dev].T @ ((p - y[dev]) * sample_weight[dev]) / dev.sum() + 0.01 * w)
    scale[scale == 0] = 1.0
    print("mean", mean.round(4).tolist(), "scale", scale.round(4).tolist())
    print("weights", w[:-1].round(3).tolist(), "bias", round(float(w[-1]), 3))
    p = 1 / (1 + np.exp(-z @ w))
    best = None
    for threshold in np.arange(0.20, 0.71, 0.05):
        refused = (p < threshold) | ~gate
        cells = []
        for name, mask in (("dev", dev), ("heldout", ~dev)):
            oos, ins = mask & (y == 0), mask & (y == 1)
            cells.append(f"{name} oos refusal {refused[oos].mean():.3f} false refusal {refused[ins].mean():.3f}")
        print(f"threshold {threshold:.2f}  " + " | ".join(cells))
        dev_oos, dev_false = refused[dev & (y == 0)].mean(), refused[dev & (y == 1)].mean()
        if dev_false <= 0.05 and (best is None or dev_oos > best[1]):
            best = (round(float(threshold), 2), dev_oos)
    print("threshold chosen on dev (most out-of-scope refused with at most 5% false refusals):", best and best[0])


if __name__ == "__main__":
    main()
