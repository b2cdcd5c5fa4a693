"""Convergence judge: turns the per-evaluation metric stream into a status backed by evidence.

One ``ConvergenceMonitor`` watches one run. The session feeds it one evaluation record at a
time (``update``) and tells it when a training step produced a non-finite loss
(``note_nonfinite``). It answers with events, a current ``Verdict`` (status word, one plain
sentence, and the numbers behind it), the milestones reached and the best validation point.
No UI import; its state is JSON-able so checkpoints can store it.

Definitions
-----------
Every duration is in training steps, never in numbers of evaluations, so the evaluation
cadence (``train.eval_every``) changes no verdict; milestone steps are interpolated between
the two evaluations that bracket them. ``s`` is the current step.

The recent window is the last ``w = max(window_fraction * s, 5 evaluation gaps)`` steps
(window_fraction 0.25). Its first third (by steps) is A, its last third B. A metric's
*level* is the median of its values in B; its *change* is median(B) - median(A); its
*noise* is the robust jitter between evaluations, 1.4826 x MAD of its successive
differences / sqrt 2 (a smooth curve has almost none, minibatch noise a lot); the change is
*significant* when it exceeds Z = 3 standard errors of that difference of medians
(1.25 x noise x sqrt(1/|A| + 1/|B|)) and also ``flat_rel_tol`` (1e-3) of the level (an
accuracy: also 1.5 validation rows and 0.5 points). Falling, rising or flat accordingly.
Fewer than 2 evaluations in A or B: no evidence yet, the status stays ``improving``.

Reference (engine/training/data.py ``Reference``): the noise variance ``nv`` of a generated
regression target (the lowest mse a model can reach on fresh data), the target variance
``tv`` (R^2 = 1 - loss / tv), the Bayes accuracy ``B`` of a generated classification problem
(estimated once by Monte Carlo), the majority-class rate of a CSV classifier; and, for linear
and polynomial models, the least-squares floor ``f`` (the lowest train loss the model class
can reach). Unknown values are None and the verdict says so instead of guessing.
Regression tolerance ``tol = max(0.25 nv, 0.02 tv)``; accuracy tolerance
``tol_acc = max(0.025, 2 sqrt(B (1 - B) / n_val) + 1 / n_val)``.

Statuses, first that holds wins:

1. ``diverged`` (sticky; the run stops) - a non-finite train loss (in a record or in a
   training step), or the train loss above 1e4 x its first value, or geometric growth:
   it rose at each of the last 3 or more evaluations, by 10x or more over those rises, and
   is above its first value.
2. ``grokked`` (sticky) - validation accuracy crossed ``grok_acc`` after memorization
   (``memorized_step`` set) and ``judge_generalization`` calls it grokking: the delay
   generalized_step - memorized_step is at least the time memorization took
   (memorized_step) and at least 3 evaluation gaps (what a cadence can resolve). A shorter
   delay is ordinary learning: a ``generalized`` event, and the run goes on being judged.
3. ``diverging`` - the guarantee predicts certain divergence (from step 0), or the train
   loss rose at each of the last 3 evaluations by 2x or more in all, is at least twice
   its lowest value and at least 1% of its first (a memorized loss near zero that doubles
   is not diverging).
4. ``memorizing`` (classification) - train accuracy >= ``memorize_acc`` (0.99; stays while
   >= memorize_acc - 0.02) while validation accuracy is *near chance*:
   < max(2 x chance, chance + 0.05). Its first evaluation sets ``memorized_step`` at the
   interpolated step where train accuracy crossed memorize_acc.
5. ``overfitting`` - the generalization gap grew: the validation level is above the lowest
   validation loss seen (``v*``, at step s*) by more than ``overfit_rel`` (10%) of v* and
   3 x its noise, while the train level is below the train loss at s* by 1% and 2 x its
   noise. It stays while the excess is above half of both margins and the train level is
   still below its value at s*. Not when s* is step 0 (the validation loss never fell:
   nothing was fitted to be lost), nor during a memorization story (memorized, not yet
   generalized: that is ``memorizing`` and grokking's business).
6. ``converged`` - the train loss is flat (or the gradient norm is below ``grad_tol``) and:
   regression, its level is at the noise floor, <= nv + tol (stays while <= nv + 1.5 tol),
   or, noise unknown, at the least-squares floor (<= f + max(0.01 f, 1e-3 tv)) ("noise
   floor unknown"); classification, validation accuracy is not rising and its level is at
   the Bayes limit, >= B - tol_acc (stays while >= B - 1.5 tol_acc) - the training loss of a
   separable problem may keep falling as margins grow. A jittering curve is "stochastic",
   with its band (10th-90th percentile over the window) named.
7. ``underfitting`` - flat, and the fit is far from what the data allows: regression, the
   model is at its least-squares floor and that floor is above nv + tol ("the best linear
   fit leaves R^2 = a; the noise allows b"), or, no least-squares floor known, the level is
   above nv + 2 tol; classification, validation accuracy is flat below B - 2 tol_acc (B
   unknown: no better than the majority class + tol_acc) and train accuracy is not
   rising (a model fitting its training set is not too simple for it).
8. ``plateau`` - the train loss is flat (or rising, not geometrically) and none of the
   above: stalled above what the model class can reach, or the floor is unknown.
9. ``improving`` - the train loss is falling (or validation or train accuracy is
   rising), or there is no evidence yet. ``compiling`` is the status before the first record.

Hysteresis: a change between the calm statuses (6-9) happens only when the new one has
held for ``dwell_fraction`` (0.1) x s steps; alarms (1-5) apply at once.

The best validation point (early stopping): regression, the lowest validation loss;
classification, the highest validation accuracy, ties broken by the lower loss; a new best
must improve on the old by more than 1e-4 relative. ``should_stop_early(p)`` is True once
``p`` evaluations (``train.patience``) passed without one.

Events per update, in this order: ``train_acc_100``, ``memorized``, ``best_val``,
``generalized`` (ordinary learning), ``status`` (data: from, to and the numbers), then the
milestone of the new status, once: ``grokked``, ``converged``, ``diverged``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.training.data import Reference
from engine.vocabulary import Phase, Status

STATE_VERSION = 2

EXPLODE_FACTOR = 1e4
"""Train loss above this multiple of its first value is diverged, whatever its shape."""
GROWTH_RISES = 3
"""Consecutive rising evaluations that make geometric growth."""
DIVERGED_GROWTH = 10.0
"""Growth over those rises that is divergence (when above the first loss)."""
DIVERGING_GROWTH = 2.0
"""Growth over those rises that is a warning: diverging."""
DIVERGING_FLOOR = 0.01
"""A train loss below this fraction of its first value is never called diverging: a loss
near zero (a memorized training set) can double on a wobble and still be near zero."""
Z = 3.0
"""Standard errors a change needs to be significant."""
MIN_WINDOW_EVALS = 5
"""The recent window spans at least this many evaluation gaps."""
MAX_RECORDS = 4096
"""Evaluations kept for the window; beyond it, every other old one is dropped."""
BEST_REL_TOL = 1e-4
"""Relative improvement a new best validation loss needs (early stopping)."""
GROK_MIN_GAPS = 3
"""Grokking's delay must span at least this many evaluation gaps to be resolved at all."""
HOLD_REL = 0.02
"""A converged run becomes improving again only when its loss falls by more than this."""
STALL_REL = 0.01
"""A loss falling by less than this (relative) over the recent window has stalled."""
MEMORIZE_HOLD = 0.02
"""memorizing stays while train accuracy is above memorize_acc minus this."""

PRECEDENCE = (
    Status.DIVERGED,
    Status.GROKKED,
    Status.DIVERGING,
    Status.MEMORIZING,
    Status.OVERFITTING,
    Status.CONVERGED,
    Status.UNDERFITTING,
    Status.PLATEAU,
    Status.IMPROVING,
)
"""When several statuses hold, the first in this tuple is shown (every status but compiling)."""

CALM = frozenset({Status.CONVERGED, Status.UNDERFITTING, Status.PLATEAU, Status.IMPROVING})
"""Statuses that change only after a dwell; the others are alarms and apply at once."""

_TINY = 1e-12


@dataclass(frozen=True)
class MonitorSettings:
    """Thresholds of the judge (the config's [convergence] section plus what the session knows).

    grad_tol: grad norm below this is a stationary point (the seed's criterion).
    flat_rel_tol: relative change over the recent window below which a curve is flat.
    window_fraction: the recent window is this fraction of the steps so far.
    dwell_fraction: a calm status must hold this fraction of the steps so far to be shown.
    overfit_rel: validation loss this far (relative) above its best, with train falling,
        is overfitting.
    chance: chance accuracy (classification), e.g. 1/n_classes; None counts as 0.
    memorize_acc: train accuracy at/above which a classifier has memorized its training set.
    grok_acc: validation accuracy at/above which a classifier generalizes.
    task: "regression" or "classification".
    floor: the least-squares train loss of a linear/polynomial model, None when unknown.
    reference: what the data allows (noise variance, Bayes accuracy...).
    eval_every: steps between evaluations; None infers it as the smallest gap seen.
    model: words for the model class in sentences ("linear", "polynomial", "MLP"...).
    """

    grad_tol: float = 1e-6
    flat_rel_tol: float = 1e-3
    window_fraction: float = 0.25
    dwell_fraction: float = 0.1
    overfit_rel: float = 0.1
    chance: float | None = None
    memorize_acc: float = 0.99
    grok_acc: float = 0.95
    task: str = "regression"
    floor: float | None = None
    reference: Reference = field(default_factory=Reference)
    eval_every: int | None = None
    model: str = "model"

    def __post_init__(self) -> None:
        # The config module validates user input; this only guards programming mistakes.
        if self.task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {self.task!r}")
        if not 0.0 < self.window_fraction <= 1.0:
            raise ValueError(f"window_fraction must be in (0, 1], got {self.window_fraction}")
        if not 0.0 <= self.dwell_fraction < 1.0:
            raise ValueError(f"dwell_fraction must be in [0, 1), got {self.dwell_fraction}")
        if self.eval_every is not None and self.eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 or None, got {self.eval_every}")


@dataclass(frozen=True)
class Verdict:
    """The current status word, one plain sentence saying what it means, and the numbers."""

    status: Status
    explanation: str  # the numbers behind it, one line
    sentence: str = ""  # what a student reads


@dataclass(frozen=True)
class MonitorEvent:
    """Something the event log should show at ``step``.

    kind: "status", "train_acc_100", "memorized", "best_val", "generalized", "grokked",
    "converged" or "diverged". data holds the numbers as (name, value) pairs of plain JSON
    types; non-finite floats are given as strings ("nan", "inf").
    """

    step: int
    kind: str
    detail: str
    data: tuple[tuple[str, float | int | str | bool], ...] = ()


@dataclass(frozen=True)
class Generalization:
    """What ``judge_generalization`` concludes about a classifier's run."""

    kind: Phase  # grokking, comprehension (ordinary learning), memorization or confusion
    delay: int | None  # generalized_step - memorized_step, when both exist
    required_delay: int | None  # the delay grokking needs
    sentence: str


def judge_generalization(
    memorized_step: float | None,
    generalized_step: float | None,
    final_train_acc: float | None,
    final_val_acc: float | None,
    *,
    memorize_acc: float = 0.99,
    grok_acc: float = 0.95,
    eval_gap: int = 1,
) -> Generalization:
    """Grokking, comprehension, memorization or confusion, from steps and accuracies.

    memorized_step: where train accuracy crossed memorize_acc while validation was near
    chance (None: never). generalized_step: where validation accuracy crossed grok_acc
    (None: never). Steps may be interpolated between evaluations. eval_gap is the cadence:
    a delay shorter than GROK_MIN_GAPS gaps cannot be told from ordinary learning.

    - generalized after memorizing with delay >= max(memorized_step, GROK_MIN_GAPS x
      eval_gap): **grokking** (generalization came at least as long again after
      memorization as memorization took: Liu et al. 2022's delayed generalization, scaled
      to the run);
    - generalized otherwise (sooner, or without memorizing first): ordinary learning,
      **comprehension** in Liu et al.'s phase diagrams;
    - not generalized, but memorized (or final train acc >= memorize_acc): **memorization**;
    - neither: **confusion** (the model fits neither its training set nor new data).
    Pure: no state. The one definition of these phases: ``ConvergenceMonitor.phase`` (and so
    a sweep's phase diagram) asks it.
    """
    if generalized_step is not None:
        if memorized_step is None or generalized_step <= memorized_step:
            return Generalization(
                Phase.COMPREHENSION,
                None,
                None,
                f"validation accuracy reached {_acc(grok_acc)} at step "
                f"{round(generalized_step)} without a memorization phase first: "
                "ordinary learning",
            )
        delay = round(generalized_step - memorized_step)
        need = round(max(memorized_step, GROK_MIN_GAPS * eval_gap))
        if delay >= need:
            return Generalization(
                Phase.GROKKING,
                delay,
                need,
                f"the model memorized its training set by step {round(memorized_step)}, "
                f"sat near chance, and generalized {delay} steps later (step "
                f"{round(generalized_step)}): grokking",
            )
        return Generalization(
            Phase.COMPREHENSION,
            delay,
            need,
            f"validation accuracy followed memorization after only {delay} steps "
            f"(grokking needs {need}): ordinary learning",
        )
    fits = memorized_step is not None or (
        final_train_acc is not None and final_train_acc >= memorize_acc
    )
    if fits:
        return Generalization(
            Phase.MEMORIZATION,
            None,
            None,
            f"train accuracy {_acc(final_train_acc)} but validation only "
            f"{_acc(final_val_acc)}: the model memorized without generalizing",
        )
    return Generalization(
        Phase.CONFUSION,
        None,
        None,
        f"train accuracy {_acc(final_train_acc)} and validation {_acc(final_val_acc)}: "
        "the model fits neither its training set nor new data",
    )


# --------------------------------------------------------------------------- small helpers


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
    """Short number for texts: 4 significant digits."""
    return "n/a" if value is None else f"{value:.4g}"


def _pct(fraction: float) -> str:
    """A fraction as a percentage with enough digits to show small changes."""
    p = abs(fraction) * 100.0
    if not math.isfinite(p):
        return "inf%"
    return f"{p:.0f}%" if p >= 10 else f"{p:.2g}%"


def _acc(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.1f}%"


def _datum(value: object) -> float | int | str | bool:
    """An event datum that survives strict JSON: non-finite floats and None become strings."""
    if value is None:
        return "none"
    if isinstance(value, bool | int | str):
        return value
    v = float(value)  # type: ignore[arg-type]
    return v if math.isfinite(v) else str(v)


def _interp(s0: int, a0: float | None, s1: int, a1: float, level: float) -> float:
    """Step where a quantity going a0 (at s0) -> a1 (at s1) crossed level, linearly."""
    if a0 is None or not a1 > a0 or a0 >= level:
        return float(s1) if a0 is None or a0 < level else float(s0)
    return s0 + (level - a0) / (a1 - a0) * (s1 - s0)


@dataclass(frozen=True)
class Trend:
    """A metric over the recent window: levels of its first and last thirds and its noise."""

    start: int  # first step of the window
    level_a: float
    level: float  # median of the last third
    noise: float  # robust jitter between evaluations
    se: float  # standard error of level - level_a
    low: float  # 10th percentile over the window
    high: float  # 90th percentile
    direction: str  # "falling" | "rising" | "flat"

    @property
    def change(self) -> float:
        return self.level - self.level_a

    @property
    def rel_change(self) -> float:
        return self.change / max(abs(self.level_a), _TINY)

    @property
    def jitters(self) -> bool:
        """Noise visible against the level (a stochastic curve rather than a smooth one)."""
        return self.noise > 1e-3 * max(abs(self.level), _TINY)


def _trend(
    points: list[tuple[int, float]], span: float, rel_tol: float, abs_tol: float = 0.0
) -> Trend | None:
    """The Trend of (step, value) points within the last `span` steps; None without evidence.

    Vectorised: it runs several times per evaluation over up to MAX_RECORDS points, on
    the runner thread.
    """
    if not points:
        return None
    steps = np.fromiter((p[0] for p in points), dtype=np.float64, count=len(points))
    values_all = np.fromiter((p[1] for p in points), dtype=np.float64, count=len(points))
    end = steps[-1]
    start = end - span
    inside = steps >= start
    window_steps, values = steps[inside], values_all[inside]
    third = span / 3.0
    a = values[window_steps <= start + third]
    b = values[window_steps >= end - third]
    if a.size < 2 or b.size < 2:
        return None
    diffs = np.diff(values)
    md = _median(diffs)
    noise = 1.4826 * _median(np.abs(diffs - md)) / math.sqrt(2.0)
    se = 1.2533 * noise * math.sqrt(1.0 / a.size + 1.0 / b.size)
    level_a, level_b = _median(a), _median(b)
    change = level_b - level_a
    margin = max(Z * se, rel_tol * max(abs(level_a), abs(level_b)), abs_tol)
    direction = "falling" if change < -margin else "rising" if change > margin else "flat"
    ordered = np.sort(values)
    return Trend(
        start=int(window_steps[0]),
        level_a=level_a,
        level=level_b,
        noise=noise,
        se=se,
        low=_sorted_quantile(ordered, 0.1),
        high=_sorted_quantile(ordered, 0.9),
        direction=direction,
    )


def _median(values: np.ndarray) -> float:
    """The median (mean of the middle two for an even count); np.sort is cheaper than
    np.median on the short windows most runs have."""
    v = np.sort(values)
    n = v.size
    return float(v[n // 2]) if n % 2 else float(0.5 * (v[n // 2 - 1] + v[n // 2]))


def _sorted_quantile(ordered: np.ndarray, q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly between neighbours."""
    pos = q * (ordered.size - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


# --------------------------------------------------------------------------- the judge


class ConvergenceMonitor:
    """Watches one run's evaluation records and reports a status, events and milestones.

    Feed it ``update(record)`` once per evaluation and ``note_nonfinite(step)`` when a
    training step's loss was non-finite. The definitions are in the module docstring.
    """

    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        self._status = Status.COMPILING
        self._explanation = "no evaluation yet"
        self._sentence = "no evaluation yet"
        self._n_records = 0
        self._last_step: int | None = None
        self._min_gap: int | None = None
        # [step, train loss, val loss, train acc, val acc] per evaluation, None when missing
        self._records: list[list] = []
        self._first_train: float | None = None
        self._min_train: float | None = None
        self._rises = 0  # consecutive evaluations with a rising train loss
        self._rise_from: float | None = None  # train loss before the first of those rises
        self._since = 0  # step the shown status began
        self._pending: str | None = None  # a calm status waiting for its dwell
        self._pending_since = 0
        # the lowest validation loss (overfitting): step, val loss, train loss there
        self._vmin: list | None = None
        # best validation (early stopping)
        self._best_step: int | None = None
        self._best_loss: float | None = None
        self._best_acc: float | None = None
        self._evals_since_best = 0
        # milestones
        self._train_acc_100_step: int | None = None
        self._memorized_step: int | None = None
        self._generalized_step: int | None = None
        self._grokked_step: int | None = None
        self._grok_delay: int | None = None
        self._grok_kind: str | None = None
        self._converged_step: int | None = None
        self._diverged_step: int | None = None

    _STATE_KEYS = (
        "explanation", "sentence", "n_records", "last_step", "min_gap", "records",
        "first_train", "min_train", "rises", "rise_from", "since", "pending",
        "pending_since", "vmin", "best_step", "best_loss", "best_acc", "evals_since_best",
        "train_acc_100_step", "memorized_step", "generalized_step", "grokked_step",
        "grok_delay", "grok_kind", "converged_step", "diverged_step",
    )  # fmt: skip

    def state_dict(self) -> dict:
        """Everything needed to continue identically, as JSON-able values only (no NaN/inf:
        a non-finite value never enters the state, it diverges the run first)."""
        state: dict = {"version": STATE_VERSION, "status": str(self._status)}
        for key in self._STATE_KEYS:
            value = getattr(self, "_" + key)
            state[key] = [list(r) for r in value] if key == "records" else value
        if state["vmin"] is not None:
            state["vmin"] = list(state["vmin"])
        return state

    def load_state_dict(self, state: Mapping) -> None:
        """Restore a ``state_dict()`` (e.g. read back from a checkpoint's JSON)."""
        version = state.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"monitor state version {version!r} is not {STATE_VERSION}")
        self._reset()
        self._status = Status(state["status"])
        for key in self._STATE_KEYS:
            value = state[key]
            if key == "records":
                value = [list(r) for r in value]
            elif key == "vmin" and value is not None:
                value = list(value)
            setattr(self, "_" + key, value)

    # ------------------------------------------------------------- read-outs
    @property
    def status(self) -> Status:
        return self._status

    @property
    def verdict(self) -> Verdict:
        """The current status, its numbers and its sentence."""
        return Verdict(self._status, self._explanation, self._sentence)

    @property
    def milestones(self) -> dict[str, int | None]:
        """Step of each milestone, None if it has not happened.

        memorized_step: interpolated step where train accuracy crossed memorize_acc with
        validation near chance; grokked_step: interpolated step where validation accuracy
        crossed grok_acc, when that was grokking; converged_step: first time the status was
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
    def grok_kind(self) -> str | None:
        """judge_generalization's word once validation accuracy crossed grok_acc."""
        return self._grok_kind

    @property
    def phase(self) -> Phase | None:
        """The run's phase so far (Liu et al. 2022): diverged, else judge_generalization's
        word on its milestones and latest accuracies; None for a regression or before any
        evaluation with accuracies."""
        if self._status == Status.DIVERGED:
            return Phase.DIVERGED
        if self._grok_kind is not None:
            return Phase(self._grok_kind)
        last = self._records[-1] if self._records else None
        if self.settings.task != "classification" or last is None or last[3] is None:
            return None
        s = self.settings
        judged = judge_generalization(
            self._memorized_step, None, last[3], last[4],
            memorize_acc=s.memorize_acc, grok_acc=s.grok_acc,
        )  # fmt: skip
        return judged.kind

    @property
    def best_step(self) -> int | None:
        """Step of the best validation so far (what early stopping restores), None before any."""
        return self._best_step

    def should_stop_early(self, patience: int) -> bool:
        """True when ``patience`` or more evaluations passed without a new best validation."""
        return self._n_records > 0 and self._evals_since_best >= patience

    # ---------------------------------------------------------------- inputs
    def note_nonfinite(self, step: int) -> list[MonitorEvent]:
        """A training step's loss was non-finite at ``step``: diverged (sticky)."""
        if self._status == Status.DIVERGED:
            return []
        step = int(step)
        return self._diverge(
            step,
            f"a training step's loss was not a finite number at step {step}: the run has "
            "diverged; lower the learning rate",
            f"non-finite loss in the training step at step {step}",
            {"reason": "nonfinite_step"},
        )

    def update(
        self, record: Mapping[str, float | None], *, diverges_predicted: bool = False
    ) -> list[MonitorEvent]:
        """Take one evaluation record; return the events it caused.

        Uses step, train_loss, val_loss, train_acc, val_acc and grad_norm; other keys are
        ignored; never raises on None, NaN or inf. diverges_predicted: the guarantee says
        this optimizer must diverge on this problem (shown as diverging from the start).
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
        tacc = _num(record.get("train_acc")) if classify else None
        vacc = _num(record.get("val_acc")) if classify else None
        tacc = tacc if _finite(tacc) else None
        vacc = vacc if _finite(vacc) else None
        val = val if _finite(val) else None

        if train is not None and not math.isfinite(train):
            return self._diverge(
                step,
                f"the training loss is no longer a finite number at step {step}: the run "
                "has diverged; lower the learning rate",
                f"train loss {'NaN' if math.isnan(train) else 'infinite'} at step {step}",
                {"reason": "nonfinite", "train_loss": str(train)},
            )
        events = self._track_train(step, train)
        if events:
            return events

        prev = self._records[-1] if self._records else None
        self._records.append([step, train, val, tacc, vacc])
        self._trim(step)

        events += self._milestones(step, prev, tacc, vacc)
        events.extend(self._update_best(step, val, vacc))
        self._track_low_val(step)
        events += self._generalization(step, prev, tacc, vacc)

        status, sentence, numbers = self._judge(step, grad, tacc, vacc, diverges_predicted)
        events.extend(self._show(step, status, sentence, numbers))
        return events

    # ------------------------------------------------------------- the rules
    @property
    def _chance(self) -> float:
        return 0.0 if self.settings.chance is None else float(self.settings.chance)

    @property
    def _near_chance(self) -> float:
        """Validation accuracy below this is near chance: chance + min(max(chance, 0.05), 0.1)
        (twice chance for many classes, never more than 10 points above it)."""
        c = self._chance
        return c + min(max(c, 0.05), 0.1)

    def _gap(self) -> int:
        if self.settings.eval_every is not None:
            return self.settings.eval_every
        return self._min_gap if self._min_gap is not None else 1

    def _span(self, step: int) -> float:
        return max(self.settings.window_fraction * step, MIN_WINDOW_EVALS * self._gap())

    def _step_of(self, record: Mapping[str, float | None]) -> int:
        raw = _num(record.get("step"))
        if _finite(raw):
            return int(raw)  # type: ignore[arg-type]
        return 0 if self._last_step is None else self._last_step + 1

    def _trim(self, step: int) -> None:
        """Drop evaluations no future window can reach (windows only move forward)."""
        keep_from = step - self._span(step)
        while len(self._records) > MIN_WINDOW_EVALS + 2 and self._records[0][0] < keep_from:
            self._records.pop(0)
        if len(self._records) > MAX_RECORDS:
            half = len(self._records) // 2
            self._records = self._records[:half:2] + self._records[half:]

    def _points(self, column: int) -> list[tuple[int, float]]:
        return [(r[0], r[column]) for r in self._records if r[column] is not None]

    def _track_train(self, step: int, train: float | None) -> list[MonitorEvent]:
        """First and lowest train loss, consecutive rises; divergence by size or growth."""
        if train is None:
            return []
        last = next((r[1] for r in reversed(self._records) if r[1] is not None), None)
        if self._first_train is None:
            self._first_train = train
        if last is not None and train > last * (1.0 + 1e-9) + _TINY:
            if self._rises == 0:
                self._rise_from = last
            self._rises += 1
        else:
            self._rises, self._rise_from = 0, None
        self._min_train = train if self._min_train is None else min(self._min_train, train)
        first = self._first_train
        if train > EXPLODE_FACTOR * max(first, _TINY):
            return self._diverge(
                step,
                f"the training loss is {train / max(first, _TINY):.3g}x its first value: "
                "the run has diverged; lower the learning rate",
                f"train loss {_g(train)} at step {step} > {EXPLODE_FACTOR:g} x first {_g(first)}",
                {"reason": "exploding", "train_loss": train, "first_train_loss": first},
            )
        growth = self._growth(train)
        if growth is not None and growth >= DIVERGED_GROWTH and train > first:
            per = growth ** (1.0 / self._rises)
            return self._diverge(
                step,
                f"the training loss grew {growth:.3g}x over the last {self._rises} "
                f"evaluations ({per:.3g}x every {self._gap()} steps) and is above where it "
                "started: the run has diverged; lower the learning rate",
                f"train loss {_g(self._rise_from)} -> {_g(train)} ({growth:.3g}x) over "
                f"{self._rises} rising evals; first {_g(first)}",
                {"reason": "growing", "train_loss": train, "growth": growth,
                 "rises": self._rises},
            )  # fmt: skip
        return []

    def _track_low_val(self, step: int) -> None:
        """The lowest validation *level* so far (median of the window's last third, not a
        single lucky evaluation), with the train level at the same moment."""
        span = self._span(step)
        val = _trend(self._points(2), span, self.settings.flat_rel_tol)
        train = _trend(self._points(1), span, self.settings.flat_rel_tol)
        last = self._records[-1]
        v = val.level if val is not None else last[2]
        t = train.level if train is not None else last[1]
        if v is not None and t is not None and (self._vmin is None or v < self._vmin[1]):
            self._vmin = [step, v, t]

    def _growth(self, train: float) -> float | None:
        """Growth factor over the current run of rises, when it is GROWTH_RISES long."""
        if self._rises < GROWTH_RISES or self._rise_from is None:
            return None
        return train / max(self._rise_from, _TINY)

    def _milestones(
        self, step: int, prev: list | None, tacc: float | None, vacc: float | None
    ) -> list[MonitorEvent]:
        s = self.settings
        events = []
        if tacc is not None and tacc >= 1.0 and self._train_acc_100_step is None:
            self._train_acc_100_step = step
            events.append(
                MonitorEvent(
                    step,
                    "train_acc_100",
                    f"train accuracy reached 100% at step {step} (val acc {_acc(vacc)})",
                    (("train_acc", tacc), ("val_acc", _datum(vacc))),
                )
            )
        if (
            self._memorized_step is None
            and self._generalized_step is None
            and tacc is not None
            and vacc is not None
            and tacc >= s.memorize_acc
            and vacc < self._near_chance
        ):
            at = _interp(prev[0] if prev else step, prev[3] if prev else None, step, tacc,
                         s.memorize_acc)  # fmt: skip
            self._memorized_step = round(at)
            events.append(
                MonitorEvent(
                    step,
                    "memorized",
                    f"memorized by step {self._memorized_step}: train accuracy "
                    f"{_acc(tacc)} while validation accuracy {_acc(vacc)} is near chance "
                    f"({_acc(self._chance)}; near means below {_acc(self._near_chance)})",
                    (
                        ("memorized_step", self._memorized_step),
                        ("train_acc", tacc),
                        ("val_acc", vacc),
                        ("chance", self._chance),
                    ),
                )  # fmt: skip
            )
        return events

    def _generalization(
        self, step: int, prev: list | None, tacc: float | None, vacc: float | None
    ) -> list[MonitorEvent]:
        """Validation accuracy crossing grok_acc: grokking or ordinary learning."""
        s = self.settings
        if s.task != "classification" or self._generalized_step is not None:
            return []
        if vacc is None or vacc < s.grok_acc:
            return []
        at = _interp(prev[0] if prev else step, prev[4] if prev else None, step, vacc, s.grok_acc)
        self._generalized_step = round(at)
        judged = judge_generalization(
            self._memorized_step,
            at,
            tacc,
            vacc,
            memorize_acc=s.memorize_acc,
            grok_acc=s.grok_acc,
            eval_gap=self._gap(),
        )
        self._grok_kind = judged.kind
        self._grok_delay = judged.delay
        if judged.kind == Phase.GROKKING:
            self._grokked_step = self._generalized_step
            return []  # the status change carries it (and its milestone event)
        if self._memorized_step is None:
            return []  # no grokking question arose: nothing to tell
        return [
            MonitorEvent(
                step,
                "generalized",
                judged.sentence,
                (
                    ("kind", judged.kind),
                    ("generalized_step", self._generalized_step),
                    ("delay", _datum(judged.delay)),
                    ("required_delay", _datum(judged.required_delay)),
                ),
            )  # fmt: skip
        ]

    def _update_best(self, step: int, val: float | None, vacc: float | None) -> list:
        """Best: lowest val loss (regression); highest val acc, then lowest loss (classifier)."""
        if self.settings.task == "classification":
            if vacc is None:
                return []
            if self._best_step is None or vacc > self._best_acc:  # type: ignore[operator]
                better = True
            elif vacc == self._best_acc and val is not None:
                better = self._best_loss is None or val < self._best_loss - BEST_REL_TOL * abs(
                    self._best_loss
                )
            else:
                better = False
            if not better:
                return []
            was = "" if self._best_step is None else f" (was {_acc(self._best_acc)})"
            self._best_step, self._best_acc, self._best_loss = step, vacc, val
            self._evals_since_best = 0
            return [
                MonitorEvent(
                    step,
                    "best_val",
                    f"best validation at step {step}: val acc {_acc(vacc)}, val loss "
                    f"{_g(val)}{was}",
                    (("val_acc", vacc), ("val_loss", _datum(val))),
                )
            ]
        if val is None:
            return []
        if self._best_loss is not None and not val < self._best_loss - BEST_REL_TOL * abs(
            self._best_loss
        ):
            return []
        was = "" if self._best_step is None else f" (was {_g(self._best_loss)})"
        self._best_step, self._best_loss = step, val
        self._evals_since_best = 0
        return [
            MonitorEvent(
                step,
                "best_val",
                f"best validation at step {step}: val loss {_g(val)}{was}",
                (("val_loss", val),),
            )
        ]

    # ------------------------------------------------------------ the verdict
    def _judge(
        self,
        step: int,
        grad: float | None,
        tacc: float | None,
        vacc: float | None,
        predicted: bool,
    ) -> tuple[Status, str, dict]:
        s = self.settings
        current = self._status
        if current == Status.GROKKED or self._grokked_step is not None:
            # Sticky: the sentence stays the one given at grokking, the numbers stay live.
            numbers = {"memorized_step": self._memorized_step, "grokked_step": self._grokked_step,
                       "delay": self._grok_delay, "kind": "grokking", "val_acc": vacc}  # fmt: skip
            if current == Status.GROKKED:
                return current, self._sentence, numbers
            return (
                Status.GROKKED,
                f"the model memorized its training set by step {self._memorized_step}, "
                f"sat near chance, then validation accuracy passed {_acc(s.grok_acc)} at "
                f"step {self._grokked_step}, {self._grok_delay} steps later: it grokked",
                numbers,
            )
        diverging = self._diverging(predicted)
        if diverging is not None:
            return diverging
        memorizing = self._memorizing(tacc, vacc)
        if memorizing is not None:
            return memorizing
        span = self._span(step)
        train = _trend(self._points(1), span, s.flat_rel_tol)
        over = self._overfitting(span, train)
        if over is not None:
            return over
        return self._calm(step, grad, train, span)

    def _diverging(self, predicted: bool) -> tuple[Status, str, dict] | None:
        last = self._records[-1][1]
        if predicted:
            return (
                Status.DIVERGING,
                "the guarantee says this learning rate is above the stable bound for this "
                "problem: the loss must eventually grow without limit; lower the learning rate",
                {"reason": "predicted", "train_loss": last},
            )
        growth = self._growth(last) if last is not None else None
        low = self._min_train
        first = self._first_train
        if growth is not None and growth >= DIVERGING_GROWTH and low is not None:
            near_zero = (
                first is not None and last is not None and last < DIVERGING_FLOOR * abs(first)
            )
            if last is not None and last >= DIVERGING_GROWTH * low and not near_zero:
                return (
                    Status.DIVERGING,
                    f"the training loss grew {growth:.3g}x over the last {self._rises} "
                    "evaluations: it may be diverging; lower the learning rate if it goes on",
                    {"reason": "growing", "train_loss": last, "growth": growth,
                     "lowest_train_loss": low},
                )  # fmt: skip
        return None

    def _memorizing(self, tacc: float | None, vacc: float | None) -> tuple | None:
        s = self.settings
        if s.task != "classification" or tacc is None or vacc is None:
            return None
        need = s.memorize_acc - (MEMORIZE_HOLD if self._status == Status.MEMORIZING else 0.0)
        if self._memorized_step is None or tacc < need or vacc >= self._near_chance:
            return None
        return (
            Status.MEMORIZING,
            f"train accuracy is {_acc(tacc)} but validation accuracy is {_acc(vacc)}, near "
            f"chance ({_acc(self._chance)}): the model has memorized its training set "
            "without learning the rule",
            {"train_acc": tacc, "val_acc": vacc, "chance": self._chance,
             "near_chance_below": self._near_chance,
             "memorized_step": self._memorized_step},
        )  # fmt: skip

    def _overfitting(self, span: float, train: Trend | None) -> tuple | None:
        s = self.settings
        if self._vmin is None or train is None:
            return None
        if self._memorized_step is not None and self._generalized_step is None:
            return None  # the memorization story: memorizing, then maybe grokking
        val = _trend(self._points(2), span, s.flat_rel_tol)
        if val is None:
            return None
        best_step, v_best, t_best = self._vmin
        if t_best is None or best_step == 0:
            # Lowest at the first evaluation: the model never fitted the validation set, so
            # it cannot have lost it to noise (early steps can hurt it before they help).
            return None
        holding = self._status == Status.OVERFITTING
        k = 0.5 if holding else 1.0
        excess = val.level - v_best
        rel = s.overfit_rel
        n_val = s.reference.n_val
        if s.task == "regression" and n_val > 0:
            # The mse of n_val rows has a relative sampling error of about sqrt(2 / n_val):
            # a smaller rise could be the validation set's luck, not the model.
            rel = max(rel, math.sqrt(2.0 / n_val))
        rel_need = k * rel * max(abs(v_best), _TINY)
        noise_need = (2.0 if holding else Z) * val.noise
        train_need = 0.0 if holding else max(0.01 * abs(t_best), 2.0 * train.noise)
        rose = excess > rel_need and excess > noise_need
        nv = s.reference.noise_var
        if nv is not None:
            # A validation loss at the noise floor generalizes as well as anything can: a
            # best below it was a lucky draw of the validation set, not a better model.
            rose = rose and val.level > nv * (1.0 + k * s.overfit_rel)
        fell = train.level < t_best - train_need
        if not (rose and fell):
            return None
        up = excess / max(abs(v_best), _TINY)
        down = (t_best - train.level) / max(abs(t_best), _TINY)
        return (
            Status.OVERFITTING,
            f"validation loss has risen {_pct(up)} since step {best_step} while training "
            f"loss kept falling ({_pct(down)}): the model is fitting noise in its "
            "training set, not the rule",
            {"best_val_step": best_step, "best_val_loss": v_best, "val_loss": val.level,
             "val_rise": up, "train_at_best": t_best, "train_loss": train.level,
             "train_fall": down, "val_noise": val.noise},
        )  # fmt: skip

    def _stalled(self) -> bool:
        """The train loss fell by less than STALL_REL over the recent window (or not at all)."""
        step = self._records[-1][0]
        train = _trend(self._points(1), self._span(step), self.settings.flat_rel_tol)
        return train is None or train.direction != "falling" or -train.rel_change < STALL_REL

    def _calm(self, step: int, grad: float | None, train: Trend | None, span: float) -> tuple:
        s = self.settings
        stationary = _finite(grad) and grad < s.grad_tol  # type: ignore[operator]
        if s.task == "classification":
            return self._calm_classifier(step, stationary, train, span)
        last = self._records[-1][1]
        if train is None and not stationary:
            return (
                Status.IMPROVING,
                "training has just started: too few evaluations to judge the trend yet",
                {"train_loss": last},
            )
        level = last if train is None or stationary else train.level
        numbers: dict = {"train_loss": level, "window_start": train.start if train else step}
        if stationary:
            numbers["stationary"] = True
        if train is not None:
            numbers.update(change=train.rel_change, noise=train.noise)
        holding = self._status == Status.CONVERGED
        if (
            train is not None
            and not stationary
            and self._still_falling(train, holding)
            and self._fall_matters(train)
        ):
            return (
                Status.IMPROVING,
                f"training loss fell {_pct(train.rel_change)} since step {train.start} "
                f"({_g(train.level_a)} -> {_g(train.level)}): still improving",
                numbers,
            )
        why = (
            f"the gradient norm is below {s.grad_tol:g}"
            if stationary
            else "the training loss has stopped falling"
            if train is None or train.direction != "falling"
            else f"the training loss has all but stopped falling ({_pct(train.rel_change)} "
            f"since step {train.start})"
        )
        if train is not None and train.jitters and not stationary:
            band = f" (it jitters between {_g(train.low)} and {_g(train.high)})"
            numbers.update(band_low=train.low, band_high=train.high)
        else:
            band = ""
        return self._fit_regression(level, why, band, numbers)

    def _fall_matters(self, train: Trend) -> bool:
        """A fall worth calling improvement (regression with a known noise floor): at the
        floor, more than a tenth of its tolerance; far above it, more than STALL_REL."""
        ref = self.settings.reference
        nv = ref.noise_var
        if nv is None:
            return True
        tol = max(0.25 * nv, 0.02 * (ref.target_var or 0.0))
        if train.level <= nv + tol:
            return -train.change > 0.1 * tol
        if train.level > nv + 2.0 * tol and self.settings.floor is None:
            return -train.rel_change >= STALL_REL
        return True

    def _still_falling(self, train: Trend, holding: bool) -> bool:
        """Falling, and (once converged) by more than HOLD_REL: a converged run is not
        called improving again for a dip inside its jitter."""
        if train.direction != "falling":
            return False
        return not holding or -train.rel_change > HOLD_REL

    def _fit_regression(self, level: float, why: str, band: str, numbers: dict) -> tuple:
        s = self.settings
        ref = s.reference
        nv, tv, f = ref.noise_var, ref.target_var, s.floor
        holding = self._status == Status.CONVERGED
        r2 = None if not tv else 1.0 - level / tv
        numbers.update(noise_var=nv, target_var=tv, floor=f, r2=r2)
        r2_text = "" if r2 is None else f", R\u00b2 {r2:.3g}"
        at_lstsq = f is not None and level <= f + max(0.01 * f, 1e-3 * (tv or 0.0), _TINY)
        if nv is not None:
            tol = max(0.25 * nv, 0.02 * (tv or 0.0))
            allowed = None if not tv else 1.0 - nv / tv
            allowed_text = "" if allowed is None else f"; the noise allows R\u00b2 {allowed:.3g}"
            if level <= nv + (1.5 if holding else 1.0) * tol:
                where = (
                    "below the noise floor of this data, so it fits some of the noise"
                    if level < nv - tol
                    else "at the noise floor of this data"
                )
                return (
                    Status.CONVERGED,
                    f"{why}{band} at {_g(level)}, {where} (noise variance {_g(nv)}"
                    f"{r2_text}): converged" + (", stochastically" if band else ""),
                    numbers,
                )
            if at_lstsq:
                return (
                    Status.UNDERFITTING,
                    f"{why} at the best {s.model} fit ({_g(level)}{r2_text}), far above the "
                    f"noise floor {_g(nv)}{allowed_text}: the model class cannot fit this "
                    "data (underfitting)",
                    numbers,
                )
            if f is None and level > nv + 2.0 * tol and self._stalled():
                return (
                    Status.UNDERFITTING,
                    f"{why}{band} at {_g(level)}{r2_text}, far above the noise floor "
                    f"{_g(nv)}{allowed_text}: the model is not fitting the data",
                    numbers,
                )
        elif at_lstsq:
            return (
                Status.CONVERGED,
                f"{why}{band} at the best {s.model} fit ({_g(level)}{r2_text}); how much of "
                "what is left is noise is unknown for this data: converged",
                numbers,
            )
        target = "" if f is None else f" (this model can reach {_g(f)})"
        floor = "" if nv is not None else "; the noise floor of this data is unknown"
        return (
            Status.PLATEAU,
            f"{why}{band} at {_g(level)}{r2_text}{target}{floor}: a plateau",
            numbers,
        )

    def _calm_classifier(
        self, step: int, stationary: bool, train: Trend | None, span: float
    ) -> tuple:
        s = self.settings
        ref = s.reference
        n_val = max(ref.n_val, 1)
        last_acc = self._records[-1][4]
        p = 0.5 if last_acc is None else min(max(last_acc, 0.0), 1.0)
        # A validation accuracy moves in steps of 1 / n_val: within two binomial standard
        # errors it is not telling anything.
        acc_tol = max(1.5 / n_val, 0.005, 2.0 * math.sqrt(p * (1.0 - p) / n_val))
        vacc = _trend(self._points(4), span, s.flat_rel_tol, acc_tol)
        # A model whose training accuracy climbs is fitting its data: never too simple.
        # The validation split's tolerance: at least as wide as the training split's (it
        # has as many rows or fewer), so only a clear climb counts.
        tacc = _trend(self._points(3), span, s.flat_rel_tol, acc_tol)
        fitting = tacc is not None and tacc.direction == "rising"
        last = self._records[-1]
        if (train is None or vacc is None) and not stationary:
            return (
                Status.IMPROVING,
                "training has just started: too few evaluations to judge the trend yet",
                {"train_loss": last[1], "val_acc": last[4]},
            )
        level = last[4] if vacc is None else vacc.level
        numbers: dict = {"val_acc": level, "train_loss": last[1] if train is None else train.level}
        rising = vacc is not None and vacc.direction == "rising"
        falling = train is not None and train.direction == "falling"
        b = ref.bayes_acc
        holding = self._status == Status.CONVERGED
        if b is not None and level is not None and not rising:
            tol = max(0.025, 2.0 * math.sqrt(b * (1.0 - b) / n_val) + 1.0 / n_val)
            numbers.update(bayes_acc=b, tolerance=tol)
            if level >= b - (1.5 if holding else 1.0) * tol:
                more = "; the loss still falls as margins grow" if falling else ""
                return (
                    Status.CONVERGED,
                    f"validation accuracy {_acc(level)} is at the Bayes limit "
                    f"{_acc(b)} of this data{more}: converged",
                    numbers,
                )
            if self._stalled() and not fitting and level < b - 2.0 * tol:
                return (
                    Status.UNDERFITTING,
                    f"training has stopped improving at {_acc(level)} validation accuracy, "
                    f"well below the {_acc(b)} this data allows: the model is too simple "
                    "for it (underfitting)",
                    numbers,
                )
        elif (
            b is None
            and level is not None
            and ref.majority_rate is not None
            and not rising
            and not fitting
            and self._stalled()
        ):
            tol = max(0.025, 1.0 / n_val)
            numbers.update(majority_rate=ref.majority_rate)
            if level <= ref.majority_rate + tol:
                return (
                    Status.UNDERFITTING,
                    f"training has stopped at {_acc(level)} validation accuracy, no better "
                    f"than always guessing the most common class ({_acc(ref.majority_rate)})",
                    numbers,
                )
        if rising or fitting or (falling and not self._stalled()):
            what = (
                f"validation accuracy rose to {_acc(level)} since step {vacc.start}"
                if rising and vacc is not None
                else f"training accuracy rose to {_acc(tacc.level)} since step {tacc.start}"
                if fitting and tacc is not None
                else f"training loss fell {_pct(train.rel_change)} since step {train.start}"  # type: ignore[union-attr]
            )
            return Status.IMPROVING, f"{what}: still improving", numbers
        floor = "" if b is not None else "; the best accuracy this data allows is unknown"
        return (
            Status.PLATEAU,
            f"training has stopped improving at {_acc(level)} validation accuracy{floor}: "
            "a plateau",
            numbers,
        )

    # ------------------------------------------------------------ transitions
    def _show(self, step: int, status: Status, sentence: str, numbers: dict) -> list:
        """Apply the dwell to calm changes, set the verdict, and emit what changed."""
        old = self._status
        # A stationary point (gradient below grad_tol) is a fact, not a trend: no dwell.
        settled = bool(numbers.get("stationary"))
        if status != old and status in CALM and old in CALM and not settled:
            if self._pending != status:
                self._pending, self._pending_since = str(status), step
            if step - self._pending_since < self.settings.dwell_fraction * step:
                return []  # not yet: the shown verdict stands, its words unchanged
        if status == old:
            self._pending = None
        self._sentence = sentence
        self._explanation = _numbers_line(numbers)
        if status == old:
            return []
        self._status = status
        self._since = step
        self._pending = None
        data = (("from", str(old)), ("to", str(status))) + tuple(
            (k, _datum(v)) for k, v in numbers.items() if v is not None
        )
        events = [MonitorEvent(step, "status", f"{old} -> {status}: {sentence}", data)]
        # A milestone names its step only (the log shows it after its kind: "grokked at
        # step N"): the status change beside it has the sentence.
        if status == Status.GROKKED:
            fact = f"at step {self._grokked_step}, {self._grok_delay} steps after memorizing"
            events.append(MonitorEvent(step, "grokked", fact, data[2:]))
        elif status == Status.CONVERGED and self._converged_step is None:
            self._converged_step = step
            events.append(MonitorEvent(step, "converged", f"at step {step}", data[2:]))
        return events

    def _diverge(self, step: int, sentence: str, numbers_text: str, data: dict) -> list:
        old = self._status
        self._status = Status.DIVERGED
        self._sentence = sentence
        self._explanation = numbers_text
        self._since = step
        self._diverged_step = step
        pairs = tuple((k, _datum(v)) for k, v in data.items())
        return [
            MonitorEvent(
                step,
                "status",
                f"{old} -> diverged: {sentence}",
                (("from", str(old)), ("to", "diverged")) + pairs,
            ),  # fmt: skip
            MonitorEvent(step, "diverged", f"diverged at step {step}: {sentence}", pairs),
        ]


_LABELS = {
    "train_loss": "train loss",
    "val_loss": "val loss",
    "val_acc": "val acc",
    "train_acc": "train acc",
    "change": "change over window",
    "noise": "noise",
    "noise_var": "noise variance",
    "target_var": "target variance",
    "floor": "least-squares floor",
    "r2": "R\u00b2",
    "bayes_acc": "Bayes acc",
    "tolerance": "tolerance",
    "band_low": "band low",
    "band_high": "band high",
    "window_start": "window from step",
    # the overfitting reference is the lowest val loss, which for a classifier need not
    # be the best-validation point (highest accuracy) that the panel and chart show
    "best_val_step": "lowest val loss at step",
    "best_val_loss": "lowest val loss",
    "val_rise": "val rise",
    "train_at_best": "train loss then",
    "train_fall": "train fall",
    "val_noise": "val noise",
    "growth": "growth",
    "lowest_train_loss": "lowest train loss",
    "majority_rate": "majority class",
    "chance": "chance",
    "near_chance_below": "near chance below",
    "memorized_step": "memorized at step",
    "grokked_step": "grokked at step",
    "delay": "delay",
    "stationary": "gradient below grad_tol",
}


def _numbers_line(numbers: Mapping[str, object]) -> str:
    """The numbers behind a verdict, one line: 'train loss 0.7354, R² 0.83, ...'."""
    parts = []
    for key, value in numbers.items():
        if value is None or key in ("reason", "kind"):
            continue
        label = _LABELS.get(key, key.replace("_", " "))
        if isinstance(value, bool):
            if value:
                parts.append(label)
        elif isinstance(value, str):
            parts.append(f"{label} {value}")
        elif key in ("change", "val_rise", "train_fall"):
            parts.append(f"{label} {'+' if float(value) >= 0 else '-'}{_pct(float(value))}")  # type: ignore[arg-type]
        elif key.endswith("acc") or key in ("chance", "near_chance_below", "majority_rate"):
            parts.append(f"{label} {_acc(float(value))}")  # type: ignore[arg-type]
        elif isinstance(value, int):
            parts.append(f"{label} {value}")
        else:
            parts.append(f"{label} {_g(float(value))}")  # type: ignore[arg-type]
    return ", ".join(parts) if parts else "no numbers yet"
