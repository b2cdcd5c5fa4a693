"""A live training run: the trainer plus everything that turns its numbers into meaning.

`Session.advance(k)` runs k steps through the compiled kernels, evaluating on the config's
schedule (`train.eval_every`). Each evaluation becomes a metrics record, goes into the
bounded history and through the convergence monitor, and may raise events (status changes,
milestones, early stopping). Listeners (the run-directory writer) receive every record and
event as it happens. A Session has no thread of its own: engine/live/runner.py drives it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np

from engine.numerics import reference
from engine.numerics.optim import HParams, lr_schedule
from engine.numerics.parallel import shard_cores
from engine.training.fit import original_units, r_squared, term_names
from engine.training.guarantee import Guarantee, observed_contraction, quadratic_guarantee
from engine.training.history import MetricHistory
from engine.training.hparams import LIVE_HPARAMS, validate_hparam
from engine.training.monitor import ConvergenceMonitor, MonitorSettings
from engine.training.trainer import Trainer
from engine.vocabulary import Event, Status

# Per-evaluation record keys, in CSV order first: metrics.csv's header, which is fixed.
CSV_COLUMNS = (
    "step",
    "epoch",
    "train_loss",
    "val_loss",
    "train_acc",
    "val_acc",
    "grad_norm",
    "weight_norm",
    "lr",
    "weight_decay",
    "batch_size",
    "elapsed_s",
)

# Per-step series (from the kernels) and per-evaluation series (from _evaluate).
STEP_SERIES = ("step_loss", "step_grad_norm")
EVAL_SERIES = (
    "train_loss",
    "val_loss",
    "train_acc",
    "val_acc",
    "train_mad",
    "val_mad",
    "grad_norm",
    "weight_norm",
    "lr",
)
HISTORY_SERIES = STEP_SERIES + EVAL_SERIES

# In-memory bounds; the run directory (engine/store/rundir.py) keeps everything on disk.
MAX_EVENTS_KEPT = 5000
MAX_ROWS_KEPT = 200_000

# Per-step norms kept for fitting the observed contraction on quadratic problems.
_CONTRACTION_WINDOW = 4096

# A model without intercept is advised to get one when the targets' mean is further from 0
# than this many standard deviations: the mean then costs over 1% of the variance in mse.
NO_INTERCEPT_MEAN_SD = 0.1

# Models whose weights read as a fit (one layer: coefficients and intercept per output).
FIT_MODELS = ("linear", "polynomial", "softmax")

# Why a run ended (summary.json "stopped_by"): the seed's gradient criterion, the step
# budget, divergence, early stopping, or grokking (with stop_on_converged).
STOP_GRAD_TOL, STOP_STEPS, STOP_DIVERGED, STOP_EARLY, STOP_GROKKED = (
    "grad_tol",
    "steps",
    "diverged",
    "early_stop",
    "grokked",
)


@dataclass(frozen=True)
class AdvanceResult:
    steps_done: int
    diverged: bool  # a non-finite loss stopped the run
    finished: bool  # reached the step budget, converged with stop_on_converged, or early stop


def _finite_or_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


class Session:
    def __init__(self, cfg, impl: str = "compiled") -> None:
        self.cfg = cfg
        self.trainer = Trainer(cfg, impl=impl)
        self.listeners: list[Callable[[str, dict], None]] = []  # ("record"|"event", payload)
        self._hp_initial = self.trainer.hp
        self.target_steps = cfg.train.steps  # the runner may extend it when asked to go on
        self._start_fresh()

    @property
    def target_steps(self) -> int:
        """The step budget: the run finishes when it reaches this step."""
        return self._target_steps

    @target_steps.setter
    def target_steps(self, steps: int) -> None:
        # The lr schedule is planned over the budget in force: a step's lr depends on the
        # step and the budget only. A budget extended at step s (a resume with more
        # --steps, going on after the end) re-plans the steps from s on as a run started
        # with the new budget would take them; a resume with the same budget changes
        # nothing, so it continues bit for bit. Only cosine has a horizon to re-plan.
        self._target_steps = int(steps)
        if self.trainer.hp.total_steps != self._target_steps:
            self.trainer.hp = self.trainer.hp.with_(total_steps=self._target_steps)

    # ------------------------------------------------------------------ state
    def _start_fresh(self) -> None:
        self.guarantee = self._compute_guarantee()
        self.history = MetricHistory(HISTORY_SERIES)
        self.monitor = ConvergenceMonitor(self._monitor_settings())
        self.events: deque[Event] = deque(maxlen=MAX_EVENTS_KEPT)  # all of them go to listeners
        self.rows: deque[tuple] = deque(maxlen=MAX_ROWS_KEPT)  # metrics rows, CSV columns
        self.last_record: dict | None = None
        self.best_record: dict | None = None
        self.best_params: np.ndarray | None = None
        self.test_metrics: dict | None = None
        self.early_stopped_at: int | None = None
        self.restored_from: int | None = None
        self.stopped_by: str | None = None
        self.resumed_at: int | None = None  # the step a checkpoint was loaded at
        self.elapsed = 0.0
        self.steps_per_s = 0.0
        self._grad_tail: list[float] = []
        self._last_ratio: float | None = None
        self._chunk_start: float | None = None
        self._t0 = time.perf_counter()

    def state_dict(self) -> dict:
        """Everything a continued run needs: numpy arrays at the top level, the rest JSON-able.

        The trainer's entries sit at the top (so a checkpoint names each parameter
        `param.<layer>.weight`), the history's under "history.", the monitor's in "monitor".
        Floats stay as they are, non-finite ones included.
        """
        state = self.trainer.state_dict()
        state.update({f"history.{k}": v for k, v in self.history.state_dict().items()})
        g = self.guarantee
        own = {
            "monitor": self.monitor.state_dict(),
            "hparams_initial": dict(vars(self._hp_initial)),
            "target_steps": self.target_steps,
            # Saved, not recomputed: its prediction starts from the gradient norm of the
            # moment it was made (the start, or the last lr edit).
            "guarantee": None
            if g is None
            else {f.name: getattr(g, f.name) for f in fields(g) if f.name != "lstsq_params"},
            "events": [_event_state(e) for e in self.events],
            "rows": [list(row) for row in self.rows],
            "last_record": _record_state(self.last_record),
            "best_record": _record_state(self.best_record),
            "best_params": None if self.best_params is None else self.best_params.copy(),
            "test_metrics": None if self.test_metrics is None else dict(self.test_metrics),
            "early_stopped_at": self.early_stopped_at,
            "restored_from": self.restored_from,
            "stopped_by": self.stopped_by,
            "elapsed": self.elapsed,
            "steps_per_s": self.steps_per_s,
            "grad_tail": np.asarray(self._grad_tail, dtype=np.float64),
            "last_ratio": self._last_ratio,
        }
        if g is not None:
            own["guarantee.lstsq_params"] = g.lstsq_params.copy()
        assert not own.keys() & state.keys(), "a session key shadows a trainer or history key"
        state.update(own)
        return state

    def load_state_dict(self, state) -> None:
        """Restore a `state_dict()` into this session (built from the same config).

        Listeners stay: a run directory opened before the load keeps receiving.
        """
        self.trainer.load_state_dict(state)
        prefix = "history."
        self.history.load_state_dict(
            {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        )
        self.monitor.load_state_dict(state["monitor"])
        self._hp_initial = HParams(**state["hparams_initial"])
        saved_target = int(state["target_steps"])
        g = state["guarantee"]
        self.guarantee = (
            None
            if g is None
            else Guarantee(**g, lstsq_params=np.array(state["guarantee.lstsq_params"]))
        )
        self.events.clear()
        self.events.extend(Event(**e) for e in state["events"])
        self.rows.clear()
        self.rows.extend(tuple(row) for row in state["rows"])
        self.last_record = _record_from_state(state["last_record"])
        self.best_record = _record_from_state(state["best_record"])
        best = state["best_params"]
        self.best_params = None if best is None else np.array(best, dtype=self.trainer.dtype)
        self.test_metrics = None if state["test_metrics"] is None else dict(state["test_metrics"])
        self.early_stopped_at = state["early_stopped_at"]
        self.restored_from = state["restored_from"]
        self.stopped_by = state.get("stopped_by")  # absent from older checkpoints
        # A resumed run may be asked for more steps than it was started with (never fewer:
        # the checkpoint's config holds its first budget, which going on may have passed).
        self.target_steps = max(saved_target, self.cfg.train.steps)
        if self.target_steps > saved_target:
            self.stopped_by = None  # a new budget: the run goes on, and says later why it ends
        self.resumed_at = self.step
        self.elapsed = float(state["elapsed"])
        self.steps_per_s = float(state["steps_per_s"])
        self._grad_tail = np.asarray(state["grad_tail"], dtype=np.float64).tolist()
        self._last_ratio = state["last_ratio"]

    @property
    def step(self) -> int:
        return self.trainer.step

    def nothing_left(self) -> str | None:
        """Why this run has no step left to train (it ended and no budget was added), or
        None: so a resumed finished run trains nothing rather than one step past its end."""
        if self.stopped_by is None and self.step < self.target_steps:
            return None
        why = f"stopped by {self.stopped_by}" if self.stopped_by else "at its budget"
        return (
            f"the run ended at step {self.step} ({why}, budget {self.target_steps} steps); "
            f"nothing to train: pass --steps N with N > {self.target_steps} to go on"
        )

    @property
    def task(self) -> str:
        return self.trainer.data.task

    @property
    def is_quadratic(self) -> bool:
        cfg = self.cfg
        regression = not cfg.is_classification  # mse on one-hot targets has no guarantee here
        return cfg.model.kind in ("linear", "polynomial") and cfg.loss.kind == "mse" and regression

    def _monitor_settings(self) -> MonitorSettings:
        conv = self.cfg.convergence
        data = self.trainer.data
        chance = conv.chance
        if chance is None and data.task == "classification":
            chance = 1.0 / data.n_outputs
        model = self.cfg.model
        words = {"mlp": "MLP", "softmax": "linear (softmax)"}
        return MonitorSettings(
            grad_tol=conv.grad_tol,
            flat_rel_tol=conv.plateau_rel_tol,
            window_fraction=conv.window_fraction,
            dwell_fraction=conv.dwell_fraction,
            overfit_rel=conv.overfit_rel,
            chance=chance,
            memorize_acc=conv.memorize_acc,
            grok_acc=conv.grok_acc,
            task=data.task,
            # The least-squares floor of the model class (with the ridge penalty, if any).
            floor=getattr(self.guarantee, "lstsq_loss", None),
            reference=data.reference,
            eval_every=self.cfg.train.eval_every,
            model=str(words.get(model.kind, model.kind)),
        )

    def _compute_guarantee(self) -> Guarantee | None:
        if not self.is_quadratic:
            return None
        train = self.trainer.splits["train"]
        return quadratic_guarantee(
            train.xd,
            train.yf,
            self.trainer.arch.bias,
            self.trainer.hp,
            self.cfg.convergence.grad_tol,
            self.trainer.params,
        )

    def current_lr(self) -> float:
        """The learning rate the next step will use: the base lr through its schedule."""
        return float(lr_schedule(self.trainer.hp, self.step, 1)[0])

    def observed_contraction(self) -> float:
        """The rate fitted to the gradient norms; NaN when no deterministic guarantee applies
        (there is no predicted rate to set it beside)."""
        g = self.guarantee
        if g is None or not g.applies:
            return math.nan
        return observed_contraction(np.asarray(self._grad_tail))

    # ------------------------------------------------------------------ events
    def _emit(
        self, kind: str, detail: str, step: int | None = None, data: dict | None = None
    ) -> Event:
        event = Event(
            self.step if step is None else step,
            time.perf_counter() - self._t0,
            kind,
            detail,
            MappingProxyType(data or {}),
        )
        self.events.append(event)
        for listener in self.listeners:
            listener("event", event.as_dict())
        return event

    def note(self, kind: str, detail: str, data: dict | None = None) -> Event:
        """Record an event that comes from outside the maths (pause, resume, reset...)."""
        return self._emit(kind, detail, data=data)

    # ------------------------------------------------------------------ running
    def begin(self) -> None:
        """Evaluate the starting point, so every curve begins at step 0."""
        self._emit(
            "start",
            f"{self.cfg.name}: seed {self.trainer.seed}, {self.trainer.arch.n_params} parameters",
            # The shard count, and with it every sum, follows the cores: a replay needs it.
            data={"shard_cores": shard_cores() if self.trainer.impl == "compiled" else 1},
        )
        for note in self.cfg.notes:
            self._emit("advice", note)
        self._advise_intercept()
        if self.guarantee is not None:
            self._emit("guarantee", self.guarantee.summary())
        self._evaluate()

    def _advise_intercept(self) -> None:
        """Say so when a regression model has no intercept but its targets are far from 0
        (and the data's own function does not pass through the origin)."""
        ref, data = self.trainer.data.reference, self.trainer.data
        mean, var = ref.target_mean, ref.target_var
        if self.cfg.model.bias or data.task != "regression" or mean is None or var is None:
            return
        if ref.true_intercept == 0.0 or abs(mean) <= NO_INTERCEPT_MEAN_SD * math.sqrt(var):
            return
        sd = math.sqrt(var)
        away = f"{abs(mean) / sd:.1f} standard deviations from 0" if sd > 0 else "not 0"
        if data.scaling is not None and self.cfg.loss.kind == "mse":
            cost = (
                f"with standardized features it predicts 0 at their mean, so its training "
                f"loss cannot fall below mean² = {mean * mean:.4g}"
            )
        else:
            cost = "its fit must pass through the origin"
        self._emit(
            "advice",
            f"the model has no intercept (model.bias = false) but the targets' mean is "
            f"{mean:.4g}, {away}: {cost}; set model.bias = true to fit one",
            data={"target_mean": mean, "target_sd": sd},
        )

    def advance(self, count: int) -> AdvanceResult:
        """Run up to `count` steps, evaluating whenever the step reaches a multiple of eval_every.

        Wall time, evaluations included, counts towards elapsed time and steps/s.
        """
        eval_every = self.cfg.train.eval_every
        done_total = 0
        self._chunk_start = time.perf_counter()
        try:
            while done_total < count:
                n = min(count - done_total, eval_every - self.step % eval_every)
                result = self.trainer.run(n, self._grad_stop)
                done_total += result.steps_done
                self._record_steps(result)
                if result.stopped == "requested":  # the trainer's stop_flag: a quit
                    return AdvanceResult(done_total, False, False)
                if result.stopped == "nonfinite":
                    self.stopped_by = STOP_DIVERGED
                    self._diverge()
                    return AdvanceResult(done_total, True, True)
                if result.stopped == "converged":
                    # The seed's criterion met mid-chunk: evaluate at that exact step and stop.
                    self.stopped_by = STOP_GRAD_TOL
                    self._evaluate()
                    return AdvanceResult(done_total, False, True)
                if self.step % eval_every == 0 and self._evaluate():
                    if self.monitor.status == Status.DIVERGED:  # exploding, though finite
                        self._advise_lower_lr()
                        return AdvanceResult(done_total, True, True)
                    return AdvanceResult(done_total, False, True)
            finished = self.step >= self.target_steps
            if finished:
                self.stopped_by = STOP_STEPS
            return AdvanceResult(done_total, False, finished)
        finally:
            spent = time.perf_counter() - self._chunk_start
            self._chunk_start = None
            self.elapsed += spent
            if done_total and spent > 0:
                rate = done_total / spent
                # a short EMA: steady enough to read, quick to follow a live edit
                previous = self.steps_per_s
                self.steps_per_s = rate if not previous else 0.7 * previous + 0.3 * rate

    @property
    def _grad_stop(self) -> float:
        """The kernel stops at the seed's criterion only when the run should stop there."""
        return self.cfg.convergence.grad_tol if self.cfg.train.stop_on_converged else 0.0

    def _elapsed_now(self) -> float:
        if self._chunk_start is None:
            return self.elapsed
        return self.elapsed + time.perf_counter() - self._chunk_start

    def _record_steps(self, result) -> None:
        if result.update_ratios.size:
            self._last_ratio = float(result.update_ratios[-1])
        if result.losses.size == 0:
            return
        first = self.step - result.steps_done + 1
        steps = np.arange(first, first + result.losses.size, dtype=np.int64)
        self.history.extend(
            steps, {"step_loss": result.losses, "step_grad_norm": result.grad_norms}
        )
        if self.guarantee is not None:
            # The rate is fitted to a norm that shrinks to 0 at the fixed point: the
            # gradient's, unless decoupled decay holds it at grad_floor > 0; then the
            # update's (|w_t+1 - w_t| / |w_t|), whose distance from its limit is not a mere
            # projection of the error (that one can shrink at the squared rate).
            decays = self.trainer.hp.weight_decay > 0
            series = result.update_ratios if decays else result.grad_norms
            self._grad_tail.extend(series.tolist())
            del self._grad_tail[:-_CONTRACTION_WINDOW]

    def _diverge(self) -> None:
        self._take_monitor_events(self.monitor.note_nonfinite(self.step))
        self._advise_lower_lr()

    def _advise_lower_lr(self) -> None:
        hint = ""
        g = self.guarantee
        if g is not None and g.applies:
            hint = f" (stable below {g.stable_lr:.4g} for {g.method})"
        self._emit(
            "advice",
            f"the run diverged: lower the learning rate below "
            f"{self.trainer.hp.lr:.4g}{hint} (key -) and reset (key r)",
        )

    def _evaluate(self) -> bool:
        """Evaluate train and val, feed the monitor, apply stopping rules. True if finished."""
        tr = self.trainer
        train_loss, train_acc, train_mad = tr.evaluate("train")
        val_loss, val_acc, val_mad = tr.evaluate("val")
        last_grad = self.history.last("step_grad_norm")
        record = {
            "step": tr.step,
            "epoch": tr.epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "train_acc": _finite_or_none(train_acc),
            "val_acc": _finite_or_none(val_acc),
            "train_mad": _finite_or_none(train_mad),
            "val_mad": _finite_or_none(val_mad),
            "grad_norm": last_grad if last_grad is not None else math.nan,
            "layer_grad_norms": tr.layer_grad_norms(),
            "weight_norm": tr.weight_norm(),
            "update_ratio": self._last_ratio,
            "lr": self.current_lr(),
            "weight_decay": tr.hp.weight_decay,
            "batch_size": tr.hp.batch_size,
            "elapsed_s": self._elapsed_now(),
            "steps_per_s": self.steps_per_s,
        }
        self.last_record = record
        self.rows.append(tuple(self.csv_row(record)))
        self.history.append(tr.step, {k: record[k] for k in EVAL_SERIES})
        for listener in self.listeners:
            listener("record", record)
        previous_best = self.monitor.best_step
        self._take_monitor_events(
            self.monitor.update(record, diverges_predicted=self._divergence_certain())
        )
        if self.monitor.best_step is not None and self.monitor.best_step != previous_best:
            self.best_record = record
            self.best_params = tr.params.copy()
        return self._should_finish()

    def _divergence_certain(self) -> bool:
        """The guarantee (for the current lr) says this run must diverge."""
        return bool(getattr(self.guarantee, "diverges", False))

    def _take_monitor_events(self, events) -> None:
        for ev in events:
            self._emit(ev.kind, ev.detail, ev.step, dict(ev.data))

    def _should_finish(self) -> bool:
        train = self.cfg.train
        status = self.monitor.status
        if status == Status.DIVERGED:
            self.stopped_by = STOP_DIVERGED
            return True
        if train.early_stopping and self.monitor.should_stop_early(train.patience):
            self.stopped_by = STOP_EARLY
            self._stop_early()
            return True
        # The seed's criterion (gradient norm below grad_tol) stops the kernel itself; a
        # converged verdict without it (at the noise floor, stochastic) does not end a run.
        if train.stop_on_converged and status == Status.GROKKED:
            self.stopped_by = STOP_GROKKED
            return True
        if self.step >= self.target_steps:
            self.stopped_by = STOP_STEPS
            return True
        return False

    def _stop_early(self) -> None:
        self.early_stopped_at = self.step
        if self.best_params is not None:
            self.trainer.params[:] = self.best_params
            self.restored_from = self.monitor.best_step
            self.last_record = self.best_record  # "final" now describes the restored weights
        self._emit(
            "early_stop",
            f"no better validation for {self.cfg.train.patience} evals: "
            f"restored the best parameters from step {self.restored_from}",
        )

    # ------------------------------------------------------------------ commands
    def set_hparam(self, name: str, value) -> None:
        """Validate a live edit (ConfigError with the reason) and apply it: for scripts."""
        self.apply_hparam(name, validate_hparam(self.trainer.hp.kind, name, value))

    def apply_hparam(self, name: str, value: float | int) -> None:
        """Apply an edit validated already (engine.training.hparams.validate_hparam): the
        runner validates at its boundary, so a bad value never reaches here."""
        old = getattr(self.trainer.hp, name)
        self.trainer.hp = self.trainer.hp.with_(**{name: value})
        # Every live key (lr, weight decay, momentum, batch size) changes what is guaranteed.
        self.guarantee = self._compute_guarantee()
        edit = {"name": name, "from": old, "to": value}
        self._emit("edit", f"{name} {old:g} -> {value:g}", data=edit)

    def evaluate_test(self) -> dict:
        """Score the test set, once per run: a later call reports the earlier result.

        Looking at the test set again (after more training, or to compare edits) would
        turn it into a second validation set, so it is never re-scored until a reset.
        """
        if self.test_metrics is not None:
            earlier = self.test_metrics
            self._emit(
                "test",
                f"test set already evaluated at step {earlier['step']}: "
                f"{self._test_words(earlier)} (not re-scored: it is looked at once)",
                data={"step": earlier["step"], "repeat": True},
            )
            return earlier
        loss, acc, mad = self.trainer.evaluate("test")
        self.test_metrics = {
            "step": self.step,
            "test_loss": loss,
            "test_acc": _finite_or_none(acc),
            "test_mad": _finite_or_none(mad),
        }
        if self.task == "regression":
            self.test_metrics["test_r2"] = self._r_squared("test")
        self._emit(
            "test",
            f"test set evaluated once at step {self.step}: {self._test_words(self.test_metrics)}",
            data={"step": self.step, "repeat": False},
        )
        return self.test_metrics

    def test_report(self) -> dict | None:
        """The test result as reported: the scores, and `stale` (with a note saying why)
        when the parameters have trained on since it was scored (after a resume, say): it
        is never re-scored, so a reader must know it describes an earlier model."""
        if self.test_metrics is None:
            return None
        scored = self.test_metrics["step"]
        report = {**self.test_metrics, "stale": scored < self.step}
        if report["stale"]:
            if self.resumed_at is not None and scored <= self.resumed_at:
                when = f"before the resume at step {self.resumed_at}"
            else:
                when = f"{self.step - scored} steps before the end"
            report["note"] = f"test set scored at step {scored}, {when}"
        return report

    def _test_words(self, metrics: dict) -> str:
        if self.task == "classification":
            name, value, fmt = "acc", metrics["test_acc"], ".3f"
        else:
            name, value, fmt = "MAD", metrics["test_mad"], ".4g"
        shown = "nan" if value is None else format(value, fmt)
        return f"loss {metrics['test_loss']:.4g}, {name} {shown}"

    def reset(self, seed: int | None = None) -> None:
        """Back to step 0 with fresh parameters (same seed unless given); keeps live edits."""
        hp = self.trainer.hp
        self.trainer.reset(seed)
        self.trainer.hp = hp
        self._start_fresh()
        self.begin()

    @property
    def edited(self) -> frozenset[str]:
        now, start = self.trainer.hp, self._hp_initial
        return frozenset(
            name for name in LIVE_HPARAMS if getattr(now, name) != getattr(start, name)
        )

    # ------------------------------------------------------------------ results
    def _predictions(self, split: str) -> np.ndarray:
        """The model's outputs on a dense split, in float64 (the reference forward pass)."""
        tr = self.trainer
        fan_in, fan_out, w_off, b_off = tr.arch.meta()
        x = np.asarray(tr.splits[split].xd, dtype=np.float64)
        params = np.asarray(tr.params, dtype=np.float64)
        cache = reference.forward(params, x, False, fan_in, fan_out, w_off, b_off, tr.arch.act_code)
        return cache[-1][1]

    def _r_squared(self, split: str) -> float | None:
        arrays = self.trainer.splits[split]
        return r_squared(arrays.yf, self._predictions(split)) if arrays.n_rows else None

    def fitted_model(self) -> dict | None:
        """A one-layer model's coefficients and intercept in the data's own units (a CSV's
        features are standardized for training; engine/training/fit.py converts back)."""
        model, data = self.cfg.model, self.trainer.data
        if model.kind not in FIT_MODELS or data.input_kind != "dense":
            return None
        degree = int(model.degree or 1) if model.kind == "polynomial" else 1
        weight, bias = self.trainer.arch.views(self.trainer.params)[0]
        coef, intercept = original_units(weight, bias, data.scaling, degree)
        terms = term_names(data.feature_names, degree)
        one = coef.shape[1] == 1  # one output: numbers; several (classes): a list each
        if intercept is not None:
            intercept = float(intercept[0]) if one else intercept.tolist()
        return {
            "units": "the data's own",
            "standardized": data.scaling is not None,  # what the model itself was trained on
            "target": data.target_name,
            "weights": {
                t: float(coef[i, 0]) if one else coef[i].tolist() for i, t in enumerate(terms)
            },
            "intercept": intercept,
        }

    def csv_row(self, record: dict) -> list:
        return ["" if record.get(col) is None else record[col] for col in CSV_COLUMNS]

    def summary(self, wall_s: float) -> dict:
        milestones = self.monitor.milestones
        summary = {
            "preset": self.cfg.name,
            "status": self.monitor.status,
            "explanation": self.monitor.verdict.explanation,
            "sentence": self.monitor.verdict.sentence,
            "steps": self.step,
            "wall_s": round(wall_s, 4),
            "train_s": round(self.elapsed, 4),
            "final": _csv_fields(self.last_record),
            "best": _csv_fields(self.best_record),
            "best_step": self.monitor.best_step,
            "test": self.test_report(),
            "early_stopped_at": self.early_stopped_at,
            "restored_from_step": self.restored_from,
            "stopped_by": self.stopped_by,
            "fit": self.fitted_model(),
        }
        if self.task == "regression":
            test = (self.test_metrics or {}).get("test_r2")
            summary["r2"] = {"train": self._r_squared("train"), "val": self._r_squared("val")}
            if self.test_metrics is not None:
                summary["r2"]["test"] = test
        for key in ("memorized_step", "grokked_step", "converged_step", "diverged_step"):
            summary[key] = milestones.get(key)
        summary["grok_delay"] = self.monitor.grok_delay
        summary["phase"] = self.monitor.phase
        if self.guarantee is not None:
            g = self.guarantee
            summary["guarantee"] = {
                "method": g.method,
                "applies": g.applies,
                "reason": g.reason,
                "L": g.L,
                "mu": g.mu,
                "stable_lr": g.stable_lr,
                "best_lr": g.best_lr,
                "predicted_contraction": g.contraction,
                "predicted_steps": g.predicted_steps,
                "diverges": g.diverges,
                "floor": g.lstsq_loss,
                "unpenalised_floor": g.unpenalised_loss,
                "grad_floor": g.grad_floor,
                "observed_contraction": self.observed_contraction(),
            }
        return summary


def _record_state(record: dict | None) -> dict | None:
    """A metrics record as JSON-able values (its one tuple as a list)."""
    if record is None:
        return None
    return {**record, "layer_grad_norms": list(record["layer_grad_norms"])}


def _record_from_state(state: dict | None) -> dict | None:
    if state is None:
        return None
    return {**state, "layer_grad_norms": tuple(state["layer_grad_norms"])}


def _event_state(event: Event) -> dict:
    """An event's fields, its exact time included (as_dict rounds it for files)."""
    state = {f.name: getattr(event, f.name) for f in fields(event)}
    if "data" in state:
        state["data"] = dict(state["data"])  # a read-only mapping, as a plain dict
    return state


def _csv_fields(record: dict | None) -> dict | None:
    """A record restricted to the CSV columns (the run directory makes it strict JSON)."""
    if record is None:
        return None
    return {col: record.get(col) for col in CSV_COLUMNS}
