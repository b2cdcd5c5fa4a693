"""Turn a snapshot's raw series into something a widget can draw without crashing.

The engine publishes values as they are: NaN when a run diverges, inf when a loss
overflows, zero or negative numbers where a log axis cannot go. Textual's Sparkline
raises on NaN (its bar index becomes int(nan)) and on numpy arrays, and a log axis
needs positive values, so everything shown goes through here first: finite values
only, plain tuples, log10 where asked, and no more points than the widget has cells to
show them in. The loss chart's path (chart_arrays) is numpy throughout: it runs on
every poll over series of 10,000 points. No textual import: tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeGuard, cast

import numpy as np

from tui.format import format_value

Points = tuple[tuple[float, ...], tuple[float, ...]]
# A series as the engine or a caller hands it over: numbers, possibly NaN, inf, None or
# text, which the functions taking it check for and drop.
Values = Sequence[object] | np.ndarray
_isfinite = math.isfinite

# Finite but huge values (an exploding loss reaches 1e308) are clipped to this before
# drawing: an axis range of max - min (1e308 - -1e308 = inf), or a padded one, would
# overflow near the float limit, and a Sparkline divides by max - min.
DRAW_LIMIT = 1e300


def clip(values: Iterable[float], limit: float = DRAW_LIMIT) -> tuple[float, ...]:
    """Values clipped to [-limit, limit] (finite inputs expected)."""
    return tuple(limit if v > limit else -limit if v < -limit else v for v in values)


def is_finite(value: object) -> TypeGuard[float]:
    """True for a number that is neither NaN nor infinite; False for None or text."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except TypeError:
        return False


def finite_points(steps: Iterable[object], values: Iterable[object]) -> Points:
    """(xs, ys) keeping only the pairs whose step and value are finite numbers: the
    checked path for series holding None or text."""
    pairs = [(float(x), float(y)) for x, y in zip(steps, values) if is_finite(y) and is_finite(x)]
    if not pairs:
        return (), ()
    xs, ys = zip(*pairs)
    return tuple(xs), tuple(ys)


def finite_values(values: Values, *, log10: bool = False) -> tuple[float, ...]:
    """Finite values as a tuple, None and text skipped; with `log10`, the log10 of the
    positive ones. `values` is read twice when it holds something that is not a number."""
    try:
        # the fast path assumes plain numbers: math.isfinite raises TypeError on the first
        # None or text, and the checked path takes over
        out = [float(v) for v in cast("Iterable[float]", values) if _isfinite(v)]
    except TypeError:
        out = [float(v) for v in values if is_finite(v)]
    if log10:
        return tuple(math.log10(v) for v in out if v > 0.0)
    return tuple(out)


def bucket_means(values: Sequence[float], n: int) -> tuple[float, ...]:
    """At most `n` values: the mean of each of n nearly equal consecutive buckets."""
    if n <= 0:
        return ()
    count = len(values)
    if count <= n:
        return tuple(values)
    out = []
    for i in range(n):
        lo = i * count // n
        hi = max((i + 1) * count // n, lo + 1)
        bucket = values[lo:hi]
        out.append(math.fsum(bucket) / len(bucket))
    return tuple(out)


def decimate_index(ys: np.ndarray, max_points: int) -> np.ndarray:
    """The indices of at most ~`max_points` points that keep the shape, spikes included,
    ascending: the first and last, and the first lowest and first highest of each of
    max_points // 2 nearly equal buckets (finite `ys`). A stride would skip a one-step
    loss spike; the lowest and highest of each bucket keep it."""
    count = len(ys)
    if max_points < 2 or count <= max_points:
        return np.arange(count)
    buckets = max(1, max_points // 2)
    starts = np.arange(buckets) * count // buckets  # strictly increasing: count > buckets
    which = np.repeat(np.arange(buckets), np.diff(np.append(starts, count)))
    index = np.arange(count)
    keep = [np.array([0, count - 1])]
    for reduce in (np.minimum, np.maximum):
        extreme = reduce.reduceat(ys, starts)
        # the first index in each bucket where the extreme is reached (a bucket with a
        # NaN has none: it falls back on the last point, kept anyway)
        hits = np.where(ys == extreme[which], index, count - 1)
        keep.append(np.minimum.reduceat(hits, starts))
    return np.unique(np.concatenate(keep))


def spark_data(values: Sequence[float], width: int, *, log10: bool = False) -> tuple[float, ...]:
    """Data for a Sparkline `width` cells wide: finite, log10 if asked, bucket means.

    A series that is constant up to rounding (a fixed lr averaged in buckets) comes back
    exactly constant: the Sparkline scales min..max to full height, so a 1e-17 wobble
    would otherwise be drawn as a comb."""
    data = bucket_means(clip(finite_values(values, log10=log10)), max(1, width))
    if len(data) < 2:
        return ()  # Sparkline draws one value as a full-height bar: nothing to compare yet
    lo, hi = min(data), max(data)
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1e-300):
        return (data[-1],) * len(data)
    return data


def ema_array(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Debiased exponential moving average of finite values (TensorBoard's smoothing):
    s_t = smoothing * s_{t-1} + (1 - smoothing) * x_t from s_0 = 0, divided by
    (1 - smoothing**t) so the first points are not dragged towards zero. Vectorised, in
    blocks short enough that the weights smoothing**-i stay far from overflow."""
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    x = np.asarray(values, dtype=float)
    if smoothing == 0.0 or len(x) == 0:
        return x.copy()
    a = smoothing
    # In a block, acc_j = a**(j+1) * carry + (1 - a) * sum_i a**(j-i) x_i, and the sum is
    # a**(j+1) * cumsum(x_i / a**(i+1)). Blocks keep a**-(i+1) below 1e100 and each block
    # is scaled by its largest |x|, so nothing overflows; the rounding error stays about
    # eps * max|x| whatever the block length.
    block = max(1, int(100.0 / -math.log10(a)))
    acc = np.empty_like(x)
    carry = 0.0  # the accumulator (not yet debiased) before the block
    full = a ** np.arange(1, min(block, len(x)) + 1)  # a**(j+1), j in a block
    for lo in range(0, len(x), block):
        chunk = x[lo : lo + block]
        scale = float(np.max(np.abs(chunk))) or 1.0
        powers = full[: len(chunk)]
        part = np.cumsum(chunk / scale / powers) * powers * ((1.0 - a) * scale)
        acc[lo : lo + block] = powers * carry + part
        carry = float(acc[lo + len(chunk) - 1])
    n = np.arange(1, len(x) + 1)
    return acc / -np.expm1(n * math.log(a))  # 1 - a**n, accurate for a**n near 1


def _float_array(values: Values) -> np.ndarray | None:
    """values as a float array, or None if some are not plain numbers (None, text)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "fiub":
        return None
    return arr.astype(float, copy=False)


def finite_arrays(steps: Values, values: Values) -> tuple[np.ndarray, np.ndarray]:
    """finite_points as two float arrays: the pairs whose step and value are finite."""
    xs, ys = _float_array(steps), _float_array(values)
    if xs is None or ys is None or len(xs) != len(ys):
        fx, fy = finite_points(steps, values)  # the slow path checks each value
        return np.array(fx, dtype=float), np.array(fy, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    if not keep.all():
        xs, ys = xs[keep], ys[keep]
    return xs, ys


def chart_arrays(
    steps: Values,
    values: Values,
    width: int,
    *,
    log: bool = False,
    smoothing: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points for a line chart `width` cells wide (braille: two points per cell), as two
    float arrays. Smoothing runs over the raw finite series before decimation (so it is
    the same curve whatever the width); a log axis drops the values that are not
    positive. Passing arrays that finite_arrays returned skips converting them again."""
    xs, ys = finite_arrays(steps, values)
    if smoothing:
        ys = ema_array(ys, smoothing)
    ys = np.clip(ys, -DRAW_LIMIT, DRAW_LIMIT)
    if log:
        keep = ys > 0
        if not keep.all():
            xs, ys = xs[keep], ys[keep]
        ys = np.maximum(ys, 1.0 / DRAW_LIMIT)
    index = decimate_index(ys, max(2, 2 * width))
    if len(index) < len(ys):
        xs, ys = xs[index], ys[index]
    return xs, ys


def nice_ticks(lo: float, hi: float, count: int) -> tuple[float, ...]:
    """About `count` round numbers (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (is_finite(lo) and is_finite(hi)) or count < 1:
        return ()
    if hi <= lo:
        return (float(lo),)
    raw = (hi - lo) / max(1, count)
    if not (is_finite(raw) and raw > 0):
        return ()  # the range overflows, or is below the float resolution
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    # k * step rounded to 12 significant digits: 0.30000000000000004 -> 0.3, and a tick
    # of 2e-20 stays 2e-20 (rounding to 12 decimals made it 0)
    return tuple(float(f"{k * step:.12g}") for k in range(first, last + 1))


def log_ticks(lo: float, hi: float, count: int) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Tick values and labels for a log axis over positive [lo, hi]: powers of ten
    (labelled 1e-3) when the data span two decades or more, else about `count`
    geometrically spaced values with short labels."""
    if not (is_finite(lo) and is_finite(hi)) or lo <= 0 or hi <= 0 or count < 1:
        return (), ()
    if hi < lo:
        lo, hi = hi, lo
    e_lo, e_hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if math.log10(hi) - math.log10(lo) >= 2:
        stride = max(1, math.ceil((e_hi - e_lo) / max(1, count)))
        exps = range(e_lo, e_hi + 1, stride)
        return tuple(10.0**e for e in exps), tuple(f"1e{e}" for e in exps)
    if hi == lo:
        return (lo,), (format_value(lo, 3),)
    n = max(2, count)
    ratio = (hi / lo) ** (1.0 / (n - 1))
    values = tuple(lo * ratio**i for i in range(n))
    return values, tuple(format_value(v, 3) for v in values)


def format_step(value: float) -> str:
    """A step count for an axis: 950, 12.5k, 3M."""
    v = float(value)
    for limit, div, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(v) >= limit:
            return f"{v / div:.4g}{suffix}"
    return f"{v:.4g}"
