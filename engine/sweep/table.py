"""DIR/sweep.csv: one row per finished cell, and what the rows say per grid point.

A row is made from the cell's summary.json (the monitor's status, phase and milestones,
the final and best metrics) plus where and how long it ran. Across the seeds of a grid
point the point shows its majority phase and how many seeds agree.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.vocabulary import Phase

TABLE_FILE = "sweep.csv"
# After the cell's name and the varied keys (in grid order):
ROW_COLUMNS = (
    "seed",
    "status",
    "phase",
    "memorized_step",
    "grokked_step",
    "grok_delay",
    "converged_step",
    "diverged_step",
    "steps",
    "final_train_loss",
    "final_val_loss",
    "final_train_acc",
    "final_val_acc",
    "best_step",
    "best_val_loss",
    "best_val_acc",
    "wall_s",
    "train_s",
    "worker",
)
ERROR_STATUS = "error"  # a cell whose run failed: recorded, and run again by --resume
PHASE_ORDER = tuple(Phase)  # ties of the majority go to the phase listed first


def header(keys: Sequence[str]) -> list[str]:
    return ["cell", *keys, *ROW_COLUMNS]


def make_row(
    name: str,
    point: Sequence[tuple[str, object]],
    seed: int,
    summary: Mapping | None,
    wall_s: float,
    worker: str,
    error: str | None = None,
) -> dict[str, object]:
    """The sweep.csv row of a cell, from its summary.json (None when the run failed)."""
    row: dict[str, object] = {"cell": name, **dict(point), "seed": seed}
    summary = summary or {}
    final, best = summary.get("final") or {}, summary.get("best") or {}
    row.update(
        status=ERROR_STATUS if error is not None else summary.get("status"),
        phase=summary.get("phase"),
        memorized_step=summary.get("memorized_step"),
        grokked_step=summary.get("grokked_step"),
        grok_delay=summary.get("grok_delay"),
        converged_step=summary.get("converged_step"),
        diverged_step=summary.get("diverged_step"),
        steps=summary.get("steps"),
        final_train_loss=final.get("train_loss"),
        final_val_loss=final.get("val_loss"),
        final_train_acc=final.get("train_acc"),
        final_val_acc=final.get("val_acc"),
        best_step=summary.get("best_step"),
        best_val_loss=best.get("val_loss"),
        best_val_acc=best.get("val_acc"),
        wall_s=round(wall_s, 3),
        train_s=summary.get("train_s"),
        worker=worker,
    )
    return row


def field_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(field_text(v) for v in value)
    return str(value)


def row_line(columns: Sequence[str], row: Mapping[str, object]) -> str:
    """One CSV line, newline included."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([field_text(row.get(c)) for c in columns])
    return out.getvalue()


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a sweep.csv; a last line cut short (a sweep killed mid-write) is left out."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def number(text: object) -> float | None:
    """A CSV field as a finite float, None when empty or not a number."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class PointPhase:
    """The majority phase of one grid point over the seeds that finished there."""

    phase: str | None  # None: no seed has a phase (regression, or none finished)
    agree: int  # seeds with that phase
    seeds: int  # seeds finished


def majority_phase(phases: Iterable[str | None]) -> PointPhase:
    """The most common phase; ties go to the one first in Phase's order."""
    done = list(phases)
    counts = Counter(p for p in done if p)
    if not counts:
        return PointPhase(None, 0, len(done))
    rank = {str(p): i for i, p in enumerate(PHASE_ORDER)}
    phase = min(counts, key=lambda p: (-counts[p], rank.get(p, len(rank))))
    return PointPhase(phase, counts[phase], len(done))


def point_of(row: Mapping[str, str], keys: Sequence[str]) -> tuple[str, ...]:
    """A row's grid point as the texts of its varied keys (how sweep.csv spells them)."""
    return tuple(row.get(k, "") for k in keys)


def phases_by_point(
    rows: Iterable[Mapping[str, str]], keys: Sequence[str]
) -> dict[tuple[str, ...], PointPhase]:
    grouped: dict[tuple[str, ...], list[str | None]] = {}
    for row in rows:
        grouped.setdefault(point_of(row, keys), []).append(row.get("phase") or None)
    return {point: majority_phase(phases) for point, phases in grouped.items()}
