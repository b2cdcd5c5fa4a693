"""What the main chart can show, read from a snapshot: views, events, ghost and cursor.

A view names the curves it plots (a snapshot's series, or the excess loss over the
least-squares floor), their axis and, on the guarantee view, the predicted rate drawn as
lines beside them. `chart_layers` turns a snapshot (and the previous run's, the ghost)
into tui.plot.chart traces, a legend and markers; `readout` reads every plotted value at
the cursor's step. Style keys are role names (TRAIN, VAL, ...) that the widget maps to
styles. No textual import: tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.plot import chart
from tui.plot import series as S

# Style keys (roles): the widget maps each to a component class.
TRAIN, VAL = "train", "val"  # a view's first and second curve
TRAIN_FAINT, VAL_FAINT = "train-faint", "val-faint"  # the raw curves under smoothed ones
GHOST_TRAIN, GHOST_VAL = "ghost-train", "ghost-val"  # the previous run's curves
PREDICTED = "predicted"  # the guarantee's rate
MILESTONE, BEST, EDIT = "milestone", "best", "edit"  # markers
CURSOR = "cursor"
ROLES = (TRAIN, VAL, TRAIN_FAINT, VAL_FAINT, GHOST_TRAIN, GHOST_VAL, PREDICTED, MILESTONE,
         BEST, EDIT, CURSOR)  # fmt: skip

SMOOTHINGS = (None, 0.6, 0.9, 0.99)  # what `m` cycles through (TensorBoard's slider)


@dataclass(frozen=True)
class Curve:
    series: str  # the snapshot series it is read from
    label: str  # in the legend and the readout
    excess: bool = False  # minus the snapshot's least-squares floor
    rate_power: int = 0  # on the guarantee view: predicted to fall as rate**(power * t)


@dataclass(frozen=True)
class View:
    name: str  # the word train.view uses
    title: str  # the chart's border title
    curves: tuple[Curve, ...]
    log: bool | None = None  # forced y scale; None: the l key decides
    y_range: tuple[float, float] | None = None  # a fixed range (widened by the data)


VIEWS = {
    "loss": View("loss", "loss", (Curve("train_loss", "train"), Curve("val_loss", "val"))),
    "accuracy": View(
        "accuracy",
        "accuracy",
        (Curve("train_acc", "train"), Curve("val_acc", "val")),
        log=False,
        y_range=(0.0, 1.0),
    ),
    "mad": View("mad", "MAD", (Curve("train_mad", "train"), Curve("val_mad", "val"))),
    "grad_norm": View("grad_norm", "gradient norm", (Curve("grad_norm", "grad norm"),)),
    "lr": View("lr", "learning rate", (Curve("lr", "lr"),)),
    "guarantee": View(
        "guarantee",
        "excess loss & grad norm",
        (
            # f - f* falls as the square of the error: rate**2 per step
            Curve("train_loss", "loss−floor", excess=True, rate_power=2),
            Curve("grad_norm", "grad norm", rate_power=1),
        ),
        log=True,
    ),
}


def views_for(snap: Snapshot | None) -> list[str]:
    """The views this run can show, in the order `v` cycles through them."""
    metric = "accuracy" if snap is None or snap.task == "classification" else "mad"
    names = ["loss", metric, "grad_norm", "lr"]
    if snap is not None and snap.lstsq_floor is not None:
        names.append("guarantee")
    return names


def resolve(wanted: str, snap: Snapshot | None) -> View:
    """The view to draw for the one asked for: accuracy and MAD stand for the task's
    metric, and the guarantee falls back on the loss until the snapshot has a floor."""
    available = views_for(snap)
    if wanted in ("accuracy", "mad"):
        wanted = available[1]
    return VIEWS[wanted if wanted in available else "loss"]


def next_view(current: str, snap: Snapshot | None) -> str:
    names = views_for(snap)
    shown = resolve(current, snap).name
    return names[(names.index(shown) + 1) % len(names)]


# -- curves --------------------------------------------------------------------------

Arrays = Callable[[Snapshot, str], tuple[np.ndarray, np.ndarray]]


def finite_series(snap: Snapshot, name: str) -> tuple[np.ndarray, np.ndarray]:
    ser = snap.get_series(name)
    return S.finite_arrays(ser.steps, ser.values)


def curve_arrays(
    snap: Snapshot, curve: Curve, arrays: Arrays = finite_series
) -> tuple[np.ndarray, np.ndarray]:
    """A curve's finite points (the excess over the floor where it asks for it)."""
    xs, ys = arrays(snap, curve.series)
    if curve.excess:
        floor = snap.lstsq_floor
        if floor is None:
            return xs[:0], ys[:0]
        ys = ys - floor
    return xs, ys


def rate_anchor(snap: Snapshot) -> int:
    """The step the current predicted rate holds from: the last live edit (each one
    changes the guarantee) or reset, else the start."""
    steps = [e.step for e in snap.events if e.kind in ("edit", "reset")]
    return max(steps, default=0)


def line_start(xs: np.ndarray, ys: np.ndarray, anchor: int) -> tuple[float, float] | None:
    """(step, value) of a curve's first positive point at or after `anchor`."""
    ok = (xs >= anchor) & (ys > 0)
    if not ok.any():
        return None
    first = int(np.argmax(ok))
    return float(xs[first]), float(ys[first])


def predicted_line(
    xs: np.ndarray, ys: np.ndarray, rate: float, power: int, anchor: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """y0 * rate**(power * (t - t0)) from the curve's first positive point at or after
    `anchor`, to its last step, stopped a decade below the curve's lowest value (so the
    line never stretches the axis). On a log y axis it is a straight line: a geometric
    rate. For gd this is a bound: the gradient norm and the excess loss stay under it."""
    empty = np.zeros(0), np.zeros(0)
    start = line_start(xs, ys, anchor)
    if not (0.0 < rate < 1.0) or power <= 0 or start is None:
        return empty
    (t0, y0), t1 = start, float(xs[-1])
    if t1 <= t0:
        return empty
    n = max(2, 2 * width)
    # even in steps and in log steps, so that a log x axis draws it smoothly too
    ts = np.unique(
        np.concatenate([np.linspace(t0, t1, n), t0 - 1 + np.geomspace(1, t1 - t0 + 1, n)])
    )
    line = y0 * np.exp(power * math.log(rate) * (ts - t0))
    lowest = float(ys[(xs >= anchor) & (ys > 0)].min()) / 10.0
    keep = line >= lowest
    return ts[keep], line[keep]


@dataclass
class Layers:
    traces: list[chart.Trace]
    legend: list[tuple[str, str, str]]
    markers: list[chart.Marker]
    log: bool
    y_range: tuple[float, float] | None


def chart_layers(
    snap: Snapshot | None,
    view: View,
    width: int,
    *,
    log: bool,
    smoothing: float | None = None,
    ghost: Snapshot | None = None,
    arrays: Arrays = finite_series,
) -> Layers:
    """Everything to draw, first drawn first: the ghost (dotted), the raw curves (faint,
    when smoothing), the predicted rate (dotted), then the curves: the first solid, the
    second dashed, so that they differ without colour too."""
    log = view.log if view.log is not None else log
    styles = (
        (TRAIN, TRAIN_FAINT, GHOST_TRAIN, chart.SOLID),
        (VAL, VAL_FAINT, GHOST_VAL, chart.DASHED),
    )
    traces: list[chart.Trace] = []
    legend: list[tuple[str, str, str]] = []
    if snap is None:
        return Layers(traces, legend, [], log, view.y_range)
    curves = list(zip(view.curves, styles))
    if ghost is not None:
        for curve, (_, _, ghost_style, _) in curves:
            xs, ys = curve_arrays(ghost, curve, arrays)
            xs, ys = S.chart_arrays(xs, ys, width, log=log, smoothing=smoothing)
            traces.append(chart.Trace(xs, ys, ghost_style, chart.DOTTED))
    data = [curve_arrays(snap, curve, arrays) for curve, _ in curves]
    if smoothing:
        for (xs, ys), (_, (_, faint, _, pattern)) in zip(data, curves):
            xs, ys = S.chart_arrays(xs, ys, width, log=log)
            traces.append(chart.Trace(xs, ys, faint, pattern))
    rate = snap.predicted_contraction
    if view.name == "guarantee" and rate is not None:
        anchor = rate_anchor(snap)
        for (xs, ys), (curve, _) in zip(data, curves):
            px, py = predicted_line(xs, ys, rate, curve.rate_power, anchor, width)
            traces.append(chart.Trace(px, py, PREDICTED, chart.DOTTED))
    for (xs, ys), (curve, (style, _, _, pattern)) in zip(data, curves):
        xs, ys = S.chart_arrays(xs, ys, width, log=log, smoothing=smoothing)
        traces.append(chart.Trace(xs, ys, style, pattern))
        legend.append((curve.label, style, pattern))
    if view.name == "guarantee" and rate is not None:
        # Each curve's own rate, in the legend's order: the excess loss falls as the square.
        rates = ", ".join(f"{rate**curve.rate_power:.4g}" for curve, _ in curves)
        legend.append((f"predicted {rates}/step", PREDICTED, chart.DOTTED))
    if ghost is not None:
        legend.append(("previous", GHOST_TRAIN, chart.DOTTED))
    return Layers(traces, legend, event_markers(snap), log, view.y_range)


# -- events ----------------------------------------------------------------------------

MILESTONE_LABELS = (  # most important first: they get the room when labels collide
    ("diverged_step", "diverged", "div"),
    ("grokked_step", "grokked", "grok"),
    ("memorized_step", "memorized", "mem"),
    ("converged_step", "converged", "conv"),
)
SHORT_NAMES = {"weight_decay": "wd", "batch_size": "batch", "momentum": "mom"}


def edit_label(event) -> tuple[str, str]:
    """("lr 0.1→0.05", "lr↓") for a live edit, from its data (name, from, to)."""
    data = event.data
    name, old, new = data.get("name"), data.get("from"), data.get("to")
    if not isinstance(name, str) or not S.is_finite(old) or not S.is_finite(new):
        return event.detail.replace(" -> ", "→"), event.detail.split(" ")[0]
    short = SHORT_NAMES.get(name, name)
    arrow = "↑" if new > old else "↓"
    return f"{short} {old:.3g}→{new:.3g}", f"{short}{arrow}"


def event_markers(snap: Snapshot) -> list[chart.Marker]:
    """Milestones, early stop and best validation, then resets and live edits (the
    latest first), as chart markers at their steps."""
    out: list[chart.Marker] = []
    milestones = dict(snap.milestones)
    for key, label, short in MILESTONE_LABELS:
        step = milestones.get(key)
        if step is not None:
            out.append(chart.Marker(step, label, MILESTONE, short))
    for event in snap.events:
        if event.kind == "early_stop":
            out.append(chart.Marker(event.step, "early stop", MILESTONE, "stop"))
    if snap.best_step is not None:
        out.append(chart.Marker(snap.best_step, "best val", BEST, "best"))
    for event in reversed(snap.events):
        if event.kind == "reset":
            out.append(chart.Marker(event.step, "reset", EDIT, "r"))
        elif event.kind == "edit":
            label, short = edit_label(event)
            out.append(chart.Marker(event.step, label, EDIT, short))
    return out


# -- the previous run ------------------------------------------------------------------


class GhostKeeper:
    """Keeps the last snapshot of the previous run: the one seen before the step went back
    (a reset), if that run had got anywhere."""

    def __init__(self) -> None:
        self.ghost: Snapshot | None = None
        self._last: Snapshot | None = None

    def observe(self, snap: Snapshot | None) -> None:
        last = self._last
        if snap is not None and last is not None and snap.step < last.step:
            if any(len(ser.steps) > 1 for _, ser in last.series):
                self.ghost = last
        if snap is not None:
            self._last = snap

    def clear(self) -> None:
        self.ghost = None


# -- the cursor ------------------------------------------------------------------------


def value_at(xs: np.ndarray, ys: np.ndarray, step: float) -> float | None:
    """The value at the recorded step nearest `step` (None for an empty curve)."""
    if len(xs) == 0:
        return None
    i = int(np.searchsorted(xs, step))
    if i >= len(xs) or (i > 0 and step - xs[i - 1] <= xs[i] - step):
        i -= 1
    return float(ys[i])


def nearest_step(xs: np.ndarray, step: float) -> float | None:
    if len(xs) == 0:
        return None
    i = int(np.argmin(np.abs(xs - step)))
    return float(xs[i])


def readout(
    snap: Snapshot | None,
    view: View,
    step: float,
    *,
    ghost: Snapshot | None = None,
    arrays: Arrays = finite_series,
) -> str:
    """Every plotted value at the cursor's step, raw: "step 1,200 · train 0.12 · val 0.3"
    (the predicted rate's value and the previous run's too, when drawn)."""
    if snap is None:
        return ""
    parts = [f"step {int(round(step)):,}"]
    for curve in view.curves:
        value = value_at(*curve_arrays(snap, curve, arrays), step)
        parts.append(f"{curve.label} {_shown(value)}")
    rate = snap.predicted_contraction
    if view.name == "guarantee" and rate is not None:
        curve = view.curves[0]
        start = line_start(*curve_arrays(snap, curve, arrays), rate_anchor(snap))
        if start is not None and step >= start[0]:
            predicted = start[1] * rate ** (curve.rate_power * (step - start[0]))
            parts.append(f"predicted {_shown(predicted)}")
    if ghost is not None:
        value = value_at(*curve_arrays(ghost, view.curves[0], arrays), step)
        parts.append(f"previous {_shown(value)}")
    return " · ".join(parts)


def _shown(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else format_value(value, 4)


def curve_steps(snap: Snapshot | None, view: View, arrays: Arrays = finite_series) -> np.ndarray:
    """The steps of the view's first curve: where the cursor can stop."""
    if snap is None:
        return np.zeros(0)
    return curve_arrays(snap, view.curves[0], arrays)[0]


def move_cursor(
    steps: np.ndarray, picture: chart.Picture, current: float | None, columns: int
) -> float | None:
    """The recorded step about `columns` plot columns from `current` (from the last step
    when there is no cursor yet): one key press moves one column whatever the run's length."""
    if len(steps) == 0:
        return None
    if current is None:
        return float(steps[-1])
    col = picture.column_of(current)
    target = picture.x_at(col + columns) if col is not None else None
    if target is None:
        return current
    found = nearest_step(steps, target)
    if found == current:  # the column holds this step only: take the next recorded one
        i = int(np.searchsorted(steps, current)) + (1 if columns > 0 else -1)
        found = float(steps[min(max(i, 0), len(steps) - 1)])
    return found
