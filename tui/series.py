"""Turn a snapshot's raw series into something a widget can draw without crashing.

The engine publishes values as they are: NaN when a run diverges, inf when a loss
overflows, zero or negative numbers where a log axis cannot go. Textual's Sparkline
raises on NaN (its bar index becomes int(nan)) and on numpy arrays, and plotext with a
log axis needs positive values, so everything shown goes through here first: finite
values only, plain tuples, log10 where asked, and no more points than the widget has
cells to show them in. Plain Python, no textual import: tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Points = tuple[tuple[float, ...], tuple[float, ...]]
_isfinite = math.isfinite

# Finite but huge values (an exploding loss reaches 1e308) are clipped to this before
# drawing: plotext pads the axis range (1e308 * 1.1 = inf) and a Sparkline divides by
# max - min, either of which overflows near the float limit.
DRAW_LIMIT = 1e300


def clip(values: Iterable[float], limit: float = DRAW_LIMIT) -> tuple[float, ...]:
    """Values clipped to [-limit, limit] (finite inputs expected)."""
    return tuple(limit if v > limit else -limit if v < -limit else v for v in values)


def is_finite(value: object) -> bool:
    """True for a number that is neither NaN nor infinite; False for None or text."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except TypeError:
        return False


def finite_points(
    steps: Iterable[float], values: Iterable[float], *, positive: bool = False
) -> Points:
    """(xs, ys) keeping only pairs whose value is finite (and > 0 when `positive`)."""
    try:  # fast path: plain numbers (this runs on every poll, for every series)
        pairs = [(float(x), float(y)) for x, y in zip(steps, values)
                 if _isfinite(y) and _isfinite(x) and (not positive or y > 0)]
    except TypeError:  # None, strings, ...: check each value on its own
        pairs = [(float(x), float(y)) for x, y in zip(steps, values)
                 if is_finite(y) and is_finite(x) and (not positive or float(y) > 0)]
    if not pairs:
        return (), ()
    xs, ys = zip(*pairs)
    return tuple(xs), tuple(ys)


def finite_values(values: Iterable[float], *, log10: bool = False) -> tuple[float, ...]:
    """Finite values as a tuple; with `log10`, the log10 of the positive ones."""
    try:
        out = [float(v) for v in values if _isfinite(v)]
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


def decimate(xs: Sequence[float], ys: Sequence[float], max_points: int) -> Points:
    """At most ~`max_points` points that keep the shape, spikes included.

    Each of max_points // 2 buckets contributes its lowest and highest point, in step
    order, so a one-step loss spike survives (a stride would skip it). The first and
    last points are always kept.
    """
    count = len(xs)
    if max_points < 2 or count <= max_points:
        return tuple(xs), tuple(ys)
    buckets = max(1, max_points // 2)
    keep: set[int] = {0, count - 1}
    for b in range(buckets):
        lo = b * count // buckets
        hi = max((b + 1) * count // buckets, lo + 1)
        idx = range(lo, hi)
        keep.add(min(idx, key=ys.__getitem__))
        keep.add(max(idx, key=ys.__getitem__))
    order = sorted(keep)
    return tuple(xs[i] for i in order), tuple(ys[i] for i in order)


def ema(values: Sequence[float], smoothing: float) -> tuple[float, ...]:
    """Debiased exponential moving average (TensorBoard's smoothing slider).

    s_t = smoothing * s_{t-1} + (1 - smoothing) * x_t, starting from s_0 = 0, divided by
    (1 - smoothing**t) so the first points are not dragged towards zero. Non-finite
    inputs are skipped (the previous smoothed value is repeated) so one NaN cannot poison
    the rest of the curve.
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    out: list[float] = []
    acc = 0.0
    n = 0
    last = math.nan
    for x in values:
        if is_finite(x):
            n += 1
            acc = smoothing * acc + (1.0 - smoothing) * float(x)
            last = acc / (1.0 - smoothing**n)
        out.append(last)
    return tuple(out)


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


def chart_points(
    steps: Sequence[float],
    values: Sequence[float],
    width: int,
    *,
    log: bool = False,
    smoothing: float | None = None,
) -> Points:
    """Points for a line chart `width` cells wide (braille: two points per cell).

    Smoothing runs over the raw finite series before decimation (so it is the same
    curve whatever the width); a log axis drops the values that are not positive.
    """
    xs, ys = finite_points(steps, values)
    if smoothing:
        ys = ema(ys, smoothing)
    ys = clip(ys)
    if log:
        xs, ys = finite_points(xs, ys, positive=True)
        ys = tuple(max(y, 1.0 / DRAW_LIMIT) for y in ys)
    return decimate(xs, ys, max(2, 2 * width))


def format_value(value: object, digits: int = 4) -> str:
    """Short display text: '—' for missing, 'nan'/'inf' spelled out, 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0.0:
        return "0"
    if 1e4 <= abs(v) < 1e6:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"  # 0.01235, 1.5e-07, 3.2e+09


def nice_ticks(lo: float, hi: float, count: int) -> tuple[float, ...]:
    """About `count` round numbers (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (is_finite(lo) and is_finite(hi)) or count < 1:
        return ()
    if hi <= lo:
        return (float(lo),)
    raw = (hi - lo) / max(1, count)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return tuple(ticks)


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
