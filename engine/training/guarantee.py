"""What the optimizer that actually runs is guaranteed to do on a quadratic problem.

For linear or polynomial-feature regression with mse, the training loss is
f(w) = mean((Aw - y)^2) with A the design matrix (inputs, then a column of ones for the bias)
and constant Hessian H = 2 A^T A / (n k), k the number of outputs. Every output column is an
independent copy of the same p-dimensional problem, so everything below is p x p.

What the kernels do per step (engine/numerics/kernels.py, reference.py), M = diag(weight
mask) (1 on weights, 0 on the bias), b the momentum:
  g   = (H + l2 M) w - c                      the gradient, L2 included; grad_tol tests |g|
  gd:       w <- (I - lr wd M) w - lr g
  momentum: v <- b v + g;  w <- (I - lr wd M) w - lr v
  nesterov: v <- b v + g;  w <- (I - lr wd M) w - lr (g + b v)
All three are affine maps; the run converges iff the spectral radius of the linear part is
below 1, and the error then shrinks by that radius per step. With K = H + l2 M:
  * gd is gradient descent on K + wd M: stable iff lr < 2/L (L, mu of K + wd M), best step
    2/(L + mu), rate max |1 - lr lambda|.
  * momentum and nesterov split into one 2x2 matrix per eigenvalue of K when the decay
    factor is the same on every parameter (no weight decay, or no bias). Their stability
    (Jury's conditions on z^2 - T z + D) gives, with d = 1 - lr wd:
      momentum: T = d - lr lambda + b,         D = b d,
                stable iff lr < 2(1 + b) / (L + wd(1 + b));
      nesterov: T = d - lr lambda (1 + b) + b, D = b (d - lr lambda),
                stable iff lr < 2(1 + b) / (L(1 + 2b) + wd(1 + b)).
    With both weight decay and a bias the mask couples the eigen-directions: the radius is
    that of the full 2p x 2p matrix, and the bound is found by bisection on it.
  * the fixed point solves (K + (1 - b) wd M) w = c (b = 0 for gd): with decoupled decay
    the gradient the kernel tests does not vanish there, |g*| = (1 - b) wd |M w*|, and
    grad_tol is never reached when |g*| >= grad_tol.
Minibatch SGD, Adam, L1, gradient clipping and lr schedules make the step random or
nonlinear: no deterministic guarantee, only the problem's numbers as a reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.numerics.optim import HParams

# Above this many parameters per output (features, and the bias), the dense least squares
# and eigen-decompositions (cubic in it) are skipped: measured on 2 busy cores, 511
# features take under 1 s, 1023 from 3 to 15 s, and the guarantee is remade on each edit.
MAX_ANALYSED = 512
# The coupled 2p x 2p case (momentum + weight decay + bias) is analysed up to this p.
MAX_COUPLED = 100


@dataclass(frozen=True)
class Guarantee:
    method: str  # what runs, in plain words ("momentum 0.9 + weight decay 0.01")
    applies: bool  # False: no deterministic guarantee; the numbers below are references
    reason: str  # why it does not apply ("" when it does)
    L: float  # largest eigenvalue of the (penalised) Hessian the method sees
    mu: float  # smallest (clipped at 0)
    lr: float
    stable_lr: float  # the method's stable bound: it converges iff lr < stable_lr (nan: none)
    best_lr: float  # the fixed step with the smallest predicted rate (nan: none)
    contraction: float  # spectral radius of the iteration at lr: the predicted rate per step
    predicted_steps: float  # to reach grad_tol from the gradient when it was made (inf: never)
    diverges: bool  # lr >= stable_lr: divergence is certain before it happens
    lstsq_params: np.ndarray  # the point the run converges to, in the flat parameter layout
    lstsq_loss: float  # its training loss: the floor this run can reach
    unpenalised_loss: float  # the plain least-squares floor (<= lstsq_loss)
    grad_floor: float  # |g| at that point: > 0 with decoupled weight decay

    @property
    def penalised(self) -> bool:
        return self.lstsq_loss > self.unpenalised_loss * (1.0 + 1e-9)

    def rows(self) -> tuple[tuple[str, str], ...]:
        """Short label/value pairs for a status panel."""
        head = (("applies to", self.method),)
        if not self.applies:
            rows = [*head, ("guarantee", "none"), ("why", self.reason)]
            if math.isfinite(self.L):
                rows += [("L, mu", f"{self.L:.4g}, {self.mu:.4g}")]
            if math.isfinite(self.unpenalised_loss):
                rows += [("lstsq floor", f"{self.unpenalised_loss:.4g}")]
            return tuple(rows)
        steps = f"{self.predicted_steps:,.0f}" if math.isfinite(self.predicted_steps) else "never"
        rows = [
            *head,
            ("L, mu", f"{self.L:.4g}, {self.mu:.4g}"),
            ("stable if lr <", f"{self.stable_lr:.4g}"),
            ("best lr", f"{self.best_lr:.4g}"),
            ("floor", f"{self.lstsq_loss:.4g}"),
        ]
        if self.penalised:
            rows.append(("lstsq floor", f"{self.unpenalised_loss:.4g}"))
        rows += [
            ("predicted rate", f"{self.contraction:.6f}"),
            ("steps to tol", steps),
            ("verdict", "diverges" if self.diverges else "converges"),
        ]
        return tuple(rows)

    def summary(self) -> str:
        """One line for the event log."""
        if not self.applies:
            return f"{self.method}: no deterministic guarantee ({self.reason})"
        verdict = "diverges" if self.diverges else f"converges at rate {self.contraction:.6f}"
        return f"{self.method}: stable if lr < {self.stable_lr:.4g}; lr {self.lr:.4g} {verdict}"


def design_matrix(x: np.ndarray, bias: bool) -> np.ndarray:
    """Inputs with a column of ones when the model has a bias (bias sits after the weights)."""
    return np.hstack([x, np.ones((x.shape[0], 1))]) if bias else x


def describe(hp: HParams, n_train: int) -> tuple[str, str]:
    """(what runs, why no deterministic guarantee applies or "")."""
    minibatch = 0 < hp.batch_size < n_train
    if hp.kind in ("gd", "sgd"):
        method = f"sgd, batch {hp.batch_size}" if minibatch else "gd"
    elif hp.kind in ("momentum", "nesterov"):
        method = f"{hp.kind} {hp.momentum:g}" + (f", batch {hp.batch_size}" if minibatch else "")
    else:
        method = hp.kind
    for name, value in (("l2", hp.l2), ("l1", hp.l1), ("weight decay", hp.weight_decay)):
        if value:
            method += f" + {name} {value:g}"
    if hp.kind in ("adam", "adamw"):
        reason = "Adam: the step is not linear"
    elif minibatch:
        reason = "minibatch SGD: the step is random"
    elif hp.l1:
        reason = "L1: the loss is not smooth"
    elif hp.clip_norm:
        reason = "clipping: the step is not linear"
    elif hp.schedule != "constant" or hp.warmup_steps:
        reason = "lr schedule: the step changes"
    else:
        reason = ""
    return method, reason


def quadratic_guarantee(x, y, bias: bool, hp: HParams, grad_tol: float, params) -> Guarantee:
    """The guarantee of the optimizer `hp` describes, started from the flat `params`."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, k = y.shape
    method, reason = describe(hp, n)
    p = x.shape[1] + int(bias)
    momentum = hp.momentum if hp.kind in ("momentum", "nesterov") else 0.0
    wd = hp.weight_decay
    if p > MAX_ANALYSED:
        reason = (
            f"not computed: {x.shape[1]:,} features are too many for the dense "
            f"eigen-decomposition (at most {MAX_ANALYSED - int(bias):,})"
        )
        return _no_guarantee(method, reason, hp, np.full(np.shape(params), math.nan))
    if not reason and momentum and wd and bias and p > MAX_COUPLED:
        reason = (
            f"not computed: {x.shape[1]:,} features are too many for the coupled analysis of "
            f"momentum with weight decay and a bias (at most {MAX_COUPLED - 1})"
        )
        return _no_guarantee(method, reason, hp, np.full(np.shape(params), math.nan))
    a = design_matrix(x, bias)
    hessian = 2.0 * (a.T @ a) / (n * k)
    rhs = 2.0 * (a.T @ y) / (n * k)
    mask = np.ones(p)
    if bias:
        mask[-1] = 0.0  # penalties and decay skip the bias
    K = hessian + hp.l2 * np.diag(mask)
    unpenalised = _loss(a, y, np.linalg.lstsq(hessian, rhs, rcond=None)[0])
    if reason:
        L, mu = _extremes(np.linalg.eigvalsh(K))
        solution = np.linalg.lstsq(K, rhs, rcond=None)[0]  # the penalised loss's minimiser
        return _no_guarantee(
            method, reason, hp, _flat(solution, bias), L, mu, _loss(a, y, solution), unpenalised
        )
    iteration = _Iteration(hp.kind if momentum else "gd", K, mask, wd, momentum)
    solution = np.linalg.lstsq(K + (1.0 - momentum) * wd * np.diag(mask), rhs, rcond=None)[0]
    g_star = K @ solution - rhs
    g0 = K @ _unflat(np.asarray(params, dtype=np.float64), p, k, bias) - rhs
    rate = iteration.radius(hp.lr)
    floor, start = float(np.linalg.norm(g_star)), float(np.linalg.norm(g0))
    if start <= grad_tol:
        steps = 0.0
    elif floor >= grad_tol or not 0.0 < rate < 1.0:
        steps = math.inf
    else:  # |g_t| <= |g*| + rate^t |g_0 - g*| (a bound for gd, an estimate with momentum)
        gap = float(np.linalg.norm(g0 - g_star))
        steps = max(math.log((grad_tol - floor) / gap) / math.log(rate), 0.0)
    stable = iteration.stable_lr()
    return Guarantee(
        method=method,
        applies=True,
        reason="",
        L=iteration.L,
        mu=iteration.mu,
        lr=hp.lr,
        stable_lr=stable,
        best_lr=iteration.best_lr(stable),
        contraction=rate,
        predicted_steps=steps,
        diverges=not hp.lr < stable,
        lstsq_params=_flat(solution, bias),
        lstsq_loss=_loss(a, y, solution),
        unpenalised_loss=unpenalised,
        grad_floor=floor,
    )


class _Iteration:
    """The linear part of one step of gd / momentum / nesterov on K, as a function of lr."""

    def __init__(self, kind: str, K: np.ndarray, mask: np.ndarray, wd: float, momentum: float):
        self.kind, self.mask, self.wd, self.mom = kind, mask, wd, momentum
        if kind == "gd":  # decay folds into the Hessian: w <- w - lr ((K + wd M) w - c)
            K, self.wd = K + wd * np.diag(mask), 0.0
        self.K = K
        self.eig = np.linalg.eigvalsh(K)
        self.L, self.mu = _extremes(self.eig)
        # The decay factor is one scalar on every parameter: 2x2 blocks per eigenvalue.
        self.separable = self.wd == 0.0 or bool(np.all(mask == 1.0))

    def radius(self, lr: float) -> float:
        lam, m, d = np.maximum(self.eig, 0.0), self.mom, 1.0 - lr * self.wd
        if self.kind == "gd":
            return float(np.max(np.abs(1.0 - lr * lam)))
        if not self.separable:
            return float(np.max(np.abs(np.linalg.eigvals(self.matrix(lr)))))
        if self.kind == "momentum":
            trace, det = d - lr * lam + m, m * d
        else:
            trace, det = d - lr * lam * (1.0 + m) + m, m * (d - lr * lam)
        root = np.sqrt(trace * trace - 4.0 * det + 0j)
        return float(np.max(np.maximum(np.abs(trace + root), np.abs(trace - root)) / 2.0))

    def matrix(self, lr: float) -> np.ndarray:
        """The 2p x 2p map of (w, m) for momentum and nesterov."""
        p, m = self.K.shape[0], self.mom
        eye = np.eye(p)
        decay = np.diag(1.0 - lr * self.wd * self.mask)
        if self.kind == "momentum":
            top = np.hstack([decay - lr * self.K, -lr * m * eye])
        else:
            top = np.hstack([decay - lr * (1.0 + m) * self.K, -lr * m * m * eye])
        return np.vstack([top, np.hstack([self.K, m * eye])])

    def stable_lr(self) -> float:
        m, wd, L = self.mom, self.wd, self.L
        if m >= 1.0:  # |z1 z2| >= 1 for every lr
            return 0.0
        if self.kind == "gd":
            return 2.0 / L if L > 0 else math.inf
        if self.separable:
            curvature = L if self.kind == "momentum" else L * (1.0 + 2.0 * m)
            return 2.0 * (1.0 + m) / (curvature + wd * (1.0 + m))
        # Coupled by the mask: bisect on the exact radius.
        lo, hi = 0.0, 2.0 * (1.0 + m) / L
        while self.radius(hi) < 1.0:
            lo, hi = hi, 2.0 * hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.radius(mid) < 1.0 else (lo, mid)
        return lo

    def best_lr(self, stable: float) -> float:
        if self.kind == "gd":
            return 2.0 / (self.L + self.mu) if self.L + self.mu > 0 else math.inf
        # The radius is unimodal in lr: golden-section search over the stable range.
        inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
        lo, hi = 0.0, stable
        x1, x2 = hi - inv_phi * (hi - lo), lo + inv_phi * (hi - lo)
        f1, f2 = self.radius(x1), self.radius(x2)
        for _ in range(80):
            if f1 <= f2:
                hi, x2, f2 = x2, x1, f1
                x1 = hi - inv_phi * (hi - lo)
                f1 = self.radius(x1)
            else:
                lo, x1, f1 = x1, x2, f2
                x2 = lo + inv_phi * (hi - lo)
                f2 = self.radius(x2)
        return 0.5 * (lo + hi)


def _extremes(eig: np.ndarray) -> tuple[float, float]:
    return float(eig[-1]), float(max(eig[0], 0.0))


def _loss(a: np.ndarray, y: np.ndarray, solution: np.ndarray) -> float:
    return float(np.mean((a @ solution - y) ** 2))


def _flat(solution: np.ndarray, bias: bool) -> np.ndarray:
    """(features [+1], k) columns in the flat parameter layout (weights row-major, bias)."""
    if bias:
        return np.concatenate([solution[:-1].reshape(-1), solution[-1]])
    return solution.reshape(-1)


def _unflat(flat: np.ndarray, p: int, k: int, bias: bool) -> np.ndarray:
    if bias:
        return np.vstack([flat[: (p - 1) * k].reshape(p - 1, k), flat[(p - 1) * k :][None, :]])
    return flat.reshape(p, k)


def _no_guarantee(
    method: str,
    reason: str,
    hp: HParams,
    params: np.ndarray,
    L: float = math.nan,
    mu: float = math.nan,
    loss: float = math.nan,
    unpenalised: float = math.nan,
) -> Guarantee:
    """No deterministic promise: the problem's own numbers (NaN if unknown) as references."""
    nan = math.nan
    return Guarantee(
        method=method,
        applies=False,
        reason=reason,
        L=L,
        mu=mu,
        lr=hp.lr,
        stable_lr=nan,
        best_lr=nan,
        contraction=nan,
        predicted_steps=nan,
        diverges=False,
        lstsq_params=params,
        lstsq_loss=loss,
        unpenalised_loss=unpenalised,
        grad_floor=nan,
    )


def observed_contraction(norms: np.ndarray) -> float:
    """Per-step contraction fitted to a sequence of norms that shrink to 0 (slope of its log,
    least squares).

    It keeps the points up to the last one well above float64 round-off (1e-9 of the
    largest) and fits the second half, where the slowest eigen-direction dominates, through
    the upper envelope (the maximum of each run of 8 points), since oscillating directions
    dip towards 0 now and then. NaN when there are too few points.
    """
    g = np.asarray(norms, dtype=np.float64)
    g = g[np.isfinite(g)]
    if g.size == 0 or not g.max() > 0:
        return math.nan
    above = np.flatnonzero(g >= 1e-9 * g.max())
    tail = g[: above[-1] + 1][(above[-1] + 1) // 2 :]
    runs = tail.size // _ENVELOPE
    if runs < 2:
        return math.nan
    envelope = tail[: runs * _ENVELOPE].reshape(runs, _ENVELOPE).max(axis=1)
    slope = np.polyfit(np.arange(runs, dtype=np.float64), np.log(envelope), 1)[0]
    return float(math.exp(slope / _ENVELOPE))


_ENVELOPE = 8
