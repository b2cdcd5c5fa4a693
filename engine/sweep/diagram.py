"""The phase diagram as a grid of points, from the plan and the rows finished so far.

The first varied key runs across, the second down (one row with a single key); further
keys are pooled: a point of the diagram holds every cell with its two values, over the
other keys' values and the seeds, and shows their majority phase (table.majority_phase)
or the median of a numeric column. A point with no row yet is running or queued.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.sweep.plan import SweepPlan
from engine.sweep.table import ERROR_STATUS, PointPhase, field_text, majority_phase, number

RUNNING, QUEUED = "running", "queued"
FAILED = "failed"  # every finished cell of the point failed
NO_PHASE = "no phase"  # finished without one (a regression preset)
# sweep.csv's numeric columns a diagram can be coloured by: (column, what the legend says)
VALUE_COLUMNS = (
    ("final_val_acc", "final val acc"),
    ("grokked_step", "grokking step"),
    ("converged_step", "converged step"),
    ("steps", "final step"),
)


@dataclass(frozen=True)
class Point:
    """One place of the diagram: its cells, the rows finished there, how many run."""

    x: int
    y: int
    cells: tuple[str, ...]
    rows: tuple[Mapping[str, str], ...]
    running: int
    phase: PointPhase

    @property
    def category(self) -> str:
        """What the point's colour says: its majority phase once a cell finished there."""
        if self.rows:
            if self.phase.phase is not None:
                return self.phase.phase
            return FAILED if all(r.get("status") == ERROR_STATUS for r in self.rows) else NO_PHASE
        return RUNNING if self.running else QUEUED

    @property
    def complete(self) -> bool:
        return len(self.rows) == len(self.cells)

    def value(self, column: str) -> float | None:
        """The median of a numeric column over the rows that have a finite value there."""
        values = [v for v in (number(r.get(column)) for r in self.rows) if v is not None]
        return float(statistics.median(values)) if values else None


@dataclass(frozen=True)
class Diagram:
    x_key: str
    x_texts: tuple[str, ...]
    y_key: str | None  # None: one varied key, one row
    y_texts: tuple[str, ...]  # ("",) when y_key is None
    pooled: tuple[tuple[str, tuple[str, ...]], ...]  # the further keys and their values
    points: tuple[tuple[Point, ...], ...]  # [y][x]

    @property
    def width(self) -> int:
        return len(self.x_texts)

    @property
    def height(self) -> int:
        return len(self.y_texts)

    def at(self, x: int, y: int) -> Point | None:
        if 0 <= y < len(self.points) and 0 <= x < len(self.points[y]):
            return self.points[y][x]
        return None

    def value_range(self, column: str) -> tuple[float, float] | None:
        values = [v for row in self.points for p in row if (v := p.value(column)) is not None]
        return (min(values), max(values)) if values else None


def build_diagram(
    plan: SweepPlan, rows: Iterable[Mapping[str, str]], running: Sequence[str] = ()
) -> Diagram:
    """The diagram of `plan` with these sweep.csv rows and these cells running."""
    keys = plan.keys
    texts = {key: tuple(field_text(v) for v in values) for key, values in plan.axes}
    x_key, y_key = keys[0], keys[1] if len(keys) > 1 else None
    x_texts, y_texts = texts[x_key], texts[y_key] if y_key else ("",)
    x_index = {t: i for i, t in enumerate(x_texts)}
    y_index = {t: i for i, t in enumerate(y_texts)}
    place: dict[str, tuple[int, int]] = {}
    for cell in plan.cells:
        point = dict(cell.point)
        x = x_index[field_text(point[x_key])]
        y = y_index[field_text(point[y_key])] if y_key else 0
        place[cell.name] = (x, y)
    cells: dict[tuple[int, int], list[str]] = {}
    for name, spot in place.items():
        cells.setdefault(spot, []).append(name)
    found: dict[tuple[int, int], list[Mapping[str, str]]] = {}
    for row in rows:
        spot = place.get(row.get("cell", ""))
        if spot is not None:  # a row of a cell not in this plan is no part of its diagram
            found.setdefault(spot, []).append(row)
    busy: dict[tuple[int, int], int] = {}
    for name in running:
        if name in place:
            busy[place[name]] = busy.get(place[name], 0) + 1
    points = tuple(
        tuple(
            Point(
                x,
                y,
                tuple(cells.get((x, y), ())),
                tuple(found.get((x, y), ())),
                busy.get((x, y), 0),
                majority_phase(r.get("phase") or None for r in found.get((x, y), ())),
            )  # fmt: skip
            for x in range(len(x_texts))
        )
        for y in range(len(y_texts))
    )
    pooled = tuple((k, texts[k]) for k in keys[2:])
    return Diagram(x_key, x_texts, y_key, y_texts, pooled, points)
