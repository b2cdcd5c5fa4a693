"""The data view: grid predictions against the reference forward pass, its rate, and that
it costs the engine nothing while no front end shows it."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from engine.config import config_from_dict
from engine.live.runner import Runner
from engine.numerics import kernels, reference
from engine.numerics.model import polynomial_features
from engine.training import dataview as DV
from engine.training.data import make_dataset, true_function
from engine.training.trainer import Trainer
from engine.vocabulary import RunState


def config(data: dict, model: dict, loss: str, steps: int = 200, convergence=None, **train):
    return config_from_dict(
        {
            "convergence": convergence or {},
            "name": "dv",
            "title": "data view",
            "description": "d",
            "phenomenon": "p",
            "data": data,
            "model": model,
            "loss": {"kind": loss},
            "optim": {"kind": "adam", "lr": 0.01},
            "train": {"steps": steps, "eval_every": 10, **train},
        },
        "<test:dataview>",
    )


SPIRAL_DATA = {"kind": "spiral", "n": 150, "classes": 3, "jitter": 0.0}  # jitter 0: no Monte Carlo
SPIRAL = config(SPIRAL_DATA, {"kind": "mlp", "hidden": [8]}, "cross_entropy")
POLY = config({"kind": "polynomial", "n": 30}, {"kind": "polynomial", "degree": 5}, "mse")
MODULAR = config({"kind": "modular", "p": 11}, {"kind": "mlp", "hidden": [8]}, "cross_entropy")
LINEAR = config({"kind": "linear", "n_features": 3}, {"kind": "linear"}, "mse")


def reference_outputs(trainer: Trainer, X: np.ndarray) -> np.ndarray:
    """The NumPy forward pass on rows of the data's own inputs."""
    degree = trainer.cfg.model.degree if trainer.cfg.model.kind == "polynomial" else 0
    x = polynomial_features(X, degree) if degree else X
    index = trainer.arch.input_kind == "index"
    out = reference.forward(trainer.params, x, index, *trainer.arch.meta(), trainer.arch.act_code)
    logits = out[-1][0]
    if trainer.arch.loss_code != 2:
        return logits
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def trained() -> dict:
    """Compiled trainers a few steps in (so the predictions are not the initial ones)."""
    out = {}
    for name, cfg in (("plane", SPIRAL), ("curve", POLY), ("table", MODULAR), ("scatter", LINEAR)):
        trainer = Trainer(cfg)
        trainer.run(30)
        out[name] = trainer
    return out


def test_plane_grid_is_the_reference_forward_pass_at_the_pixel_centres(trained):
    trainer = trained["plane"]
    view = DV.DataViewer(trainer).compute((12, 8))
    assert view.kind == DV.PLANE and view.predicted.shape == (8, 12)
    probs = reference_outputs(trainer, DV.grid_inputs(view.scene, (12, 8)))
    np.testing.assert_array_equal(view.predicted.ravel(), probs.argmax(axis=1))
    k = probs.shape[1]
    np.testing.assert_allclose(
        view.confidence.ravel(), (probs.max(axis=1) - 1 / k) / (1 - 1 / k), rtol=1e-6, atol=1e-7
    )
    # the grid's first row is the top of the plane, its first column the left edge
    grid = DV.grid_inputs(view.scene, (12, 8))
    assert grid[0, 1] > grid[-1, 1] and grid[0, 0] < grid[11, 0]


def test_curve_fit_and_truth_are_the_reference_forward_pass_and_the_generator(trained):
    trainer = trained["curve"]
    view = DV.DataViewer(trainer).compute((40, 1))
    xs = DV.grid_inputs(view.scene, (40, 1))
    np.testing.assert_allclose(view.fit, reference_outputs(trainer, xs)[:, 0], rtol=1e-10)
    fn = true_function(POLY.data)
    assert fn is not None
    np.testing.assert_allclose(view.truth, fn(xs[:, 0]))
    assert (
        view.grid_x[0] <= trainer.data.train.X.min()
        and view.grid_x[-1] >= trainer.data.train.X.max()
    )


def test_table_marks_each_train_and_val_pair_right_or_wrong_as_the_reference_predicts(trained):
    trainer = trained["table"]
    view = DV.DataViewer(trainer).compute((1, 1))
    p = view.scene.p
    data = trainer.data
    for code, split in ((1, data.train), (2, data.val)):
        a, b = split.X[:, 0], split.X[:, 1] - p
        assert (view.scene.table_split[a, b] == code).all()
        right = reference_outputs(trainer, split.X).argmax(axis=1) == split.y
        np.testing.assert_array_equal(view.correct[a, b], right)
    shown = int((view.scene.table_split > 0).sum())
    assert shown == len(data.train.y) + len(data.val.y) < p * p  # the test pairs stay out


def test_scatter_pairs_each_row_with_the_reference_prediction(trained):
    trainer = trained["scatter"]
    view = DV.DataViewer(trainer).compute((1, 1))
    np.testing.assert_allclose(
        view.train_pred, reference_outputs(trainer, trainer.data.train.X)[:, 0]
    )
    np.testing.assert_array_equal(view.scene.train_y, trainer.data.train.y[:, 0])


def test_views_are_read_only_copies(trained):
    view = DV.DataViewer(trained["plane"]).compute((6, 4))
    for array in (view.predicted, view.confidence, view.scene.train_xy, view.scene.train_labels):
        assert not array.flags.writeable
    trained["plane"].params[:] += 1.0  # the trainer moves on; the view does not
    assert view.predicted.base is None or not np.shares_memory(
        view.predicted, trained["plane"].params
    )


def test_noisy_labels_are_flagged_and_clean_data_has_none():
    noisy = make_dataset(config({"kind": "moons", "n": 100, "label_noise": 0.25, "jitter": 0.0},
                                {"kind": "mlp", "hidden": [4]}, "cross_entropy"))  # fmt: skip
    assert len(noisy.flipped) == round(0.25 * len(noisy.train.y))
    assert len(make_dataset(SPIRAL).flipped) == 0


class Counting:
    """Wraps a trainer's predict, counting the calls."""

    def __init__(self, trainer: Trainer) -> None:
        self.calls = 0
        self._predict = trainer.predict
        trainer.predict = self  # type: ignore[method-assign]

    def __call__(self, X):
        self.calls += 1
        return self._predict(X)


def test_a_hidden_view_is_never_computed_and_a_shown_one_at_a_bounded_rate(trained):
    trainer = Trainer(SPIRAL, impl="reference")
    spy = Counting(trainer)
    feed = DV.DataViewFeed(trainer)
    for now in range(100):  # hidden: no call however often it is asked
        trainer.step += 1
        assert not feed.update(float(now))
    assert spy.calls == 0 and feed.view is None
    feed.want((10, 6))
    assert feed.update(0.0) and spy.calls == 1 and feed.view is not None
    _costs(feed, 0.0)  # the rate alone decides; a slow machine's real cost is the next test's
    trainer.step += 1
    assert not feed.update(DV.VIEW_EVERY_S / 2)  # training: not before VIEW_EVERY_S
    assert feed.update(DV.VIEW_EVERY_S * 1.01) and spy.calls == 2
    assert not feed.update(10.0, training=False)  # paused on the same step: nothing new
    trainer.step += 1
    assert feed.update(10.01, training=False)  # a paused run's new step: at once
    feed.want(None)
    assert feed.view is None and not feed.update(20.0) and spy.calls == 3


def _costs(feed: DV.DataViewFeed, cost_s: float) -> None:
    """The feed's latest view, as if it had taken cost_s to compute."""
    view = feed.view
    assert view is not None
    feed.view = DV.DataView(view.scene, view.step, view.resolution, cost_s=cost_s)


def _a_feed_with_a_slow_view() -> tuple[Trainer, DV.DataViewFeed]:
    """A shown view, computed at time 0, that took 0.1 s; the run has stepped since."""
    trainer = Trainer(SPIRAL, impl="reference")
    feed = DV.DataViewFeed(trainer)
    feed.want((4, 4))
    feed.update(0.0)
    _costs(feed, 0.1)
    trainer.step += 1
    return trainer, feed


def test_a_slow_view_waits_so_it_takes_at_most_its_share():
    _trainer, feed = _a_feed_with_a_slow_view()
    assert not feed.update(0.1 / DV.VIEW_MAX_SHARE * 0.99)
    assert feed.update(0.1 / DV.VIEW_MAX_SHARE * 1.01)


@pytest.mark.slow  # a runner thread, waiting on real time
def test_the_runner_calls_predict_only_while_the_view_is_shown(monkeypatch):
    calls = []
    real = kernels.predict

    def spy(*args):
        calls.append(time.perf_counter())
        return real(*args)

    # A gradient-norm tolerance it never reaches: a fast machine otherwise converges (and
    # stops stepping, so the view is never stale again) within a second.
    never = {"grad_tol": 1e-300}
    cfg = config(SPIRAL_DATA, {"kind": "mlp", "hidden": [8]}, "cross_entropy", 10**8, never)
    runner = Runner(cfg)
    runner.start()
    try:
        end = time.perf_counter() + 300
        while runner.snapshot().state != RunState.RUNNING or runner.snapshot().step == 0:
            assert time.perf_counter() < end
            time.sleep(0.01)
        monkeypatch.setattr(kernels, "predict", spy)  # after the warm-up's own call
        time.sleep(0.5)
        assert calls == [] and runner.snapshot().data_view is None
        runner.show_data_view((20, 10))
        asked = time.perf_counter()
        while len(calls) < 2:  # a loaded machine may take longer than one view period
            assert time.perf_counter() < asked + 300  # a cold cache compiles predict first
            time.sleep(0.01)
        shown = len(calls)
        # Never faster than its rate: at most one view per VIEW_EVERY_S (plus the first).
        assert shown <= (time.perf_counter() - asked) / DV.VIEW_EVERY_S + 2
        view = runner.snapshot().data_view
        assert view is not None and view.resolution == (20, 10) and view.step > 0
        runner.show_data_view(None)
        time.sleep(0.2)
        hidden_at = len(calls)
        time.sleep(0.5)
        assert len(calls) == hidden_at <= shown + 1
        assert runner.snapshot().data_view is None
    finally:
        runner.stop()
    assert math.isfinite(runner.snapshot().steps_per_s)


def test_a_paced_run_gets_a_slow_view_in_its_sleep_at_the_plain_rate():
    trainer, feed = _a_feed_with_a_slow_view()
    late = DV.VIEW_EVERY_S * 1.01  # past the plain rate, long before the share allows
    assert not feed.update(late)  # full speed: the share holds it back
    assert not feed.update(late, slack=0.05)  # half of it fits: the other half counts
    assert feed.update(0.05 / DV.VIEW_MAX_SHARE * 1.01, slack=0.05)
    _costs(feed, 0.1)
    trainer.step += 1
    start = 0.05 / DV.VIEW_MAX_SHARE * 1.01
    assert not feed.update(start + DV.VIEW_EVERY_S / 2, slack=1.0)  # never above the rate
    assert feed.update(start + late, slack=0.2)  # the view fits in the sleep
