"""Bounded per-metric history: full resolution for recent points, min/mean/max for older ones.

A run of ten million steps must not grow memory without bound. Each metric keeps
its newest points exactly (between `recent` and `2 * recent` of them) and folds
older points into at most `buckets` coarse buckets. Every bucket but the newest
holds the same number of points (`width`); when the buckets run out, adjacent
pairs merge and `width` doubles. So memory is O(recent + buckets) forever, and
old history keeps its shape (min/max envelope) at ever coarser resolution.

Non-finite values (nan, inf) are stored as points in the recent window, so a
divergence is visible as it happens. In buckets, min/mean/max are over finite
values only; a bucket with no finite value records nan. `global_min` and
`global_max` are exact over all time (finite values only).

One thread appends (the runner), others read (the UI): a lock guards every
operation and readers always get fresh arrays, never views of the buffers.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping

import numpy as np

# Bump when the layout written by state_dict() changes.
_FORMAT_VERSION = 1
_METRIC_PREFIX = "metric."

# Columns of the packed bucket arrays in state_dict(); the in-memory layout
# uses one array per column.
_INT_COLS = ("first", "last", "n", "nfinite")
_FLOAT_COLS = ("step_mean", "min", "max", "mean")


def _block_stats(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bucket statistics of each row of (k, w) blocks of points.

    Returns first, last, n, nfinite (int64) and step_mean, min, max, mean (float64).
    """
    k, w = values.shape
    finite = np.isfinite(values)
    nfinite = finite.sum(axis=1, dtype=np.int64)
    has = nfinite > 0
    vmin = np.where(finite, values, np.inf).min(axis=1)
    vmax = np.where(finite, values, -np.inf).max(axis=1)
    # Divide before summing so a block of huge finite values cannot overflow to inf.
    vmean = (np.where(finite, values, 0.0) / np.maximum(nfinite, 1)[:, None]).sum(axis=1)
    nan = np.float64("nan")
    return (
        steps[:, 0].copy(),
        steps[:, -1].copy(),
        np.full(k, w, dtype=np.int64),
        nfinite,
        steps.mean(axis=1),
        np.where(has, vmin, nan),
        np.where(has, vmax, nan),
        np.where(has, vmean, nan),
    )


def _combine(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Statistics of buckets a and b (elementwise) merged; a holds the older points."""
    a_first, a_last, a_n, a_nf, a_sm, a_min, a_max, a_mean = a
    b_first, b_last, b_n, b_nf, b_sm, b_min, b_max, b_mean = b
    n = a_n + b_n
    nf = a_nf + b_nf
    wa = a_n / n
    step_mean = a_sm * wa + b_sm * (1.0 - wa)
    # Weighted mean of the finite means; a side with no finite value has weight 0
    # (and a nan mean, which must not leak into the sum).
    nf_safe = np.maximum(nf, 1)
    fa = a_nf / nf_safe
    fb = b_nf / nf_safe
    mean = np.where(a_nf > 0, a_mean, 0.0) * fa + np.where(b_nf > 0, b_mean, 0.0) * fb
    mean = np.where(nf > 0, mean, np.nan)
    return (
        a_first,
        b_last,
        n,
        nf,
        step_mean,
        np.fmin(a_min, b_min),  # fmin/fmax ignore a nan side
        np.fmax(a_max, b_max),
        mean,
    )


class _Series:
    """One metric's storage. Not thread-safe on its own: MetricHistory locks."""

    def __init__(self, recent: int, buckets: int) -> None:
        self.recent = recent
        self.cap_buckets = buckets
        # Recent points live in buf[:n]; when the buffer would overflow, the
        # oldest are folded so exactly `recent` remain (amortized O(1) a point).
        cap = 2 * recent
        self.steps = np.zeros(cap, dtype=np.int64)
        self.values = np.zeros(cap, dtype=np.float64)
        self.n = 0
        # Coarse buckets, columns as in _block_stats; only [:nb] are in use.
        self.b_int = {c: np.zeros(buckets, dtype=np.int64) for c in _INT_COLS}
        self.b_float = {c: np.zeros(buckets, dtype=np.float64) for c in _FLOAT_COLS}
        self.nb = 0
        self.width = 1
        self.total = 0  # points ever appended
        self.gmin = math.nan
        self.gmax = math.nan
        self.last_step: int | None = None

    # -- appending ---------------------------------------------------------

    def add_one(self, step: int, value: float) -> None:
        if self.last_step is not None and step < self.last_step:
            raise ValueError(f"step {step} is before the last step {self.last_step}")
        if self.n == self.steps.shape[0]:
            self._fold_oldest(self.n - self.recent + 1)
        self.steps[self.n] = step
        self.values[self.n] = value
        self.n += 1
        self.total += 1
        self.last_step = step
        if math.isfinite(value):
            # A comparison with nan is False, so the first finite value wins.
            if not value >= self.gmin:
                self.gmin = value
            if not value <= self.gmax:
                self.gmax = value

    def add_many(self, steps: np.ndarray, values: np.ndarray) -> None:
        m = steps.shape[0]
        if m == 0:
            return
        if self.last_step is not None and steps[0] < self.last_step:
            raise ValueError(f"step {steps[0]} is before the last step {self.last_step}")
        finite = values[np.isfinite(values)]
        if finite.size:
            lo = float(finite.min())
            hi = float(finite.max())
            if not lo >= self.gmin:
                self.gmin = lo
            if not hi <= self.gmax:
                self.gmax = hi
        # The same folds, at the same points, as adding them one by one (add_one): the
        # buckets then never depend on how the points were chunked (a paced run, a
        # replay and a resumed one keep the same history bit for bit).
        cap = self.steps.shape[0]
        i = 0
        while i < m:
            if self.n == cap:
                self._fold_oldest(self.n - self.recent + 1)
            k = min(cap - self.n, m - i)
            self.steps[self.n : self.n + k] = steps[i : i + k]
            self.values[self.n : self.n + k] = values[i : i + k]
            self.n += k
            i += k
        self.total += m
        self.last_step = int(steps[-1])

    def _fold_oldest(self, count: int) -> None:
        """Fold the oldest `count` recent points into buckets and drop them."""
        self._fold(self.steps[:count], self.values[:count])
        left = self.n - count
        # Overlapping slice assignment: numpy copies through a temporary.
        self.steps[:left] = self.steps[count : self.n]
        self.values[:left] = self.values[count : self.n]
        self.n = left

    def _fold(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Fold points (oldest first, all newer than every bucket) into buckets."""
        i = 0
        m = steps.shape[0]
        while i < m:
            nb = self.nb
            if nb and self.b_int["n"][nb - 1] < self.width:
                # Top up the open (newest, partial) bucket first.
                take = min(int(self.width - self.b_int["n"][nb - 1]), m - i)
                block = _block_stats(steps[None, i : i + take], values[None, i : i + take])
                merged = _combine(self._bucket_slice(nb - 1, nb), block)
                self._store(nb - 1, merged)
                i += take
                continue
            need = -(-(m - i) // self.width)
            if nb + need > self.cap_buckets:
                self._halve()
                continue
            full = (m - i) // self.width
            if full:
                end = i + full * self.width
                block = _block_stats(
                    steps[i:end].reshape(full, self.width),
                    values[i:end].reshape(full, self.width),
                )
                self._store(nb, block)
                self.nb = nb = nb + full
                i = end
            if i < m:
                block = _block_stats(steps[None, i:m], values[None, i:m])
                self._store(nb, block)
                self.nb += 1
                i = m

    def _halve(self) -> None:
        """Merge adjacent bucket pairs and double the width."""
        nb = self.nb
        pairs = nb // 2
        if pairs:
            a = self._bucket_slice(0, 2 * pairs, 2)
            b = self._bucket_slice(1, 2 * pairs, 2)
            merged = _combine(a, b)
            if nb % 2:
                odd = self._bucket_slice(nb - 1, nb)
                self._store(0, merged)
                self._store(pairs, odd)
            else:
                self._store(0, merged)
        self.nb = pairs + nb % 2
        self.width *= 2

    def _bucket_slice(self, start: int, stop: int, stride: int = 1) -> tuple[np.ndarray, ...]:
        s = slice(start, stop, stride)
        return tuple(self.b_int[c][s].copy() for c in _INT_COLS) + tuple(
            self.b_float[c][s].copy() for c in _FLOAT_COLS
        )

    def _store(self, at: int, stats: tuple[np.ndarray, ...]) -> None:
        k = stats[0].shape[0]
        for c, col in zip(_INT_COLS + _FLOAT_COLS, stats, strict=True):
            target = self.b_int[c] if c in self.b_int else self.b_float[c]
            target[at : at + k] = col

    # -- reading (callers hold the lock; results are fresh arrays) -----------

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        nb, n = self.nb, self.n
        steps = np.concatenate([self.b_float["step_mean"][:nb], self.steps[:n].astype(np.float64)])
        values = np.concatenate([self.b_float["mean"][:nb], self.values[:n]])
        return steps, values

    def envelope(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nb, n = self.nb, self.n
        recent = self.values[:n]
        recent = np.where(np.isfinite(recent), recent, np.nan)
        steps = np.concatenate([self.b_float["step_mean"][:nb], self.steps[:n].astype(np.float64)])
        mins = np.concatenate([self.b_float["min"][:nb], recent])
        maxs = np.concatenate([self.b_float["max"][:nb], recent])
        return steps, mins, maxs

    def nbytes(self) -> int:
        return (
            self.steps.nbytes
            + self.values.nbytes
            + sum(a.nbytes for a in self.b_int.values())
            + sum(a.nbytes for a in self.b_float.values())
        )


class MetricHistory:
    """Bounded history of named scalar metrics, each a series of (step, value).

    Steps of one metric must not decrease. A metric appears the first time a
    value is given for it (or up front, through `names`). A None value means
    "no value at this step" and is skipped; nan and inf are stored.
    """

    def __init__(self, names: Iterable[str] = (), recent: int = 4096, buckets: int = 2048) -> None:
        if recent < 1:
            raise ValueError(f"recent must be >= 1, got {recent}")
        if buckets < 2:
            raise ValueError(f"buckets must be >= 2, got {buckets}")
        self.recent = int(recent)
        self.buckets = int(buckets)
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()
        self._version = 0
        for name in names:
            self._get(name)

    def _get(self, name: str) -> _Series:
        s = self._series.get(name)
        if s is None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"metric name must be a non-empty string, got {name!r}")
            s = self._series[name] = _Series(self.recent, self.buckets)
        return s

    def _read(self, name: str) -> _Series:
        try:
            return self._series[name]
        except KeyError:
            raise KeyError(f"no metric named {name!r}") from None

    # -- writing -----------------------------------------------------------

    def append(self, step: int, values: Mapping[str, float | None]) -> None:
        """Record one step's values; None values are skipped."""
        step = int(step)
        with self._lock:
            for name, value in values.items():
                if value is None:
                    continue
                self._get(name).add_one(step, float(value))
            self._version += 1

    def extend(self, steps: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Record many steps at once: `values[name][i]` is the value at `steps[i]`.

        Steps must not decrease, within the batch or against what is stored.
        """
        steps = np.ascontiguousarray(steps, dtype=np.int64).reshape(-1)
        if steps.size > 1 and np.any(steps[1:] < steps[:-1]):
            raise ValueError("steps must not decrease")
        arrays = {}
        for name, v in values.items():
            v = np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
            if v.shape != steps.shape:
                raise ValueError(f"metric {name!r}: {v.shape[0]} values for {steps.shape[0]} steps")
            arrays[name] = v
        with self._lock:
            # Check every metric before touching any, so a bad batch changes nothing.
            for name in arrays:
                s = self._series.get(name)
                if (
                    s is not None
                    and s.last_step is not None
                    and steps.size
                    and steps[0] < s.last_step
                ):
                    raise ValueError(
                        f"metric {name!r}: step {steps[0]} is before the last step {s.last_step}"
                    )
            for name, v in arrays.items():
                self._get(name).add_many(steps, v)
            self._version += 1

    # -- reading -----------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._series)

    @property
    def version(self) -> int:
        """Changes on every write: a reader can skip redrawing when it has not."""
        return self._version

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values), oldest first: bucket means at their mean step, then recent points.

        Steps are float64 (a bucket sits at the mean step of its points).
        """
        with self._lock:
            return self._read(name).series()

    def envelope(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, mins, maxs) over finite values; nan where a bucket or point has none."""
        with self._lock:
            return self._read(name).envelope()

    def last(self, name: str) -> float | None:
        """The newest value (may be nan or inf), or None if there is none."""
        with self._lock:
            s = self._read(name)
            return float(s.values[s.n - 1]) if s.n else None

    def last_step(self, name: str) -> int | None:
        with self._lock:
            return self._read(name).last_step

    def count(self, name: str) -> int:
        """How many points were ever appended to this metric."""
        with self._lock:
            return self._read(name).total

    def global_min(self, name: str) -> float:
        """Exact minimum over all time of the finite values (nan if none)."""
        with self._lock:
            return self._read(name).gmin

    def global_max(self, name: str) -> float:
        """Exact maximum over all time of the finite values (nan if none)."""
        with self._lock:
            return self._read(name).gmax

    def stored_points(self, name: str) -> int:
        """Points plus buckets held for this metric: at most 2 * recent + buckets."""
        with self._lock:
            s = self._read(name)
            return s.n + s.nb

    @property
    def nbytes(self) -> int:
        """Bytes held by all buffers (fixed per metric, whatever the run length)."""
        with self._lock:
            return sum(s.nbytes() for s in self._series.values())

    # -- checkpointing -----------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """The full state as plain numeric arrays ("meta", then "metric.<name>.<part>").

        Suitable for np.savez and np.load(allow_pickle=False); load_state_dict() restores
        a history that continues exactly as this one would.
        """
        with self._lock:
            out: dict[str, np.ndarray] = {
                "meta": np.array([_FORMAT_VERSION, self.recent, self.buckets], dtype=np.int64)
            }
            for order, (name, s) in enumerate(self._series.items()):
                key = _METRIC_PREFIX + name + "."
                last = -1 if s.last_step is None else s.last_step
                out[key + "state"] = np.array(
                    [order, s.width, s.total, s.n, s.nb, s.last_step is not None, last],
                    dtype=np.int64,
                )
                out[key + "extremes"] = np.array([s.gmin, s.gmax], dtype=np.float64)
                out[key + "recent_steps"] = s.steps[: s.n].copy()
                out[key + "recent_values"] = s.values[: s.n].copy()
                out[key + "buckets_int"] = np.stack([s.b_int[c][: s.nb] for c in _INT_COLS], axis=1)
                out[key + "buckets_float"] = np.stack(
                    [s.b_float[c][: s.nb] for c in _FLOAT_COLS], axis=1
                )
            return out

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Replace everything with a state_dict()'s (keys it does not know are ignored).

        Checks every array first: damaged data raises ValueError and changes nothing.
        """
        try:
            meta = np.asarray(state["meta"])
        except KeyError:
            raise ValueError("history: no 'meta' array: not a saved MetricHistory") from None
        if meta.shape != (3,) or int(meta[0]) != _FORMAT_VERSION:
            raise ValueError(f"history: meta: unsupported format {meta.tolist()!r}")
        restored = MetricHistory(recent=int(meta[1]), buckets=int(meta[2]))

        names: dict[str, int] = {}
        for key in state.keys():
            if key.startswith(_METRIC_PREFIX) and key.endswith(".state"):
                name = key[len(_METRIC_PREFIX) : -len(".state")]
                names[name] = int(np.asarray(state[key])[0])
        for name in sorted(names, key=names.__getitem__):
            key = _METRIC_PREFIX + name + "."
            counters = _saved(state, key + "state", np.int64, 1)
            extremes = _saved(state, key + "extremes", np.float64, 1)
            r_steps = _saved(state, key + "recent_steps", np.int64, 1)
            r_values = _saved(state, key + "recent_values", np.float64, 1)
            b_int = _saved(state, key + "buckets_int", np.int64, 2)
            b_float = _saved(state, key + "buckets_float", np.float64, 2)
            if counters.shape != (7,) or extremes.shape != (2,):
                raise ValueError(f"history: metric {name!r}: bad state")
            _, width, total, n, nb, has_last, last = (int(x) for x in counters)
            if (
                width < 1
                or width & (width - 1)
                or not 0 <= n <= 2 * restored.recent
                or not 0 <= nb <= restored.buckets
                or r_steps.shape != (n,)
                or r_values.shape != (n,)
                or b_int.shape != (nb, len(_INT_COLS))
                or b_float.shape != (nb, len(_FLOAT_COLS))
                or total != n + int(b_int[:, 2].sum())
            ):
                raise ValueError(f"history: metric {name!r}: inconsistent arrays")
            s = restored._get(name)
            s.width, s.total, s.n, s.nb = width, total, n, nb
            s.last_step = last if has_last else None
            s.gmin, s.gmax = float(extremes[0]), float(extremes[1])
            s.steps[:n] = r_steps
            s.values[:n] = r_values
            for j, c in enumerate(_INT_COLS):
                s.b_int[c][:nb] = b_int[:, j]
            for j, c in enumerate(_FLOAT_COLS):
                s.b_float[c][:nb] = b_float[:, j]
        with self._lock:
            self.recent, self.buckets = restored.recent, restored.buckets
            self._series = restored._series
            self._version += 1


def _saved(state: Mapping[str, np.ndarray], key: str, dtype: type, ndim: int) -> np.ndarray:
    """One array of a saved history, checked for kind and rank."""
    try:
        a = np.asarray(state[key])
    except KeyError:
        raise ValueError(f"history: missing array {key!r}") from None
    if a.dtype != dtype or a.ndim != ndim:
        raise ValueError(f"history: {key!r} has dtype {a.dtype} and {a.ndim} dimensions")
    return a
