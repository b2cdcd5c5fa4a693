"""A stand-in for engine.live.runner.Runner: RunControl without a thread or numba.

The fake trains a made-up model whose curves are fixed functions of the step and the
hyperparameters, so every test and every snapshot image is deterministic. While
running it advances `chunk` steps each time the UI polls `snapshot()` (the real runner
advances on its own thread; here the poll is the clock). What it shares with the real
runner comes from the engine, not from a copy: the run-state rules (engine.vocabulary
RunState: what pause, resume and step do in each state), the validation of live edits
(engine.training.hparams.validate_hparam), the Event type and the training-split size
(engine.training.data). tests/tui/test_contract.py plays one script against both.
Every call is recorded in `calls` so tests can assert what the UI asked for.
"""

from __future__ import annotations

import asyncio
import csv
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from textual import events
from textual.notifications import SeverityLevel

from engine.live.control import valid_pace
from engine.live.snapshot import Series, Snapshot
from engine.training.data import make_dataset
from engine.training.dataview import DataViewFeed
from engine.training.hparams import LIVE_HPARAMS, validate_hparam
from engine.vocabulary import Event, RunState, Status
from tui.app import GroklabApp

MAX_EVENTS = 50  # the real snapshot carries only the most recent events
# The made-up model's training loss is 2 exp(-t / 150) + FAKE_FLOOR (no weight decay): on a
# quadratic its gradient norm falls at OBSERVED_RATE per step, a little faster than the
# FAKE_RATE it publishes as predicted (a bound, as for gd: the curves run under the lines).
FAKE_FLOOR = 0.02
OBSERVED_RATE = math.exp(-1.0 / 300.0)
FAKE_RATE = math.exp(-1.0 / 360.0)
# The plain sentence beside each status the fake reaches (the monitor writes its own).
FAKE_SENTENCES = {
    Status.IMPROVING: "The training loss is still falling.",
    Status.PLATEAU: "The loss has stopped moving while the gradient is not small.",
    Status.DIVERGED: "The loss blew up: the learning rate is too high.",
}


class FakeRunner:
    """FakeRunner(cfg, out_dir=None, start_paused=False), plus knobs for test scenarios.

    prefill: steps already run when the runner starts (a fixed history to draw).
    auto_advance: advance `chunk` steps per snapshot() call while running.
    diverge_lr: an lr above this makes the loss explode (x4 per step) until diverged.
    diverge_at: from this step the loss overflows: train loss inf, val loss nan.
    error_at: the run fails with a traceback when it reaches this step.
    compile_polls: number of snapshot() calls that still say "compiling".
    state_after_prefill: the state to show once prefilled (a still picture of a run).
    trainer: the model whose data view the snapshots carry while it is shown (a fixed
        model: the fake's steps do not train it); default: the config's model at its
        initial parameters, through the NumPy reference (no numba).
    """

    def __init__(
        self,
        cfg,
        out_dir: Path | None = None,
        start_paused: bool = False,
        *,
        chunk: int = 10,
        auto_advance: bool = True,
        prefill: int = 0,
        diverge_lr: float | None = None,
        error_at: int | None = None,
        compile_polls: int = 0,
        state_after_prefill: RunState | None = None,
        diverge_at: int | None = None,
        trainer=None,
    ) -> None:
        self.config = cfg
        self._trainer = trainer
        self._views: DataViewFeed | None = None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.start_paused = start_paused
        self.chunk = chunk
        self.auto_advance = auto_advance
        self.prefill = prefill
        self.error_at = error_at
        self.diverge_at = diverge_at
        self.compile_polls = compile_polls
        self.state_after_prefill = state_after_prefill
        self.calls: list[tuple[str, tuple]] = []
        self.polls = 0  # snapshot() calls so far
        self.classification = cfg.loss.kind == "cross_entropy"
        self.regression_quadratic = cfg.loss.kind == "mse" and cfg.model.kind in (
            "linear",
            "polynomial",
        )
        self.train_size = len(make_dataset(cfg).train.y)  # the engine's own split
        self.target_steps = cfg.train.steps
        self.pace = cfg.train.pace
        self.diverge_lr = diverge_lr if diverge_lr is not None else 16 * cfg.optim.lr
        self.started = False
        self.stopped = False
        self._version = 0
        self._cached: Snapshot | None = None
        self._state = RunState.COMPILING
        self._hp = self._initial_hparams()
        self._restart()

    # -- RunControl ----------------------------------------------------------------

    @property
    def is_alive(self) -> bool:
        return self.started and not self.stopped

    def start(self) -> None:
        self.calls.append(("start", ()))
        self.started = True
        self._state = RunState.PAUSED if self.start_paused else RunState.RUNNING
        if self.prefill:
            self._advance(self.prefill)
        if self.state_after_prefill:
            self._state = RunState(self.state_after_prefill)
        self._changed()

    def snapshot(self) -> Snapshot:
        self.polls += 1
        if self.started and self.polls <= self.compile_polls:
            return self._snapshot(state=RunState.COMPILING)
        if self.auto_advance and self._state is RunState.RUNNING:
            self._advance(self.chunk)
            self._changed()
        if self._cached is None:
            self._cached = self._snapshot()
        return self._cached

    def pause(self) -> None:
        self.calls.append(("pause", ()))
        if self._state.can_pause:
            self._state = RunState.PAUSED
            self._event("pause", f"paused at step {self._step}")
            self._changed()

    def resume(self) -> None:
        self.calls.append(("resume", ()))
        if self._state.can_resume:
            if self._state is RunState.DONE:  # going on after the budget extends it
                self.target_steps = self._step + self.config.train.steps
                self._event("extend", f"continuing to step {self.target_steps}")
            self._state = RunState.RUNNING
            self._event("resume", f"resumed at step {self._step}")
            self._changed()

    def step(self, n: int = 1) -> None:
        self.calls.append(("step", (n,)))
        if self._state.can_step:
            self.target_steps = max(self.target_steps, self._step + n)
            self._event("step", f"step x{n} from step {self._step}")
            self._state = RunState.PAUSED
            self._advance(n)  # may end in diverged, done or error; never running
            self._changed()

    def reset(self) -> None:
        # Fresh parameters from step 0, keeping the hyperparameters as edited (so that
        # "lower the lr, then reset" mends a diverged run), as the engine's session does.
        self.calls.append(("reset", ()))
        self._restart()
        if self._state in (RunState.DIVERGED, RunState.DONE):
            self._state = RunState.PAUSED
        self._event("reset", f"reset to step 0 (seed {self.config.train.seed})")
        self._changed()

    def set(self, name: str, value: float | int) -> None:
        self.calls.append(("set", (name, value)))
        value = validate_hparam(self.config.optim.kind, name, value)
        old = self._hp[name]
        self._hp[name] = value
        self._event(
            "edit", f"{name} {old:g} -> {value:g}", {"name": name, "from": old, "to": value}
        )
        self._changed()

    def set_pace(self, steps_per_s: float) -> None:
        # The fake's clock is the poll, so a pace is only recorded and published.
        self.calls.append(("set_pace", (steps_per_s,)))
        self.pace = valid_pace(steps_per_s)
        self._changed()

    def evaluate_test(self) -> None:
        self.calls.append(("evaluate_test", ()))
        self._evaluate_test()
        self._changed()

    def _evaluate_test(self) -> None:
        # As the engine's session: scored once, a second request reports the first score.
        if self._test is not None:
            step = dict(self._test)["step"]
            detail = f"test set already evaluated at step {step} (not re-scored)"
            self._event("test", detail, {"step": step, "repeat": True})
            return
        loss = self._loss(self._progress) * 1.15
        if self.classification:
            score = ("test_acc", self._acc(self._progress) - 0.07)
            shown = f"acc {score[1]:.3f}"
        else:
            score = ("test_mad", math.sqrt(abs(loss)) * 0.8)
            shown = f"MAD {score[1]:.4g}"
        self._test = (("step", self._step), ("test_loss", loss), score)
        detail = f"test set evaluated once at step {self._step}: loss {loss:.4g}, {shown}"
        self._event("test", detail, {"step": self._step, "repeat": False})

    def show_data_view(self, resolution: tuple[int, int] | None) -> None:
        self.calls.append(("show_data_view", (resolution,)))
        if self._views is None:
            if resolution is None:
                return
            if self._trainer is None:
                from engine.training.trainer import Trainer

                self._trainer = Trainer(self.config, impl="reference")
            self._views = DataViewFeed(self._trainer)
        self._views.want(resolution)
        self._views.update(time.perf_counter(), training=False)
        self._changed()

    def export(self, path: Path | str | None = None) -> Path:
        self.calls.append(("export", (path,)))
        if path is None:
            path = (self.out_dir or Path.cwd()) / "metrics.csv"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["step", "train_loss", "val_loss"])
            train, val = self._series["train_loss"], self._series["val_loss"]
            for (step, tl), (_, vl) in zip(zip(*train), zip(*val)):
                writer.writerow([step, tl, vl])
        return path

    def stop(self, timeout: float = 5.0) -> None:
        self.calls.append(("stop", (timeout,)))
        self.stopped = True

    def wait(self, timeout: float | None = None) -> bool:
        """Poll (which is what advances the fake) until the run is final or stopped."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self.stopped and not RunState(self.snapshot().state).is_final:
            if self._state is not RunState.RUNNING or not self.auto_advance:
                return False  # nothing will move it: a real runner would wait forever
            if end is not None and time.monotonic() > end:
                return False
        return True

    # -- helpers for tests ---------------------------------------------------------

    def called(self, name: str) -> list[tuple]:
        """Arguments of every call of `name`, in order."""
        return [args for call, args in self.calls if call == name]

    def advance(self, n: int) -> None:
        """Run `n` steps now, whatever the state: a test's clock when auto_advance is off."""
        self._advance(n)
        self._changed()

    def mark(self, milestone: str, step: int) -> None:
        """Record a milestone (memorized_step, grokked_step, ...) as the monitor would."""
        self._milestones[milestone] = step
        self._changed()

    def emit(self, kind: str, detail: str, *, step: int | None = None) -> None:
        """Publish an event as the engine would (from step `step`, if given)."""
        if step is not None:
            self._step = step
        self._event(kind, detail)
        self._changed()

    # -- the made-up model ---------------------------------------------------------

    def _initial_hparams(self) -> dict[str, Any]:
        """The rows engine.live.runner.Runner publishes for this optimizer, in its order."""
        o = self.config.optim
        hp: dict[str, Any] = {
            "optimizer": o.kind,
            "lr": o.lr,
            "weight_decay": o.weight_decay or 0.0,
            "batch_size": o.batch_size or 0,
            "schedule": o.schedule,
        }
        if o.schedule != "constant" or o.warmup_steps:
            hp["lr_now"] = o.lr
        if o.kind in ("momentum", "nesterov"):
            hp["momentum"] = o.momentum
        if o.kind in ("adam", "adamw"):
            hp.update(beta1=o.beta1, beta2=o.beta2)
        for name in ("l1", "l2", "clip_norm"):
            if getattr(o, name):
                hp[name] = getattr(o, name)
        return hp

    @property
    def _edited(self) -> frozenset[str]:
        # As the engine counts them: live hyperparameters that differ from the config's.
        start = self._initial_hparams()
        return frozenset(n for n in LIVE_HPARAMS if n in self._hp and self._hp[n] != start[n])

    def _restart(self) -> None:
        self._step = 0
        self._progress = 0.0
        self._blowup = 1.0
        self._series: dict[str, tuple[list, list]] = {}
        self._events: list[Event] = []
        self._status = Status.COMPILING
        self._explanation = "warming up the compiled kernels"
        self._sentence = ""
        self._error: str | None = None
        self._test = None
        self._best: tuple[float, int] | None = None
        self._milestones: dict[str, int] = {}
        self._event("start", f"{self.config.name}: seed {self.config.train.seed}")

    def _loss(self, progress: float) -> float:
        return 2.0 * math.exp(-progress / 150.0) + self._floor

    @property
    def _floor(self) -> float:
        return FAKE_FLOOR + 5.0 * float(self._hp["weight_decay"])

    def _acc(self, progress: float) -> float:
        return 1.0 - 0.9 * math.exp(-progress / 100.0)

    def _advance(self, n: int) -> None:
        for _ in range(n):
            self._step += 1
            lr = float(self._hp["lr"])
            if self.diverge_at is not None and self._step >= self.diverge_at:
                self._blowup = math.inf
            elif lr > self.diverge_lr:
                self._blowup *= 4.0
            else:
                self._progress += lr / self.config.optim.lr
            # Each step's gradient norm, as the engine's history keeps it.
            steps, values = self._series.setdefault("step_grad_norm", ([], []))
            steps.append(self._step)
            values.append(3.0 * self._loss(self._progress) * self._blowup)
            if self.error_at is not None and self._step >= self.error_at:
                self._fail()
                return
            if self._step % self.config.train.eval_every == 0:
                self._evaluate()
                if self._state is RunState.DIVERGED:
                    return
            if self._step >= self.target_steps and self._state is not RunState.DONE:
                self._state = RunState.DONE
                if self._test is None:  # as the real runner does, once, at the end
                    self._evaluate_test()
                return

    def _evaluate(self) -> None:
        step, p = self._step, self._progress
        train = self._loss(p) * self._blowup
        val = train * 1.1 + 0.05 + 0.0004 * max(0.0, p - 300.0)
        if not math.isfinite(train):  # overflow: train says inf, val is already nan
            train, val = math.inf, math.nan
        values = {
            "train_loss": train,
            "val_loss": val,
            # on a quadratic, |g| ~ sqrt(excess loss): it falls at OBSERVED_RATE per step
            "grad_norm": 3.0
            * (math.sqrt(abs(train - self._floor)) if self.regression_quadratic else train)
            * (1.0 + 0.1 * math.sin(step / 7.0)),
            "weight_norm": 4.0 - 2.0 * math.exp(-p / 200.0),
            "lr": float(self._hp["lr"]),
        }
        if self.classification:
            values["train_acc"] = self._acc(p)
            values["val_acc"] = self._acc(p) - 0.05
        else:
            values["train_mad"] = math.sqrt(train) * 0.8 if train >= 0 else math.nan
            values["val_mad"] = math.sqrt(val) * 0.8 if val >= 0 else math.nan
        for name, value in values.items():
            steps, vals = self._series.setdefault(name, ([], []))
            steps.append(step)
            vals.append(value)
        if self._best is None or (math.isfinite(val) and val < self._best[0]):
            self._best = (val, step)
        first = self._series["train_loss"][1][0]
        if not math.isfinite(train) or train > 1e4 * max(first, 1e-12):
            if self._status is not Status.DIVERGED:
                self._set_status(
                    Status.DIVERGED,
                    f"train loss {train:.4g} at step {step:,}: "
                    f"lr {self._hp['lr']:.4g} is too high; press - to lower it",
                )
                self._milestones["diverged_step"] = step
            self._state = RunState.DIVERGED
        elif p > 600:
            self._set_status(
                Status.PLATEAU, f"train loss changed < 0.01% over the last 10 evals ({train:.4g})"
            )
        else:
            self._set_status(Status.IMPROVING, f"train loss fell to {train:.4g} at step {step:,}")

    def _set_status(self, status: Status, explanation: str) -> None:
        # Worded as engine.training.monitor words a status change.
        self._explanation = explanation
        self._sentence = FAKE_SENTENCES.get(status, "")
        if status != self._status:
            old, self._status = self._status, status
            data = {"from": str(old), "to": str(status)}
            self._event("status", f"{old} -> {status}: {explanation}", data)

    def _fail(self) -> None:
        self._state = RunState.ERROR
        self._error = (
            "Traceback (most recent call last):\n"
            '  File "/work/main/engine/live/runner.py", line 210, in _loop\n'
            "    self.session.advance(k)\n"
            '  File "/work/main/engine/training/session.py", line 88, in advance\n'
            "    raise FloatingPointError('kernel returned a non-finite gradient')\n"
            "FloatingPointError: kernel returned a non-finite gradient\n"
        )
        self._event("error", "FloatingPointError: kernel returned a non-finite gradient")

    def _event(self, kind: str, detail: str, data: dict | None = None) -> None:
        facts = MappingProxyType(data or {})
        self._events.append(Event(self._step, self._step / 1000.0, kind, detail, facts))
        del self._events[:-MAX_EVENTS]

    def _changed(self) -> None:
        self._cached = None

    def _snapshot(self, state: RunState | None = None) -> Snapshot:
        self._version += 1
        state = state or self._state
        latest = tuple((name, vals[-1]) for name, (_, vals) in self._series.items())
        guarantee: tuple = ()
        observed = None
        if self.regression_quadratic:
            guarantee = (
                ("L (largest Hessian eigenvalue)", "4.812"),
                ("mu (smallest)", "0.2113"),
                ("stable step bound 2/L", "0.4156"),
                ("best fixed step 2/(L+mu)", "0.3982"),
                ("predicted contraction", f"{FAKE_RATE:.6f}"),
                ("predicted steps to grad_tol", "171"),
            )
            observed = OBSERVED_RATE if self._step else None
        return Snapshot(
            preset=self.config.name,
            title=self.config.title,
            task="classification" if self.classification else "regression",
            state=state,
            status=self._status,
            explanation=self._explanation,
            sentence=self._sentence,
            step=self._step,
            epoch=self._step / 8.0,
            steps_per_s=(self.pace or 1234.0) if state is RunState.RUNNING else 0.0,
            elapsed_s=self._step / 1000.0,
            target_steps=self.target_steps,
            hparams=tuple(self._hp.items()),
            edited=self._edited,
            latest=latest,
            series=tuple(
                (name, Series(tuple(s), tuple(v))) for name, (s, v) in self._series.items()
            ),
            events=tuple(self._events),
            guarantee=guarantee,
            observed_contraction=observed,
            test=self._test,
            best_step=self._best[1] if self._best else None,
            error=self._error,
            version=self._version,
            milestones=tuple(self._milestones.items()),
            train_size=self.train_size,
            lstsq_floor=self._floor if self.regression_quadratic else None,
            predicted_contraction=FAKE_RATE if self.regression_quadratic else None,
            pace=self.pace,
            data_view=self._views.view if self._views is not None else None,
        )


def make_config(name: str = "toy-linear", **sections):
    """A validated RunConfig built in memory (no preset file needed)."""
    from engine.config import config_from_dict

    d = {
        "name": name,
        "title": sections.pop("title", "Toy linear regression"),
        "description": sections.pop("description", "Gradient descent on y = X.w + noise."),
        "phenomenon": sections.pop("phenomenon", "convergence"),
        "data": {"kind": "linear"},
        "model": {"kind": "linear"},
        "optim": {"kind": "gd", "lr": 0.05},
        "train": {"steps": 5000, "eval_every": 10},
    }
    for key, value in sections.items():
        d[key] = value
    return config_from_dict(d, f"<test:{name}>")


def classifier_config(name: str = "toy-grokking"):
    return make_config(
        name,
        title="Grokking on (a + b) mod 97",
        description="An MLP memorizes modular addition long before it generalizes.",
        phenomenon="grokking",
        data={"kind": "modular", "p": 97},
        model={"kind": "mlp", "hidden": [32]},
        optim={"kind": "adamw", "lr": 0.001, "batch_size": 256, "weight_decay": 0.5},
        train={"steps": 20000, "eval_every": 10},
    )


# -- driving the app -------------------------------------------------------------------

# Test timers: a poll every 40 ms, a redraw of a running run at most every 100 ms (the
# app's defaults: 1/15 s and 0.2 s), so conditions are seen soon after they hold. Not
# shorter: Pilot.press and Pilot.pause() wait until the process is idle (a 20 ms
# window with under 1 ms of CPU, for up to a second), and a dashboard polling or
# redrawing more often than that never is.
FAST_POLL, FAST_REDRAW = 0.02, 0.1
WAIT_STEP = 0.01  # wait_for checks its condition this often


class Note(NamedTuple):
    message: str
    title: str
    severity: str


class LabApp(GroklabApp):
    """GroklabApp with test timers, recording every notification it shows."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("poll_interval", FAST_POLL)
        kwargs.setdefault("redraw_interval", FAST_REDRAW)
        super().__init__(*args, **kwargs)
        self.notes: list[Note] = []

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.notes.append(Note(message, title, severity))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


class Factory:
    """runner_factory for the app: makes FakeRunners with fixed options, keeps them."""

    def __init__(self, **options) -> None:
        self.options = options
        self.runners: list[FakeRunner] = []

    def __call__(self, cfg) -> FakeRunner:
        runner = FakeRunner(cfg, **self.options)
        self.runners.append(runner)
        return runner

    @property
    def runner(self) -> FakeRunner:
        assert self.runners, "no runner was made"
        return self.runners[-1]


def drive(app, scenario: Callable[..., Awaitable[None]], size=(120, 40)) -> None:
    """Run `app` headless at `size` and play `scenario(pilot)`; app errors propagate."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0)
            await scenario(pilot)

    asyncio.run(main())


async def wait_for(
    pilot, condition: Callable[[], object], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Let the app run until `condition()` holds, checking after each message cycle."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(WAIT_STEP)


async def polls(pilot, count: int = 4) -> None:
    """Let the dashboard poll its runner `count` more times (and draw what it got)."""
    screen = pilot.app.screen
    target = len(screen.poll_starts) + count
    await wait_for(pilot, lambda: len(screen.poll_starts) >= target, what=f"{count} polls")
    await pilot.pause()


# The characters of the key names the tests press (a letter is its own character).
KEY_CHARACTERS = {
    "space": " ",
    "plus": "+",
    "minus": "-",
    "question_mark": "?",
    "less_than_sign": "<",
    "greater_than_sign": ">",
}


async def press(pilot, *keys: str) -> None:
    """Press `keys` as Pilot.press does, without its wait for the process to go idle
    (up to a second per key while the dashboard polls): each key is handled (the app
    forwards it to the focused widget, which runs the binding) before the next is sent.
    What a key sets off later, a test waits for with wait_for."""
    for key in keys:
        char = KEY_CHARACTERS.get(key, key if len(key) == 1 else None)
        pilot.app.post_message(events.Key(key, char))
        await pilot.pause(0)  # the app has forwarded it...
        await pilot.pause(0)  # ...and the focused widget has run its binding


def screen_strips(app) -> list:
    """The lines on the terminal now, every layer of the top screen composited. Textual
    has no public call for this; it is read here, in one place."""
    return app.screen._compositor.render_strips()


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in screen_strips(app))
