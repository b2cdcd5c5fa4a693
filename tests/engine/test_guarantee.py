"""The convergence guarantee on quadratics: predicted by the Hessian, observed in the run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.config import load_config, with_overrides
from engine.training.guarantee import Guarantee, observed_contraction, quadratic_guarantee
from engine.training.session import Session


def run_to_end(session: Session, chunk: int = 1000) -> None:
    session.begin()
    finished = False
    while not finished:
        finished = session.advance(chunk).finished


def linear_regression(*overrides: str):
    return Session(with_overrides(load_config("linear-regression"), list(overrides)))


def guarantee_of(session: Session) -> Guarantee:
    """The session's guarantee; linear regression with mse and GD always has one."""
    assert session.guarantee is not None
    return session.guarantee


def test_observed_contraction_matches_the_prediction_within_5_percent():
    session = linear_regression()
    run_to_end(session)
    guarantee = guarantee_of(session)
    predicted = guarantee.contraction
    observed = session.observed_contraction()
    assert session.monitor.status == "converged"
    assert observed == pytest.approx(predicted, rel=0.05)
    # The factors are close to 1, so compare the rates too: ln(rho) within 5%.
    assert math.log(observed) == pytest.approx(math.log(predicted), rel=0.05)
    # The predicted steps to grad_tol are a bound (|g_t| <= rho^t |g_0|), and a tight one.
    assert 0.7 * guarantee.predicted_steps <= session.step <= guarantee.predicted_steps


@pytest.mark.parametrize("factor,diverges", [(1.01, True), (0.99, False)])
def test_the_step_size_bound_2_over_L_is_sharp(factor, diverges):
    probe = linear_regression()
    lr = factor * guarantee_of(probe).stable_lr
    session = linear_regression(f"optim.lr={lr!r}", "train.steps=400000")
    assert guarantee_of(session).diverges is diverges  # predicted before the first step
    run_to_end(session, chunk=5000)
    if diverges:
        assert session.monitor.status == "diverged"
    else:
        assert session.monitor.status == "converged"


def test_least_squares_solution_and_spectrum_on_a_known_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x @ np.array([[2.0], [-1.0]]) + 0.5
    g = quadratic_guarantee(x, y, bias=True, l2=0.0, lr=0.1, grad_tol=1e-6, initial_grad_norm=1.0)
    np.testing.assert_allclose(g.lstsq_params, [2.0, -1.0, 0.5], atol=1e-10)
    assert g.lstsq_loss == pytest.approx(0.0, abs=1e-20)
    a = np.hstack([x, np.ones((200, 1))])
    eig = np.linalg.eigvalsh(2 * a.T @ a / 200)
    assert (g.L, g.mu) == pytest.approx((eig[-1], eig[0]))
    assert g.best_lr == pytest.approx(2 / (eig[-1] + eig[0]))


def test_observed_contraction_of_a_geometric_sequence():
    rho = 0.97
    assert observed_contraction(3.0 * rho ** np.arange(500)) == pytest.approx(rho, rel=1e-9)
    assert math.isnan(observed_contraction(np.array([1.0, 0.5])))  # too few points
