"""Convergence judge: every status, event and edge case on constructed metric streams.

The labelled corpus of real runs is tests/engine/test_verdicts.py; here each definition of
the module docstring is checked on a stream built to sit on one side of its threshold.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from typing import Any

import pytest

from engine.training.data import Reference
from engine.training.monitor import (
    PRECEDENCE,
    ConvergenceMonitor,
    MonitorEvent,
    MonitorSettings,
    Verdict,
    judge_generalization,
)
from engine.vocabulary import Status

NAN = float("nan")
INF = float("inf")
NOISE = Reference(noise_var=1.0, target_var=5.0, n_val=50)


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


def feed(mon, records, **kw):
    """Feed records; return (all events, status after each record)."""
    events, statuses = [], []
    for r in records:
        events.extend(mon.update(r, **kw))
        statuses.append(mon.status)
    return events, statuses


def kinds(events):
    return [e.kind for e in events]


def changes(events):
    return [
        (e.step, dict(e.data)["from"], dict(e.data)["to"]) for e in events if e.kind == "status"
    ]


def reg(**kw):
    base: dict[str, Any] = dict(reference=NOISE)
    base.update(kw)
    return MonitorSettings(**base)


def clf(**kw):
    base: dict[str, Any] = dict(
        task="classification", chance=0.1, reference=Reference(bayes_acc=1.0, n_val=500)
    )
    base.update(kw)
    return MonitorSettings(**base)


def decay(steps, start, floor, rate, val_gap=0.1):
    """A smooth GD-like curve: floor + (start - floor) * exp(-rate * step)."""
    out = []
    for s in steps:
        t = floor + (start - floor) * math.exp(-rate * s)
        out.append(rec(s, t, t + val_gap))
    return out


def jitter(steps, level, sd, seed=0, val_offset=0.4):
    rng = random.Random(seed)
    return [rec(s, level + rng.gauss(0, sd), level + val_offset + rng.gauss(0, sd)) for s in steps]


# ---------------------------------------------------------------- basics
def test_compiling_before_first_record():
    mon = ConvergenceMonitor(MonitorSettings())
    assert mon.status == "compiling"
    assert mon.verdict == Verdict(Status.COMPILING, "no evaluation yet", "no evaluation yet")
    assert set(mon.milestones.values()) == {None}
    assert mon.best_step is None and not mon.should_stop_early(1)


def test_status_words_and_precedence_are_consistent():
    assert len(set(PRECEDENCE)) == len(PRECEDENCE)
    assert set(PRECEDENCE) | {Status.COMPILING} == set(Status)


def test_settings_reject_programming_mistakes():
    bads: list[dict[str, Any]] = [
        dict(task="ranking"),
        dict(window_fraction=0),
        dict(dwell_fraction=1.0),
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            MonitorSettings(**bad)


def test_first_record_is_improving_for_want_of_evidence():
    mon = ConvergenceMonitor(reg())
    (event,) = [e for e in mon.update(rec(0, 5.0, 5.0)) if e.kind == "status"]
    assert mon.status == "improving" and "too few evaluations" in mon.verdict.sentence
    assert dict(event.data)["from"] == "compiling" and dict(event.data)["to"] == "improving"


# ---------------------------------------------------------- improving / converged
def test_falling_loss_is_improving_with_its_numbers():
    mon = ConvergenceMonitor(reg())
    feed(mon, decay(range(0, 400, 10), 20.0, 1.0, 0.005))
    assert mon.status == "improving"
    assert mon.verdict.sentence.startswith("training loss fell")
    assert "train loss" in mon.verdict.explanation and "\n" not in mon.verdict.explanation


def test_flat_at_the_noise_floor_is_converged():
    mon = ConvergenceMonitor(reg())
    events, _ = feed(mon, decay(range(0, 3000, 10), 20.0, 0.95, 0.02))
    assert mon.status == "converged"
    assert "noise floor" in mon.verdict.sentence
    assert mon.milestones["converged_step"] is not None
    assert "converged" in kinds(events)


def test_a_perfect_fit_is_converged_never_underfitting():
    # noise 0: the loss falls to ~1e-13 and the gradient below grad_tol
    mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.0, target_var=4.0), floor=1e-31))
    recs = decay(range(0, 2000, 10), 20.0, 0.0, 0.015, val_gap=0.0)
    recs.append(rec(2000, 1e-13, 1e-13, grad=9e-7))
    _, statuses = feed(mon, recs)
    assert mon.status == "converged" and "underfitting" not in statuses


def test_a_small_gradient_converges_without_waiting_for_the_dwell():
    mon = ConvergenceMonitor(reg())
    feed(mon, decay(range(0, 300, 10), 20.0, 1.0, 0.005))
    assert mon.status == "improving"
    mon.update(rec(300, 1.0, 1.1, grad=5e-7))
    assert mon.status == "converged" and "gradient norm" in mon.verdict.sentence


def test_the_best_linear_fit_far_above_the_noise_is_underfitting():
    # a linear model on a sine: at its least-squares floor 0.2, while the noise is 0.01
    ref = Reference(noise_var=0.01, target_var=0.5, n_val=40)
    mon = ConvergenceMonitor(reg(reference=ref, floor=0.2, model="linear"))
    feed(mon, decay(range(0, 2000, 10), 0.6, 0.2, 0.02))
    assert mon.status == "underfitting"
    sentence = mon.verdict.sentence
    assert "best linear fit" in sentence and "R\u00b2 0.6" in sentence and "0.98" in sentence


def test_a_model_explaining_little_of_the_variance_is_never_converged():
    # no least-squares floor (an MLP): R^2 = 0.08 while the noise allows 0.98
    ref = Reference(noise_var=0.01, target_var=0.5, n_val=40)
    mon = ConvergenceMonitor(reg(reference=ref))
    _, statuses = feed(mon, decay(range(0, 2000, 10), 0.6, 0.46, 0.02))
    assert mon.status == "underfitting" and "converged" not in statuses


def test_unknown_noise_says_so():
    ref = Reference(target_var=2.0, n_val=40)  # a CSV file
    mon = ConvergenceMonitor(reg(reference=ref))
    feed(mon, decay(range(0, 2000, 10), 3.0, 1.0, 0.02))
    assert mon.status == "plateau" and "unknown" in mon.verdict.sentence
    at_lstsq = ConvergenceMonitor(reg(reference=ref, floor=1.0, model="linear"))
    feed(at_lstsq, decay(range(0, 2000, 10), 3.0, 1.0, 0.02))
    assert at_lstsq.status == "converged" and "unknown" in at_lstsq.verdict.sentence


def test_minibatch_jitter_at_the_floor_is_stochastic_convergence_without_flicker():
    for seed in range(5):
        mon = ConvergenceMonitor(reg())
        recs = decay(range(0, 200, 10), 20.0, 1.0, 0.03)
        recs += jitter(range(200, 5000, 10), 1.0, 0.05, seed, val_offset=0.1)
        events, _ = feed(mon, recs)
        assert mon.status == "converged" and "jitters between" in mon.verdict.sentence
        late = [c for c in changes(events) if c[0] > 1000]
        assert len(late) <= 2, late


def test_the_cadence_changes_no_verdict():
    steps = {}
    for every in (10, 25, 50, 100):
        mon = ConvergenceMonitor(reg(eval_every=every))
        feed(mon, decay(range(0, 6001, every), 20.0, 0.95, 0.004))
        assert mon.status == "converged", every
        steps[every] = mon.milestones["converged_step"]
    # the same curve converges at the same step, give or take an interval and the dwell
    assert max(steps.values()) - min(steps.values()) <= 100 + 0.1 * max(steps.values()), steps


# ---------------------------------------------------------------- divergence
def test_geometric_growth_is_diverged_within_a_few_evaluations():
    mon = ConvergenceMonitor(reg())
    recs = [rec(100 * i, 10.0 * 2.6**i, 10.0 * 2.6**i) for i in range(12)]
    events, statuses = feed(mon, recs)
    assert mon.status == "diverged"
    assert (mon.milestones["diverged_step"] or 0) <= 400
    assert set(statuses[3:]) == {"diverged"}  # three rises are enough
    (diverged,) = [e for e in events if e.kind == "diverged"]
    assert dict(diverged.data)["reason"] == "growing"


def test_a_predicted_divergence_is_in_the_status_from_step_0():
    mon = ConvergenceMonitor(reg())
    mon.update(rec(0, 30.0, 30.0), diverges_predicted=True)
    assert mon.status == "diverging" and "stable bound" in mon.verdict.sentence


def test_nan_inf_and_explosion_diverge_and_stick():
    for recs in (
        [rec(0, NAN)],
        [rec(0, 1.0), rec(10, INF)],
        [rec(0, 1.0), rec(10, 0.5), rec(20, 2e4)],
    ):
        mon = ConvergenceMonitor(reg())
        feed(mon, recs)
        assert mon.status == "diverged"
        assert mon.update(rec(1000, 0.1, 0.1, grad=1e-9)) == []
        assert mon.status == "diverged"


def test_note_nonfinite_diverges_once():
    mon = ConvergenceMonitor(reg())
    mon.update(rec(0, 1.0))
    assert kinds(mon.note_nonfinite(7)) == ["status", "diverged"]
    assert mon.note_nonfinite(8) == [] and mon.milestones["diverged_step"] == 7


def test_nan_in_other_fields_never_raises_nor_diverges():
    mon = ConvergenceMonitor(clf())
    for i in range(30):
        mon.update(rec(10 * i, 1.0 / (i + 1), NAN, grad=NAN, tacc=NAN, vacc=None))
    assert mon.status not in ("diverged", "diverging")
    assert "nan" not in mon.verdict.explanation.lower()


# ---------------------------------------------------------------- overfitting
def overfit_stream(rise=0.4, steps=range(0, 2000, 10)):
    """Train keeps falling; validation bottoms out at step 200 then rises by `rise`."""
    out = []
    for s in steps:
        train = 0.02 + 1.0 * math.exp(-s / 150)
        val = 0.5 + 1.0 * math.exp(-s / 60) + (rise * 0.5 * (s - 200) / 1800 if s > 200 else 0)
        out.append(rec(s, train, val))
    return out


def test_a_growing_generalization_gap_is_overfitting_with_a_plain_sentence():
    mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.1, n_val=400)))
    events, statuses = feed(mon, overfit_stream())
    assert mon.status == "overfitting"
    sentence = mon.verdict.sentence
    assert "validation loss has risen" in sentence and "training loss kept falling" in sentence
    entered = [c for c in changes(events) if c[2] == "overfitting"]
    assert len(entered) == 1  # it persists while the gap grows
    (event,) = [e for e in events if e.kind == "status" and dict(e.data)["to"] == "overfitting"]
    assert {"best_val_step", "val_rise", "train_fall"} <= set(dict(event.data))


def test_a_noisy_but_rising_validation_curve_stays_overfitting():
    rng = random.Random(1)
    recs = [
        rec(r["step"], r["train_loss"], r["val_loss"] + rng.gauss(0, 0.01))
        for r in overfit_stream(rise=0.8)
    ]
    mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.1, n_val=400)))
    events, statuses = feed(mon, recs)
    first = statuses.index("overfitting")
    assert set(statuses[first + 20 :]) == {"overfitting"}


def test_a_flat_or_barely_moving_validation_curve_is_never_overfitting():
    # val up 5e-5% (flat), then 3%: below the 10% effect size
    for rise in (1e-6, 0.06):
        mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.1, n_val=400)))
        _, statuses = feed(mon, overfit_stream(rise=rise))
        assert "overfitting" not in statuses


def test_a_validation_loss_at_the_noise_floor_is_not_overfitting():
    # the best was a lucky dip below the noise floor 0.6
    mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.6, n_val=400)))
    _, statuses = feed(mon, overfit_stream(rise=0.15))
    assert "overfitting" not in statuses


# ---------------------------------------------------------------- memorizing / grokking
def grok_stream(memorize_at, generalize_at, every=50, end=None):
    """Train acc jumps to 1 at memorize_at; val acc sits at chance until generalize_at."""
    out = []
    for s in range(0, (end or generalize_at + 500) + 1, every):
        tacc = 1.0 if s >= memorize_at else 0.1 + 0.8 * s / memorize_at
        vacc = 1.0 if s >= generalize_at else 0.1
        out.append(rec(s, 1.0 / (1 + s), 3.0, tacc=tacc, vacc=vacc))
    return out


def _step(mon, name) -> int:
    step = mon.milestones[name]
    assert step is not None, name
    return step


def test_near_chance_is_a_small_multiple_of_chance():
    for chance, near in ((0.01, 0.06), (0.1, 0.2), (0.5, 0.6)):
        mon = ConvergenceMonitor(clf(chance=chance))
        mon.update(rec(0, 1.0, 1.0, tacc=1.0, vacc=near - 0.001))
        assert mon.status == "memorizing", chance
        other = ConvergenceMonitor(clf(chance=chance))
        other.update(rec(0, 1.0, 1.0, tacc=1.0, vacc=near + 0.001))
        assert other.status != "memorizing", chance


def test_a_jump_from_chance_to_100_percent_after_800_flat_steps_is_grokking():
    mon = ConvergenceMonitor(clf(eval_every=100))
    events, statuses = feed(mon, grok_stream(100, 900, every=100))
    assert "memorizing" in statuses and mon.status == "grokked"
    assert abs(_step(mon, "memorized_step") - 100) <= 100
    assert mon.grok_delay is not None and mon.grok_delay >= 700
    (grok,) = [e for e in events if e.kind == "grokked"]
    assert dict(grok.data)["kind"] == "grokking"


@pytest.mark.parametrize("every", [25, 50, 100])
def test_grokking_steps_do_not_depend_on_the_cadence(every):
    mon = ConvergenceMonitor(clf(eval_every=every))
    feed(mon, grok_stream(200, 1500, every=every))
    assert mon.status == "grokked"
    assert abs(_step(mon, "memorized_step") - 200) <= every
    assert abs(_step(mon, "grokked_step") - 1500) <= every


def test_quick_generalization_after_memorizing_is_ordinary_learning():
    mon = ConvergenceMonitor(clf(eval_every=50))
    events, statuses = feed(mon, grok_stream(500, 650, every=50))
    assert "grokked" not in statuses and mon.milestones["grokked_step"] is None
    (gen,) = [e for e in events if e.kind == "generalized"]
    assert dict(gen.data)["kind"] == "comprehension"


def test_judge_generalization_names_the_four_stories():
    j = judge_generalization
    assert j(100, 1000, 1.0, 0.99).kind == "grokking"
    assert j(100, 150, 1.0, 0.99).kind == "comprehension"
    assert j(None, 150, 1.0, 0.99).kind == "comprehension"
    assert j(100, None, 1.0, 0.05).kind == "memorization"
    assert j(None, None, 0.3, 0.2).kind == "confusion"
    # the delay must be resolvable at the cadence: 3 evaluation gaps at least
    assert j(10, 150, 1.0, 0.99, eval_gap=100).kind == "comprehension"
    assert j(10, 350, 1.0, 0.99, eval_gap=100).kind == "grokking"


def test_grokked_is_sticky_and_diverged_beats_it():
    mon = ConvergenceMonitor(clf(eval_every=100))
    feed(mon, grok_stream(100, 900, every=100))
    mon.update(rec(2000, 0.5, 3.0, tacc=0.5, vacc=0.2))
    assert mon.status == "grokked"
    # the sentence stays the one given at grokking; the numbers beneath it stay filled
    assert "it grokked" in mon.verdict.sentence
    assert (
        "grokked at step" in mon.verdict.explanation and "val acc 20.0%" in mon.verdict.explanation
    )
    mon.update(rec(2100, INF))
    assert mon.status == "diverged"


def test_memorizing_is_classification_only():
    mon = ConvergenceMonitor(reg())
    mon.update(rec(0, 1.0, 1.0, tacc=1.0, vacc=0.0))
    assert mon.status != "memorizing"


# ---------------------------------------------------------------- best validation
def best_val(events):
    best = [e for e in events if e.kind == "best_val"]
    return None if not best else (best[-1].step, dict(best[-1].data))


def test_best_validation_regression_needs_relative_improvement():
    mon = ConvergenceMonitor(MonitorSettings())
    e0 = mon.update(rec(0, 1.0, 1.0))
    e1 = mon.update(rec(10, 1.0, 0.99995))  # 5e-5 relative: not a new best
    e2 = mon.update(rec(20, 1.0, 0.5))
    assert "best_val" in kinds(e0) and "best_val" not in kinds(e1)
    assert mon.best_step == 20 and best_val(e2) == (20, {"val_loss": 0.5})


def test_best_validation_classification_prefers_accuracy_then_loss():
    mon = ConvergenceMonitor(clf())
    events = mon.update(rec(0, 1.0, 0.9, tacc=0.5, vacc=0.6))
    events += mon.update(rec(10, 1.0, 0.5, tacc=0.5, vacc=0.55))
    assert mon.best_step == 0
    mon.update(rec(20, 1.0, 1.2, tacc=0.6, vacc=0.7))
    assert mon.best_step == 20
    mon.update(rec(30, 1.0, 1.1, tacc=0.6, vacc=0.7))
    assert mon.best_step == 30


def test_should_stop_early_counts_evaluations_since_best():
    mon = ConvergenceMonitor(MonitorSettings())
    feed(mon, [rec(0, 1.0, 1.0), rec(10, 1.0, 0.5)])
    assert not mon.should_stop_early(1)
    feed(mon, [rec(20, 1.0, 0.6), rec(30, 1.0, 0.55)])
    assert mon.should_stop_early(2) and not mon.should_stop_early(3)


# ---------------------------------------------------------------- state / JSON
def mixed_streams():
    yield clf(eval_every=50), grok_stream(100, 900) + [rec(2000, NAN, NAN, tacc=1.0, vacc=1.0)]
    yield reg(), decay(range(0, 1500, 10), 20.0, 0.95, 0.01)
    yield reg(reference=Reference(noise_var=0.1, n_val=400)), overfit_stream()


@pytest.mark.parametrize("cut_fraction", [0.05, 0.3, 0.6, 0.95])
def test_state_dict_round_trip_continues_identically(cut_fraction):
    for settings, recs in mixed_streams():
        cut = max(1, int(cut_fraction * len(recs)))
        ref = ConvergenceMonitor(settings)
        ref_events, ref_statuses = feed(ref, recs)
        first = ConvergenceMonitor(settings)
        head, head_st = feed(first, recs[:cut])
        saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
        resumed = ConvergenceMonitor(settings)
        resumed.load_state_dict(saved)
        assert resumed.verdict == first.verdict and resumed.milestones == first.milestones
        tail, tail_st = feed(resumed, recs[cut:])
        assert head + tail == ref_events and head_st + tail_st == ref_statuses
        assert resumed.state_dict() == ref.state_dict()


def test_load_state_dict_rejects_unknown_version():
    with pytest.raises(ValueError):
        ConvergenceMonitor(MonitorSettings()).load_state_dict({"version": 99})


def test_every_event_is_strict_json_and_status_changes_carry_their_numbers():
    events = []
    for settings, recs in mixed_streams():
        events += feed(ConvergenceMonitor(settings), recs)[0]
    events += feed(ConvergenceMonitor(reg()), [rec(0, 1.0), rec(10, NAN)])[0]
    assert {"status", "train_acc_100", "memorized", "best_val", "grokked", "diverged"} <= set(
        kinds(events)
    )
    for e in events:
        assert isinstance(e, MonitorEvent) and isinstance(e.step, int)
        json.dumps({"detail": e.detail, "data": dict(e.data)}, allow_nan=False)
        assert "\n" not in e.detail
        if e.kind == "status":
            data = dict(e.data)
            assert data["from"] in set(Status) and data["to"] in set(Status)
            assert e.detail.startswith(f"{data['from']} -> {data['to']}: ")


def test_monitor_imports_no_ui_library():
    code = (
        "import sys, engine.training.monitor; "
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sentences_and_numbers_are_one_line_without_nan_text():
    for settings, recs in mixed_streams():
        mon = ConvergenceMonitor(settings)
        for r in recs:
            mon.update(r)
            for text in (mon.verdict.sentence, mon.verdict.explanation):
                assert text and "nan" not in text and "\n" not in text


def _curve(train_acc, val_acc, every=50, end=2000, loss=None):
    """Records whose accuracies are the given functions of the step."""
    return [
        rec(s, (loss or (lambda s: 1.0 / (1 + s)))(s), 3.0, tacc=train_acc(s), vacc=val_acc(s))
        for s in range(0, end + 1, every)
    ]


@pytest.mark.parametrize(
    ("train_acc", "val_acc", "phase"),
    [
        # memorized by 100, validation at chance until 1,200: grokking
        (lambda s: min(1.0, 0.1 + s / 100), lambda s: 1.0 if s >= 1200 else 0.1, "grokking"),
        # both rise together: comprehension
        (lambda s: min(1.0, 0.1 + s / 300), lambda s: min(0.98, 0.1 + s / 300), "comprehension"),
        # memorized soon after and validation close behind: comprehension, not grokking
        (lambda s: min(1.0, 0.1 + s / 100), lambda s: 1.0 if s >= 150 else 0.1, "comprehension"),
        # train fitted, validation never: memorization
        (lambda s: min(1.0, 0.1 + s / 100), lambda s: 0.12, "memorization"),
        # neither
        (lambda s: 0.3, lambda s: 0.2, "confusion"),
    ],
)
def test_phase_on_constructed_curves(train_acc, val_acc, phase):
    mon = ConvergenceMonitor(clf(eval_every=50))
    feed(mon, _curve(train_acc, val_acc))
    assert mon.phase == phase
    assert (mon.status == "grokked") == (phase == "grokking")


def test_phase_of_a_diverged_run_and_of_a_regression():
    mon = ConvergenceMonitor(clf(eval_every=50))
    feed(mon, grok_stream(100, 1200, every=50, end=300))
    mon.note_nonfinite(320)
    assert mon.phase == "diverged"
    regression = ConvergenceMonitor(reg())
    feed(regression, decay(range(0, 500, 50), 1.0, 0.1, 0.01))
    assert regression.phase is None


# ------------------------------------------- early false alarms found in real runs
def test_a_validation_loss_that_never_fell_below_step_0_is_not_overfitting():
    """adam-vs-sgd: Adam's first steps raised the validation loss 24% above step 0's while
    the training loss fell, then both fell. Nothing was fitted and then lost."""
    mon = ConvergenceMonitor(reg(reference=Reference(noise_var=0.01, n_val=400)))
    recs = [rec(s, 2.0 * 0.97**s, 2.0 * (1.0 + 0.25 * min(s, 70) / 70)) for s in range(0, 71, 2)]
    _, statuses = feed(mon, recs)
    assert "overfitting" not in statuses
    assert mon.status == "improving"


def test_a_near_zero_train_loss_that_doubles_is_not_diverging():
    """grokking-embedding: a memorized training set's loss wobbled from 1e-5 up 2x (its
    first loss was 4): the word said diverging and told the student to lower the lr."""
    mon = ConvergenceMonitor(clf(eval_every=20))
    recs = [rec(s, 4.0 * 0.5 ** (s / 20), 5.0, tacc=1.0, vacc=0.5) for s in range(0, 361, 20)]
    low = recs[-1]["train_loss"]
    recs += [rec(380 + 20 * i, low * 1.3 ** (i + 1), 5.0, tacc=1.0, vacc=0.5) for i in range(5)]
    _, statuses = feed(mon, recs)
    assert recs[-1]["train_loss"] > 2 * low and recs[-1]["train_loss"] < 0.01 * 4.0
    assert "diverging" not in statuses and "diverged" not in statuses
    # The same growth from where the loss started is still the warning.
    mon = ConvergenceMonitor(clf(eval_every=20))
    _, statuses = feed(mon, [rec(20 * i, 4.0 * 1.3**i, 5.0, tacc=0.1, vacc=0.1) for i in range(6)])
    assert "diverging" in statuses


def test_a_model_whose_train_accuracy_climbs_is_never_underfitting():
    """grokking-gromov (its first 13 epochs): with MSE on one-hot targets the loss barely
    moves while train accuracy climbs from 1% to 62% in eight epochs; the word said the
    model was too simple."""
    mon = ConvergenceMonitor(clf(eval_every=1, chance=0.01))
    accs = [0.01, 0.05, 0.09, 0.10, 0.12, 0.15, 0.22, 0.40, 0.62, 0.67, 0.71, 0.81, 0.90]
    losses = [0.010349, 0.010335, 0.010152, 0.010126, 0.010130, 0.010120, 0.010091, 0.010052,
              0.010019, 0.010002, 0.009977, 0.009919, 0.009851]  # fmt: skip
    recs = [
        rec(s, loss, 0.01034, tacc=a, vacc=0.0) for s, (loss, a) in enumerate(zip(losses, accs))
    ]
    _, statuses = feed(mon, recs)
    assert "underfitting" not in statuses
    # Flat train accuracy on the same flat loss is still underfitting.
    mon = ConvergenceMonitor(clf(eval_every=1, chance=0.01))
    recs = [rec(s, 0.01035 - 1e-7 * s, 0.01034, tacc=0.3, vacc=0.0) for s in range(40)]
    _, statuses = feed(mon, recs)
    assert "underfitting" in statuses


def test_a_milestone_names_its_step_and_leaves_the_sentence_to_its_status_change():
    """The events panel showed the same three-line sentence twice, once per event."""
    converging = ConvergenceMonitor(reg())
    events, _ = feed(converging, decay(range(0, 3000, 10), 20.0, 0.95, 0.02))
    grokking = ConvergenceMonitor(clf(eval_every=100))
    more, _ = feed(grokking, grok_stream(100, 900, every=100))
    for milestone in ("converged", "grokked"):
        (event,) = [e for e in events + more if e.kind == milestone]
        (change,) = [e for e in events + more if e.kind == "status" and e.step == event.step]
        sentence = change.detail.split(": ", 1)[1]
        assert sentence not in event.detail and event.detail.startswith("at step ")
