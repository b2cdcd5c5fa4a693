"""A one-layer model's fit in the data's own units, and R^2.

The model of a CSV file sees standardized features z = (x - m) / s (engine/training/data.py
`Scaling`); targets are never scaled. A linear output w.z + b is, in the file's units,
sum_j (w_j / s_j) x_j + (b - sum_j w_j m_j / s_j). A polynomial model sees the powers
z_j^1..z_j^d of each input (no cross terms); expanding ((x - m) / s)^k by the binomial
theorem gives the coefficient of every x_j^p and what goes into the intercept. Softmax and
other multi-output models convert each output's column alike.
"""

from __future__ import annotations

import math

import numpy as np

from engine.training.data import Scaling


def term_names(features: tuple[str, ...], degree: int) -> list[str]:
    """The model's input terms in the order of its weight rows: x, x^2, ... per feature."""
    if degree <= 1:
        return list(features)
    return [name if p == 1 else f"{name}^{p}" for name in features for p in range(1, degree + 1)]


def original_units(
    weight: np.ndarray,
    bias: np.ndarray | None,
    scaling: Scaling | None,
    degree: int = 1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(coefficients, intercept) of the same function of the unscaled features.

    weight: (n_features * degree, n_outputs), rows per feature then power (as
    engine.numerics.model.polynomial_features lays them out); bias: (n_outputs,) or None.
    The intercept is None only when the model has none and nothing was scaled: centring the
    features gives even a model without bias an intercept in the file's units.
    """
    weight = np.asarray(weight, dtype=np.float64)
    if scaling is None:
        return weight.copy(), None if bias is None else np.asarray(bias, dtype=np.float64).copy()
    n_out = weight.shape[1]
    coef = np.zeros_like(weight)
    intercept = np.zeros(n_out) if bias is None else np.asarray(bias, dtype=np.float64).copy()
    for j, (m, s) in enumerate(zip(scaling.mean, scaling.scale, strict=True)):
        for k in range(1, degree + 1):
            a = weight[j * degree + k - 1] / s**k  # a (x - m)^k
            for p in range(k + 1):
                part = a * math.comb(k, p) * (-m) ** (k - p)  # of x^p
                if p == 0:
                    intercept += part
                else:
                    coef[j * degree + p - 1] += part
    return coef, intercept


def r_squared(y: np.ndarray, prediction: np.ndarray) -> float | None:
    """1 - SSE / SST with the split's own mean (as sklearn's r2_score); None when the
    targets are constant or the split is empty."""
    y = np.asarray(y, dtype=np.float64).ravel()
    prediction = np.asarray(prediction, dtype=np.float64).ravel()
    total = float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0
    if total <= 0.0:
        return None
    return 1.0 - float(np.sum((y - prediction) ** 2)) / total
