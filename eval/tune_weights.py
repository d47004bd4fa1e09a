"""Fit the fusion weights (qa.retrieve.Weights) on the dev split; prints them to paste into Weights.

    python -m eval.tune_weights

A listwise logistic model: for each in-scope dev question, the softmax over its candidates of
w · features should put its mass on the gold units. The features are exactly what the retriever sums:
each signal's z-score and the structure indicators (Retriever.structure); a signal may only raise a
unit and a penalty only lower it. The L2 strength is chosen by 5-fold cross-validation on dev (three
shuffles): the strongest whose count of questions right first is within one question of the best,
since differences smaller than that are noise. Only the dev sets are read. The weights are scaled
so that e5 weighs 1.0, which keeps the fused score on the scale answer.CITE_MARGIN was set on;
refit coverage afterwards (`python -m eval.fit_coverage`), since it reads the fused score.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

import config
from eval.ablation import LEXICAL
from eval.runner import dev_rows
from qa.answer import Assistant
from qa.retrieve import ROLE_IN_QUESTION, Retriever, Weights

STRUCTURE = ("rule", "duty", "stub", "role")
PENALTIES = ("stub", "role")
STRENGTHS = (0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS, SHUFFLES = 5, 3
OFF = 1e-9  # the weight at which every_signal computes a switched-off signal


def every_signal(retriever: Retriever) -> Retriever:
    """The retriever with each switched-off signal computed at a weight too small to move any unit:
    a signal at weight 0 is not computed at all, and the fit must be able to switch it back on."""
    w = retriever.weights
    return retriever.with_weights(dense={name: w.dense.get(name) or OFF for name in retriever.embedders},
                                  **{name: getattr(w, name) or OFF for name in LEXICAL})


def candidate_features(retriever: Retriever, question: str) -> tuple[list[str], list[str], np.ndarray]:
    """(names, unit ids, one row per candidate) for everything the retriever fused for this question."""
    retrieval = retriever.retrieve(question, k=10_000)
    signals = sorted(k for k in retrieval.hits[0].signals if k != "intent")
    asks_role = bool(ROLE_IN_QUESTION.search(question))
    rows = []
    for hit in retrieval.hits:
        structure = retriever.structure(retrieval.intent, hit.unit, asks_role)
        rows.append([hit.signals[s] for s in signals] + [structure[s] for s in STRUCTURE])
    return signals + list(STRUCTURE), [h.unit.id for h in retrieval.hits], np.array(rows)


def fit(groups: list[tuple[np.ndarray, np.ndarray]], strength: float, signs: list[int]) -> np.ndarray:
    """Weights on the features as given. ``groups``: (candidate features, gold mask) per question;
    ``signs``: +1 for a feature that may only raise a unit (a signal), -1 for one that may only lower it."""
    stacked = np.vstack([x for x, _ in groups])
    scale = stacked.std(0) + 1e-9
    scaled = [(x / scale, gold) for x, gold in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = strength * w @ w, 2 * strength * w
        for x, gold in scaled:
            s = x @ w
            e = np.exp(s - s.max())
            p = e / e.sum()
            q = e[gold] / e[gold].sum()
            total -= np.log(e[gold].sum() / e.sum())
            grad -= q @ x[gold] - p @ x
        return total, grad

    bounds = [(None, 0.0) if sign < 0 else (0.0, None) for sign in signs]
    return minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x / scale


def right_first(w: np.ndarray, groups: list[tuple[np.ndarray, np.ndarray]]) -> int:
    return sum(bool(gold[int(np.argmax(x @ w))]) for x, gold in groups)


def cross_validated(groups: list[tuple[np.ndarray, np.ndarray]], strength: float, signs: list[int]) -> float:
    """Mean number of held-in-turn dev questions with a gold unit first."""
    counts = []
    for seed in range(SHUFFLES):
        order = np.random.default_rng(seed).permutation(len(groups))
        right = 0
        for fold in range(FOLDS):
            test = set(order[fold::FOLDS].tolist())
            w = fit([g for i, g in enumerate(groups) if i not in test], strength, signs)
            right += right_first(w, [groups[i] for i in sorted(test)])
        counts.append(right)
    return float(np.mean(counts))


def question_groups(retriever: Retriever, rows: list[dict]) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """Feature names, and (candidate features, gold mask) for each question with a gold candidate."""
    groups, names = [], []
    for row in rows:
        names, ids, x = candidate_features(retriever, row["question"])
        gold = np.array([uid in set(row["gold"]) | set(row.get("accept", [])) for uid in ids])
        if gold.any():  # a gold unit no signal found cannot teach the weights anything
            groups.append((x, gold))
    return names, groups


def as_weights(names: list[str], w: np.ndarray, embedders) -> Weights:
    """Fitted coefficients as Weights, scaled so that e5 weighs 1.0."""
    fitted = dict(zip(names, (w / w[names.index("e5")]).round(2).tolist()))
    return Weights(dense={n: fitted[n] for n in embedders}, bm25=fitted["bm25"], bigram=fitted["bigram"],
                   heading=fitted["heading"], rule_boost=fitted["rule"], duty_boost=fitted["duty"],
                   stub_penalty=-fitted["stub"], role_mismatch=-fitted["role"])


def fit_weights(retriever: Retriever, rows: list[dict], strength: float = 1.0) -> Weights:
    """Weights fitted on these questions at a given L2 strength (what eval.loo does per fold)."""
    retriever = every_signal(retriever)
    names, groups = question_groups(retriever, [r for r in rows if r["gold"]])
    signs = [-1 if n in PENALTIES else 1 for n in names]
    return as_weights(names, fit(groups, strength, signs), retriever.embedders)


def main() -> None:
    assistant = Assistant.open(config.get_settings())
    retriever = every_signal(assistant.retriever)
    dev = [r for r in dev_rows() if r["gold"]]
    names, groups = question_groups(retriever, dev)
    print(f"{len(groups)} of {len(dev)} in-scope dev questions have a gold unit among the candidates")
    current = np.array([retriever.weights.coefficients()[n] for n in names])
    print(f"current weights: dev right first {right_first(current, groups)}")
    signs = [-1 if n in PENALTIES else 1 for n in names]
    scores = {s: cross_validated(groups, s, signs) for s in STRENGTHS}
    for s, right in scores.items():
        print(f"L2 {s:<5} cross-validated right first {right:.1f} of {len(groups)}")
    best = max(s for s in STRENGTHS if scores[s] >= max(scores.values()) - 1)
    w = fit(groups, best, signs)
    print(f"chosen L2 {best}; refit on all dev: right first {right_first(w, groups)}")
    print(as_weights(names, w, assistant.retriever.embedders))

if __name__ == "__main__":
    main()
