"""Plain-Python versions of tui.plot's vectorised code: the oracles its tests compare to.

Each is the obvious loop, slow and easy to check by eye; the numpy versions in
tui/plot/series.py must agree with them.
"""

from __future__ import annotations

from collections.abc import Sequence


def ema(values: Sequence[float], smoothing: float) -> list[float]:
    """Debiased exponential moving average: s_t = a s_{t-1} + (1 - a) x_t from s_0 = 0,
    divided by (1 - a**t)."""
    out, acc = [], 0.0
    for n, x in enumerate(values, start=1):
        acc = smoothing * acc + (1.0 - smoothing) * x
        out.append(acc / (1.0 - smoothing**n))
    return out


def decimate_index(ys: Sequence[float], max_points: int) -> list[int]:
    """The first and last index, and in each of max_points // 2 nearly equal buckets the
    index of the first lowest and of the first highest value, ascending."""
    count = len(ys)
    if max_points < 2 or count <= max_points:
        return list(range(count))
    buckets = max(1, max_points // 2)
    keep = {0, count - 1}
    for b in range(buckets):
        lo = b * count // buckets
        hi = max((b + 1) * count // buckets, lo + 1)
        idx = range(lo, hi)
        keep.add(min(idx, key=ys.__getitem__))
        keep.add(max(idx, key=ys.__getitem__))
    return sorted(keep)
