"""The convergence guarantee on quadratics: predicted from the exact iteration, observed in
the run, for the optimizer that actually runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.config import load_config, with_overrides
from engine.numerics.optim import HParams
from engine.training.guarantee import (
    MAX_ANALYSED,
    Guarantee,
    _Iteration,
    observed_contraction,
    quadratic_guarantee,
)
from engine.training.session import Session
from tests.configs import run_to_end


def session_of(preset: str, *overrides: str) -> Session:
    return Session(with_overrides(load_config(preset), list(overrides)))


def linear_regression(*overrides: str) -> Session:
    return session_of("linear-regression", *overrides)


def guarantee_of(session: Session) -> Guarantee:
    """The session's guarantee; linear regression with mse always has one."""
    assert session.guarantee is not None
    return session.guarantee


def hparams(**changes) -> HParams:
    return HParams.from_config(load_config("linear-regression")).with_(**changes)


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


# One case per update rule, with and without the bias the weight mask leaves undecayed
# (momentum + decay + bias is the coupled 2p x 2p case, bounded by bisection).
METHODS = {
    "gd+l2": ("linear-regression", ["optim.l2=0.5"]),
    "gd+decay": ("linear-regression", ["optim.weight_decay=0.5"]),
    "gd+decay+bias": ("linear-regression", ["optim.weight_decay=0.5", "model.bias=true"]),
    "momentum": ("linear-regression", ["optim.kind='momentum'", "optim.momentum=0.9"]),
    "nesterov": ("linear-regression", ["optim.kind='nesterov'", "optim.momentum=0.9"]),
    "momentum+decay+bias": (
        "linear-regression",
        ["optim.kind='momentum'", "optim.momentum=0.5", "optim.weight_decay=0.3"]
        + ["model.bias=true"],
    ),
    "nesterov+decay+bias": (
        "linear-regression",
        ["optim.kind='nesterov'", "optim.momentum=0.5", "optim.weight_decay=0.3"]
        + ["model.bias=true"],
    ),
    "polynomial momentum+decay": (
        "overfitting-polynomial",
        ["optim.kind='momentum'", "optim.momentum=0.8", "optim.weight_decay=0.1"],
    ),
}


@pytest.mark.parametrize("factor", [0.97, 1.03])
@pytest.mark.parametrize("name", list(METHODS))
def test_predicted_verdict_matches_the_run_on_both_sides_of_the_edge(name, factor):
    preset, overrides = METHODS[name]
    bound = guarantee_of(session_of(preset, *overrides)).stable_lr
    session = session_of(
        preset,
        *overrides,
        f"optim.lr={factor * bound!r}",
        "train.steps=6000",
        "train.stop_on_converged=false",
        "train.eval_every=100",
    )
    guarantee = guarantee_of(session)
    assert guarantee.applies and guarantee.diverges is (factor > 1)
    assert dict(guarantee.rows())["verdict"] == ("diverges" if factor > 1 else "converges")
    run_to_end(session)
    _steps, losses = session.history.series("step_loss")
    if factor > 1:  # geometric growth until the monitor stops it
        assert session.monitor.status == "diverged"
        assert session.step < 6000
        assert not losses[-1] < 1e3 * losses[0]
    else:  # finite all along and on the floor it predicted
        assert session.step == 6000 and np.all(np.isfinite(losses))
        assert session.monitor.status != "diverged"
        assert losses[-1] == pytest.approx(guarantee.lstsq_loss, rel=1e-9)
        np.testing.assert_allclose(session.trainer.params, guarantee.lstsq_params, atol=1e-7)


@pytest.mark.parametrize("name", list(METHODS))
def test_observed_rate_matches_the_predicted_rate(name):
    preset, overrides = METHODS[name]
    bound = guarantee_of(session_of(preset, *overrides)).stable_lr
    session = session_of(
        preset,
        *overrides,
        f"optim.lr={0.5 * bound!r}",
        "train.steps=3000",
        "train.stop_on_converged=false",  # the monitor may call a plateau before the tail
    )
    run_to_end(session)
    g = guarantee_of(session)
    assert g.contraction < 1
    assert session.observed_contraction() == pytest.approx(g.contraction, rel=0.01)


def test_heavy_ball_at_lr_1_25_converges_as_predicted():
    """The user report: the panel said 'diverges' (2/L = 1.19) for momentum 0.9 at lr 1.25."""
    session = linear_regression("optim.kind='momentum'", "optim.momentum=0.9", "optim.lr=1.25")
    g = guarantee_of(session)
    assert not g.diverges and g.stable_lr == pytest.approx(2 * 1.9 / g.L)
    assert dict(g.rows())["verdict"] == "converges"
    run_to_end(session)
    assert session.monitor.status == "converged"
    assert session.step <= g.predicted_steps * 1.5


def test_weight_decay_changes_the_bound_shown_and_the_floor():
    plain = guarantee_of(linear_regression())
    decayed_session = linear_regression("optim.weight_decay=0.5")
    decayed = guarantee_of(decayed_session)
    rows, plain_rows = dict(decayed.rows()), dict(plain.rows())
    # GD + decoupled decay is GD on H + wd M: L grows by wd (no bias), the bound shrinks.
    assert decayed.L == pytest.approx(plain.L + 0.5) and decayed.mu == pytest.approx(plain.mu + 0.5)
    assert decayed.stable_lr == pytest.approx(2 / (plain.L + 0.5))
    assert rows["stable if lr <"] != plain_rows["stable if lr <"]
    # The regularised floor sits above the least-squares one, and both are shown.
    assert decayed.lstsq_loss > decayed.unpenalised_loss == pytest.approx(plain.lstsq_loss)
    assert rows["lstsq floor"] == plain_rows["floor"]
    # The kernel's gradient (decay not in it) stays at wd |w*| > grad_tol: never converges.
    assert decayed.grad_floor == pytest.approx(0.5 * np.linalg.norm(decayed.lstsq_params))
    assert decayed.predicted_steps == math.inf and rows["steps to tol"] == "never"
    # A live edit remakes it: the run's own bound, in the advice too.
    session = linear_regression()
    session.apply_hparam("weight_decay", 0.5)
    assert guarantee_of(session).stable_lr == pytest.approx(decayed.stable_lr)
    session.apply_hparam("lr", 2.0)  # above the bound: the run diverges and says why
    session.begin()
    session.advance(2000)
    advice = [e.detail for e in session.events if e.kind == "advice"]
    assert advice and f"{decayed.stable_lr:.4g}" in advice[-1]


def test_l2_is_in_the_gradient_grad_tol_tests():
    g = guarantee_of(linear_regression("optim.l2=0.5", "optim.lr=0.5"))
    assert g.grad_floor < 1e-12 and math.isfinite(g.predicted_steps)


def test_live_momentum_and_batch_edits_remake_the_guarantee():
    session = linear_regression("optim.kind='momentum'", "optim.momentum=0.9", "optim.lr=1.25")
    session.apply_hparam("momentum", 0.0)  # plain gd at 1.25 > 2/L
    assert guarantee_of(session).diverges
    session = linear_regression("optim.kind='sgd'", "optim.lr=0.1")
    assert guarantee_of(session).applies  # sgd on the full batch is gd
    session.apply_hparam("batch_size", 4)
    assert not guarantee_of(session).applies


@pytest.mark.parametrize(
    "overrides,why",
    [
        (["optim.kind='sgd'", "optim.batch_size=4", "optim.lr=1.0"], "random"),
        (["optim.kind='sgd'", "optim.batch_size=1", "optim.lr=1.0"], "random"),
        (["optim.kind='adam'", "optim.lr=0.1"], "Adam"),
        (["optim.kind='adamw'", "optim.lr=0.1", "optim.weight_decay=0.1"], "Adam"),
        (["optim.l1=0.1"], "L1"),
        (["optim.clip_norm=1.0"], "clipping"),
        (["optim.schedule='cosine'"], "schedule"),
    ],
)
def test_no_deterministic_guarantee_and_never_a_verdict(overrides, why):
    session = linear_regression(*overrides)
    g = guarantee_of(session)
    rows = dict(g.rows())
    assert not g.applies and why in g.reason and rows["guarantee"] == "none"
    assert "verdict" not in rows and not g.diverges
    assert all(v not in ("converges", "diverges") for v in rows.values())
    # The problem's own numbers stay as references.
    plain = guarantee_of(linear_regression())
    assert float(rows["lstsq floor"]) == pytest.approx(plain.lstsq_loss, rel=1e-3)
    assert math.isfinite(g.L) and math.isfinite(g.mu)
    session.begin()
    (event,) = [e for e in session.events if e.kind == "guarantee"]
    assert "no deterministic guarantee" in event.detail
    session.advance(50)
    assert math.isnan(session.observed_contraction())
    summary = session.summary(0.0)["guarantee"]
    assert summary["applies"] is False and summary["method"] == g.method


def test_sgd_batch_1_at_lr_1_is_not_promised_to_converge():
    """The user report: 'converges' was shown for a run that explodes."""
    session = linear_regression("optim.kind='sgd'", "optim.batch_size=1", "optim.lr=1.0")
    assert "converges" not in dict(guarantee_of(session).rows()).values()
    run_to_end(session, chunk=500)
    assert session.monitor.status == "diverged"


def test_too_many_features_skip_the_dense_algebra_and_say_so():
    rng = np.random.default_rng(0)
    n = MAX_ANALYSED + 1
    x, y = rng.normal(size=(10, n)), rng.normal(size=(10, 1))
    g = quadratic_guarantee(x, y, False, hparams(), 1e-6, np.zeros(n))
    assert not g.applies and "verdict" not in dict(g.rows())
    assert f"not computed: {n} features are too many for the dense eigen-decomposition" in (
        g.summary()
    )
    assert np.isnan(g.lstsq_params).all() and g.lstsq_params.shape == (n,)


def test_least_squares_solution_and_spectrum_on_a_known_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x @ np.array([[2.0], [-1.0]]) + 0.5
    g = quadratic_guarantee(x, y, True, hparams(lr=0.1), 1e-6, np.zeros(3))
    np.testing.assert_allclose(g.lstsq_params, [2.0, -1.0, 0.5], atol=1e-10)
    assert g.lstsq_loss == pytest.approx(0.0, abs=1e-20)
    a = np.hstack([x, np.ones((200, 1))])
    eig = np.linalg.eigvalsh(2 * a.T @ a / 200)
    assert (g.L, g.mu) == pytest.approx((eig[-1], eig[0]))
    assert g.best_lr == pytest.approx(2 / (eig[-1] + eig[0]))


@pytest.mark.parametrize("kind", ["momentum", "nesterov"])
def test_the_coupled_path_agrees_with_the_closed_forms(kind):
    """Without a bias both paths apply: the 2p x 2p radius and its bisected bound equal the
    per-eigenvalue 2x2 radius and the closed-form bound."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 4))
    K = 2 * a.T @ a / 50
    m, wd = 0.7, 0.2
    closed = _Iteration(kind, K, np.ones(4), wd, m)
    coupled = _Iteration(kind, K, np.ones(4), wd, m)
    coupled.separable = False
    for lr in (0.01, 0.3 * closed.stable_lr(), closed.stable_lr(), 1.2 * closed.stable_lr()):
        assert coupled.radius(lr) == pytest.approx(closed.radius(lr), rel=1e-9)
    assert coupled.stable_lr() == pytest.approx(closed.stable_lr(), rel=1e-9)
    assert closed.radius(closed.stable_lr()) == pytest.approx(1.0, abs=1e-9)
    if kind == "momentum":  # heavy ball's best rate for a fixed momentum is sqrt(momentum)
        best = closed.best_lr(closed.stable_lr())
        # |z1 z2| = mu (1 - lr wd): no step does better than its square root.
        assert closed.radius(best) >= math.sqrt(m * (1 - best * wd)) - 1e-9
    grid = np.linspace(0.01, 0.99, 99) * closed.stable_lr()
    best = closed.best_lr(closed.stable_lr())
    assert closed.radius(best) <= min(closed.radius(lr) for lr in grid) + 1e-9


def test_observed_contraction_of_a_geometric_sequence():
    rho = 0.97
    assert observed_contraction(3.0 * rho ** np.arange(500)) == pytest.approx(rho, rel=1e-9)
    # Two directions, the slow one oscillating through 0: the envelope keeps the rate.
    steps = np.arange(800)
    seq = np.abs(3.0 * rho**steps * np.cos(0.7 * steps)) + 0.8**steps
    assert observed_contraction(seq) == pytest.approx(rho, rel=2e-3)
    assert math.isnan(observed_contraction(np.array([1.0, 0.5])))  # too few points
