"""Immutable pictures of a run, published by the runner and read by any thread.

A Snapshot holds only tuples, strings, ints and floats: the UI can keep one as long as it
likes, read it without locks, and can never reach into the engine's live arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.vocabulary import Event

# Run states shown in the header, as one word (DESIGN.md).
RUN_STATES = ("compiling", "running", "paused", "diverged", "done", "error")

# Series names a snapshot may carry (a regression run has no *_acc, a classifier no *_mad).
SERIES = (
    "train_loss",
    "val_loss",
    "train_acc",
    "val_acc",
    "train_mad",
    "val_mad",
    "grad_norm",
    "weight_norm",
    "update_ratio",
    "lr",
    "step_loss",
)


@dataclass(frozen=True)
class Series:
    steps: tuple[int, ...]
    values: tuple[float, ...]  # may contain nan/inf: clean before display

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None


@dataclass(frozen=True)
class Snapshot:
    preset: str
    title: str
    task: str  # "regression" | "classification"
    state: str  # one of RUN_STATES
    status: str  # the monitor's status word
    explanation: str  # one line, with the numbers behind the status
    step: int
    epoch: float
    steps_per_s: float
    elapsed_s: float
    target_steps: int
    hparams: tuple[tuple[str, object], ...]  # ("lr", 0.01), ("optimizer", "adamw"), ...
    edited: frozenset[str]  # hyperparameters changed live
    latest: tuple[tuple[str, float | None], ...]  # the last evaluation's metrics
    series: tuple[tuple[str, Series], ...]
    events: tuple[Event, ...]  # the most recent events, oldest first
    guarantee: tuple[tuple[str, str], ...] = ()  # quadratic problems only
    observed_contraction: float | None = None
    test: tuple[tuple[str, float | None], ...] | None = None  # once evaluated
    best_step: int | None = None
    error: str | None = None  # message and traceback when the runner failed
    version: int = 0  # increases with every publish
    milestones: tuple[tuple[str, int | None], ...] = field(default=())
    train_size: int | None = None  # rows in the training split (None before the data exists)

    def get_series(self, name: str) -> Series:
        for key, series in self.series:
            if key == name:
                return series
        return Series((), ())

    def hparam(self, name: str, default=None):
        return dict(self.hparams).get(name, default)

    def metric(self, name: str) -> float | None:
        return dict(self.latest).get(name)


def starting_snapshot(
    cfg, state: str = "compiling", error: str | None = None, version: int = 0
) -> Snapshot:
    """What a run looks like before its first evaluation: no numbers yet."""
    explanation = (
        "compiling the training kernels (cached after the first run)"
        if error is None
        else error.splitlines()[0]
    )
    return Snapshot(
        preset=cfg.name,
        title=cfg.title,
        task="classification" if cfg.loss.kind == "cross_entropy" else "regression",
        state=state,
        status="compiling",
        explanation=explanation,
        step=0,
        epoch=0.0,
        steps_per_s=0.0,
        elapsed_s=0.0,
        target_steps=cfg.train.steps,
        hparams=(("optimizer", cfg.optim.kind), ("lr", cfg.optim.lr)),
        edited=frozenset(),
        latest=(),
        series=(),
        events=(),
        error=error,
        version=version,
    )
