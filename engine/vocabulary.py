"""The words every layer shares: run states, convergence statuses, phases and events.

Engine, UI and test fakes import these instead of spelling the words themselves, so a
rule such as "a paused or finished run can be stepped" is written once, here. Both
enumerations are StrEnums: a member equals its word (`RunState.PAUSED == "paused"`),
which keeps snapshots, JSON files and CSV columns plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class RunState(StrEnum):
    """What the run is doing, shown in the header as one word."""

    COMPILING = "compiling"
    RUNNING = "running"
    PAUSED = "paused"
    DIVERGED = "diverged"
    DONE = "done"
    ERROR = "error"

    @property
    def can_pause(self) -> bool:
        """A pause asked for while compiling takes effect once training starts."""
        return self in (RunState.RUNNING, RunState.COMPILING)

    @property
    def can_resume(self) -> bool:
        """Resuming a done run extends its budget by another train.steps."""
        return self in (RunState.PAUSED, RunState.DONE)

    @property
    def can_step(self) -> bool:
        """Single steps move a run that is not training on its own (the UI pauses first)."""
        return self in (RunState.PAUSED, RunState.DONE)

    @property
    def is_idle(self) -> bool:
        """The runner thread waits for a command instead of training."""
        return self in (RunState.PAUSED, RunState.DIVERGED, RunState.DONE)

    @property
    def is_final(self) -> bool:
        """Nothing more happens without a command: a headless run can end here."""
        return self in (RunState.DONE, RunState.DIVERGED, RunState.ERROR)


class Status(StrEnum):
    """The convergence monitor's verdict on what training is doing."""

    COMPILING = "compiling"
    IMPROVING = "improving"
    PLATEAU = "plateau"
    CONVERGED = "converged"
    DIVERGED = "diverged"
    DIVERGING = "diverging"
    OVERFITTING = "overfitting"
    UNDERFITTING = "underfitting"
    MEMORIZING = "memorizing"
    GROKKED = "grokked"


class Phase(StrEnum):
    """How a classifier's run ended, in the words of Liu et al. 2022's phase diagrams.

    The monitor decides it (engine/training/monitor.py `judge_generalization`); a sweep
    colours its cells by it.
    """

    COMPREHENSION = "comprehension"  # train and validation accuracy came together
    GROKKING = "grokking"  # validation followed memorization after a long delay
    MEMORIZATION = "memorization"  # the training set fitted, validation never
    CONFUSION = "confusion"  # neither
    DIVERGED = "diverged"  # the loss blew up


def _frozen(data: dict[str, Any] | None) -> MappingProxyType:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Event:
    """Something that happened at a step: a status change, a milestone, a live edit...

    `detail` is the one line a person reads; `data` carries the same facts as values
    (a status change has "from" and "to"), for files and programs.
    """

    step: int
    time: float  # seconds since the run started
    kind: str
    detail: str
    data: MappingProxyType = field(default_factory=lambda: _frozen(None))

    def __post_init__(self) -> None:
        if not isinstance(self.data, MappingProxyType):
            object.__setattr__(self, "data", _frozen(self.data))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step,
            "time": round(self.time, 4),
            "kind": self.kind,
            "detail": self.detail,
        }
        if self.data:
            out["data"] = dict(self.data)
        return out
