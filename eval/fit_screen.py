"""Fit the screen's model (qa.screen.ScreenModel) on the dev drafts.

    python -m eval.fit_screen

Prints the fitted ScreenModel to paste into qa/screen.py, and per threshold the recall of flagged
sentences and the share of ok sentences passed. Only dev draft sets are read (eval/drafts.json);
the features come from the live index and the sentence alone, so the fit carries to added documents.

Each (sentence, candidate rule) pair is one example: positive when the sentence is gold `breach` or
`risk` and the candidate holds its evidence; negative when the sentence is `ok`, or when it is
flagged and the candidate is another unit. A flagged sentence whose gold unit was not retrieved
teaches nothing (its pairs are left out: that is recall, not the model's job). The threshold is the
lowest that passes at least TARGET_CLEAN of the ok sentences.
"""
from __future__ import annotations

import numpy as np

from eval.drafts import OPEN, draft_sets, gold_spans, load
from qa.screen import ScreenModel, Screener

TARGET_CLEAN = 0.90


def measure(assistants: dict) -> tuple[np.ndarray, np.ndarray, list[tuple[int, bool]]]:
    """(features, label) per pair, and per pair (sentence number, sentence gold-flagged)."""
    values, labels, owner = [], [], []
    sentence = 0
    for s in draft_sets():
        if s.split not in OPEN:
            continue
        assistant = assistants[s.corpus]
        screener = Screener(assistant)
        for row in load(s.path):
            text, spans, retrievals = screener.candidates(row["draft"])
            for g in gold_spans(row, assistant.index, text):
                sentence += 1
                bad = g["label"] != "ok"
                over = [r for (a, b), r in zip(spans, retrievals) if r and a < g["end"] and g["start"] < b]
                pairs = [(f, f.hit.unit.id in g["gold"]) for r in over for f in screener.flags(r)]
                if bad and not any(p for _, p in pairs):
                    owner.append((sentence, True))  # not retrieved: counted as a miss, not fitted
                    values.append(None)
                    labels.append(None)
                    continue
                for flag, positive in pairs:
                    values.append(flag.features)
                    labels.append(float(positive))
                    owner.append((sentence, bad))
                if not pairs:
                    owner.append((sentence, bad))
                    values.append(None)
                    labels.append(None)
    return values, labels, owner


def fit(values: list, labels: list, owner: list, verbose: bool = False) -> ScreenModel:
    kept = [i for i, v in enumerate(values) if v is not None]
    x = np.array([values[i] for i in kept], dtype=np.float64)
    y = np.array([labels[i] for i in kept])
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    weight = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)  # balance the classes
    for _ in range(5000):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ ((p - y) * weight) / len(y) + 0.01 * w)
    p_pair = dict(zip(kept, 1 / (1 + np.exp(-z @ w))))
    best: dict[int, float] = {}
    bad: dict[int, bool] = {}
    for i, (sentence, flagged) in enumerate(owner):
        bad[sentence] = flagged
        best[sentence] = max(best.get(sentence, 0.0), p_pair.get(i, 0.0))
    ok = np.array([best[s] for s in best if not bad[s]])
    flagged = np.array([best[s] for s in best if bad[s]])
    chosen = 0.95
    for threshold in np.arange(0.05, 0.96, 0.025):
        passed, recall = (ok < threshold).mean(), (flagged >= threshold).mean()
        if verbose:
            print(f"threshold {threshold:.3f}  recall {recall:.3f}  ok passed {passed:.3f}")
        if passed >= TARGET_CLEAN and threshold < chosen:
            chosen = float(threshold)
    return ScreenModel(mean=tuple(mean.round(4).tolist()), scale=tuple(scale.round(4).tolist()),
                       weights=tuple(w[:-1].round(3).tolist()), bias=round(float(w[-1]), 3),
                       threshold=round(chosen, 3))


def main() -> None:
    from eval.runner import open_assistants

    corpora = {s.corpus for s in draft_sets() if s.split in OPEN}
    _, assistants = open_assistants(corpora)
    values, labels, owner = measure(assistants)
    n = len({s for s, _ in owner})
    print(f"{n} dev sentences, {len({s for s, b in owner if b})} flagged; {sum(v is not None for v in values)} pairs")
    print(fit(values, labels, owner, verbose=True))


if __name__ == "__main__":
    main()
