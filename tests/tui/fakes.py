"""A stand-in for engine.live.runner.Runner: the same public API, no thread, no numba.

The fake trains a made-up model whose curves are fixed functions of the step and the
hyperparameters, so every test and every snapshot image is deterministic. While
"running" it advances `chunk` steps each time the UI polls `snapshot()` (the real
runner advances on its own thread; here the poll is the clock). It keeps the real
runner's rules that the UI depends on: `step(n)` only moves a paused run, `set()`
validates at once and raises ConfigError, a diverged run pauses itself, every edit,
reset and test evaluation is an event, and the version increases with every change.
Every call is recorded in `calls` so tests can assert what the UI asked for.
"""

from __future__ import annotations

import asyncio
import csv
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from engine.errors import ConfigError
from engine.live.snapshot import Event, Series, Snapshot

SERIES_NAMES = (
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
MAX_EVENTS = 50  # the real snapshot carries only the most recent events


class FakeRunner:
    """Runner(cfg, out_dir=None, start_paused=False), plus knobs for test scenarios.

    prefill: steps already run when the runner starts (a fixed history to draw).
    auto_advance: advance `chunk` steps per snapshot() call while running.
    diverge_lr: an lr above this makes the loss explode (x4 per step) until diverged.
    diverge_at: from this step the loss overflows: train loss inf, val loss nan.
    error_at: the run fails with a traceback when it reaches this step.
    compile_polls: number of snapshot() calls that still say "compiling".
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
        state_after_prefill: str | None = None,
        diverge_at: int | None = None,
    ) -> None:
        self.config = cfg
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
        self.classification = cfg.loss.kind == "cross_entropy"
        self.regression_quadratic = cfg.loss.kind == "mse" and cfg.model.kind in (
            "linear",
            "polynomial",
        )
        self.eval_every = cfg.train.eval_every
        self.target_steps = cfg.train.steps
        self.diverge_lr = diverge_lr if diverge_lr is not None else 16 * cfg.optim.lr
        self.started = False
        self.stopped = False
        self._polls = 0
        self._version = 0
        self._cached: Snapshot | None = None
        self._restart()

    # -- the Runner API ------------------------------------------------------------

    def start(self) -> None:
        self.calls.append(("start", ()))
        self.started = True
        if self.prefill:
            self._advance(self.prefill)
        if self.state_after_prefill:
            self._state = self.state_after_prefill
        elif self._state not in ("diverged", "done", "error"):
            self._state = "paused" if self.start_paused else "running"
        self._changed()

    def snapshot(self) -> Snapshot:
        self._polls += 1
        if self.started and self._polls <= self.compile_polls:
            return self._snapshot(state="compiling")
        if self.auto_advance and self._state == "running":
            self._advance(self.chunk)
            self._changed()
        if self._cached is None:
            self._cached = self._snapshot()
        return self._cached

    def pause(self) -> None:
        self.calls.append(("pause", ()))
        if self._state in ("running", "compiling"):
            self._state = "paused"
            self._changed()

    def resume(self) -> None:
        self.calls.append(("resume", ()))
        if self._state in ("paused", "done"):
            if self._state == "done":  # going on after the budget extends it
                self.target_steps = self._step + self.config.train.steps
            self._state = "running"
            self._changed()

    def toggle_pause(self) -> None:
        if self._state in ("running", "compiling"):
            self.pause()
        else:
            self.resume()

    def step(self, n: int = 1) -> None:
        self.calls.append(("step", (n,)))
        if self._state in ("paused", "done"):
            self.target_steps = max(self.target_steps, self._step + n)
            self._state = "paused"
            self._advance(n)  # may end in diverged, done or error; never running
            self._changed()

    def reset(self) -> None:
        # Fresh parameters from step 0, keeping the hyperparameters as edited (so that
        # "lower the lr, then reset" mends a diverged run).
        self.calls.append(("reset", ()))
        state = self._state
        hparams, edited = dict(self._hp), set(self._edited)
        self._restart()
        self._hp, self._edited = hparams, edited
        self._state = "paused" if state in ("diverged", "done") else state
        self._event("reset", "run reset to step 0 (hyperparameters kept)")
        self._changed()

    def reseed(self, seed: int) -> None:
        self.calls.append(("reseed", (seed,)))
        self.reset()

    def set(self, name: str, value) -> None:
        self.calls.append(("set", (name, value)))
        source = self.config.name
        optimizer = self._hp["optimizer"]
        if name == "lr":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ConfigError(source, "optim.lr", "a finite number > 0", value)
        elif name == "weight_decay":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(source, "optim.weight_decay", "a number >= 0", value)
        elif name == "batch_size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(source, "optim.batch_size", "an integer >= 0", value)
            if optimizer == "gd" and value != 0:
                raise ConfigError(
                    source, "optim.batch_size", "0 (full batch) for optim.kind='gd'", value
                )
        elif name == "momentum":
            if optimizer not in ("momentum", "nesterov"):
                raise ConfigError(
                    source,
                    "optim.momentum",
                    "an optimizer with momentum (momentum, nesterov)",
                    optimizer,
                )
            if not 0 <= value < 1:
                raise ConfigError(source, "optim.momentum", "0 <= momentum < 1", value)
        else:
            raise ConfigError(source, name, "one of lr, weight_decay, batch_size, momentum", name)
        old = self._hp.get(name)
        self._hp[name] = value
        self._edited.add(name)
        self._event("edit", f"{name} {old} -> {value}")
        self._changed()

    def evaluate_test(self) -> None:
        self.calls.append(("evaluate_test", ()))
        loss = self._loss(self._progress) * 1.15
        if self.classification:
            self._test = (("test_loss", loss), ("test_acc", self._acc(self._progress) - 0.07))
            detail = (
                f"test set evaluated once at step {self._step}: loss {loss:.4g}, "
                f"acc {self._test[1][1]:.3f}"
            )
        else:
            self._test = (("test_loss", loss), ("test_mad", math.sqrt(abs(loss)) * 0.8))
            detail = (
                f"test set evaluated once at step {self._step}: loss {loss:.4g}, "
                f"mad {self._test[1][1]:.4g}"
            )
        self._event("test", detail)
        self._changed()

    def export(self, path: Path | None = None) -> Path:
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

    def stop(self, timeout: float = 2.0) -> None:
        self.calls.append(("stop", (timeout,)))
        self.stopped = True

    # -- helpers for tests ---------------------------------------------------------

    def called(self, name: str) -> list[tuple]:
        """Arguments of every call of `name`, in order."""
        return [args for call, args in self.calls if call == name]

    def force(self, **changes) -> None:
        """Overwrite the published state (e.g. state="error", error=...) for a test."""
        for key, value in changes.items():
            setattr(self, f"_{key}", value)
        self._changed()

    # -- the made-up model ---------------------------------------------------------

    def _restart(self) -> None:
        o = self.config.optim
        self._hp: dict[str, object] = {
            "optimizer": o.kind,
            "lr": o.lr,
            "weight_decay": o.weight_decay,
            "batch_size": o.batch_size,
            "momentum": o.momentum,
            "schedule": o.schedule,
        }
        if o.kind in ("adam", "adamw"):
            self._hp.update(beta1=o.beta1, beta2=o.beta2)
        self._edited: set[str] = set()
        self._step = 0
        self._progress = 0.0
        self._blowup = 1.0
        self._series = {name: ([], []) for name in SERIES_NAMES}
        self._events: list[Event] = []
        self._status = "compiling"
        self._explanation = "warming up the compiled kernels"
        self._state = getattr(self, "_state", "compiling")
        self._error: str | None = None
        self._test = None
        self._best: tuple[float, int] | None = None
        self._milestones: dict[str, int] = {}

    def _loss(self, progress: float) -> float:
        return 2.0 * math.exp(-progress / 150.0) + 0.02 + 5.0 * float(self._hp["weight_decay"])

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
            if self.error_at is not None and self._step >= self.error_at:
                self._fail()
                return
            if self._step % self.eval_every == 0:
                self._evaluate()
                if self._state == "diverged":
                    return
            if self._step >= self.target_steps and self._state != "done":
                self._state = "done"
                self._event("done", f"reached {self.target_steps:,} steps")
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
            "grad_norm": 3.0 * train * (1.0 + 0.1 * math.sin(step / 7.0)),
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
            steps, vals = self._series[name]
            steps.append(step)
            vals.append(value)
        if self._best is None or (math.isfinite(val) and val < self._best[0]):
            self._best = (val, step)
        first = self._series["train_loss"][1][0]
        if not math.isfinite(train) or train > 1e4 * max(first, 1e-12):
            if self._status != "diverged":
                self._set_status(
                    "diverged",
                    f"train loss {train:.4g} at step {step:,}: "
                    f"lr {self._hp['lr']:.4g} is too high; press - to lower it",
                )
                self._milestones["diverged_step"] = step
            self._state = "diverged"
        elif p > 600:
            self._set_status(
                "plateau", f"train loss changed < 0.01% over the last 10 evals ({train:.4g})"
            )
        else:
            self._set_status("improving", f"train loss fell to {train:.4g} at step {step:,}")

    def _set_status(self, status: str, explanation: str) -> None:
        self._explanation = explanation
        if status != self._status:
            self._status = status
            self._event("status", f"{status}: {explanation}")

    def _fail(self) -> None:
        self._state = "error"
        self._error = (
            "Traceback (most recent call last):\n"
            '  File "/work/main/engine/live/runner.py", line 210, in _loop\n'
            "    self.session.advance(k)\n"
            '  File "/work/main/engine/training/session.py", line 88, in advance\n'
            "    raise FloatingPointError('kernel returned a non-finite gradient')\n"
            "FloatingPointError: kernel returned a non-finite gradient\n"
        )
        self._event("error", "the runner stopped: FloatingPointError")

    def _event(self, kind: str, detail: str) -> None:
        self._events.append(Event(self._step, self._step / 1000.0, kind, detail))
        del self._events[:-MAX_EVENTS]

    def _changed(self) -> None:
        self._cached = None

    def _snapshot(self, state: str | None = None) -> Snapshot:
        self._version += 1
        latest = tuple(
            (name, vals[-1] if vals else None) for name, (_, vals) in self._series.items()
        )
        guarantee: tuple = ()
        observed = None
        if self.regression_quadratic:
            guarantee = (
                ("L (largest Hessian eigenvalue)", "4.812"),
                ("mu (smallest)", "0.2113"),
                ("stable step bound 2/L", "0.4156"),
                ("best fixed step 2/(L+mu)", "0.3982"),
                ("predicted contraction", "0.915840"),
                ("predicted steps to grad_tol", "171"),
            )
            observed = 0.9161 if self._step else None
        running = (state or self._state) == "running"
        return Snapshot(
            preset=self.config.name,
            title=self.config.title,
            task="classification" if self.classification else "regression",
            state=state or self._state,
            status=self._status,
            explanation=self._explanation,
            step=self._step,
            epoch=self._step / 8.0,
            steps_per_s=1234.0 if running else 0.0,
            elapsed_s=self._step / 1000.0,
            target_steps=self.target_steps,
            hparams=tuple(self._hp.items()),
            edited=frozenset(self._edited),
            latest=latest,
            series=tuple(
                (name, Series(tuple(s), tuple(v))) for name, (s, v) in self._series.items() if s
            ),
            events=tuple(self._events),
            guarantee=guarantee,
            observed_contraction=observed,
            test=self._test,
            best_step=self._best[1] if self._best else None,
            error=self._error,
            version=self._version,
            milestones=tuple(self._milestones.items()),
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
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def wait_for(
    pilot, condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Let the app run until `condition()` holds (polls are real timers)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot, polls: int = 4) -> None:
    """Let a few poll intervals pass."""
    await pilot.pause(polls / 15)
