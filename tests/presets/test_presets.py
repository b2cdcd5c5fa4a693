"""Every bundled preset runs headless and shows what its [expect] block promises."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields

import numpy as np
import pytest

from engine.config import list_presets, load_config, with_overrides
from tests.presets.expect import _series, check_expectations, milestone_only, run_preset

PRESETS = list_presets()
MAX_DESCRIPTION = 600
# Presets whose run takes several seconds headless: in the full suite, not the quick one.
LONG_PRESETS = {
    "grokking-slow", "mlp-128", "grokking-mod97", "overfitting-polynomial", "grokking-gromov",
    "grokking-embedding",
}  # fmt: skip
# The long ones are run by the every-seed test below (seed 0 included), not here again.
QUICK_PRESETS = [n for n in PRESETS if n not in LONG_PRESETS]


def test_the_bundled_presets_are_all_there():
    expected = {
        "linear-regression", "lr-too-high", "lr-too-low", "underfitting",
        "overfitting-polynomial", "early-stopping", "noisy-labels", "sgd-vs-gd",
        "adam-vs-sgd", "mlp-128", "spiral", "grokking-mod97", "grokking-slow",
        "grokking-gromov", "grokking-embedding",
    }  # fmt: skip
    assert expected <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_is_described_and_promises_something(name):
    cfg = load_config(name)
    assert cfg.name == name
    for key in ("title", "description", "phenomenon"):
        assert getattr(cfg, key).strip(), f"{name}: empty {key}"
    assert cfg.title != name, f"{name}: the title is just the name"
    assert len(cfg.description) < MAX_DESCRIPTION, f"{name}: description too long"
    claims = {f.name: getattr(cfg.expect, f.name) for f in fields(cfg.expect)}
    assert any(v is not None for v in claims.values()), f"{name}: empty [expect] block"


@pytest.mark.parametrize("name", QUICK_PRESETS)
def test_preset_meets_its_expectations(name):
    cfg = load_config(name)
    session, summary = run_preset(cfg, stop_when_settled=True)
    failures = check_expectations(cfg, session, summary)
    assert failures == [], f"{name}: " + "; ".join(failures)
    _check_the_run(cfg, session, summary)


def _check_the_run(cfg, session, summary) -> None:
    """What every preset's run must show besides its [expect] block."""
    name = cfg.name
    if cfg.expect.min_grok_delay is not None:
        assert summary["grok_delay"] is not None
        assert summary["grok_delay"] >= cfg.expect.min_grok_delay
        grokked = [e for e in session.events if e.kind == "grokked"]
        assert [e.data["kind"] for e in grokked] == ["grokking"]
    # a sweep's phase is the monitor's own grokking judgment, on every preset
    assert (summary["phase"] == "grokking") == (summary["status"] == "grokked"), name
    if cfg.train.early_stopping or cfg.expect.max_test_mad is not None:
        assert summary["test"] is not None, f"{name}: the test set was never scored"


# ------------------------------------------------- every seed, and what the descriptions say

SEEDS = range(5)
"""Every preset's [expect] block, description and README row must hold at each of these."""


def _claim(holds: bool, text: str) -> list[str]:
    return [] if holds else [text]


def _first_step(session, name: str, test: Callable[[np.ndarray], np.ndarray]) -> float | None:
    steps, values = _series(session, name)
    hit = np.nonzero(test(values))[0]
    return float(steps[hit[0]]) if hit.size else None


def _rerun(cfg, overrides: list[str]):
    return run_preset(with_overrides(cfg, overrides))


def _adam_vs_sgd(cfg, session, summary) -> list[str]:
    floor = cfg.data.noise**2
    reached = _first_step(session, "train_loss", lambda v: v <= 1.25 * floor)
    gd, gd_summary = _rerun(cfg, ["optim.kind=gd", "optim.lr=0.8"])
    gd_train = gd_summary["final"]["train_loss"]
    return _claim(
        reached is not None and reached <= 1700, f"Adam at the noise floor at step {reached}"
    ) + _claim(
        gd.guarantee is not None and 0.8 < gd.guarantee.stable_lr and gd_train >= 15 * floor,
        f"GD at lr 0.8: train loss {gd_train:.3g} after 2,000 steps, not ~20x the floor",
    )


def _early_stopping(cfg, session, summary) -> list[str]:
    full, _ = _rerun(cfg, ["train.early_stopping=false"])
    full_mad = full.evaluate_test()["test_mad"]
    mad = summary["test"]["test_mad"]
    return _claim(mad < full_mad, f"test MAD {mad:.3f}, fully trained {full_mad:.3f}")


def _grokking_mod97(cfg, session, summary) -> list[str]:
    memorized = summary["memorized_step"]
    return _claim(
        memorized is not None and memorized <= 150, f"memorized at step {memorized}, not ~100"
    )


GROMOV_PAPER = {30: 0.23, 36: 0.82, 42: 0.999}
"""Gromov (2023): test accuracy at these epochs; the preset's must be within 10 points."""


def _at_step(session, name: str, step: int) -> float | None:
    steps, values = _series(session, name)
    hit = np.nonzero(steps == step)[0]
    return float(values[hit[0]]) if hit.size else None


def _grokking_gromov(cfg, session, summary) -> list[str]:
    grokked = summary["grokked_step"]
    whole, _ = _rerun(cfg, ["train.steps=42"])  # the check above stopped at grokking
    failures = _claim(
        grokked is not None and 37 <= grokked <= 38, f"grokked at epoch {grokked}, not 37-38"
    )
    for epoch, paper in GROMOV_PAPER.items():
        acc = _at_step(whole, "val_acc", epoch)
        failures += _claim(
            acc is not None and abs(acc - paper) <= 0.10,
            f"val accuracy {acc} at epoch {epoch}, the paper's {paper:.1%} +- 10 points",
        )
    stated = {30: (0.20, 0.33), 36: (0.80, 0.92), 42: (0.997, 1.0)}  # the description
    for epoch, (lo, hi) in stated.items():
        acc = _at_step(whole, "val_acc", epoch)
        failures += _claim(
            acc is not None and lo - 5e-4 <= acc <= hi + 5e-4,
            f"val accuracy {acc} at epoch {epoch}, not {lo:.1%}-{hi:.1%}",
        )
    free, free_summary = _rerun(cfg, ["optim.weight_decay=0", "train.steps=50"])
    at = free_summary["grokked_step"]
    return failures + _claim(
        at is not None and 45 <= at <= 48, f"without weight decay grokked at epoch {at}"
    )


def _grokking_embedding(cfg, session, summary) -> list[str]:
    memorized = summary["memorized_step"]
    tenth = _first_step(session, "val_acc", lambda a: a >= 0.10)
    past = _first_step(session, "val_acc", lambda a: a >= 0.95)
    strong, _ = _rerun(cfg, ["optim.weight_decay=5", "train.steps=100"])
    strong_past = _first_step(strong, "val_acc", lambda a: a >= 0.95)
    return (
        _claim(
            memorized == 20 and _at_step(session, "train_acc", 20) == 1.0,
            f"memorized at step {memorized}, not with 100% train accuracy at step 20",
        )
        + _claim(
            tenth is not None and memorized is not None and tenth - memorized >= 1000,
            f"validation under 10% until step {tenth}: not 1,000 steps after memorizing",
        )
        + _claim(tenth is not None and 1500 <= tenth <= 2000, f"validation at 10% at step {tenth}")
        + _claim(past is not None and 2900 <= past <= 4300, f"validation at 95% at step {past}")
        + _claim(
            strong_past is not None and strong_past <= 100,
            f"with weight decay 5, validation at 95% at step {strong_past}",
        )
    )


def _grokking_slow(cfg, session, summary) -> list[str]:
    memorized = summary["memorized_step"]
    chance = 1.0 / cfg.data.p
    steps, acc = _series(session, "val_acc")
    near = steps[acc < max(2 * chance, chance + 0.05)]
    plateau = float(near[-1]) - memorized if memorized is not None and near.size else 0.0
    return _claim(
        memorized is not None and memorized <= 250, f"memorized at step {memorized}"
    ) + _claim(plateau >= 1000, f"validation near chance for {plateau:.0f} steps after memorizing")


def _lr_too_high(cfg, session, summary) -> list[str]:
    bound = session.guarantee.stable_lr
    half, half_summary = _rerun(cfg, ["optim.lr=0.625"])
    return _claim(1.15 <= bound < cfg.optim.lr, f"2/L = {bound:.3g}") + _claim(
        half_summary["status"] == "converged" and half_summary["steps"] <= 200,
        f"at lr 0.625: {half_summary['status']} after {half_summary['steps']} steps",
    )


def _lr_too_low(cfg, session, summary) -> list[str]:
    g = session.guarantee
    ratio = summary["final"]["train_loss"] / g.lstsq_loss
    return _claim(2 <= ratio <= 5, f"train loss {ratio:.2f}x the floor") + _claim(
        g.predicted_steps is not None and 5e5 <= g.predicted_steps <= 2e6,
        f"the guarantee predicts {g.predicted_steps} steps, not about a million",
    )


def _noisy_labels(cfg, session, summary) -> list[str]:
    _, acc = _series(session, "val_acc")
    decayed, _ = _rerun(cfg, [f"optim.weight_decay={cfg.optim.weight_decay * 64}"])
    _, acc64 = _series(decayed, "val_acc")
    return (
        _claim(acc.max() >= 0.93, f"val accuracy peaks at {acc.max():.3f}")
        + _claim(acc[-1] <= 0.85, f"val accuracy ends at {acc[-1]:.3f}")
        + _claim(
            acc64[-1] > acc[-1] and acc64.max() - acc64[-1] < acc.max() - acc[-1],
            f"decay x64: val accuracy {acc64.max():.3f} -> {acc64[-1]:.3f}, "
            f"without: {acc.max():.3f} -> {acc[-1]:.3f}",
        )
    )


def _overfitting_polynomial(cfg, session, summary) -> list[str]:
    steps, val = _series(session, "val_loss")
    i = int(np.argmin(val))
    return _claim(steps[i] <= 1000, f"val loss lowest at step {steps[i]:.0f}") + _claim(
        val[-1] >= 2 * val[i], f"val loss ends {val[-1] / val[i]:.2f}x its best"
    )


def _sgd_vs_gd(cfg, session, summary) -> list[str]:
    trainer = session.trainer
    params = trainer.params.copy()
    trainer.params[:] = session.guarantee.lstsq_params
    lstsq_val = trainer.evaluate("val")[0]
    trainer.params[:] = params
    ratio = summary["final"]["val_loss"] / lstsq_val
    return _claim(ratio <= 1.1, f"final val loss {ratio:.3f}x the least-squares fit's")


def _spiral(cfg, session, summary) -> list[str]:
    reached = _first_step(session, "val_acc", lambda a: a >= 0.95)
    return _claim(reached is not None and reached <= 600, f"val accuracy 95% at step {reached}")


def _underfitting(cfg, session, summary) -> list[str]:
    final = summary["final"]
    return _claim(
        abs(final["train_loss"] - math.log(2)) <= 0.02, f"train loss {final['train_loss']:.3f}"
    ) + _claim(0.35 <= final["val_acc"] <= 0.65, f"val accuracy {final['val_acc']:.3f}")


DESCRIBED: dict[str, Callable[..., list[str]]] = {
    "adam-vs-sgd": _adam_vs_sgd,
    "early-stopping": _early_stopping,
    "grokking-embedding": _grokking_embedding,
    "grokking-gromov": _grokking_gromov,
    "grokking-mod97": _grokking_mod97,
    "grokking-slow": _grokking_slow,
    "lr-too-high": _lr_too_high,
    "lr-too-low": _lr_too_low,
    "noisy-labels": _noisy_labels,
    "overfitting-polynomial": _overfitting_polynomial,
    "sgd-vs-gd": _sgd_vs_gd,
    "spiral": _spiral,
    "underfitting": _underfitting,
}
"""The numbers a preset's description and README row state, as checks (the [expect] block
already covers the others: mlp-128's test MAD, the grokking delays, divergence...)."""


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", PRESETS)
def test_preset_and_its_description_hold_at_every_seed(name, seed):
    cfg = with_overrides(load_config(name), seed=seed)
    session, summary = run_preset(cfg, stop_when_settled=True)
    failures = check_expectations(cfg, session, summary)
    if name in DESCRIBED:
        failures += [f"description: {f}" for f in DESCRIBED[name](cfg, session, summary)]
    assert failures == [], f"{name} at seed {seed}: " + "; ".join(failures)
    _check_the_run(cfg, session, summary)


def test_grokking_presets_keep_training_after_grokking():
    for name in PRESETS:
        cfg = load_config(name)
        if cfg.expect.status == "grokked":
            assert cfg.train.stop_on_converged is False, name
            assert milestone_only(cfg), name


# ---------------------------------------------------------------- the checker itself


def test_checker_reports_a_run_that_does_not_diverge():
    # lr-too-high with half its lr is stable: both divergence claims must fail.
    cfg = with_overrides(load_config("lr-too-high"), ["optim.lr=0.625"])
    session, summary = run_preset(cfg)
    failures = check_expectations(cfg, session, summary)
    assert summary["status"] == "converged"
    assert any(f.startswith("status:") for f in failures)
    assert any(f.startswith("diverged_predicted:") for f in failures)


def test_checker_reports_params_far_from_least_squares():
    cfg = with_overrides(load_config("linear-regression"), ["train.steps=200"])
    session, summary = run_preset(cfg)
    failures = check_expectations(cfg, session, summary)
    assert any(f.startswith("params_close_to_lstsq:") for f in failures)
    assert any(f.startswith("status:") for f in failures)


def test_checker_reports_missing_overfitting_and_no_early_stop():
    # Ten steps of the overfitting preset: the validation loss has not turned up yet.
    cfg = with_overrides(
        load_config("overfitting-polynomial"), ["train.steps=10", "expect.best_restored=true"]
    )
    session, summary = run_preset(cfg)
    failures = check_expectations(cfg, session, summary)
    assert any(f.startswith("val_loss_rises:") for f in failures)
    assert any(f.startswith("best_restored:") for f in failures)


def test_checker_scores_the_test_set_itself_when_nobody_did():
    cfg = load_config("mlp-128", ["train.steps=100", "expect.max_test_mad=1e-9"])
    session, summary = run_preset(cfg, max_steps=100)
    session.test_metrics = None  # as if driven by something that never scored the test set
    failures = check_expectations(cfg, session, summary)
    assert session.test_metrics is not None
    assert any(f.startswith("max_test_mad:") for f in failures)


def test_negated_boolean_claims_are_checked_too():
    cfg = load_config("noisy-labels", ["expect.val_acc_drops=false", "train.steps=3000"])
    session, summary = run_preset(cfg)
    failures = check_expectations(cfg, session, summary)
    assert len(failures) == 1 and failures[0].startswith("val_acc_drops: expected false")
