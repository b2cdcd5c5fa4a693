"""A preset's promises: run it headless and check its [expect] block.

`run_preset(cfg)` drives a Session to the end of its budget in the calling thread (no
runner, no UI) and returns it with its summary. `check_expectations(cfg, session, summary)`
returns one human-readable line per unmet promise; an empty list means every key of the
preset's [expect] block (engine.config.ExpectConfig) holds. The rules, key by key:

- status: for the milestone statuses (grokked, converged, diverged, memorizing) the
  milestone was reached at some point (the monitor's milestone step is set; memorizing
  uses memorized_step, which is set even while a higher-ranked status is shown). For every
  other status word the run's *final* status equals it.
- within_steps (needs status): the milestone step, or for a final status the step of the
  last transition into it, is <= within_steps.
- min_grok_delay: summary["grok_delay"] (grokked_step - memorized_step) >= it.
- max_test_mad: the test set's MAD <= it. The test set is evaluated once, at the end:
  run_preset does it when the preset makes a claim about the test set or uses early
  stopping (`wants_test`), and the checker does it itself if nobody has yet.
- max_final_val_loss / min_final_val_acc: the last evaluation's val loss <= / val acc >=.
- params_close_to_lstsq: max |params - least-squares params| <= it (quadratic problems).
- diverged_predicted: the quadratic guarantee said lr is past the method's stable bound
  *and* the run diverged.
- val_loss_rises: over the val-loss history, the final value is more than VAL_RISE (5%)
  above the minimum, the minimum is not the last point, and the train loss at the end is
  below the train loss at the minimum's step (the classic overfitting picture: validation
  turns up while training keeps improving).
- val_acc_drops: peak val accuracy minus final val accuracy >= VAL_ACC_DROP (0.02), the
  peak coming before the end.
- best_restored: early stopping happened and the best-validation parameters were restored
  (session.restored_from is set).

A key set to false (for the boolean keys) promises the opposite: the condition must not hold.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields

import numpy as np

from engine.training.session import Session

VAL_RISE = 0.05
"""val_loss_rises: the final val loss must exceed its minimum by more than this fraction."""

VAL_ACC_DROP = 0.02
"""val_acc_drops: peak minus final val accuracy must be at least this (2 points)."""

MILESTONE_OF = {
    "grokked": "grokked_step",
    "converged": "converged_step",
    "diverged": "diverged_step",
    "memorizing": "memorized_step",
}
"""Statuses whose [expect] claim is 'this milestone was reached', not 'the final status'."""

CHUNK = 5000
"""Steps per advance() call in run_preset; evaluations happen inside on the config's schedule."""


def wants_test(cfg) -> bool:
    """True when the run should end with one evaluation of the test set."""
    return cfg.expect.max_test_mad is not None or cfg.train.early_stopping


_MILESTONE_KEYS = ("status", "within_steps", "min_grok_delay")


def milestone_only(cfg) -> bool:
    """True when every claim of the expect block is about a milestone (e.g. grokked within N
    steps, with a minimum delay): such claims are settled the moment the milestone happens."""
    exp = cfg.expect
    others = [
        f.name
        for f in fields(exp)
        if f.name not in _MILESTONE_KEYS and getattr(exp, f.name) is not None
    ]
    return exp.status in MILESTONE_OF and not others


def _settled(cfg, session: Session) -> bool:
    return session.monitor.milestones.get(MILESTONE_OF[cfg.expect.status]) is not None


def run_preset(
    cfg, max_steps: int | None = None, *, stop_when_settled: bool = False
) -> tuple[Session, dict]:
    """Run `cfg` headless to its end (budget, convergence, divergence or early stop).

    max_steps replaces the budget of train.steps when given. With stop_when_settled, a preset
    whose claims are all about a milestone (`milestone_only`) stops as soon as the milestone is
    reached, or at within_steps, after which its claims can no longer hold; a grokking preset
    keeps training after grokking (stop_on_converged = false) for the dashboard, not the check.
    Evaluates the test set once at the end when `wants_test(cfg)`. Returns the session and its
    summary dict.
    """
    started = time.perf_counter()
    session = Session(cfg)
    if max_steps is not None:
        session.target_steps = int(max_steps)
    early = stop_when_settled and milestone_only(cfg)
    if early and cfg.expect.within_steps is not None:
        session.target_steps = min(session.target_steps, cfg.expect.within_steps)
    # Checking for the milestone after every evaluation costs one Python call per interval.
    chunk = cfg.train.eval_every if early else CHUNK
    session.begin()
    while session.step < session.target_steps:
        result = session.advance(min(chunk, session.target_steps - session.step))
        if result.finished or result.steps_done == 0 or (early and _settled(cfg, session)):
            break
    if wants_test(cfg) and session.test_metrics is None:
        session.evaluate_test()
    return session, session.summary(time.perf_counter() - started)


# --------------------------------------------------------------------------- helpers


def _series(session: Session, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a history series, finite values only."""
    if name not in session.history.names or not session.history.count(name):
        return np.empty(0), np.empty(0)
    steps, values = session.history.series(name)
    keep = np.isfinite(values)
    return steps[keep], values[keep]


def _status_entered(session: Session, status: str) -> int | None:
    """Step of the last transition into `status` (from the 'status' events), None if unseen."""
    entered = None
    for event in session.events:
        if event.kind != "status":
            continue
        head = event.detail.split(":", 1)[0]  # "old -> new"
        _, _, new = head.partition(" -> ")
        if new.strip() == status:
            entered = event.step
    return entered


def _check_bool(name: str, expected: bool, holds: bool, why: str) -> list[str]:
    if holds == expected:
        return []
    return [f"{name}: expected {str(expected).lower()}, but {why}"]


def _val_loss_rises(session: Session) -> tuple[bool, str]:
    steps, val = _series(session, "val_loss")
    if val.size < 2:
        return False, "fewer than 2 finite val losses were recorded"
    i = int(np.argmin(val))
    low, end = float(val[i]), float(val[-1])
    rise = (end - low) / abs(low) if low != 0 else math.inf
    t_steps, train = _series(session, "train_loss")
    if train.size == 0:
        return False, "no finite train loss was recorded"
    train_at_min = float(np.interp(steps[i], t_steps, train))
    train_end = float(train[-1])
    text = (
        f"val loss min {low:.4g} at step {int(steps[i])}, final {end:.4g} "
        f"({rise:+.1%}); train loss {train_at_min:.4g} -> {train_end:.4g}"
    )
    holds = i < val.size - 1 and rise > VAL_RISE and train_end < train_at_min
    return holds, text


def _val_acc_drops(session: Session) -> tuple[bool, str]:
    steps, acc = _series(session, "val_acc")
    if acc.size < 2:
        return False, "fewer than 2 val accuracies were recorded"
    i = int(np.argmax(acc))
    peak, end = float(acc[i]), float(acc[-1])
    text = (
        f"val acc peaked at {peak:.3f} (step {int(steps[i])}) and ended at {end:.3f} "
        f"(drop {peak - end:.3f}, needed >= {VAL_ACC_DROP})"
    )
    return i < acc.size - 1 and peak - end >= VAL_ACC_DROP, text


# --------------------------------------------------------------------------- the checker


def check_expectations(cfg, session: Session, summary: dict) -> list[str]:
    """Every unmet [expect] promise of `cfg`, as one readable line each; [] if all hold."""
    exp = cfg.expect
    failures: list[str] = []
    final = summary.get("final") or {}
    final_status = summary.get("status", session.monitor.status)

    if exp.status is not None:
        if exp.status in MILESTONE_OF:
            key = MILESTONE_OF[exp.status]
            reached = summary.get(key, session.monitor.milestones.get(key))
            holds = reached is not None
            what = f"milestone {key}"
        else:
            holds = final_status == exp.status
            reached = _status_entered(session, exp.status) if holds else None
            what = "final status"
        if not holds:
            failures.append(
                f"status: expected {exp.status!r} ({what}), but the final status is "
                f"{final_status!r} at step {session.step}: "
                f"{session.monitor.verdict.explanation}"
            )
        elif exp.within_steps is not None and reached is None:
            failures.append(
                f"within_steps: cannot tell when {exp.status!r} began (its status "
                f"event is no longer in the session's event log)"
            )
        elif exp.within_steps is not None and reached > exp.within_steps:
            failures.append(
                f"within_steps: {exp.status!r} reached at step {reached}, "
                f"later than {exp.within_steps}"
            )
    elif exp.within_steps is not None:
        failures.append("within_steps: given without a status to reach")

    if exp.min_grok_delay is not None:
        delay = summary.get("grok_delay")
        if delay is None or delay < exp.min_grok_delay:
            failures.append(
                f"min_grok_delay: expected a grok delay >= {exp.min_grok_delay} "
                f"steps, found {delay}"
            )

    if exp.max_test_mad is not None:
        test = session.test_metrics or session.evaluate_test()
        mad = test.get("test_mad")
        if mad is None or not mad <= exp.max_test_mad:
            failures.append(f"max_test_mad: expected test MAD <= {exp.max_test_mad:g}, found {mad}")

    if exp.max_final_val_loss is not None:
        val = final.get("val_loss")
        if val is None or not val <= exp.max_final_val_loss:
            failures.append(
                f"max_final_val_loss: expected final val loss <= "
                f"{exp.max_final_val_loss:g}, found {val}"
            )

    if exp.min_final_val_acc is not None:
        acc = final.get("val_acc")
        if acc is None or not acc >= exp.min_final_val_acc:
            failures.append(
                f"min_final_val_acc: expected final val acc >= "
                f"{exp.min_final_val_acc:g}, found {acc}"
            )

    if exp.params_close_to_lstsq is not None:
        g = session.guarantee
        if g is None:
            failures.append(
                "params_close_to_lstsq: not a quadratic problem (no least-squares "
                "solution to compare with)"
            )
        else:
            gap = float(np.max(np.abs(session.trainer.params - g.lstsq_params)))
            if not gap <= exp.params_close_to_lstsq:
                failures.append(
                    f"params_close_to_lstsq: max |params - lstsq| = {gap:.3g} > "
                    f"{exp.params_close_to_lstsq:g}"
                )

    if exp.diverged_predicted is not None:
        g = session.guarantee
        predicted = g is not None and bool(g.diverges)
        diverged = session.monitor.milestones.get("diverged_step") is not None
        basis = (
            "no quadratic guarantee" if g is None else f"lr {g.lr:.4g} vs bound {g.stable_lr:.4g}"
        )
        why = (
            f"the guarantee {'predicted' if predicted else 'did not predict'} divergence "
            f"({basis}) and the run {'diverged' if diverged else 'did not diverge'}"
        )
        failures += _check_bool(
            "diverged_predicted", exp.diverged_predicted, predicted and diverged, why
        )

    if exp.val_loss_rises is not None:
        holds, why = _val_loss_rises(session)
        failures += _check_bool("val_loss_rises", exp.val_loss_rises, holds, why)

    if exp.val_acc_drops is not None:
        holds, why = _val_acc_drops(session)
        failures += _check_bool("val_acc_drops", exp.val_acc_drops, holds, why)

    if exp.best_restored is not None:
        holds = session.early_stopped_at is not None and session.restored_from is not None
        why = (
            f"early stop at step {session.early_stopped_at}, "
            f"restored from step {session.restored_from}"
        )
        failures += _check_bool("best_restored", exp.best_restored, holds, why)

    return failures
