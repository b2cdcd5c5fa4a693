"""Convergence monitor: every status, event and edge case on constructed metric streams."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.training.monitor import (
    PRECEDENCE,
    ConvergenceMonitor,
    MonitorEvent,
    MonitorSettings,
    Verdict,
)
from engine.vocabulary import Status

NAN = float("nan")
INF = float("inf")


def rec(step, train, val=None, *, grad=1.0, tacc=None, vacc=None, **extra):
    r = {
        "step": step,
        "train_loss": train,
        "val_loss": val,
        "grad_norm": grad,
        "train_acc": tacc,
        "val_acc": vacc,
    }
    r.update(extra)
    return r


def feed(mon, records):
    """Feed records; return (all events, status after each record)."""
    events, statuses = [], []
    for r in records:
        events.extend(mon.update(r))
        statuses.append(mon.status)
    return events, statuses


def kinds(events):
    return [e.kind for e in events]


def grok_kind(events):
    """What the one grokked event classified the delay as: grokking or ordinary learning."""
    (grok,) = [e for e in events if e.kind == "grokked"]
    return dict(grok.data)["kind"]


def best_val(events):
    """The data of the latest best_val event (its numbers), None before any."""
    best = [e for e in events if e.kind == "best_val"]
    return None if not best else (best[-1].step, dict(best[-1].data))


def status_changes(events):
    return [
        (e.step, dict(e.data)["from"], dict(e.data)["to"]) for e in events if e.kind == "status"
    ]


def clf(**kw):
    base = dict(task="classification", chance=0.1, window=4, patience=3)
    base.update(kw)
    return MonitorSettings(**base)


# ---------------------------------------------------------------- basics
def test_compiling_before_first_record():
    mon = ConvergenceMonitor(MonitorSettings())
    assert mon.status == "compiling"
    assert mon.verdict == Verdict(Status.COMPILING, "no evaluation yet")
    assert mon.milestones == {
        "memorized_step": None,
        "grokked_step": None,
        "converged_step": None,
        "diverged_step": None,
    }
    assert mon.best_step is None
    assert not mon.should_stop_early(1)


def test_status_words_and_precedence_are_consistent():
    assert len(set(PRECEDENCE)) == len(PRECEDENCE)
    assert set(PRECEDENCE) | {Status.COMPILING} == set(Status)


def test_settings_reject_programming_mistakes():
    with pytest.raises(ValueError):
        MonitorSettings(task="ranking")
    with pytest.raises(ValueError):
        MonitorSettings(window=1)
    with pytest.raises(ValueError):
        MonitorSettings(patience=0)


def test_improving_on_a_falling_loss():
    mon = ConvergenceMonitor(MonitorSettings(window=5))
    events, statuses = feed(mon, [rec(10 * i, 0.9**i, 0.9**i) for i in range(12)])
    assert set(statuses) == {"improving"}
    assert status_changes(events) == [(0, "compiling", "improving")]
    # last 5 losses: 0.9**7 .. 0.9**11, down 1 - 0.9**4 = 34%
    assert mon.verdict.explanation.startswith(
        f"train loss {0.9**11:.4g}, down 34% over the last 5 evals"
    )


# ---------------------------------------------------- plateau / converged
def test_flat_line_from_step_0_is_plateau_then_converged():
    s = MonitorSettings(window=10, patience=5)
    mon = ConvergenceMonitor(s)
    events, statuses = feed(mon, [rec(10 * i, 0.5, 0.6, grad=0.1) for i in range(20)])
    # window needs 10 losses (index 9), then patience=5 further flat evaluations (index 14)
    assert statuses[:9] == ["improving"] * 9
    assert statuses[9:14] == ["plateau"] * 5
    assert statuses[14:] == ["converged"] * 6
    assert status_changes(events) == [
        (0, "compiling", "improving"),
        (90, "improving", "plateau"),
        (140, "plateau", "converged"),
    ]
    conv = [e for e in events if e.kind == "converged"]
    assert len(conv) == 1 and conv[0].step == 140 and dict(conv[0].data)["reason"] == "plateau"
    assert mon.milestones["converged_step"] == 140
    assert "floor unknown" in mon.verdict.explanation
    plateau_detail = [e.detail for e in events if e.kind == "status"][1]
    assert "changed 0% over the last 10 evals" in plateau_detail
    assert "grad norm 0.1 >= 1e-06" in plateau_detail


def test_plateau_relative_change_threshold():
    s = MonitorSettings(window=3, patience=5, plateau_rel_tol=1e-3)
    # 0.05% change over the window: flat; 0.2%: not flat
    mon = ConvergenceMonitor(s)
    feed(mon, [rec(i, 1.0 - 0.00025 * i) for i in range(3)])
    assert mon.status == "plateau"
    mon = ConvergenceMonitor(s)
    feed(mon, [rec(i, 1.0 - 0.001 * i) for i in range(3)])
    assert mon.status == "improving"


def test_flat_line_with_known_floor_underfits_or_converges():
    records = [rec(10 * i, 0.5, 0.6, grad=0.1) for i in range(20)]
    mon = ConvergenceMonitor(MonitorSettings(floor=0.1))
    _, statuses = feed(mon, records)
    assert statuses[9:14] == ["plateau"] * 5 and statuses[14] == "underfitting"
    assert "5x the floor 0.1 (limit 2x)" in mon.verdict.explanation
    assert mon.milestones["converged_step"] is None

    mon = ConvergenceMonitor(MonitorSettings(floor=0.3))  # 0.5 <= 2 * 0.3
    _, statuses = feed(mon, records)
    assert statuses[14] == "converged"
    assert "within 2x of the floor 0.3" in mon.verdict.explanation


def test_classification_plateau_without_floor_uses_train_accuracy():
    flat_low = [rec(i, 0.7, 0.7, tacc=0.6, vacc=0.6) for i in range(10)]
    mon = ConvergenceMonitor(clf())
    _, statuses = feed(mon, flat_low)
    # window 4 -> first flat evaluation at index 3; patience 3 further -> index 6
    assert statuses[3:6] == ["plateau"] * 3 and statuses[6] == "underfitting"
    assert "train acc 60.0% < 89.0%" in mon.verdict.explanation

    flat_high = [rec(i, 0.2, 0.3, tacc=0.95, vacc=0.9) for i in range(10)]
    mon = ConvergenceMonitor(clf())
    _, statuses = feed(mon, flat_high)
    assert statuses[3:6] == ["plateau"] * 3 and statuses[6] == "converged"


def test_small_gradient_converges_immediately():
    mon = ConvergenceMonitor(MonitorSettings(grad_tol=1e-6))
    events, statuses = feed(
        mon,
        [
            rec(0, 2.0, grad=1.0),
            rec(10, 1.0, grad=1e-3),
            rec(20, 0.9, grad=5e-7),
            rec(30, 0.9, grad=2e-6),
            rec(40, 0.9, grad=1e-7),
        ],
    )
    assert statuses == ["improving", "improving", "converged", "improving", "converged"]
    assert mon.milestones["converged_step"] == 20
    conv = [e for e in events if e.kind == "converged"]
    assert len(conv) == 1 and dict(conv[0].data) == {"reason": "grad_norm", "grad_norm": 5e-7}
    assert mon.verdict.explanation == "grad norm 1e-07 < grad_tol 1e-06 at step 40 (train loss 0.9)"


def test_flat_line_with_tiny_gradient_is_converged_not_plateau():
    mon = ConvergenceMonitor(MonitorSettings(window=3))
    _, statuses = feed(mon, [rec(i, 0.5, grad=1e-9) for i in range(6)])
    assert statuses == ["converged"] * 6


def test_missing_grad_norm_is_not_small():
    mon = ConvergenceMonitor(MonitorSettings(window=3, patience=2))
    _, statuses = feed(mon, [rec(i, 0.5, grad=None) for i in range(3)] + [rec(3, 0.5, grad=NAN)])
    assert statuses == ["improving", "improving", "plateau", "plateau"]
    assert "grad norm unknown" in mon.verdict.explanation


# ------------------------------------------------------------- diverged
def test_nan_at_the_first_record_diverges():
    mon = ConvergenceMonitor(MonitorSettings())
    events = mon.update(rec(0, NAN, NAN, grad=NAN))
    assert mon.status == "diverged"
    assert kinds(events) == ["status", "diverged"]
    assert events[0].detail == "compiling -> diverged: train loss is nan at step 0; try a lower lr"
    assert dict(events[1].data) == {"reason": "nonfinite", "train_loss": "nan"}
    assert mon.milestones["diverged_step"] == 0
    json.dumps([e.data for e in events], allow_nan=False)
    # sticky: a finite record afterwards changes nothing
    assert mon.update(rec(10, 0.1, 0.1, grad=1e-9)) == []
    assert mon.status == "diverged"


def test_infinite_train_loss_diverges():
    mon = ConvergenceMonitor(MonitorSettings())
    feed(mon, [rec(0, 1.0), rec(10, INF)])
    assert mon.status == "diverged" and mon.milestones["diverged_step"] == 10


def test_exploding_loss_diverges_relative_to_the_first_loss():
    mon = ConvergenceMonitor(MonitorSettings())
    feed(mon, [rec(0, 2.0), rec(10, 1e-8), rec(20, 1.9e4)])  # 9500x first: a spike, not divergence
    assert mon.status == "improving"
    events = mon.update(rec(30, 2.1e4))  # > 1e4 x 2.0
    assert mon.status == "diverged"
    assert (
        "train loss 2.1e+04 at step 30 exceeds 10000 x its first value 2; try a lower lr"
        in events[0].detail
    )
    assert dict(events[1].data)["reason"] == "exploding"


def test_note_nonfinite_diverges_once():
    mon = ConvergenceMonitor(MonitorSettings())
    mon.update(rec(0, 1.0))
    events = mon.note_nonfinite(57)
    assert kinds(events) == ["status", "diverged"]
    assert (
        mon.verdict.explanation
        == "non-finite train loss in the training step at step 57; try a lower lr"
    )
    assert mon.milestones["diverged_step"] == 57
    assert mon.note_nonfinite(58) == []
    assert mon.milestones["diverged_step"] == 57


def test_nan_in_other_fields_never_raises_nor_diverges():
    mon = ConvergenceMonitor(MonitorSettings(window=3))
    junk = [
        rec(0, 1.0, NAN, grad=None, train_mad=NAN, lr=INF),
        rec(10, 0.9, INF, grad=INF, tacc=None, vacc=None),
        {"step": 20, "train_loss": 0.8, "val_loss": None},
        {"step": 30, "train_loss": 0.7, "val_loss": "oops", "grad_norm": "x"},
        {"train_loss": 0.6},  # no step: placed after the previous one
        {"step": NAN, "train_loss": None},
    ]
    events, _ = feed(mon, junk)
    assert mon.status == "improving"
    assert mon.best_step is None and best_val(events) is None

    mon = ConvergenceMonitor(clf())
    feed(
        mon,
        [
            rec(0, 1.0, NAN, tacc=NAN, vacc=INF),
            rec(10, 0.9, 0.9, tacc=None, vacc=NAN),
            rec(20, 0.8, 0.8, tacc=0.5, vacc=None),
        ],
    )
    assert mon.status == "improving"
    assert mon.milestones["memorized_step"] is None


# ------------------------------------------------------------ overfitting
def overfit_stream():
    # val falls to 0.2 at step 50, then rises 5 times; train keeps falling 0.1 -> 0.06
    recs = [
        rec(10 * i, 0.2 - 0.02 * i, 0.3 - 0.02 * i) for i in range(6)
    ]  # steps 0..50, val 0.3 -> 0.2
    vals = [0.21, 0.22, 0.23, 0.24, 0.25]
    trains = [0.092, 0.084, 0.076, 0.068, 0.06]
    recs += [rec(60 + 10 * i, t, v) for i, (t, v) in enumerate(zip(trains, vals))]
    return recs


def test_overfitting_after_patience_rises_with_explanation_numbers():
    mon = ConvergenceMonitor(MonitorSettings(window=10, patience=5))
    events, statuses = feed(mon, overfit_stream())
    assert statuses[:10] == ["improving"] * 10  # four rises are not enough
    assert statuses[10] == "overfitting"
    assert mon.verdict.explanation == (
        "val loss up 25% over 5 evals (0.2 -> 0.25, steps 50-100) "
        "while train loss fell 40% (0.1 -> 0.06)"
    )
    assert status_changes(events)[-1] == (100, "improving", "overfitting")
    assert mon.best_step == 50 and best_val(events) == (50, {"val_loss": pytest.approx(0.2)})


def test_overfitting_needs_every_eval_to_rise_and_train_to_fall():
    recs = overfit_stream()
    dip = [dict(r) for r in recs]
    dip[8]["val_loss"] = 0.215  # breaks the run of rises (0.22 -> 0.215)
    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    _, statuses = feed(mon, dip)
    assert "overfitting" not in statuses

    flat_train = [dict(r) for r in recs]
    for r in flat_train[5:]:
        r["train_loss"] = 0.1
    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    _, statuses = feed(mon, flat_train)
    assert "overfitting" not in statuses


def test_overfitting_ends_when_val_stops_rising():
    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    feed(mon, overfit_stream())
    assert mon.status == "overfitting"
    mon.update(rec(110, 0.055, 0.24))
    assert mon.status == "improving"


def test_gradient_convergence_beats_overfitting():
    recs = overfit_stream()
    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    _, statuses = feed(mon, recs)
    assert statuses[-1] == "overfitting"
    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    for r in recs:
        r["grad_norm"] = 1e-9
    _, statuses = feed(mon, recs)
    assert set(statuses) == {"converged"}


# ---------------------------------------------------- memorizing / grokked
def test_accuracy_exactly_at_chance_is_not_memorizing_unless_train_acc_high():
    mon = ConvergenceMonitor(clf(chance=0.5))
    mon.update(rec(0, 0.69, 0.69, tacc=0.5, vacc=0.5))
    assert mon.status == "improving"
    events = mon.update(rec(10, 0.01, 0.69, tacc=0.99, vacc=0.5))  # memorize_acc reached exactly
    assert mon.status == "memorizing"
    assert kinds(events) == ["memorized", "status"]
    assert mon.milestones["memorized_step"] == 10
    assert events[0].detail == (
        "memorized at step 10: train acc 99.0% >= 99.0% but val acc 50.0% "
        "is near chance 50.0% (below 72.5%)"
    )


def test_near_chance_limit_is_the_midpoint_to_grok_acc():
    # chance 0.1, grok 0.95 -> near chance means val acc < 0.525 (strictly)
    mon = ConvergenceMonitor(clf())
    mon.update(rec(0, 0.01, 1.0, tacc=1.0, vacc=0.525))
    assert mon.status == "improving" and mon.milestones["memorized_step"] is None
    mon.update(rec(10, 0.01, 1.0, tacc=1.0, vacc=0.5249))
    assert mon.status == "memorizing"


def test_chance_none_counts_as_zero():
    mon = ConvergenceMonitor(clf(chance=None))  # near chance: val acc < 0.475
    mon.update(rec(0, 0.01, 1.0, tacc=1.0, vacc=0.47))
    assert mon.status == "memorizing"


def test_memorizing_is_classification_only():
    mon = ConvergenceMonitor(MonitorSettings(chance=0.1))
    mon.update(rec(0, 0.01, 1.0, tacc=1.0, vacc=0.0))
    assert mon.status == "improving"


def test_train_acc_100_event_once():
    mon = ConvergenceMonitor(clf())
    events, _ = feed(
        mon,
        [
            rec(0, 1.0, 1.0, tacc=0.9, vacc=0.8),
            rec(10, 0.5, 0.5, tacc=1.0, vacc=0.9),
            rec(20, 0.4, 0.4, tacc=1.0, vacc=0.9),
        ],
    )
    hits = [e for e in events if e.kind == "train_acc_100"]
    assert len(hits) == 1 and hits[0].step == 10
    assert hits[0].detail == "train accuracy reached 100% at step 10 (val acc 90.0%)"


def grok_stream(mem_steps, grok_step, every=10):
    """Train acc reaches 1.0 at `mem_steps`, val acc near chance until `grok_step`, then 0.97."""
    recs = []
    for step in range(0, grok_step + 3 * every, every):
        tacc = min(1.0, 0.1 + 0.9 * step / mem_steps)
        train = (
            max(1e-3, 2.3 * (1 - step / mem_steps))
            if step < mem_steps
            else 1e-3 * (1 + (step // every) % 2)
        )
        vacc = 0.97 if step >= grok_step else 0.1 + 0.01 * ((step // every) % 3)
        val = (
            0.2 if step >= grok_step else 5.0 + 0.1 * ((step // every) % 2)
        )  # wiggles: no steady rise
        recs.append(rec(step, train, val, grad=0.5, tacc=tacc, vacc=vacc))
    return recs


def test_grokked_after_long_delay_is_grokking():
    mon = ConvergenceMonitor(clf(window=10, patience=5))
    events, statuses = feed(mon, grok_stream(100, 2000))
    assert mon.milestones["memorized_step"] == 100
    assert "memorizing" in statuses
    assert mon.milestones["grokked_step"] == 2000
    assert mon.grok_delay == 1900 and grok_kind(events) == "grokking"
    grok = [e for e in events if e.kind == "grokked"]
    assert len(grok) == 1 and grok[0].step == 2000
    assert dict(grok[0].data) == {
        "delay": 1900,
        "memorized_step": 100,
        "grokked_step": 2000,
        "kind": "grokking",
        "val_acc": 0.97,
        "required_delay": 100,
    }
    assert grok[0].detail == (
        "val acc 97.0% >= 95.0% at step 2000, 1900 steps after memorizing at step 100: "
        "grokking (grokking needs a delay >= max(10 evals x 10, 100) = 100 steps)"
    )
    at_grok = [e for e in events if e.step == 2000 and e.kind != "best_val"]
    assert kinds(at_grok) == ["status", "grokked"]
    assert at_grok[0].detail.startswith("memorizing -> grokked: val acc 97.0%")
    assert statuses[-1] == "grokked"


def test_quick_generalization_after_memorizing_is_ordinary_learning():
    mon = ConvergenceMonitor(clf())
    events, _ = feed(mon, grok_stream(100, 150))  # delay 50 < 10 evals of 10 steps
    assert mon.status == "grokked" and mon.grok_delay == 50
    assert grok_kind(events) == "ordinary learning"

    # delay 510 >= 10 evals but shorter than memorization took (train acc 0.99 at step 990)
    mon = ConvergenceMonitor(clf())
    events, _ = feed(mon, grok_stream(1000, 1500))
    assert mon.milestones["memorized_step"] == 990
    assert mon.grok_delay == 510 and grok_kind(events) == "ordinary learning"

    mon = ConvergenceMonitor(clf())
    events, _ = feed(mon, grok_stream(1000, 1980))  # delay 990 == memorized step: grokking
    assert mon.grok_delay == 990 and grok_kind(events) == "grokking"


def test_eval_every_setting_overrides_the_inferred_interval():
    mon = ConvergenceMonitor(clf(eval_every=100))  # needs delay >= max(1000, 100)
    events, _ = feed(mon, grok_stream(100, 800))
    assert mon.grok_delay == 700 and grok_kind(events) == "ordinary learning"


def test_generalizing_without_memorizing_is_not_grokked():
    mon = ConvergenceMonitor(clf())
    _, statuses = feed(
        mon,
        [
            rec(
                10 * i,
                1.0 / (i + 1),
                1.0 / (i + 1),
                tacc=min(1.0, 0.5 + 0.1 * i),
                vacc=min(0.98, 0.5 + 0.1 * i),
            )
            for i in range(10)
        ],
    )
    assert "grokked" not in statuses and "memorizing" not in statuses
    assert mon.milestones["grokked_step"] is None


def test_grokked_is_sticky():
    mon = ConvergenceMonitor(clf())
    feed(mon, grok_stream(100, 300))
    assert mon.status == "grokked"
    # afterwards: val accuracy collapses to chance, val loss rises steadily, gradient tiny
    later = [
        rec(400 + 10 * i, 1e-3 * 0.9**i, 0.2 + 0.1 * i, grad=1e-9, tacc=1.0, vacc=0.1)
        for i in range(10)
    ]
    events, statuses = feed(mon, later)
    assert set(statuses) == {"grokked"}
    assert [e for e in events if e.kind in ("status", "grokked")] == []
    assert mon.milestones["grokked_step"] == 300


def test_memorizing_beats_converged():
    mon = ConvergenceMonitor(clf())
    mon.update(rec(0, 1e-4, 5.0, grad=1e-9, tacc=1.0, vacc=0.1))
    assert mon.status == "memorizing"


def test_diverged_beats_everything_even_grokked():
    mon = ConvergenceMonitor(clf())
    feed(mon, grok_stream(100, 300))
    assert mon.status == "grokked"
    events = mon.update(rec(400, NAN, 0.2, tacc=1.0, vacc=0.97))
    assert mon.status == "diverged"
    assert status_changes(events) == [(400, "grokked", "diverged")]
    assert mon.milestones == {
        "memorized_step": 100,
        "grokked_step": 300,
        "converged_step": None,
        "diverged_step": 400,
    }

    mon = ConvergenceMonitor(MonitorSettings(patience=5))
    feed(mon, overfit_stream())
    assert mon.status == "overfitting"
    mon.note_nonfinite(105)
    assert mon.status == "diverged"


# ------------------------------------------------------------------ best
def test_best_validation_regression_needs_relative_improvement():
    mon = ConvergenceMonitor(MonitorSettings(plateau_rel_tol=1e-4))
    e0 = mon.update(rec(0, 1.0, 1.0))
    e1 = mon.update(rec(10, 1.0, 0.99995))  # 5e-5 relative: not a new best
    e2 = mon.update(rec(20, 1.0, 0.5))
    e3 = mon.update(rec(30, 1.0, NAN))
    assert kinds(e0) == ["best_val", "status"] and "best_val" not in kinds(e1)
    assert [e.detail for e in e2] == ["best validation at step 20: val loss 0.5 (was 1 at step 0)"]
    assert e3 == []
    assert mon.best_step == 20 and best_val(e0 + e1 + e2 + e3) == (20, {"val_loss": 0.5})


def test_best_validation_classification_prefers_accuracy_then_loss():
    mon = ConvergenceMonitor(clf())
    events = mon.update(rec(0, 1.0, 0.9, tacc=0.5, vacc=0.6))
    events += mon.update(rec(10, 1.0, 0.5, tacc=0.5, vacc=0.55))  # lower loss, lower acc
    assert mon.best_step == 0 and best_val(events) == (0, {"val_acc": 0.6, "val_loss": 0.9})
    latest = mon.update(rec(20, 1.0, 1.2, tacc=0.6, vacc=0.7))  # higher accuracy wins
    assert mon.best_step == 20 and best_val(latest) == (20, {"val_acc": 0.7, "val_loss": 1.2})
    assert [e.kind for e in latest if e.kind == "best_val"] == ["best_val"]
    latest = mon.update(rec(30, 1.0, 1.1, tacc=0.6, vacc=0.7))  # same accuracy, lower loss
    assert mon.best_step == 30 and best_val(latest) == (30, {"val_acc": 0.7, "val_loss": 1.1})


def test_should_stop_early_counts_evaluations_since_best():
    mon = ConvergenceMonitor(MonitorSettings())
    feed(mon, [rec(0, 1.0, 1.0), rec(10, 1.0, 0.5)])
    assert not mon.should_stop_early(1)
    feed(mon, [rec(20, 1.0, 0.6), rec(30, 1.0, 0.55)])
    assert mon.should_stop_early(2) and not mon.should_stop_early(3)
    mon.update(rec(40, 1.0, NAN))  # a non-finite val loss is no improvement
    assert mon.should_stop_early(3)
    mon.update(rec(50, 1.0, 0.4))
    assert not mon.should_stop_early(1)
    assert mon.best_step == 50


# ---------------------------------------------------------- state / JSON
def mixed_stream():
    recs = grok_stream(100, 600)
    recs.insert(5, rec(45, 1.9, NAN, grad=None, tacc=0.5, vacc=NAN))
    return recs


@pytest.mark.parametrize("cut", [1, 3, 8, 15, 30, 40, 55, 62])
def test_state_dict_round_trip_continues_identically(cut):
    s = clf(window=5, patience=3)
    recs = mixed_stream() + [
        rec(2000 + 10 * i, 1e-3, 0.2, grad=1e-9, tacc=1.0, vacc=0.97) for i in range(5)
    ]
    assert cut < len(recs)
    ref = ConvergenceMonitor(s)
    ref_events, _ = feed(ref, recs)

    first = ConvergenceMonitor(s)
    head, _ = feed(first, recs[:cut])
    saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    resumed = ConvergenceMonitor(s)
    resumed.load_state_dict(saved)
    assert resumed.verdict == first.verdict and resumed.milestones == first.milestones
    tail, _ = feed(resumed, recs[cut:])
    assert head + tail == ref_events
    assert resumed.verdict == ref.verdict
    assert resumed.milestones == ref.milestones
    assert resumed.best_step == ref.best_step and resumed.grok_delay == ref.grok_delay
    assert resumed.state_dict() == ref.state_dict()


def test_state_dict_round_trip_mid_plateau_and_overfit():
    for s, recs in [
        (MonitorSettings(window=10, patience=5), [rec(10 * i, 0.5, 0.6) for i in range(20)]),
        (MonitorSettings(patience=5), overfit_stream() + [rec(110, 0.05, 0.26)]),
    ]:
        ref = ConvergenceMonitor(s)
        ref_events, ref_statuses = feed(ref, recs)
        for cut in range(1, len(recs)):
            a = ConvergenceMonitor(s)
            head, head_st = feed(a, recs[:cut])
            b = ConvergenceMonitor(s)
            b.load_state_dict(json.loads(json.dumps(a.state_dict(), allow_nan=False)))
            tail, tail_st = feed(b, recs[cut:])
            assert head + tail == ref_events and head_st + tail_st == ref_statuses


def test_state_dict_after_divergence_is_strict_json():
    mon = ConvergenceMonitor(MonitorSettings())
    feed(mon, [rec(0, 1.0, INF), rec(10, NAN)])
    state = json.loads(json.dumps(mon.state_dict(), allow_nan=False))
    other = ConvergenceMonitor(MonitorSettings())
    other.load_state_dict(state)
    assert other.status == "diverged" and other.milestones["diverged_step"] == 10


def test_load_state_dict_rejects_unknown_version():
    mon = ConvergenceMonitor(MonitorSettings())
    with pytest.raises(ValueError):
        mon.load_state_dict({"version": 99})


def test_every_event_is_strict_json():
    events = []
    for s, recs in [
        (clf(), mixed_stream()),
        (MonitorSettings(patience=5), overfit_stream()),
        (MonitorSettings(), [rec(0, NAN, NAN)]),
    ]:
        mon = ConvergenceMonitor(s)
        events += feed(mon, recs)[0]
    assert {e.kind for e in events} >= {
        "status",
        "train_acc_100",
        "memorized",
        "best_val",
        "grokked",
        "diverged",
    }
    for e in events:
        assert isinstance(e, MonitorEvent) and isinstance(e.step, int)
        json.dumps(
            {"step": e.step, "kind": e.kind, "detail": e.detail, "data": dict(e.data)},
            allow_nan=False,
        )
        assert "\n" not in e.detail


def test_monitor_imports_no_ui_library():
    code = (
        "import sys, engine.training.monitor; "
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_explanations_are_one_line_without_nan_text():
    mon = ConvergenceMonitor(clf())
    for r in mixed_stream():
        mon.update(r)
        text = mon.verdict.explanation
        assert "nan" not in text.lower() and "\n" not in text
