"""Every bundled preset runs headless and shows what its [expect] block promises."""

from __future__ import annotations

from dataclasses import fields

import pytest

from engine.config import list_presets, load_config, with_overrides
from tests.presets.expect import check_expectations, milestone_only, run_preset

PRESETS = list_presets()
MAX_DESCRIPTION = 600
# Presets whose run takes several seconds headless: in the full suite, not the quick one.
LONG_PRESETS = {"grokking-slow", "mlp-128", "grokking-mod97", "overfitting-polynomial"}
RUNS = [pytest.param(n, marks=pytest.mark.slow) if n in LONG_PRESETS else n for n in PRESETS]


def test_the_bundled_presets_are_all_there():
    expected = {
        "linear-regression", "lr-too-high", "lr-too-low", "underfitting",
        "overfitting-polynomial", "early-stopping", "noisy-labels", "sgd-vs-gd",
        "adam-vs-sgd", "mlp-128", "spiral", "grokking-mod97", "grokking-slow",
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


@pytest.mark.parametrize("name", RUNS)
def test_preset_meets_its_expectations(name):
    cfg = load_config(name)
    session, summary = run_preset(cfg, stop_when_settled=True)
    failures = check_expectations(cfg, session, summary)
    assert failures == [], f"{name}: " + "; ".join(failures)
    if cfg.expect.min_grok_delay is not None:
        assert summary["grok_delay"] is not None
        assert summary["grok_delay"] >= cfg.expect.min_grok_delay
        grokked = [e for e in session.events if e.kind == "grokked"]
        assert [e.data["kind"] for e in grokked] == ["grokking"]
    if cfg.train.early_stopping or cfg.expect.max_test_mad is not None:
        assert summary["test"] is not None, f"{name}: the test set was never scored"


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
