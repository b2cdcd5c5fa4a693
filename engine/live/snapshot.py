"""Immutable pictures of a run, published by the runner and read by any thread.

A Snapshot holds only tuples, strings, ints and floats, and the data view's read-only
arrays, copied once: the UI can keep one as long as it likes, read it without locks, and
can never reach into the engine's live arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import ConfigError
from engine.numerics.optim import HParams, lr_schedule
from engine.training.data import train_split_size
from engine.training.dataview import DataView
from engine.training.hparams import shown_hparams
from engine.vocabulary import Event, RunState, Status

# Event is defined in engine.vocabulary; re-exported for the modules that still import it here.
__all__ = ["Event", "Series", "Snapshot", "starting_snapshot"]


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
    state: RunState
    status: Status  # the monitor's verdict
    explanation: str  # one line, with the numbers behind the status
    step: int
    epoch: float
    steps_per_s: float
    elapsed_s: float
    target_steps: int
    hparams: tuple[tuple[str, object], ...]  # rows to show, in order (hparams.shown_hparams)
    edited: frozenset[str]  # hyperparameters changed live
    # The last evaluation's metrics, and the last step's step_loss and step_grad_norm.
    latest: tuple[tuple[str, float | None], ...]
    series: tuple[tuple[str, Series], ...]
    events: tuple[Event, ...]  # the most recent events, oldest first
    guarantee: tuple[tuple[str, str], ...] = ()  # quadratic problems only
    observed_contraction: float | None = None
    test: tuple[tuple[str, object], ...] | None = None  # once evaluated (Session.test_report)
    best_step: int | None = None
    error: str | None = None  # message and traceback when the runner failed
    version: int = 0  # increases with every publish
    milestones: tuple[tuple[str, int | None], ...] = field(default=())
    train_size: int | None = None  # rows in the training split (None before the data exists)
    sentence: str = ""  # the status in plain words, for a student (explanation: the numbers)
    # Quadratic problems: the training loss this run converges to (the least-squares fit,
    # penalised if the run is) and, when the guarantee applies, the spectral radius of
    # the iteration: the gradient norm's predicted rate per step (the excess loss's is its
    # square). Full precision, for the chart; the guarantee rows are rounded for reading.
    lstsq_floor: float | None = None
    predicted_contraction: float | None = None
    pace: float = 0.0  # the steps per second the runner trains at (0 = full speed)
    # The model's predictions over its data (engine/training/dataview.py), only while a
    # front end shows them (RunControl.show_data_view).
    data_view: DataView | None = None

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
    cfg,
    state: RunState = RunState.COMPILING,
    error: str | None = None,
    version: int = 0,
    train_size: int | None = None,
    pace: float = 0.0,
) -> Snapshot:
    """What a run looks like before its first evaluation: its settings, no numbers yet.

    `train_size` defaults to what the config describes (engine/training/data.py computes
    it without generating the data); a runner that has read the data passes its own.
    """
    explanation = (
        "loading the training kernels, or compiling them the first time (about 10 s on a "
        "2-core machine, then cached; groklab warmup compiles them ahead)"
        if error is None
        else error.splitlines()[0]
    )
    if train_size is None:
        try:
            train_size = train_split_size(cfg)
        except ConfigError:  # the data cannot be made: the run's error says why
            train_size = None
    hp = HParams.from_config(cfg)
    return Snapshot(
        preset=cfg.name,
        title=cfg.title,
        task="classification" if cfg.is_classification else "regression",
        state=state,
        status=Status.COMPILING,
        explanation=explanation,
        step=0,
        epoch=0.0,
        steps_per_s=0.0,
        elapsed_s=0.0,
        target_steps=cfg.train.steps,
        hparams=shown_hparams(hp, float(lr_schedule(hp, 0, 1)[0])),
        edited=frozenset(),
        latest=(),
        series=(),
        events=(),
        error=error,
        version=version,
        train_size=train_size,
        pace=pace,
    )
