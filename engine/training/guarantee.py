"""The convergence guarantee of gradient descent on quadratic problems.

For linear or polynomial-feature regression with mse, the training loss is a quadratic
f(w) = mean((Xw - y)^2) (+ l2/2 |w|^2) with constant Hessian H = 2 X^T X / (n k) (+ l2 on
weights), k the number of outputs. Gradient descent with step lr contracts the error along
each eigenvector of H by |1 - lr * lambda|, so with L and mu the largest and smallest
eigenvalues:
  * lr < 2/L is necessary and sufficient for convergence (lr > 2/L diverges from almost
    every start),
  * the best fixed step is 2/(L + mu), with contraction (L - mu)/(L + mu),
  * the predicted contraction is max(|1 - lr mu|, |1 - lr L|), and since
    |g_t| <= contraction^t |g_0|, the gradient norm is below grad_tol after at most
    log(grad_tol / g0) / log(contraction) steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Guarantee:
    L: float
    mu: float
    lr: float
    stable_lr: float  # 2 / L
    best_lr: float  # 2 / (L + mu)
    contraction: float  # max |1 - lr * lambda| over the spectrum
    predicted_steps: float  # to reach grad_tol from the initial gradient norm (inf if never)
    diverges: bool  # lr > 2 / L: divergence is certain before it happens
    lstsq_params: np.ndarray  # the exact minimiser, in the flat parameter layout
    lstsq_loss: float  # its training loss: the floor the model class can reach

    def rows(self) -> tuple[tuple[str, str], ...]:
        """Label/value pairs for display."""
        steps = f"{self.predicted_steps:,.0f}" if math.isfinite(self.predicted_steps) else "never"
        return (
            ("L (largest Hessian eigenvalue)", f"{self.L:.4g}"),
            ("mu (smallest)", f"{self.mu:.4g}"),
            ("stable step bound 2/L", f"{self.stable_lr:.4g}"),
            ("best fixed step 2/(L+mu)", f"{self.best_lr:.4g}"),
            ("predicted contraction", f"{self.contraction:.6f}"),
            ("steps to grad_tol, at most", steps),
        )


def design_matrix(x: np.ndarray, bias: bool) -> np.ndarray:
    """Inputs with a column of ones when the model has a bias (bias sits after the weights)."""
    return np.hstack([x, np.ones((x.shape[0], 1))]) if bias else x


def quadratic_guarantee(
    x, y, bias: bool, l2: float, lr: float, grad_tol: float, initial_grad_norm: float
) -> Guarantee:
    """Spectrum of the training-loss Hessian and what it promises for GD at step lr."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a = design_matrix(x, bias)
    n, k = y.shape
    hessian = 2.0 * (a.T @ a) / (n * k)
    if l2:
        penalty = np.ones(a.shape[1])
        if bias:
            penalty[-1] = 0.0  # penalties skip the bias
        hessian = hessian + l2 * np.diag(penalty)
    eig = np.linalg.eigvalsh(hessian)
    L, mu = float(eig[-1]), float(max(eig[0], 0.0))
    contraction = max(abs(1.0 - lr * mu), abs(1.0 - lr * L))
    if 0.0 < contraction < 1.0 and initial_grad_norm > grad_tol:
        steps = math.log(grad_tol / initial_grad_norm) / math.log(contraction)
    elif initial_grad_norm <= grad_tol:
        steps = 0.0
    else:
        steps = math.inf
    # Exact minimiser of the (possibly ridge-penalised) quadratic, solved column by column.
    rhs = 2.0 * (a.T @ y) / (n * k)
    solution = np.linalg.lstsq(hessian, rhs, rcond=None)[0]  # (features [+1], k)
    loss = float(np.mean((a @ solution - y) ** 2))
    if bias:
        flat = np.concatenate([solution[:-1].reshape(-1), solution[-1]])
    else:
        flat = solution.reshape(-1)
    return Guarantee(
        L=L,
        mu=mu,
        lr=lr,
        stable_lr=2.0 / L if L > 0 else math.inf,
        best_lr=2.0 / (L + mu) if L + mu > 0 else math.inf,
        contraction=contraction,
        predicted_steps=steps,
        diverges=lr * L > 2.0,
        lstsq_params=flat,
        lstsq_loss=loss,
    )


def observed_contraction(grad_norms: np.ndarray) -> float:
    """Per-step contraction fitted to a gradient-norm sequence (slope of its log, least squares).

    Fits the last half of the points that stand well above float64 round-off (1e-9 of the
    largest), where the slowest eigen-direction dominates and the rate is steady. NaN when
    there are too few points.
    """
    g = np.asarray(grad_norms, dtype=np.float64)
    g = g[np.isfinite(g) & (g > 0)]
    if g.size == 0:
        return math.nan
    g = g[: np.argmax(g < 1e-9 * g.max())] if np.any(g < 1e-9 * g.max()) else g
    if g.size < 8:
        return math.nan
    tail = np.log(g[g.size // 2 :])
    slope = np.polyfit(np.arange(tail.size, dtype=np.float64), tail, 1)[0]
    return float(math.exp(slope))
