"""Convergence monitor: turns the per-evaluation metric stream into a status word and events.

One ``ConvergenceMonitor`` watches one run. The runner feeds it one evaluation
record at a time (``update``) and tells it when a training step produced a
non-finite loss (``note_nonfinite``). It answers with events, a current
``Verdict`` (status + one-line explanation with the numbers behind it), the
milestones reached and the best validation point. Plain Python, no numpy
needed, no UI import; its state is JSON-able so checkpoints can store it.

Definitions
-----------
"Evaluation" means one record passed to ``update``. Every count below is a
count of evaluations, not of training steps. Values that are None are
"missing"; missing or non-finite values never raise, they only make the rules
that need them not hold (the exception: a NaN/inf *train loss* is divergence).

Status words. When several hold, the first in this order is shown: diverged,
grokked, memorizing, converged by the gradient criterion (4a), overfitting,
converged by a sustained plateau (4b), underfitting, plateau, improving.

1. ``diverged`` (sticky: once reached it never changes) - a record's train loss
   is NaN or infinite, or ``note_nonfinite`` was called (a training step's loss
   was non-finite), or the train loss is *exploding*: above
   ``EXPLODE_FACTOR`` (1e4) x the first finite train loss of the run
   (x max(first, 1e-12), so a first loss of 0 does not make every loss
   "exploding"). The reference is the *first* loss, not the lowest: a grokking
   run's loss can legitimately spike many orders above its minimum.
2. ``grokked`` (sticky) - validation accuracy >= ``grok_acc`` at an evaluation
   after the run was seen memorizing (``memorized_step`` is set). Reaching
   ``grok_acc`` without memorizing first is ordinary learning and never gives
   this status. The ``grokked`` event records the delay
   ``grokked_step - memorized_step`` and classifies it: **grokking** when
   ``delay >= max(10 * eval_every, memorized_step)`` (generalization lagged by
   at least ten evaluations *and* took at least as long again as
   memorization did), otherwise **ordinary learning**. This scales Liu et al.
   (2022)'s fixed rule (generalization delayed by more than 10^3 steps after
   memorization) to runs of any length. ``eval_every`` is the setting when
   given, else the smallest step gap seen between two evaluations. The
   explanation stays the one given when grokking was detected.
3. ``memorizing`` (classification only) - train accuracy >= ``memorize_acc``
   while validation accuracy is *near chance*: strictly below the midpoint
   between chance and ``grok_acc``,
   ``val_acc < chance + (grok_acc - chance) / 2`` (chance None counts as 0).
   The first such evaluation sets ``memorized_step`` (even when a status above
   this one is shown, e.g. overfitting while the val loss climbs).
4. ``converged`` - either (a) the gradient norm is below ``grad_tol`` (the
   seed's criterion; a missing or non-finite grad norm is "not small"; this
   case ranks above overfitting: an optimisation that has reached a
   stationary point has converged whatever validation does; but a stationary
   point whose fit is bad, as judged in (b), is reported as underfitting), or
   (b) the train loss has been *flat* (see plateau) at this evaluation and the
   ``patience`` evaluations before it (``patience + 1`` in a row) and the fit
   is good: train loss <= ``underfit_ratio`` x ``floor`` when the floor is
   known; when it is not, classification needs train accuracy >=
   ``memorize_acc - 0.1`` and regression (or classification without a train
   accuracy) is always good (nothing to compare with). Case (b) ranks below
   overfitting.
5. ``overfitting`` - validation loss rose at each of the last k >= ``patience``
   evaluations (each strictly higher than the one before) while train loss
   fell over the same k evaluations by more than ``plateau_rel_tol``
   (relative). The span starts at the evaluation before the first rise; the
   explanation reports it, e.g. "val loss up 18% over 6 evals (0.21 -> 0.248,
   steps 100-160) while train loss fell 40% (0.1 -> 0.06)".
6. ``underfitting`` - the same sustained flat train loss as (4b) but the fit
   is bad: train loss > ``underfit_ratio`` x ``floor`` (floor known), or,
   floor unknown, classification train accuracy < ``memorize_acc - 0.1``.
7. ``plateau`` - the train loss is *flat*: over the last ``window``
   evaluations (finite train losses), ``(max - min) / max(|max|, |min|) <
   plateau_rel_tol`` (for a monotone series this is the relative change from
   the oldest to the newest), while the grad norm is not below ``grad_tol``.
8. ``improving`` - none of the above (also the status from the first record
   until ``window`` train losses exist).

``compiling`` is the status before the first record.

The best validation point: regression, the lowest finite validation loss;
classification, the highest validation accuracy, ties broken by the lower
validation loss. A candidate becomes the new best only when it improves on the
best by more than ``plateau_rel_tol`` relative (loss < best * (1 - tol);
accuracy: any strictly higher accuracy, it is a count fraction); the first
candidate is always the best. ``should_stop_early(p)`` is True when ``p`` or
more evaluations passed since the best was last improved (or since the first
record, when there is no best yet).

Events per update, in this order: ``train_acc_100`` (first train accuracy of
1.0), ``memorized`` (first memorizing evaluation), ``best_val`` (new best),
``status`` (status changed: detail "old -> new: explanation"), then the
milestone of the new status, once per run: ``grokked``, ``converged``,
``diverged``. The runner adds ``early_stop`` itself.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from engine.vocabulary import Status

EXPLODE_FACTOR = 1e4
"""Train loss above this multiple of the run's first finite train loss counts as diverged."""

UNDERFIT_ACC_GAP = 0.1
"""Floor unknown: a flat classifier below ``memorize_acc - UNDERFIT_ACC_GAP`` underfits."""

GROK_MIN_EVALS = 10
"""Grokking needs a delay of at least this many evaluation intervals."""

STATE_VERSION = 1

PRECEDENCE = (
    Status.DIVERGED,
    Status.GROKKED,
    Status.MEMORIZING,
    Status.CONVERGED,  # by the gradient criterion; by a plateau it ranks below overfitting
    Status.OVERFITTING,
    Status.UNDERFITTING,
    Status.PLATEAU,
    Status.IMPROVING,
)
"""When several statuses hold, the first in this tuple is shown (every status but compiling)."""

_TINY = 1e-12


@dataclass(frozen=True)
class MonitorSettings:
    """Thresholds of the monitor (the config's [convergence] section plus what the session knows).

    grad_tol: grad norm below this is converged (the seed's criterion).
    plateau_rel_tol: relative change below which the train loss is flat; also the
        minimum relative improvement of a new best validation and of the train-loss
        fall required by overfitting.
    window: number of evaluations the flatness of the train loss is measured over (>= 2).
    patience: evaluations a plateau must last beyond its first flat evaluation to become
        converged/underfitting, and consecutive validation-loss rises for overfitting (>= 1).
    chance: chance accuracy (classification), e.g. 1/n_classes; None counts as 0.
    memorize_acc: train accuracy at/above which a classifier has memorized its training set.
    grok_acc: validation accuracy at/above which a classifier generalizes.
    underfit_ratio: a flat train loss above this multiple of ``floor`` is underfitting (> 1).
    task: "regression" or "classification" (memorizing/grokked need classification).
    floor: the lowest train loss the model class can reach, when known (e.g. the
        least-squares loss for a quadratic problem); None when unknown.
    eval_every: steps between evaluations; None infers it as the smallest step gap seen.
    """

    grad_tol: float = 1e-6
    plateau_rel_tol: float = 1e-4
    window: int = 10
    patience: int = 5
    chance: float | None = None
    memorize_acc: float = 0.99
    grok_acc: float = 0.95
    underfit_ratio: float = 2.0
    task: str = "regression"
    floor: float | None = None
    eval_every: int | None = None

    def __post_init__(self) -> None:
        # The config module validates user input; this only guards programming mistakes.
        if self.task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {self.task!r}")
        if self.window < 2:
            raise ValueError(f"window must be >= 2, got {self.window}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if self.eval_every is not None and self.eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 or None, got {self.eval_every}")


@dataclass(frozen=True)
class Verdict:
    """The current status word and one line saying why, with the numbers behind it."""

    status: Status
    explanation: str


@dataclass(frozen=True)
class MonitorEvent:
    """Something the event log should show: a status change or a milestone at ``step``.

    kind: "status", "train_acc_100", "memorized", "best_val", "grokked", "converged"
    or "diverged". data holds the numbers as (name, value) pairs; non-finite floats
    are given as strings ("nan", "inf") so the pairs serialize to strict JSON.
    """

    step: int
    kind: str
    detail: str
    data: tuple[tuple[str, float | int | str | bool], ...] = ()


def _num(value: object) -> float | None:
    """A record value as float, or None when it is missing or not a number."""
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _g(value: float | None) -> str:
    """Short number for explanations: 4 significant digits."""
    if value is None:
        return "n/a"
    return f"{value:.4g}"


def _pct(fraction: float) -> str:
    """A fraction as a percentage with enough digits to show tiny changes (18%, 2.5%, 0.0012%)."""
    p = abs(fraction) * 100.0
    if not math.isfinite(p):
        return "inf%"
    if p >= 10:
        return f"{p:.0f}%"
    return f"{p:.2g}%"


def _acc(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.1f}%"


def _datum(value: float | int | str | bool | None) -> float | int | str | bool:
    """An event datum that survives strict JSON: non-finite floats (and None) become strings."""
    if value is None:
        return "none"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _rel_change(values: deque[float] | list[float]) -> float:
    """(max - min) / max(|max|, |min|): the relative change over a window; 0 for all zeros."""
    hi, lo = max(values), min(values)
    scale = max(abs(hi), abs(lo))
    return 0.0 if scale == 0.0 else (hi - lo) / scale


class ConvergenceMonitor:
    """Watches one run's evaluation records and reports a status, events and milestones.

    Feed it with ``update(record)`` once per evaluation and ``note_nonfinite(step)``
    when the runner sees a non-finite per-step loss. Status, first that holds wins
    (counts are evaluations; full wording in the module docstring):

    - diverged (sticky): train loss NaN/inf, a non-finite step loss, or train loss
      > 1e4 x the first finite train loss.
    - grokked (sticky): val acc >= grok_acc after memorizing was seen; delay =
      grokked_step - memorized_step is "grokking" if >= max(10 x eval interval,
      memorized_step), else "ordinary learning".
    - overfitting: val loss strictly rose at each of the last k >= patience evals
      while train loss fell by > plateau_rel_tol (relative) over those k evals.
    - memorizing (classification): train acc >= memorize_acc and
      val acc < chance + (grok_acc - chance) / 2.
    - converged: grad norm < grad_tol, or train loss flat for patience + 1 evals in
      a row with a good fit (loss <= underfit_ratio x floor; floor unknown:
      classification train acc >= memorize_acc - 0.1, regression always).
    - underfitting: flat for patience + 1 evals in a row with a bad fit.
    - plateau: flat = (max - min) / max(|max|, |min|) of the last ``window`` train
      losses < plateau_rel_tol, with grad norm not below grad_tol.
    - improving: otherwise. compiling: before the first record.
    """

    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        self._status = Status.COMPILING
        self._explanation = "no evaluation yet"
        self._n_records = 0
        self._last_step: int | None = None
        self._min_gap: int | None = None  # smallest step gap between evaluations
        self._first_train: float | None = None
        self._last_train: float | None = None
        self._train_window: deque[float] = deque(maxlen=self.settings.window)
        self._flat_run = 0  # consecutive evaluations with a flat train loss
        # overfitting: the current run of strictly rising validation losses
        self._prev_val: float | None = None
        self._prev_train: float | None = None
        self._prev_step: int | None = None
        self._rise_len = 0
        self._rise_start: tuple[int, float, float] | None = None  # step, val loss, train loss
        # best validation
        self._best_step: int | None = None
        self._best_loss: float | None = None
        self._best_acc: float | None = None
        self._evals_since_best = 0
        # milestones
        self._train_acc_100_step: int | None = None
        self._memorized_step: int | None = None
        self._grokked_step: int | None = None
        self._grok_delay: int | None = None
        self._grok_kind: str | None = None
        self._converged_step: int | None = None
        self._diverged_step: int | None = None

    def state_dict(self) -> dict:
        """Everything needed to continue identically, as JSON-able values only (no NaN/inf)."""
        return {
            "version": STATE_VERSION,
            "status": self._status,
            "explanation": self._explanation,
            "n_records": self._n_records,
            "last_step": self._last_step,
            "min_gap": self._min_gap,
            "first_train": self._first_train,
            "last_train": self._last_train,
            "train_window": list(self._train_window),
            "flat_run": self._flat_run,
            "prev_val": self._prev_val,
            "prev_train": self._prev_train,
            "prev_step": self._prev_step,
            "rise_len": self._rise_len,
            "rise_start": None if self._rise_start is None else list(self._rise_start),
            "best_step": self._best_step,
            "best_loss": self._best_loss,
            "best_acc": self._best_acc,
            "evals_since_best": self._evals_since_best,
            "train_acc_100_step": self._train_acc_100_step,
            "memorized_step": self._memorized_step,
            "grokked_step": self._grokked_step,
            "grok_delay": self._grok_delay,
            "grok_kind": self._grok_kind,
            "converged_step": self._converged_step,
            "diverged_step": self._diverged_step,
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore a ``state_dict()`` (e.g. read back from a checkpoint's JSON)."""
        version = state.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"monitor state version {version!r} is not {STATE_VERSION}")
        self._reset()
        self._status = Status(state["status"])
        self._explanation = str(state["explanation"])
        self._n_records = int(state["n_records"])
        self._last_step = state["last_step"]
        self._min_gap = state["min_gap"]
        self._first_train = state["first_train"]
        self._last_train = state["last_train"]
        self._train_window.extend(float(v) for v in state["train_window"])
        self._flat_run = int(state["flat_run"])
        self._prev_val = state["prev_val"]
        self._prev_train = state["prev_train"]
        self._prev_step = state["prev_step"]
        self._rise_len = int(state["rise_len"])
        rs = state["rise_start"]
        self._rise_start = None if rs is None else (int(rs[0]), float(rs[1]), float(rs[2]))
        self._best_step = state["best_step"]
        self._best_loss = state["best_loss"]
        self._best_acc = state["best_acc"]
        self._evals_since_best = int(state["evals_since_best"])
        self._train_acc_100_step = state["train_acc_100_step"]
        self._memorized_step = state["memorized_step"]
        self._grokked_step = state["grokked_step"]
        self._grok_delay = state["grok_delay"]
        self._grok_kind = state["grok_kind"]
        self._converged_step = state["converged_step"]
        self._diverged_step = state["diverged_step"]

    # ------------------------------------------------------------- read-outs
    @property
    def status(self) -> Status:
        """The current status word: compiling, improving, plateau, converged, underfitting,
        memorizing, overfitting, grokked or diverged (definitions in the class docstring)."""
        return self._status

    @property
    def verdict(self) -> Verdict:
        """The current status and its one-line explanation."""
        return Verdict(self._status, self._explanation)

    @property
    def milestones(self) -> dict[str, int | None]:
        """Step of each milestone, None if it has not happened.

        memorized_step: first evaluation meeting the memorizing rule (set even when a
        higher-precedence status such as overfitting is shown); grokked_step: when the
        status became ``grokked``; converged_step: first time the status was
        ``converged``; diverged_step: when the run diverged.
        """
        return {
            "memorized_step": self._memorized_step,
            "grokked_step": self._grokked_step,
            "converged_step": self._converged_step,
            "diverged_step": self._diverged_step,
        }

    @property
    def grok_delay(self) -> int | None:
        """grokked_step - memorized_step, once grokked."""
        return self._grok_delay

    @property
    def best_step(self) -> int | None:
        """Step of the best validation so far (what early stopping restores), None before any.

        Regression: lowest validation loss. Classification: highest validation accuracy,
        then lowest validation loss (rule in the module docstring).
        """
        return self._best_step

    def should_stop_early(self, patience: int) -> bool:
        """True when ``patience`` or more evaluations passed without a new best validation.

        "New best" is the rule of ``best_step`` (improvement > plateau_rel_tol relative).
        Without any best yet, counts from the first evaluation.
        """
        return self._n_records > 0 and self._evals_since_best >= patience

    # ---------------------------------------------------------------- inputs
    def note_nonfinite(self, step: int) -> list[MonitorEvent]:
        """The runner saw a non-finite per-step train loss at ``step``: diverged (sticky)."""
        if self._status == Status.DIVERGED:
            return []
        return self._diverge(
            int(step),
            f"non-finite train loss in the training step at step {int(step)}",
            (("reason", "nonfinite_step"),),
        )

    def update(self, record: Mapping[str, float | None]) -> list[MonitorEvent]:
        """Take one evaluation record (keys as in the metrics stream); return the events it caused.

        Uses step, train_loss, val_loss, train_acc, val_acc and grad_norm; other keys are
        ignored. Never raises on None, NaN or inf values.
        """
        s = self.settings
        step = self._step_of(record)
        self._n_records += 1
        if self._last_step is not None and step > self._last_step:
            gap = step - self._last_step
            self._min_gap = gap if self._min_gap is None else min(self._min_gap, gap)
        self._last_step = step
        self._evals_since_best += 1

        if self._status == Status.DIVERGED:
            return []  # sticky; nothing after divergence is meaningful

        train = _num(record.get("train_loss"))
        val = _num(record.get("val_loss"))
        grad = _num(record.get("grad_norm"))
        classify = s.task == "classification"
        train_acc = _num(record.get("train_acc")) if classify else None
        val_acc = _num(record.get("val_acc")) if classify else None
        train_acc = train_acc if _finite(train_acc) else None
        val_acc = val_acc if _finite(val_acc) else None

        # 1. divergence: non-finite or exploding train loss
        if train is not None and not math.isfinite(train):
            return self._diverge(
                step,
                f"train loss is {train} at step {step}",
                (("reason", "nonfinite"), ("train_loss", str(train))),
            )
        if train is not None:
            if self._first_train is None:
                self._first_train = train
            limit = EXPLODE_FACTOR * max(self._first_train, _TINY)
            if train > limit:
                return self._diverge(
                    step,
                    f"train loss {_g(train)} at step {step} exceeds "
                    f"{EXPLODE_FACTOR:g} x its first value "
                    f"{_g(self._first_train)}",
                    (
                        ("reason", "exploding"),
                        ("train_loss", train),
                        ("first_train_loss", self._first_train),
                    ),
                )
            self._last_train = train
            self._train_window.append(train)

        events: list[MonitorEvent] = []

        # milestones that do not depend on the shown status
        if train_acc is not None and train_acc >= 1.0 and self._train_acc_100_step is None:
            self._train_acc_100_step = step
            events.append(
                MonitorEvent(
                    step,
                    "train_acc_100",
                    f"train accuracy reached 100% at step {step} (val acc {_acc(val_acc)})",
                    (("train_acc", train_acc), ("val_acc", _datum(val_acc))),
                )
            )
        memorizing, mem_text = self._memorizing(train_acc, val_acc)
        if memorizing and self._memorized_step is None:
            self._memorized_step = step
            events.append(
                MonitorEvent(
                    step,
                    "memorized",
                    f"memorized at step {step}: {mem_text}",
                    (
                        ("train_acc", _datum(train_acc)),
                        ("val_acc", _datum(val_acc)),
                        ("chance", self._chance),
                    ),
                )
            )
        events.extend(self._update_best(step, val, val_acc))

        # flatness of the train loss
        flat = False
        rel = None
        if train is not None and len(self._train_window) == s.window:
            rel = _rel_change(self._train_window)
            flat = rel < s.plateau_rel_tol
        if train is not None:
            self._flat_run = self._flat_run + 1 if flat else 0
        grad_small = _finite(grad) and grad < s.grad_tol  # type: ignore[operator]

        over, over_text = self._update_rise(step, val, train)

        # candidates in precedence order; the first that holds wins
        status, text, extra = self._choose(
            step,
            train,
            grad,
            grad_small,
            flat,
            rel,
            over,
            over_text,
            memorizing,
            mem_text,
            train_acc,
            val_acc,
        )
        events.extend(self._set_status(step, status, text, extra))
        return events

    # ------------------------------------------------------------- the rules
    @property
    def _chance(self) -> float:
        return 0.0 if self.settings.chance is None else float(self.settings.chance)

    def _eval_interval(self) -> int:
        if self.settings.eval_every is not None:
            return self.settings.eval_every
        return self._min_gap if self._min_gap is not None else 1

    def _step_of(self, record: Mapping[str, float | None]) -> int:
        raw = _num(record.get("step"))
        if _finite(raw):
            return int(raw)  # type: ignore[arg-type]
        # A record without a usable step: place it just after the previous one.
        return 0 if self._last_step is None else self._last_step + 1

    def _memorizing(self, train_acc: float | None, val_acc: float | None) -> tuple[bool, str]:
        """Train acc >= memorize_acc and val acc < chance + (grok_acc - chance) / 2."""
        s = self.settings
        if s.task != "classification" or train_acc is None or val_acc is None:
            return False, ""
        near = self._chance + (s.grok_acc - self._chance) / 2.0
        if train_acc >= s.memorize_acc and val_acc < near:
            return True, (
                f"train acc {_acc(train_acc)} >= {_acc(s.memorize_acc)} "
                f"but val acc {_acc(val_acc)} "
                f"is near chance {_acc(self._chance)} (below {_acc(near)})"
            )
        return False, ""

    def _update_best(
        self, step: int, val: float | None, val_acc: float | None
    ) -> list[MonitorEvent]:
        """Best: lowest val loss (regression); highest val acc, then lowest loss (classifier)."""
        s = self.settings
        tol = s.plateau_rel_tol
        val_ok = _finite(val)
        if s.task == "classification":
            if val_acc is None:
                return []
            loss = val if val_ok else None
            if self._best_step is None:
                better = True
            elif val_acc > self._best_acc:  # type: ignore[operator]
                better = True
            elif val_acc == self._best_acc and loss is not None:
                better = self._best_loss is None or loss < self._best_loss - tol * abs(
                    self._best_loss
                )
            else:
                better = False
            if not better:
                return []
            prev_step, prev_acc = self._best_step, self._best_acc
            self._best_step, self._best_acc, self._best_loss = step, val_acc, loss
            self._evals_since_best = 0
            was = "" if prev_step is None else f" (was {_acc(prev_acc)} at step {prev_step})"
            return [
                MonitorEvent(
                    step,
                    "best_val",
                    f"best validation at step {step}: val acc {_acc(val_acc)}, "
                    f"val loss {_g(loss)}{was}",
                    (("val_acc", val_acc), ("val_loss", _datum(loss))),
                )
            ]
        if not val_ok:
            return []
        if self._best_step is not None and not val < self._best_loss - tol * abs(self._best_loss):  # type: ignore
            return []
        prev_step, prev_loss = self._best_step, self._best_loss
        self._best_step, self._best_loss = step, val
        self._evals_since_best = 0
        was = "" if prev_step is None else f" (was {_g(prev_loss)} at step {prev_step})"
        return [
            MonitorEvent(
                step,
                "best_val",
                f"best validation at step {step}: val loss {_g(val)}{was}",
                (("val_loss", val),),
            )
        ]  # type: ignore[arg-type]

    def _update_rise(self, step: int, val: float | None, train: float | None) -> tuple[bool, str]:
        """Track the run of strictly rising val losses; overfitting when it is >= patience long
        and the train loss fell over it by more than plateau_rel_tol."""
        s = self.settings
        if not (_finite(val) and _finite(train)):
            self._prev_val = self._prev_train = self._prev_step = None
            self._rise_len = 0
            self._rise_start = None
            return False, ""
        if self._prev_val is not None and val > self._prev_val:  # type: ignore[operator]
            if self._rise_len == 0:
                self._rise_start = (self._prev_step, self._prev_val, self._prev_train)  # type: ignore[assignment]
            self._rise_len += 1
        else:
            self._rise_len = 0
            self._rise_start = None
        self._prev_val, self._prev_train, self._prev_step = val, train, step
        if self._rise_len < s.patience or self._rise_start is None:
            return False, ""
        start_step, v0, t0 = self._rise_start
        if not train < t0 * (1.0 - s.plateau_rel_tol):  # type: ignore[operator]
            return False, ""
        up = (val - v0) / abs(v0) if v0 != 0 else math.inf  # type: ignore[operator]
        down = (t0 - train) / abs(t0) if t0 != 0 else 0.0  # type: ignore[operator]
        return True, (
            f"val loss up {_pct(up)} over {self._rise_len} evals ({_g(v0)} -> {_g(val)}, "
            f"steps {start_step}-{step}) while train loss fell {_pct(down)} "
            f"({_g(t0)} -> {_g(train)})"
        )

    def _fit(self, train: float, train_acc: float | None) -> tuple[bool, str]:
        """At a sustained plateau: is the fit good (converged) or not (underfitting)?"""
        s = self.settings
        if s.floor is not None and math.isfinite(s.floor):
            limit = s.underfit_ratio * s.floor
            ratio = train / s.floor if s.floor > 0 else math.inf
            ratio_txt = f"{ratio:.3g}x" if math.isfinite(ratio) else "above"
            if train <= limit:
                return True, f"within {s.underfit_ratio:g}x of the floor {_g(s.floor)}"
            return False, f"{ratio_txt} the floor {_g(s.floor)} (limit {s.underfit_ratio:g}x)"
        if s.task == "classification" and train_acc is not None:
            need = s.memorize_acc - UNDERFIT_ACC_GAP
            if train_acc >= need:
                return True, f"train acc {_acc(train_acc)} >= {_acc(need)}"
            return False, f"train acc {_acc(train_acc)} < {_acc(need)}"
        return True, "loss floor unknown"

    def _choose(
        self,
        step,
        train,
        grad,
        grad_small,
        flat,
        rel,
        over,
        over_text,
        memorizing,
        mem_text,
        train_acc,
        val_acc,
    ) -> tuple[Status, str, tuple]:
        s = self.settings
        # grokked (sticky)
        if self._status == Status.GROKKED:
            return Status.GROKKED, self._explanation, ()
        if (
            s.task == "classification"
            and self._memorized_step is not None
            and val_acc is not None
            and val_acc >= s.grok_acc
            and step > self._memorized_step
        ):
            delay = step - self._memorized_step
            interval = self._eval_interval()
            need = max(GROK_MIN_EVALS * interval, self._memorized_step)
            kind = "grokking" if delay >= need else "ordinary learning"
            self._grok_delay, self._grok_kind = delay, kind
            text = (
                f"val acc {_acc(val_acc)} >= {_acc(s.grok_acc)} at step {step}, "
                f"{delay} steps after memorizing "
                f"at step {self._memorized_step}: {kind} (grokking needs a delay >= "
                f"max({GROK_MIN_EVALS} evals x {interval}, {self._memorized_step}) = {need} steps)"
            )
            return (
                Status.GROKKED,
                text,
                (
                    ("delay", delay),
                    ("memorized_step", self._memorized_step),
                    ("grokked_step", step),
                    ("kind", kind),
                    ("val_acc", val_acc),
                    ("required_delay", need),
                ),
            )
        if memorizing:
            return Status.MEMORIZING, mem_text, ()
        if grad_small:
            grad_text = f"grad norm {grad:.3g} < grad_tol {s.grad_tol:g} at step {step}"
            good, fit_text = self._fit(train, train_acc) if train is not None else (True, "")
            if not good:  # a stationary point of a model class that cannot fit the data
                return Status.UNDERFITTING, f"{grad_text}, but the train loss is {fit_text}", ()
            return (
                Status.CONVERGED,
                f"{grad_text} (train loss {_g(self._last_train)})",
                (("reason", "grad_norm"), ("grad_norm", grad)),
            )
        if over:
            return Status.OVERFITTING, over_text, ()
        sustained = train is not None and self._flat_run >= s.patience + 1
        if sustained:
            good, fit_text = self._fit(train, train_acc)
            flat_text = (
                f"train loss {_g(train)} flat ({_pct(rel)} change over {s.window} evals) "
                f"for {self._flat_run} evals"
            )
            if good:
                return (
                    Status.CONVERGED,
                    f"{flat_text}, {fit_text}",
                    (("reason", "plateau"), ("train_loss", train)),
                )
            return Status.UNDERFITTING, f"{flat_text} but {fit_text}", ()
        if flat:
            grad_txt = (
                "grad norm unknown"
                if not _finite(grad)
                else f"grad norm {grad:.3g} >= {s.grad_tol:g}"
            )
            return (
                Status.PLATEAU,
                (
                    f"train loss {_g(train)} changed {_pct(rel)} over the last {s.window} evals "
                    f"(< {_pct(s.plateau_rel_tol)}) while {grad_txt}"
                ),
                (),
            )
        return Status.IMPROVING, self._improving_text(), ()

    def _improving_text(self) -> str:
        s = self.settings
        w = self._train_window
        if not w:
            return "no finite train loss yet"
        if len(w) < s.window:
            n = len(w)
            plural = "s" if n != 1 else ""
            return (
                f"train loss {_g(w[-1])} after {n} eval{plural} "
                f"(flatness is judged over {s.window})"
            )
        first, last = w[0], w[-1]
        change = (last - first) / abs(first) if first != 0 else (0.0 if last == first else math.inf)
        word = "down" if last < first else "up" if last > first else "changed"
        return (
            f"train loss {_g(last)}, {word} {_pct(change)} over the last {s.window} evals "
            f"(flat below {_pct(s.plateau_rel_tol)})"
        )

    # ------------------------------------------------------------ transitions
    def _set_status(self, step: int, status: Status, text: str, extra: tuple) -> list[MonitorEvent]:
        old = self._status
        self._explanation = text
        if status == old:
            return []
        self._status = status
        events = [
            MonitorEvent(
                # plain words in the data, so files and checkpoints hold text, not enums
                step,
                "status",
                f"{old} -> {status}: {text}",
                (("from", str(old)), ("to", str(status))),
            )
        ]
        if status == Status.GROKKED and self._grokked_step is None:
            self._grokked_step = step
            events.append(MonitorEvent(step, "grokked", text, extra))
        elif status == Status.CONVERGED and self._converged_step is None:
            self._converged_step = step
            events.append(
                MonitorEvent(
                    step,
                    "converged",
                    f"converged at step {step}: {text}",
                    tuple((k, _datum(v)) for k, v in extra),
                )
            )
        return events

    def _diverge(self, step: int, why: str, data: tuple) -> list[MonitorEvent]:
        text = f"{why}; try a lower lr"
        events = self._set_status(step, Status.DIVERGED, text, ())
        self._diverged_step = step
        events.append(MonitorEvent(step, "diverged", f"diverged at step {step}: {text}", data))
        return events
