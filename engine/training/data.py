"""Datasets: deterministic generators (and a user's CSV file) split into train/val/test.

Everything is drawn from one generator seeded by `train.seed`, so a seed names a dataset.
Rows are shuffled before the split (val_fraction and test_fraction of data.n), unless
data.n_val / data.n_test ask for held-out rows drawn in addition: then the training rows are
the generator's first draw of data.n and the held-out rows its second. Label noise flips
training labels only: validation and test stay clean, so a model that memorizes the noise
shows it as a generalization gap. A CSV's features are standardized with the training
rows' statistics, kept (`Scaling`) so that weights can be reported in the file's units.
"""

from __future__ import annotations

import array
import csv
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from engine.config import DataConfig, RunConfig
from engine.errors import ConfigError

MODULAR_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}

Regression = tuple[np.ndarray, np.ndarray, tuple[str, ...]]  # X, y (n,), feature names
Labelled = tuple[np.ndarray, np.ndarray, int]  # X (n, 2), labels (n,), classes

T = TypeVar("T")


def _need(value: T | None, key: str) -> T:
    """A [data] key the generator of this kind reads.

    DataConfig leaves keys not used by its kind as None; load_config fills every key a kind
    uses, so None here is a bug in the config layer, not a user's mistake.
    """
    if value is None:
        raise RuntimeError(f"data.{key} is unset: load_config fills every key its kind uses")
    return value


@dataclass(frozen=True, eq=False)
class Split:
    """One split's inputs and targets, C-contiguous."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Reference:
    """What the data itself allows, known before training: the floor a verdict compares with.

    Every field is None when it cannot be known (a CSV file has no known noise).
    noise_var: variance of the noise added to a generated regression target; the mse loss
        (mean squared error of y, in y's own units: targets are never standardized) of the
        true function. The lowest loss a model can reach on fresh data.
    target_var: variance of the training targets (regression): the mse of predicting
        their mean, so R^2 = 1 - loss / target_var.
    bayes_acc: accuracy of the Bayes classifier on clean labels (validation and test are
        clean), estimated once by Monte Carlo from the generating densities.
    label_noise: fraction of training labels flipped at random (generated classification).
    majority_rate: share of the most frequent class in the training split (classification).
    n_val: rows in the validation split (how precise a validation accuracy can be).
    target_mean: mean of the training targets (regression).
    true_intercept: the generating function's value at x = 0 (generated regression): what a
        model without intercept must do without.
    """

    noise_var: float | None = None
    target_var: float | None = None
    bayes_acc: float | None = None
    label_noise: float | None = None
    majority_rate: float | None = None
    n_val: int = 0
    target_mean: float | None = None
    true_intercept: float | None = None


@dataclass(frozen=True)
class Scaling:
    """How a CSV's feature columns were standardized: the model sees (x - mean) / scale.

    Statistics of the training rows; scale is the standard deviation, or 1 for a constant
    column. Targets are never scaled. Kept so weights can be reported in the file's units.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Three splits plus what the model needs to know about their shapes.

    input_kind "dense": X float64 (n, n_inputs). "index": X int64 (n, c) of positions in
    one concatenated one-hot space of width n_inputs (modular: a -> a, b -> p + b).
    Regression: y float64 (n, n_outputs). Classification: y int64 (n,), n_outputs classes.
    """

    train: Split
    val: Split
    test: Split
    task: str  # "regression" | "classification"
    input_kind: str  # "dense" | "index"
    n_inputs: int
    n_outputs: int
    feature_names: tuple[str, ...]
    target_name: str
    reference: Reference = field(default_factory=lambda: Reference())
    scaling: Scaling | None = None  # None: the features are the data's own
    # Rows of the training split whose label was flipped (generated label noise), sorted.
    flipped: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def make_dataset(cfg: RunConfig) -> Dataset:
    """The dataset of `cfg.data`, identical for identical configs (seeded by train.seed)."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.train.seed, 1]))
    data = cfg.data
    if data.kind == "modular":
        return _modular(data, rng, cfg.source)
    if data.kind == "csv":
        return _csv(data, cfg.is_classification, rng)
    if data.kind in _REGRESSION:
        generate = _REGRESSION[data.kind]
        if _draws_held_out(data):
            # The training rows are the generator's first draw, as drawn (independent rows
            # need no shuffle); the held-out rows come after them from the same stream.
            (X, y, names), sizes = _with_held_out(generate, data, rng, shuffle=False)
        else:
            X, y, names = generate(data, rng)
            perm = rng.permutation(len(y))
            X, y = X[perm], y[perm]
            sizes = split_sizes(len(y), data, cfg.source, "data.n")
        noise = _need(data.noise, "noise")
        ref = Reference(noise_var=noise * noise, true_intercept=_true_intercept(data))
        return _dataset(
            X, y.reshape(-1, 1), sizes, "regression", names, "y", n_outputs=1, reference=ref
        )
    if _draws_held_out(data):
        # Rows come grouped by class: each draw is shuffled on its own.
        (X, y, classes), sizes = _with_held_out(_CLASSIFICATION[data.kind], data, rng, True)
    else:
        X, y, classes = _CLASSIFICATION[data.kind](data, rng)
        perm = rng.permutation(len(y))
        X, y = X[perm], y[perm]
        sizes = split_sizes(len(y), data, cfg.source, "data.n")
    label_noise = _need(data.label_noise, "label_noise")
    flipped = _flip_labels(y[: sizes[0]], label_noise, classes, rng)
    # Its own stream: estimating the floor must not change the data a seed names.
    mc_rng = np.random.default_rng(np.random.SeedSequence([cfg.train.seed, 3]))
    ref = Reference(bayes_acc=bayes_accuracy(data, mc_rng), label_noise=label_noise)
    return _dataset(
        X, y, sizes, "classification", ("x1", "x2"), "class", n_outputs=classes, reference=ref,
        flipped=flipped,
    )  # fmt: skip


# --------------------------------------------------------------------------- splitting


def _draws_held_out(d: DataConfig) -> bool:
    """data.n_val / n_test given: the held-out rows are drawn in addition to the n."""
    return d.n_val is not None or d.n_test is not None


def _true_intercept(d: DataConfig) -> float | None:
    """The generating function's value at x = 0 (what an intercept has to fit)."""
    if d.kind == "linear":
        return _need(d.intercept, "intercept")
    if d.kind == "polynomial":
        return _need(d.coeffs, "coeffs")[0]
    return 0.0  # sine


def _with_held_out(generate: Callable, d: DataConfig, rng: np.random.Generator, shuffle: bool):
    """The generator's output for n training rows, then n_val + n_test held-out rows drawn
    after them (val first), concatenated; with the split sizes."""
    n, n_val, n_test = _need(d.n, "n"), _need(d.n_val, "n_val"), _need(d.n_test, "n_test")
    parts = [generate(d, rng)]
    if n_val + n_test:
        parts.append(generate(replace(d, n=n_val + n_test), rng))
    if shuffle:
        parts = [
            (X[perm], y[perm], extra) for X, y, extra in parts for perm in [rng.permutation(len(y))]
        ]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return (X, y, parts[0][2]), (n, n_val, n_test)


def train_split_size(cfg: RunConfig) -> int | None:
    """Rows in the training split `make_dataset(cfg)` makes, from the config alone, without
    generating anything (None for a CSV file: its rows are unknown until it is read)."""
    d = cfg.data
    if d.kind == "csv":
        return None
    if d.kind == "modular":
        return _modular_sizes(_modular_pairs(d), d, cfg.source)[0]
    if _draws_held_out(d):
        return _need(d.n, "n")
    return split_sizes(_need(d.n, "n"), d, cfg.source, "data.n")[0]


def split_sizes(n: int, d: DataConfig, source: str, key: str) -> tuple[int, int, int]:
    """(train, val, test) row counts; rounding never lets val + test exceed n."""
    n_val = round(n * _need(d.val_fraction, "val_fraction"))
    n_test = min(round(n * _need(d.test_fraction, "test_fraction")), n - n_val)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ConfigError(source, key, "enough rows for a non-empty training split", n)
    return n_train, n_val, n_test


def _dataset(
    X: np.ndarray,
    y: np.ndarray,
    sizes: tuple[int, int, int],
    task: str,
    feature_names: tuple[str, ...],
    target_name: str,
    n_outputs: int,
    input_kind: str = "dense",
    n_inputs: int | None = None,
    reference: Reference | None = None,
    scaling: Scaling | None = None,
    flipped: np.ndarray | None = None,
) -> Dataset:
    """Cut already-shuffled rows into train, val, test (in that order); completes the
    reference with what the splits tell (target variance, majority class, val size)."""
    n_train, n_val, _ = sizes
    bounds = (0, n_train, n_train + n_val, len(y))
    x_dtype = np.int64 if input_kind == "index" else np.float64
    y_dtype = np.int64 if task == "classification" else np.float64
    splits = [
        Split(
            np.ascontiguousarray(X[lo:hi], dtype=x_dtype),
            np.ascontiguousarray(y[lo:hi], dtype=y_dtype),
        )
        for lo, hi in itertools.pairwise(bounds)
    ]
    y_train = splits[0].y
    extra: dict = {"n_val": n_val}
    if task == "regression" and len(y_train):
        extra["target_var"] = float(np.var(y_train))
        extra["target_mean"] = float(np.mean(y_train))
    elif task == "classification" and len(y_train):
        extra["majority_rate"] = float(np.bincount(y_train).max() / len(y_train))
    reference = replace(reference or Reference(), **extra)
    return Dataset(
        *splits,
        task=task,
        input_kind=input_kind,
        n_inputs=X.shape[1] if n_inputs is None else n_inputs,
        n_outputs=n_outputs,
        feature_names=feature_names,
        target_name=target_name,
        reference=reference,
        scaling=scaling,
        flipped=np.sort(flipped) if flipped is not None else np.empty(0, dtype=np.int64),
    )


def _flip_labels(
    y_train: np.ndarray, fraction: float, classes: int, rng: np.random.Generator
) -> np.ndarray:
    """Give round(fraction * n) training labels (in place) a different, random class;
    returns their rows."""
    n_flip = round(fraction * len(y_train))
    rows = rng.choice(len(y_train), size=n_flip, replace=False)
    y_train[rows] = (y_train[rows] + rng.integers(1, classes, size=n_flip)) % classes
    return rows.astype(np.int64)


# --------------------------------------------------------------------------- regression


def _linear(d: DataConfig, rng: np.random.Generator) -> Regression:
    """X ~ U[0,1)^(n x d); y = X.w + intercept + N(0, noise^2)."""
    n, n_features = _need(d.n, "n"), _need(d.n_features, "n_features")
    weights, intercept = np.asarray(_need(d.weights, "weights")), _need(d.intercept, "intercept")
    X = rng.random((n, n_features))
    y = X @ weights + intercept + _need(d.noise, "noise") * rng.standard_normal(n)
    return X, y, tuple(f"x{i + 1}" for i in range(n_features))


def true_function(d: DataConfig) -> Callable[[np.ndarray], np.ndarray] | None:
    """The noiseless function of x that a generated one-input regression target samples
    (polynomial, sine); None for every other kind of data."""
    if d.kind == "polynomial":
        coeffs = _need(d.coeffs, "coeffs")
        return lambda x: np.polynomial.polynomial.polyval(x, coeffs)
    if d.kind == "sine":
        amplitude, frequency = _need(d.amplitude, "amplitude"), _need(d.frequency, "frequency")
        return lambda x: amplitude * np.sin(2.0 * math.pi * frequency * x)
    return None


def _polynomial(d: DataConfig, rng: np.random.Generator) -> Regression:
    """x ~ U[-1,1); y = c0 + c1 x + c2 x^2 + ... + N(0, noise^2)."""
    n, noise = _need(d.n, "n"), _need(d.noise, "noise")
    x = rng.uniform(-1.0, 1.0, n)
    y = _need(true_function(d), "coeffs")(x) + noise * rng.standard_normal(n)
    return x.reshape(-1, 1), y, ("x",)


def _sine(d: DataConfig, rng: np.random.Generator) -> Regression:
    """x ~ U[-1,1); y = A sin(2 pi f x) + N(0, noise^2)."""
    n, noise = _need(d.n, "n"), _need(d.noise, "noise")
    x = rng.uniform(-1.0, 1.0, n)
    y = _need(true_function(d), "amplitude")(x) + noise * rng.standard_normal(n)
    return x.reshape(-1, 1), y, ("x",)


_REGRESSION: dict[str, Callable[[DataConfig, np.random.Generator], Regression]] = {
    "linear": _linear,
    "polynomial": _polynomial,
    "sine": _sine,
}


# --------------------------------------------------------------------------- 2-D classification
# Rows come grouped by class; make_dataset shuffles them.
# `jitter` is Gaussian noise on the points' positions, except for spiral (noise on the angle).


def _class_sizes(n: int, classes: int) -> list[int]:
    return [n // classes + (k < n % classes) for k in range(classes)]


def _labels(sizes: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _circles(d: DataConfig, rng: np.random.Generator) -> Labelled:
    """Class 0 on the unit circle, class 1 on a circle of radius 0.5 inside it."""
    n, jitter = _need(d.n, "n"), _need(d.jitter, "jitter")
    sizes = _class_sizes(n, 2)
    radius = np.repeat([1.0, 0.5], sizes)
    angle = rng.uniform(0.0, 2.0 * math.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X + jitter * rng.standard_normal((n, 2)), _labels(sizes), 2


def _xor(d: DataConfig, rng: np.random.Generator) -> Labelled:
    """Points in (-1,1)^2; class 0 where the coordinates' signs agree, class 1 where they differ."""
    n, jitter = _need(d.n, "n"), _need(d.jitter, "jitter")
    sizes = _class_sizes(n, 2)
    y = _labels(sizes)
    sign = rng.choice([-1.0, 1.0], n)
    X = rng.uniform(0.0, 1.0, (n, 2)) * np.column_stack([sign, np.where(y == 0, sign, -sign)])
    return X + jitter * rng.standard_normal((n, 2)), y, 2


def _gaussians(d: DataConfig, rng: np.random.Generator) -> Labelled:
    """One round blob (std = jitter) per class, centres evenly spaced on a circle of radius 2."""
    n, jitter = _need(d.n, "n"), _need(d.jitter, "jitter")
    classes = _need(d.classes, "classes")
    sizes = _class_sizes(n, classes)
    y = _labels(sizes)
    angle = 2.0 * math.pi * y / classes
    centres = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    return centres + jitter * rng.standard_normal((n, 2)), y, classes


def _spiral(d: DataConfig, rng: np.random.Generator) -> Labelled:
    """One arm per class, winding out from the centre (the cs231n spiral)."""
    n, jitter = _need(d.n, "n"), _need(d.jitter, "jitter")
    classes = _need(d.classes, "classes")
    sizes = _class_sizes(n, classes)
    y = _labels(sizes)
    radius = rng.uniform(0.0, 1.0, n)
    angle = 2.0 * math.pi * y / classes + 4.0 * radius + jitter * rng.standard_normal(n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, y, classes


def _moons(d: DataConfig, rng: np.random.Generator) -> Labelled:
    """Two interleaving half circles (sklearn's make_moons)."""
    n, jitter = _need(d.n, "n"), _need(d.jitter, "jitter")
    sizes = _class_sizes(n, 2)
    y = _labels(sizes)
    t = rng.uniform(0.0, math.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where((y == 0)[:, None], upper, lower)
    return X + jitter * rng.standard_normal((n, 2)), y, 2


_CLASSIFICATION: dict[str, Callable[[DataConfig, np.random.Generator], Labelled]] = {
    "circles": _circles,
    "xor": _xor,
    "gaussians": _gaussians,
    "spiral": _spiral,
    "moons": _moons,
}


# --------------------------------------------------------------------------- the Bayes floor

BAYES_SAMPLES = 4000
"""Monte Carlo points for the Bayes accuracy: its standard error is below 0.005."""


def bayes_accuracy(d: DataConfig, rng: np.random.Generator) -> float:
    """Accuracy of the Bayes classifier on clean labels, E_x[max_k p(k | x)], by Monte Carlo
    from the generator itself (fresh points from `rng`) and each class's exact density.

    Classes are equally likely (the generators make equal class sizes). Zero jitter makes
    the classes disjoint: 1.
    """
    jitter = _need(d.jitter, "jitter")
    if jitter <= 0:
        return 1.0
    X, _, classes = _CLASSIFICATION[d.kind](replace(d, n=BAYES_SAMPLES, label_noise=0.0), rng)
    log_density = _LOG_DENSITY[d.kind](X, d, classes)  # (n, classes), up to a shared constant
    log_density -= log_density.max(axis=1, keepdims=True)
    posterior = np.exp(log_density)
    posterior /= posterior.sum(axis=1, keepdims=True)
    return float(posterior.max(axis=1).mean())


def _log_i0(z: np.ndarray) -> np.ndarray:
    """log of the modified Bessel function I0, without overflow for large z."""
    small = z < 100.0
    out = np.empty_like(z)
    out[small] = np.log(np.i0(z[small]))
    big = z[~small]
    out[~small] = big - 0.5 * np.log(2.0 * math.pi * big) + np.log1p(1.0 / (8.0 * big))
    return out


def _circles_density(X: np.ndarray, d: DataConfig, classes: int) -> np.ndarray:
    # A ring of radius r blurred by N(0, j^2): exp(-(rho^2 + r^2) / 2j^2) I0(rho r / j^2).
    j2 = _need(d.jitter, "jitter") ** 2
    rho = np.hypot(X[:, 0], X[:, 1])
    return np.column_stack([-(r * r) / (2 * j2) + _log_i0(rho * r / j2) for r in (1.0, 0.5)])


def _uniform_blur(t: np.ndarray, jitter: float) -> np.ndarray:
    """Density of U(0, 1) + N(0, jitter^2) at t."""
    erf = np.vectorize(math.erf)
    s = jitter * math.sqrt(2.0)
    return 0.5 * (erf(t / s) - erf((t - 1.0) / s))


def _xor_density(X: np.ndarray, d: DataConfig, classes: int) -> np.ndarray:
    j = _need(d.jitter, "jitter")
    pos = [_uniform_blur(X[:, k], j) for k in (0, 1)]
    neg = [_uniform_blur(-X[:, k], j) for k in (0, 1)]
    agree = pos[0] * pos[1] + neg[0] * neg[1]
    differ = pos[0] * neg[1] + neg[0] * pos[1]
    with np.errstate(divide="ignore"):
        return np.log(np.column_stack([agree, differ]) + 1e-300)


def _gaussians_density(X: np.ndarray, d: DataConfig, classes: int) -> np.ndarray:
    j2 = _need(d.jitter, "jitter") ** 2
    angle = 2.0 * math.pi * np.arange(classes) / classes
    centres = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    return -((X[:, None, :] - centres[None]) ** 2).sum(axis=2) / (2 * j2)


def _spiral_density(X: np.ndarray, d: DataConfig, classes: int) -> np.ndarray:
    # The radius is shared by all arms; the angle is the arm's plus 4 r plus N(0, j^2),
    # wrapped around the circle.
    j = _need(d.jitter, "jitter")
    rho = np.hypot(X[:, 0], X[:, 1])
    phi = np.arctan2(X[:, 1], X[:, 0])
    wraps = np.arange(-6, 7)[None, None, :] * 2.0 * math.pi
    base = 2.0 * math.pi * np.arange(classes) / classes
    delta = (phi[:, None] - base[None, :] - 4.0 * rho[:, None])[:, :, None] + wraps
    terms = -(delta**2) / (2.0 * j * j)
    top = terms.max(axis=2, keepdims=True)
    return (top + np.log(np.exp(terms - top).sum(axis=2, keepdims=True)))[:, :, 0]


def _moons_density(X: np.ndarray, d: DataConfig, classes: int) -> np.ndarray:
    # Each moon is a half circle blurred by N(0, j^2): integrate over its parameter t.
    j2 = _need(d.jitter, "jitter") ** 2
    t = (np.arange(400) + 0.5) * math.pi / 400
    curves = (
        np.column_stack([np.cos(t), np.sin(t)]),
        np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)]),
    )
    out = []
    for curve in curves:
        terms = -((X[:, None, :] - curve[None]) ** 2).sum(axis=2) / (2 * j2)
        top = terms.max(axis=1, keepdims=True)
        out.append(top[:, 0] + np.log(np.exp(terms - top).sum(axis=1)))
    return np.column_stack(out)


_LOG_DENSITY: dict[str, Callable[[np.ndarray, DataConfig, int], np.ndarray]] = {
    "circles": _circles_density,
    "xor": _xor_density,
    "gaussians": _gaussians_density,
    "spiral": _spiral_density,
    "moons": _moons_density,
}


# --------------------------------------------------------------------------- modular arithmetic


def _modular(d: DataConfig, rng: np.random.Generator, source: str) -> Dataset:
    """Every pair (a, b) with its (a op b) mod p as the class; div skips b = 0.

    Split: train_fraction of all pairs, test_fraction, the rest is validation.
    """
    p, op = _need(d.p, "p"), _need(d.op, "op")
    a, b = (g.ravel() for g in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    if op == "div":
        a, b = a[b != 0], b[b != 0]
        inverse = np.array([pow(int(v), -1, p) if v else 0 for v in range(p)], dtype=np.int64)
        y = a * inverse[b] % p
    else:
        y = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](a, b) % p
    perm = rng.permutation(len(y))
    X = np.column_stack([a, b + p])[perm]  # b is offset into the second half of the one-hot
    sizes = _modular_sizes(len(y), d, source)
    symbol = MODULAR_SYMBOLS[op]
    return _dataset(
        X, y[perm], sizes, "classification", ("a", "b"),
        f"(a {symbol} b) mod {p}", n_outputs=p, input_kind="index", n_inputs=2 * p,
        reference=Reference(bayes_acc=1.0, label_noise=0.0),  # the label is a function of (a, b)
    )  # fmt: skip


def _modular_pairs(d: DataConfig) -> int:
    """How many pairs (a, b) the table has: div skips b = 0."""
    p = _need(d.p, "p")
    return p * (p - 1 if d.op == "div" else p)


def _modular_sizes(n: int, d: DataConfig, source: str) -> tuple[int, int, int]:
    """(train, val, test) pair counts: train_fraction, test_fraction, the rest validation."""
    train_fraction = _need(d.train_fraction, "train_fraction")
    n_train = round(n * train_fraction)
    if n_train < 1:
        expected = f"a fraction of the {n} pairs giving at least one training pair"
        raise ConfigError(source, "data.train_fraction", expected, train_fraction)
    n_test = min(round(n * _need(d.test_fraction, "test_fraction")), n - n_train)
    return n_train, n - n_train - n_test, n_test


# --------------------------------------------------------------------------- CSV

# Caps on a CSV file: a lab's tables are small. A file within them can still need more
# memory than the machine has; engine/training/budget.py checks that before reading it.
MAX_CSV_BYTES = 64 << 20
MAX_CSV_ROWS = 2_000_000
MAX_CSV_COLUMNS = 10_000
MAX_CELL_CHARS = 64  # a number never needs more
MAX_NAME_CHARS = 200  # a column's name
MAX_CSV_CLASSES = 1000  # class labels 0 .. MAX_CSV_CLASSES - 1
# The longest line: a row of MAX_CSV_COLUMNS cells of the longest kind (names or numbers).
MAX_LINE_CHARS = MAX_CSV_COLUMNS * (MAX_NAME_CHARS + 1)
# How much of the file's own text an error message quotes: the data.path may be any
# readable file (a CSV error must not print the lines of /etc/passwd).
SNIPPET_CHARS = 40


def _snippet(text: str) -> str:
    """At most SNIPPET_CHARS of a cell or a name from the file (messages repr() it: escaped,
    on one line)."""
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def _column(name: str) -> str:
    return f"column {_snippet(name)!r}"


def _bounded_lines(handle, path: str):
    """The file's lines, refusing one longer than MAX_LINE_CHARS before it is all in memory."""
    number = 0
    while line := handle.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            expected = f"lines of at most {MAX_LINE_CHARS:,} characters"
            raise ConfigError(path, f"line {number}", expected, "a longer line")
        yield line


def _read_header(reader, path: str) -> list[str]:
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise ConfigError(path, "header", "a header row of column names", "empty file")
    if len(header) > MAX_CSV_COLUMNS:
        expected = f"at most {MAX_CSV_COLUMNS:,} columns"
        raise ConfigError(path, "header", expected, f"{len(header):,} columns")
    if len(header) < 2:
        expected = "at least one feature column besides the target (2 columns or more)"
        raise ConfigError(path, "header", expected, f"{len(header)} column")
    for name in header:
        if len(name) > MAX_NAME_CHARS:
            expected = f"column names of at most {MAX_NAME_CHARS} characters"
            raise ConfigError(path, "header", expected, _snippet(name))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ConfigError(path, "header", "distinct column names", _snippet(name))
        seen.add(name)
    return header


def _read_csv(path: str) -> tuple[list[str], np.ndarray, list[int]]:
    """Header, all cells as float64, and each data row's line number (the header is line 1)."""
    reader = None
    try:
        size = os.stat(path).st_size
        if size > MAX_CSV_BYTES:
            expected = f"a CSV file of at most {MAX_CSV_BYTES >> 20} MiB"
            raise ConfigError(path, "data.path", expected, f"{size:,} bytes")
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(_bounded_lines(handle, path))
            header = _read_header(reader, path)
            width = len(header)
            cells, lines = array.array("d"), []
            for row in reader:
                if not row:
                    continue  # blank line
                line = reader.line_num
                if len(row) != width:
                    raise ConfigError(path, f"row {line}", f"{width} columns", len(row))
                if len(lines) == MAX_CSV_ROWS:
                    raise ConfigError(
                        path, f"row {line}", f"at most {MAX_CSV_ROWS:,} data rows", "more"
                    )
                cells.extend(_cell(path, line, name, cell) for name, cell in zip(header, row))
                lines.append(line)
    except csv.Error as exc:  # a NUL byte, an unclosed quote...: says what, never the text
        where = f"line {reader.line_num}" if reader is not None else "data.path"
        raise ConfigError(path, where, "CSV text", str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "data.path", "a readable UTF-8 CSV file", str(exc)) from None
    if not lines:
        raise ConfigError(path, "rows", "at least one data row below the header", 0)
    table = np.frombuffer(cells, dtype=np.float64).reshape(len(lines), width)
    return header, table, lines


def _cell(path: str, line: int, column: str, cell: str) -> float:
    try:
        value = float(cell) if len(cell) <= MAX_CELL_CHARS else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        expected = f"a finite number (at most {MAX_CELL_CHARS} characters)"
        raise ConfigError(path, f"row {line}, {_column(column)}", expected, _snippet(cell))
    return value


def _class_labels(path: str, target: str, y: np.ndarray, lines: list[int]) -> np.ndarray:
    """Targets for cross_entropy: whole numbers from 0 to MAX_CSV_CLASSES - 1, two or more."""
    bad = np.flatnonzero((y < 0) | (y >= MAX_CSV_CLASSES) | (y != np.round(y)))
    if bad.size:
        where = f"row {lines[bad[0]]}, {_column(target)}"
        expected = (
            f"an integer class label in [0, {MAX_CSV_CLASSES - 1}] (loss.kind = 'cross_entropy')"
        )
        raise ConfigError(path, where, expected, float(y[bad[0]]))
    labels = y.astype(np.int64)
    if labels.max() < 1:
        raise ConfigError(path, _column(target), "at least two classes (0 and 1)", 1)
    return labels


def _columns_text(header: list[str], most: int = 8) -> str:
    shown = ", ".join(repr(_snippet(h)) for h in header[:most])
    return shown + (f" and {len(header) - most} more" if len(header) > most else "")


def _csv(d: DataConfig, classification: bool, rng: np.random.Generator) -> Dataset:
    path = _need(d.path, "path")
    header, table, lines = _read_csv(path)
    target = header[-1] if d.target is None else d.target
    if target not in header:
        expected = "one of the columns " + _columns_text(header)
        raise ConfigError(path, "data.target", expected, _snippet(target))
    t = header.index(target)
    X, y = np.delete(table, t, axis=1), table[:, t]
    if classification:
        y = _class_labels(path, target, y, lines)
        n_outputs = int(y.max()) + 1
    else:
        y, n_outputs = y.reshape(-1, 1), 1
    perm = rng.permutation(len(y))
    X, y = X[perm], y[perm]
    sizes = split_sizes(len(y), d, path, "rows")
    scaling = None
    if _need(d.standardize, "standardize"):
        # Statistics of the training rows only: val and test must not leak into them.
        train = X[: sizes[0]]
        mean, std = train.mean(axis=0), train.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        X = (X - mean) / scale
        scaling = Scaling(tuple(mean.tolist()), tuple(scale.tolist()))
    task = "classification" if classification else "regression"
    features = tuple(h for h in header if h != target)
    return _dataset(X, y, sizes, task, features, target, n_outputs=n_outputs, scaling=scaling)
