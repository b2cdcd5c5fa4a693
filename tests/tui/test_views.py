"""tui.plot.views: what each chart view draws from a snapshot, events, ghost, cursor."""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType

import numpy as np

from engine.live.snapshot import Series, Snapshot
from engine.vocabulary import Event, RunState, Status
from tui.plot import chart as C
from tui.plot import views as V

RATE = 0.99


def snap(task="regression", n=200, *, floor=None, rate=None, events=(), **extra) -> Snapshot:
    steps = tuple(range(0, n * 10, 10))
    loss = tuple(2.0 * RATE ** (2 * s) + (floor or 0.0) for s in steps)
    series = {
        "train_loss": loss,
        "val_loss": tuple(v * 1.1 for v in loss),
        "grad_norm": tuple(3.0 * RATE**s for s in steps),
        "lr": tuple(0.1 for _ in steps),
    }
    metric = ("train_acc", "val_acc") if task == "classification" else ("train_mad", "val_mad")
    series[metric[0]] = tuple(min(1.0, s / 1000) for s in steps)
    series[metric[1]] = tuple(min(1.0, s / 1500) for s in steps)
    return Snapshot(
        preset="p", title="t", task=task, state=RunState.RUNNING, status=Status.IMPROVING,
        explanation="", step=steps[-1] if steps else 0, epoch=1.0, steps_per_s=1.0, elapsed_s=1.0,
        target_steps=n * 10, hparams=(), edited=frozenset(), latest=(),
        series=tuple((k, Series(steps, v)) for k, v in series.items()), events=tuple(events),
        lstsq_floor=floor, predicted_contraction=rate, **extra,
    )  # fmt: skip


def event(step, kind, detail="", **data) -> Event:
    return Event(step, 0.0, kind, detail, MappingProxyType(data))


def test_views_follow_the_task_and_the_guarantee():
    assert V.views_for(snap()) == ["loss", "mad", "grad_norm", "lr"]
    assert V.views_for(snap("classification"))[1] == "accuracy"
    assert V.views_for(snap(floor=0.5))[-1] == "guarantee"
    assert V.resolve("accuracy", snap()).name == "mad"  # the task's metric
    assert V.resolve("guarantee", snap()).name == "loss"  # no floor yet
    assert V.resolve("accuracy", snap("classification")).y_range == (0.0, 1.0)
    names, current = [], "loss"
    for _ in range(5):
        current = V.next_view(current, snap(floor=0.5))
        names.append(current)
    assert names == ["mad", "grad_norm", "lr", "guarantee", "loss"]


def test_train_and_val_differ_in_pattern_and_smoothing_keeps_the_raw_curve_faint():
    layers = V.chart_layers(snap(), V.VIEWS["loss"], 60, log=True, smoothing=0.9)
    styles = [(t.style, t.pattern) for t in layers.traces]
    assert styles == [
        (V.TRAIN_FAINT, C.SOLID),
        (V.VAL_FAINT, C.DASHED),
        (V.TRAIN, C.SOLID),
        (V.VAL, C.DASHED),
    ]
    assert layers.legend == [("train", V.TRAIN, C.SOLID), ("val", V.VAL, C.DASHED)]
    raw, smooth = layers.traces[0].ys, layers.traces[2].ys
    assert not np.allclose(raw, smooth)
    assert len(V.chart_layers(snap(), V.VIEWS["loss"], 60, log=True).traces) == 2


def test_guarantee_view_plots_the_excess_and_the_predicted_rate_as_a_line():
    s = snap(floor=0.735, rate=RATE)
    layers = V.chart_layers(s, V.VIEWS["guarantee"], 60, log=False)
    assert layers.log  # forced
    by_style = {}
    for t in layers.traces:
        by_style.setdefault(t.style, []).append(t)
    excess = by_style[V.TRAIN][0]
    assert math.isclose(excess.ys[0], 2.0) and excess.ys[-1] < 1e-3  # the floor is gone
    excess_line, grad_line = by_style[V.PREDICTED]
    # straight on a log axis, with the slopes rate**2 and rate per step
    for line, power in ((excess_line, 2), (grad_line, 1)):
        slope = np.diff(np.log(line.ys)) / np.diff(line.xs)
        assert np.allclose(slope, power * math.log(RATE))
    # each line's rate named, in the curves' order
    assert ("predicted 0.9801, 0.99/step", V.PREDICTED, C.DOTTED) in layers.legend
    # the line starts again at the last edit (the guarantee changed there)
    edited = replace(s, events=(event(1000, "edit", "lr", name="lr", **{"from": 0.1, "to": 0.05}),))
    lines = [t for t in V.chart_layers(edited, V.VIEWS["guarantee"], 60, log=True).traces]
    assert min(t.xs[0] for t in lines if t.style == V.PREDICTED) == 1000


def test_predicted_line_stops_a_decade_below_the_curve():
    xs = np.arange(0, 1000, 10.0)
    ys = 0.5 ** (xs / 100)
    px, py = V.predicted_line(xs, ys, 0.9, 1, 0, 40)
    assert py.min() >= ys.min() / 10 and px[0] == 0 and math.isclose(py[0], 1.0)
    assert len(V.predicted_line(xs, ys, 1.5, 1, 0, 40)[0]) == 0  # no rate: no line


def test_markers_milestones_first_then_edits_with_short_labels():
    edit = event(300, "edit", "lr 0.1 -> 0.05", name="lr", **{"from": 0.1, "to": 0.05})
    wd = event(400, "edit", "weight_decay 1 -> 2", name="weight_decay", **{"from": 1.0, "to": 2.0})
    s = snap(
        "classification",
        events=(event(0, "reset"), edit, wd, event(900, "early_stop", "stopped")),
        milestones=(("memorized_step", 100), ("grokked_step", 700), ("diverged_step", None)),
        best_step=650,
    )
    markers = V.event_markers(s)
    assert [(m.x, m.label, m.short) for m in markers] == [
        (700, "grokked", "grok"),
        (100, "memorized", "mem"),
        (900, "early stop", "stop"),
        (650, "best val", "best"),
        (400, "wd 1→2", "wd↑"),
        (300, "lr 0.1→0.05", "lr↓"),
        (0, "reset", "r"),
    ]
    assert {m.style for m in markers} == {V.MILESTONE, V.BEST, V.EDIT}


def test_the_ghost_is_the_last_snapshot_before_the_step_went_back():
    keeper = V.GhostKeeper()
    first, later = snap(n=50), snap(n=100)
    keeper.observe(first)
    keeper.observe(later)
    assert keeper.ghost is None
    restarted = snap(n=1)
    keeper.observe(restarted)
    assert keeper.ghost is later
    keeper.observe(snap(n=0))  # a second reset before anything ran keeps the real run
    assert keeper.ghost is later
    layers = V.chart_layers(restarted, V.VIEWS["loss"], 60, log=True, ghost=keeper.ghost)
    assert [t.style for t in layers.traces[:2]] == [V.GHOST_TRAIN, V.GHOST_VAL]
    assert all(t.pattern == C.DOTTED for t in layers.traces[:2])
    assert layers.legend[-1][0] == "previous"
    keeper.clear()
    assert keeper.ghost is None


def test_readout_reads_every_plotted_value_at_the_nearest_step():
    s = snap(floor=0.5, rate=RATE)
    text = V.readout(s, V.VIEWS["loss"], 104)
    assert text == "step 104 · train 0.768 · val 0.8448"  # the values at step 100
    text = V.readout(s, V.VIEWS["guarantee"], 100, ghost=snap(n=20, floor=0.5))
    assert (
        text == "step 100 · loss−floor 0.268 · grad norm 1.098 · predicted 0.268 · previous 0.268"
    )


def test_cursor_moves_one_column_and_stops_at_recorded_steps():
    s = snap()
    steps = V.curve_steps(s, V.VIEWS["loss"])
    pic = C.render_chart([C.Trace(steps, steps + 1.0, "t")], 60, 12)
    first = V.move_cursor(steps, pic, None, -1)
    assert first is not None and first == steps[-1]  # the first press starts at the latest step
    back = V.move_cursor(steps, pic, first, -1)
    assert back is not None and back < first and back in steps
    far = V.move_cursor(steps, pic, first, -10)
    assert far is not None and far < back
    assert V.move_cursor(np.zeros(0), pic, None, 1) is None
