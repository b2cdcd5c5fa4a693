"""The data view: the model's predictions over its data, computed on the training thread.

One picture per kind of task (`Scene.kind`):

- PLANE, a classifier of two dense inputs (circles, xor, gaussians, spiral, moons, a CSV
  with two features): the predicted class and its confidence at the centre of each pixel
  of an nx x ny grid over the data's box, and the training and validation points (the
  training rows whose label was flipped by label noise flagged).
- CURVE, regression on one input (polynomial, sine, a CSV with one feature): the fit at nx
  points across the data's x range, the data points, and the true function where the
  generator knows it.
- TABLE, modular arithmetic: for every pair (a, b) of the training and validation splits,
  whether the model's class is the right one. The test pairs are left out: the test set
  is scored once, on request, never watched.
- SCATTER, regression on several inputs: predicted against actual for the training and
  validation rows.
- NONE, anything else (a classifier of three or more CSV features), with the reason.

A Scene (the data, in the data's own units) is built once per run; each DataView adds the
predictions at one step. Every array is a read-only copy, made once: a snapshot can hold
a view and the UI read it at leisure, never reaching the trainer's arrays.

The cost is paid only while a front end asks for the view (DataViewFeed.want), and at
most every VIEW_EVERY_S seconds, and never more than VIEW_MAX_SHARE of the time: a view
that took t seconds waits t / VIEW_MAX_SHARE before the next one. A paced run sleeps
between its chunks, and the part of a view that fits in that sleep costs no step: only
the rest counts (else a slow view of a paced run lagged it by seconds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.training.data import true_function

if TYPE_CHECKING:  # the snapshot imports this module: it need not load the trainer
    from engine.training.trainer import Trainer

PLANE, CURVE, TABLE, SCATTER, NONE = "plane", "curve", "table", "scatter", "none"

VIEW_EVERY_S = 0.25  # at most 4 views a second
VIEW_MAX_SHARE = 0.01  # and at most 1% of the training thread's time
MAX_RESOLUTION = (400, 200)  # grid points across and down, whatever a front end asks
PLANE_PAD = 0.08  # the plane's box: the points' extent and this fraction each side
CURVE_PAD = 0.03


def _frozen(array: np.ndarray, dtype=None) -> np.ndarray:
    """A read-only copy."""
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


_EMPTY = _frozen(np.empty(0))


def _no_array():
    """A dataclass field defaulting to the shared empty read-only array."""
    return field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, eq=False)
class Scene:
    """The data a view is drawn over, fixed for a run, in the data's own units.

    plane: train_xy / val_xy the points, train_labels / val_labels their classes,
        train_flipped a mask of the training points whose label noise flipped.
    curve: train_xy / val_xy the (x, y) points; x_range the fit's span.
    scatter: train_y / val_y the actual targets (the predictions come with each view).
    table: p, and table_split (p x p, int8: 0 no pair or a test pair, 1 train, 2 val).
    """

    kind: str
    reason: str = ""  # NONE: why there is no picture
    x_name: str = "x"
    y_name: str = "y"
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)
    classes: int = 0
    train_xy: np.ndarray = _no_array()
    val_xy: np.ndarray = _no_array()
    train_labels: np.ndarray = _no_array()
    val_labels: np.ndarray = _no_array()
    train_flipped: np.ndarray = _no_array()
    train_y: np.ndarray = _no_array()
    val_y: np.ndarray = _no_array()
    p: int = 0
    table_split: np.ndarray = _no_array()
    has_truth: bool = False


@dataclass(frozen=True, eq=False)
class DataView:
    """The model's predictions at `step` for a scene, on a grid of `resolution`.

    plane: predicted (ny x nx uint8, row 0 the top: the largest x2) and confidence (ny x
        nx, 0 at chance to 1 certain: (max p - 1/K) / (1 - 1/K)).
    curve: grid_x (nx), fit (nx), truth (nx, or empty when unknown).
    table: correct (p x p bool; meaningful where scene.table_split is nonzero).
    scatter: train_pred, val_pred (one per row of the scene's train_y / val_y).
    """

    scene: Scene
    step: int
    resolution: tuple[int, int]
    predicted: np.ndarray = _no_array()
    confidence: np.ndarray = _no_array()
    grid_x: np.ndarray = _no_array()
    fit: np.ndarray = _no_array()
    truth: np.ndarray = _no_array()
    correct: np.ndarray = _no_array()
    train_pred: np.ndarray = _no_array()
    val_pred: np.ndarray = _no_array()
    cost_s: float = 0.0  # seconds the predictions took

    @property
    def kind(self) -> str:
        return self.scene.kind


def _display(X: np.ndarray, trainer: Trainer) -> np.ndarray:
    """Model inputs back in the file's units (a CSV's features are standardized)."""
    scaling = trainer.data.scaling
    if scaling is None:
        return np.asarray(X, dtype=float)
    return X * np.asarray(scaling.scale) + np.asarray(scaling.mean)


def _to_model(X: np.ndarray, trainer: Trainer) -> np.ndarray:
    scaling = trainer.data.scaling
    if scaling is None:
        return X
    return (X - np.asarray(scaling.mean)) / np.asarray(scaling.scale)


def _padded(values: np.ndarray, pad: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else max(abs(lo), 1.0)
    return lo - pad * span, hi + pad * span


def build_scene(trainer: Trainer) -> Scene:
    data = trainer.data
    train, val = data.train, data.val
    if data.input_kind == "index":
        if trainer.cfg.data.kind != "modular" or data.n_inputs % 2:
            return Scene(NONE, reason="no picture for these index inputs")
        p = data.n_inputs // 2
        split = np.zeros((p, p), dtype=np.int8)
        for code, X in ((1, train.X), (2, val.X)):
            split[X[:, 0], X[:, 1] - p] = code
        return Scene(TABLE, x_name="b", y_name="a", p=p, table_split=_frozen(split),
                     classes=data.n_outputs)  # fmt: skip
    names = data.feature_names
    if data.task == "classification":
        if data.n_inputs != 2:
            return Scene(NONE, reason=f"no plane to draw: the classifier has {data.n_inputs} "
                         "inputs (a picture needs two)")  # fmt: skip
        tr, va = _display(train.X, trainer), _display(val.X, trainer)
        both = np.concatenate([tr, va])
        flipped = np.zeros(len(train.y), dtype=bool)
        flipped[data.flipped] = True
        return Scene(
            PLANE,
            x_name=names[0],
            y_name=names[1],
            x_range=_padded(both[:, 0], PLANE_PAD),
            y_range=_padded(both[:, 1], PLANE_PAD),
            classes=data.n_outputs,
            train_xy=_frozen(tr),
            val_xy=_frozen(va),
            train_labels=_frozen(train.y, np.int64),
            val_labels=_frozen(val.y, np.int64),
            train_flipped=_frozen(flipped),
        )
    if data.n_inputs == 1:
        tr = np.column_stack([_display(train.X, trainer)[:, 0], train.y[:, 0]])
        va = np.column_stack([_display(val.X, trainer)[:, 0], val.y[:, 0]])
        both = np.concatenate([tr, va])
        return Scene(
            CURVE,
            x_name=names[0],
            y_name=data.target_name,
            x_range=_padded(both[:, 0], CURVE_PAD),
            y_range=_padded(both[:, 1], 0.0),
            train_xy=_frozen(tr),
            val_xy=_frozen(va),
            has_truth=data.scaling is None and true_function(trainer.cfg.data) is not None,
        )
    ys = np.concatenate([train.y[:, 0], val.y[:, 0]])
    return Scene(
        SCATTER,
        x_name=f"actual {data.target_name}",
        y_name="predicted",
        x_range=_padded(ys, 0.0),
        y_range=_padded(ys, 0.0),
        train_y=_frozen(train.y[:, 0]),
        val_y=_frozen(val.y[:, 0]),
    )


def grid_inputs(scene: Scene, resolution: tuple[int, int]) -> np.ndarray:
    """The points a view evaluates the model at, in the data's units: pixel centres of the
    plane (row-major from the top left), or nx points across the curve's x range."""
    nx, ny = resolution
    (x0, x1), (y0, y1) = scene.x_range, scene.y_range
    xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    if scene.kind == CURVE:
        return np.linspace(x0, x1, nx).reshape(-1, 1)
    ys = y1 - (np.arange(ny) + 0.5) * (y1 - y0) / ny
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def clamp_resolution(resolution: tuple[int, int]) -> tuple[int, int]:
    nx, ny = (int(v) for v in resolution)
    return min(max(nx, 1), MAX_RESOLUTION[0]), min(max(ny, 1), MAX_RESOLUTION[1])


class DataViewer:
    """Computes views of one trainer's model (the scene built at the first view)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self._scene: Scene | None = None
        self._table_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def scene(self) -> Scene:
        if self._scene is None:
            self._scene = build_scene(self.trainer)
        return self._scene

    def compute(self, resolution: tuple[int, int]) -> DataView:
        scene = self.scene
        resolution = clamp_resolution(resolution)
        trainer = self.trainer
        started = time.perf_counter()
        fields: dict = {}
        if scene.kind == PLANE:
            probs = trainer.predict(_to_model(grid_inputs(scene, resolution), trainer))
            nx, ny = resolution
            k = probs.shape[1]
            top = probs.max(axis=1)
            conf = np.clip((top - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
            fields = {
                "predicted": _frozen(probs.argmax(axis=1).reshape(ny, nx), np.uint8),
                "confidence": _frozen(conf.reshape(ny, nx), np.float32),
            }
        elif scene.kind == CURVE:
            xs = grid_inputs(scene, resolution)
            fit = trainer.predict(_to_model(xs, trainer))[:, 0]
            truth = _EMPTY
            if scene.has_truth:
                fn = true_function(trainer.cfg.data)
                truth = _frozen(fn(xs[:, 0]), float) if fn is not None else _EMPTY
            fields = {"grid_x": _frozen(xs[:, 0]), "fit": _frozen(fit, float), "truth": truth}
        elif scene.kind == TABLE:
            a, b, labels = self._table()
            p = scene.p
            X = np.column_stack([a, b + p])
            predicted = trainer.predict(X, probabilities=False).argmax(axis=1)
            correct = np.zeros((p, p), dtype=bool)
            correct[a, b] = predicted == labels
            fields = {"correct": _frozen(correct)}
        elif scene.kind == SCATTER:
            data = trainer.data
            fields = {
                "train_pred": _frozen(trainer.predict(data.train.X)[:, 0], float),
                "val_pred": _frozen(trainer.predict(data.val.X)[:, 0], float),
            }
        cost = time.perf_counter() - started
        return DataView(scene, trainer.step, resolution, cost_s=cost, **fields)

    def _table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, label) of the training and validation pairs, concatenated once."""
        if self._table_rows is None:
            data, p = self.trainer.data, self.scene.p
            X = np.concatenate([data.train.X, data.val.X])
            y = np.concatenate([data.train.y, data.val.y])
            self._table_rows = (X[:, 0].copy(), X[:, 1] - p, y.copy())
        return self._table_rows


class DataViewFeed:
    """The runner's side of the view: computed only while wanted, at a bounded rate.

    `want(resolution)` says a front end shows it (None: hidden; the last view is dropped).
    `update(now)` computes a new view when one is wanted and stale (another step, another
    resolution, or after `invalidate`) and the rate allows; True when it did. A paused run
    gets its view at once: the wait applies between views of a training run. `slack`: the
    seconds a paced run would sleep now, taken off the last view's cost.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.viewer = DataViewer(trainer)
        self.wanted: tuple[int, int] | None = None
        self.view: DataView | None = None
        self._at = -math.inf
        self._stale = True

    def want(self, resolution: tuple[int, int] | None) -> None:
        self.wanted = None if resolution is None else clamp_resolution(resolution)
        if self.wanted is None:
            self.view = None

    def invalidate(self) -> None:
        """The parameters changed without a step (a reset, a restored checkpoint)."""
        self._stale = True

    def update(self, now: float, training: bool = True, slack: float = 0.0) -> bool:
        wanted, view = self.wanted, self.view
        if wanted is None:
            return False
        step = self.viewer.trainer.step
        if view is not None and not self._stale and view.step == step:
            if view.resolution == wanted or view.scene.kind in (TABLE, SCATTER):
                return False
        if training and view is not None and view.resolution == wanted:
            wait = max(VIEW_EVERY_S, max(view.cost_s - slack, 0.0) / VIEW_MAX_SHARE)
            if now - self._at < wait:
                return False
        self.view = self.viewer.compute(wanted)
        self._at = now
        self._stale = False
        return True
