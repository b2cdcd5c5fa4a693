"""Seed 002, literally: the `linear-regression` preset is the project's seed example.

X is 100x3 uniform, y = X.[3, 5, 2] + N(0, 1); full-batch gradient descent at lr 0.01 from
zero weights until the gradient norm is below 1e-6; the converged weights are least squares.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import load_config
from engine.training.session import STOP_GRAD_TOL, Session
from tests.configs import run_to_end

W_TRUE = np.array([3.0, 5.0, 2.0])


def seed_points(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The seed's 100 points, drawn from the generator groklab seeds with train.seed."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    X = rng.random((100, 3))
    return X, X @ W_TRUE + rng.standard_normal(100)


def seed_loop(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """The seed's own loop: the weights and the number of updates made before it stops."""
    w, steps = np.zeros(3), 0
    while True:
        grad = 2.0 / len(y) * X.T @ (X @ w - y)  # of the mean squared error
        if np.linalg.norm(grad) < 1e-6:
            return w, steps
        w -= 0.01 * grad
        steps += 1


@pytest.fixture(scope="module")
def finished():
    session = Session(load_config("linear-regression"))
    start = session.trainer.params.copy()
    run_to_end(session, 5000)
    return session, start


def test_the_preset_is_the_seed_procedure():
    cfg = load_config("linear-regression")
    assert (cfg.optim.kind, cfg.optim.lr, cfg.optim.batch_size) == ("gd", 0.01, 0)
    assert (cfg.convergence.grad_tol, cfg.train.stop_on_converged) == (1e-6, True)
    assert (cfg.model.kind, cfg.model.bias, cfg.loss.kind) == ("linear", False, "mse")


def test_the_training_points_are_exactly_the_seeds_100(finished):
    session, _ = finished
    X, y = seed_points()
    train = session.trainer.data.train
    np.testing.assert_array_equal(train.X, X)
    np.testing.assert_array_equal(train.y[:, 0], y)
    data = session.trainer.data
    assert len(data.val.y) == len(data.test.y) == 100  # drawn in addition to the 100
    assert not np.isin(data.val.X, X).any()


def test_training_starts_from_zero_weights(finished):
    _, start = finished
    assert start.shape == (3,) and not start.any()


def test_it_stops_by_the_gradient_criterion_where_the_seed_loop_stops(finished):
    session, _ = finished
    w_seed, steps = seed_loop(*seed_points())
    assert session.stopped_by == STOP_GRAD_TOL
    assert session.step == steps < session.cfg.train.steps
    assert session.history.last("step_grad_norm") < 1e-6
    np.testing.assert_allclose(session.trainer.params, w_seed, rtol=0, atol=1e-12)


def test_the_converged_weights_are_least_squares_on_the_100_points(finished):
    session, _ = finished
    X, y = seed_points()
    w_lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.abs(session.trainer.params - w_lstsq).max() < 1e-5
    summary = session.summary(0.0)
    assert summary["stopped_by"] == "grad_tol" and summary["status"] == "converged"
    fit = summary["fit"]
    assert fit["intercept"] is None  # the seed's model has none, and nothing was scaled
    np.testing.assert_allclose(list(fit["weights"].values()), w_lstsq, atol=1e-5)
    assert list(fit["weights"]) == ["x1", "x2", "x3"]
