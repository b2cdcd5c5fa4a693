"""How a UI or a script drives a run: typed commands and the RunControl protocol.

Commands are frozen dataclasses queued for the runner thread and applied between chunks,
never mid-step. RunControl is everything a front end may call; engine.live.runner.Runner
implements it, and so does the test fake (tests/tui/fakes.py), so the type checker keeps
the two from drifting apart.
"""

from __future__ import annotations

import math
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.live.snapshot import Snapshot


@dataclass(frozen=True)
class Pause:
    """Stop training after the current chunk (a compiling run starts paused)."""


@dataclass(frozen=True)
class Resume:
    """Train again; a done run gets another train.steps of budget."""


@dataclass(frozen=True)
class Step:
    """Run `count` steps from a paused or done run, then pause again."""

    count: int = 1


@dataclass(frozen=True)
class Reset:
    """Back to step 0 with fresh parameters, same seed, live edits kept."""


@dataclass(frozen=True)
class SetHParam:
    """A live edit, already validated (engine.training.hparams.validate_hparam)."""

    name: str
    value: float | int


def valid_pace(steps_per_s: float) -> float:
    """A pace as the runner takes it: a finite number of steps per second >= 0."""
    if isinstance(steps_per_s, bool) or not isinstance(steps_per_s, int | float):
        raise ValueError(f"pace: expected a number of steps per second >= 0, found {steps_per_s!r}")
    pace = float(steps_per_s)
    if not math.isfinite(pace) or pace < 0:
        raise ValueError(f"pace: expected a number of steps per second >= 0, found {pace!r}")
    return pace


@dataclass(frozen=True)
class SetPace:
    """Train at `steps_per_s` (0 = full speed); spaces chunks out in time, changes no number."""

    steps_per_s: float


@dataclass(frozen=True)
class EvaluateTest:
    """Score the test set (once per run; a repeat reports the first score)."""


@dataclass(frozen=True)
class Export:
    """Write the metrics CSV; the path (or the exception) comes back through `reply`."""

    path: Path | None
    reply: queue.SimpleQueue = field(default_factory=queue.SimpleQueue, compare=False)


@dataclass(frozen=True)
class ShowDataView:
    """Compute the data view at this grid resolution (points across, down) from now on,
    or stop computing it (None: hidden)."""

    resolution: tuple[int, int] | None


@dataclass(frozen=True)
class Stop:
    """End the runner thread after flushing its files."""


Command = (
    Pause
    | Resume
    | Step
    | Reset
    | SetHParam
    | SetPace
    | EvaluateTest
    | Export
    | ShowDataView
    | Stop
)


@runtime_checkable
class RunControl(Protocol):
    """A run as a front end sees it: commands in, snapshots out."""

    @property
    def config(self) -> RunConfig: ...

    @property
    def out_dir(self) -> Path | None: ...

    @property
    def is_alive(self) -> bool: ...

    def start(self) -> None: ...

    def snapshot(self) -> Snapshot: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def step(self, n: int = 1) -> None: ...

    def reset(self) -> None: ...

    def set(self, name: str, value: float | int) -> None:
        """Validate now (ConfigError with the reason), apply between chunks."""
        ...

    def set_pace(self, steps_per_s: float) -> None:
        """Train at this many steps per second from now on (0 = full speed); ValueError
        when it is not a finite number >= 0."""
        ...

    def evaluate_test(self) -> None: ...

    def export(self, path: Path | str | None = None) -> Path: ...

    def show_data_view(self, resolution: tuple[int, int] | None) -> None:
        """Put the data view in the snapshots at this grid resolution (engine/training/
        dataview.py says what it means per task), or take it out (None): while it is
        out, the view costs the engine nothing."""
        ...

    def stop(self) -> None:
        """Stop and wait for the files to be written (never gives up while a step runs)."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is in a final state (done, diverged, error); False on timeout."""
        ...
