"""Fit the screen's model (qa.screen.ScreenModel) on the dev drafts.

    python -m eval.fit_screen [--cross]

Prints the fitted ScreenModel to paste into qa/screen.py, and per threshold the recall of flagged
sentences and the share of ok sentences passed; with --cross, first each open split screened by a model fitted on the other.
Only dev draft sets are read (eval/drafts.json);
the features come from the live index and the sentence alone, so the fit carries to added documents.

Each substantive sentence is one example: positive when gold `breach` or `risk`, negative when
`ok`; its features are those of its best-matching rule (qa.screen.features). A sentence none of
whose candidates rules anything is never flagged and is not fitted. The threshold is the lowest
that passes at least TARGET_CLEAN of the ok sentences; the review threshold (below it, an unsure
`risk` that shows the candidate articles) the highest that still catches TARGET_RECALL of the flagged. Which article is cited is the retriever's
order among the rules, not fitted here.
"""
from __future__ import annotations

import numpy as np

from eval.drafts import OPEN, draft_sets, gold_spans, load
from eval.logistic import fit_logistic
from qa.screen import ScreenModel, Screener

TARGET_CLEAN = 0.85  # the flag threshold passes this share of the dev drafts' ok sentences
TARGET_RECALL = 0.90  # the review threshold still catches this share of their flagged ones
# How well the sentence matches the rule (coverage, e5, USE, bigram, fused score, share of telling
# words: qa.screen.features' first six): a closer match never makes a breach less likely, so these
# weights are kept non-negative. Fitted freely on a few dozen flagged sentences they came out
# negative, and a sentence copying a prohibition almost word for word passed as ok.
MATCH = [0, 1, 2, 3, 4, 5]


def measure(assistants: dict, splits: tuple[str, ...] = OPEN) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(features, flagged?, weight) per example, and how many flagged and ok sentences were not fitted.
    A flagged sentence gives one positive: the candidate rule holding its evidence, else its first
    candidate (a flag citing the wrong article still catches it). An ok sentence gives each of its
    candidate rules as a negative, weighted to count as one sentence."""
    values, labels, weights = [], [], []
    unfitted_bad = unfitted_ok = 0
    for s in draft_sets():
        if s.split not in splits:
            continue
        assistant = assistants[s.corpus]
        screener = Screener(assistant)
        for row in load(s.path):
            text, spans, retrievals = screener.candidates(row["draft"])
            for g in gold_spans(row, assistant.index, text):
                bad = g["label"] != "ok"
                over = [r for (a, b), r in zip(spans, retrievals) if r and a < g["end"] and g["start"] < b]
                found = [f for r in over if (f := screener.assess(r))]
                pairs = [(hit.unit.id, v) for f in found for (hit, _), v in zip(f.rules, f.features)]
                if not pairs:
                    unfitted_bad += bad
                    unfitted_ok += not bad
                    continue
                if bad:
                    right = [v for uid, v in pairs if uid in g["gold"]]
                    values.append(right[0] if right else pairs[0][1])
                    labels.append(1.0)
                    weights.append(1.0)
                else:
                    values += [v for _, v in pairs]
                    labels += [0.0] * len(pairs)
                    weights += [1.0 / len(pairs)] * len(pairs)
    return (np.array(values, dtype=np.float64), np.array(labels), np.array(weights), unfitted_bad, unfitted_ok)


def fit(x: np.ndarray, y: np.ndarray, sample: np.ndarray, unfitted_bad: int = 0, unfitted_ok: int = 0,
        verbose: bool = False) -> ScreenModel:
    """Logistic regression (L2 0.01, classes balanced by weight, MATCH weights non-negative) and the threshold for TARGET_CLEAN
    (an ok sentence passes when none of its candidate rules reaches it)."""
    weight = sample * np.where(y == 1, sample[y == 0].sum() / max(sample[y == 1].sum(), 1), 1.0)
    mean, scale, w, p = fit_logistic(x, y, weight, nonnegative=MATCH)
    flagged = p[y == 1]
    # an ok sentence's negatives are consecutive and share the weight 1/n: its score is their maximum
    ok, i, negatives = [], 0, np.flatnonzero(y == 0)
    while i < len(negatives):
        n = max(1, round(1 / sample[negatives[i]]))
        ok.append(p[negatives[i:i + n]].max())
        i += n
    ok = np.array(ok)
    n_ok, n_bad = len(ok) + unfitted_ok, len(flagged) + unfitted_bad
    chosen, review = 0.95, 0.05
    for threshold in np.arange(0.05, 0.96, 0.025):
        passed = ((ok < threshold).sum() + unfitted_ok) / n_ok
        recall = (flagged >= threshold).sum() / n_bad
        if verbose:
            print(f"threshold {threshold:.3f}  recall {recall:.3f}  ok passed {passed:.3f}")
        if passed >= TARGET_CLEAN and threshold < chosen:
            chosen = float(threshold)
        if recall >= TARGET_RECALL:
            review = float(threshold)
    return ScreenModel(mean=tuple(mean.round(4).tolist()), scale=tuple(scale.round(4).tolist()),
                       weights=tuple(w[:-1].round(3).tolist()), bias=round(float(w[-1]), 3),
                       threshold=round(chosen, 3), review=round(min(review, chosen), 3))


def cross_fit(assistants: dict) -> None:
    """Fit on one open split, screen the other: what the fit is worth on drafts it never saw."""
    from eval.drafts import run, summarize

    for train, test in ((("dev-drafts",), "added-drafts"), (("added-drafts",), "dev-drafts")):
        x, y, sample, bad, ok = measure(assistants, train)
        model = fit(x, y, sample, bad, ok)
        m = summarize(run((test,), assistants, model))
        print(f"fit on {train[0]}, screen {test}: recall {m['recall']} right article {m['right_article']} "
              f"ok passed {m['clean_passed']} precision {m['precision']}")


def main() -> None:
    import sys

    from eval.runner import open_assistants

    corpora = {s.corpus for s in draft_sets() if s.split in OPEN}
    _, assistants = open_assistants(corpora)
    if "--cross" in sys.argv:
        cross_fit(assistants)
    x, y, sample, unfitted_bad, unfitted_ok = measure(assistants)
    print(f"{int(round(sample.sum()))} dev sentences fitted ({int(y.sum())} flagged); not fitted (no rule among "
          f"the candidates): {unfitted_bad} flagged, {unfitted_ok} ok")
    print(fit(x, y, sample, unfitted_bad, unfitted_ok, verbose=True))


if __name__ == "__main__":
    main()
