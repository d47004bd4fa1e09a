"""The one logistic regression the fits use (qa/coverage.py's model, qa/screen.py's model)."""
from __future__ import annotations

import numpy as np


def fit_logistic(values: np.ndarray, y: np.ndarray, sample_weight: np.ndarray,
                 nonnegative: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardized features, L2 0.01, 5,000 steps of gradient descent; the weights at ``nonnegative``
    are kept ≥ 0. Returns (mean, scale, weights with the bias last, fitted probabilities)."""
    mean, scale = values.mean(0), values.std(0)
    scale[scale == 0] = 1.0
    z = np.c_[(values - mean) / scale, np.ones(len(values))]
    w = np.zeros(z.shape[1])
    for _ in range(5000):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ ((p - y) * sample_weight) / len(y) + 0.01 * w)
        if nonnegative:
            w[nonnegative] = np.maximum(w[nonnegative], 0.0)
    return mean, scale, w, 1 / (1 + np.exp(-z @ w))
