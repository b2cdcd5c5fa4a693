"""SweepProgress: the immutable picture of a sweep that a front end polls, and its line.

Apart from driver.py (which imports Dask) so that a view of a finished sweep, or a test
with a made-up progress, needs no cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.sweep.table import ERROR_STATUS

FINISHED_STATES = ("done", "stopped", "error")


@dataclass(frozen=True)
class SweepProgress:
    """The picture of a sweep a front end reads. `state`: starting, warming, running,
    closing, then done, stopped or error (`message` says why)."""

    state: str
    total: int
    done: int
    running: int
    queued: int
    failed: int
    workers: tuple[str, ...]
    elapsed_s: float
    cells_per_min: float | None
    eta_s: float | None
    rows: tuple[dict[str, str], ...] = ()
    message: str | None = None
    running_cells: tuple[str, ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(p: SweepProgress) -> str:
    """One line: state, done / running / queued, rate, ETA and the number of workers."""
    rate = f"{p.cells_per_min:.1f} cells/min" if p.cells_per_min else "- cells/min"
    eta = f"ETA {duration(p.eta_s)}" if p.eta_s is not None else "ETA -"
    failed = f", {p.failed} failed" if p.failed else ""
    said = f" ({p.message})" if p.message else ""
    return (
        f"{p.state}{said}: {p.done}/{p.total} done, {p.running} running, {p.queued} queued"
        f"{failed}; {rate}, {eta}; {len(p.workers)} workers"
    )


def finished_progress(total: int, rows: Sequence[Mapping[str, str]]) -> SweepProgress:
    """The picture of a sweep nobody is running (`--show`): its rows, nothing running."""
    names = {r.get("cell") for r in rows}
    failed = sum(1 for r in rows if r.get("status") == ERROR_STATUS)
    return SweepProgress(
        state="done" if len(names) >= total else "stopped",
        total=total,
        done=len(names),
        running=0,
        queued=0,
        failed=failed,
        workers=(),
        elapsed_s=0.0,
        cells_per_min=None,
        eta_s=None,
        rows=tuple(dict(r) for r in rows),
        message=None if len(names) >= total else "--resume DIR runs the rest",
    )
