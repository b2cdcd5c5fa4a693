"""A finished cell's run, read back from its directory as a Snapshot the charts can draw.

metrics.csv gives the series, summary.json the milestones and the final status; the
state is done. Files, not engine arrays: a view of a sweep reads nothing live.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

from engine.config import load_config
from engine.errors import ConfigError
from engine.live.snapshot import Series, Snapshot, starting_snapshot
from engine.sweep.table import number
from engine.training.session import CSV_COLUMNS
from engine.vocabulary import RunState, Status

SERIES_COLUMNS = ("train_loss", "val_loss", "train_acc", "val_acc", "grad_norm", "lr")
MILESTONES = ("memorized_step", "grokked_step", "converged_step", "diverged_step")


def _status(text: object) -> Status:
    try:
        return Status(str(text))
    except ValueError:
        return Status.CONVERGED  # a word this version does not know: the run did end


def _whole(value: object) -> int | None:
    found = number(value)
    return int(found) if found is not None else None


def run_snapshot(folder: Path | str) -> Snapshot:
    """The run in `folder` (config.toml, metrics.csv, summary.json) as a done Snapshot;
    ConfigError naming the file when one is missing or unreadable."""
    folder = Path(folder)
    cfg = load_config(folder / "config.toml")
    metrics = folder / "metrics.csv"
    try:
        with open(metrics, newline="", encoding="utf-8") as fh:
            records = list(csv.DictReader(fh))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
        raise ConfigError(str(folder), "run files", "metrics.csv and summary.json", exc) from None
    if not isinstance(summary, dict):
        raise ConfigError(str(folder / "summary.json"), "<json>", "an object", type(summary))
    steps: list[int] = []
    columns: dict[str, list[float]] = {c: [] for c in SERIES_COLUMNS if c in CSV_COLUMNS}
    for record in records:
        step = _whole(record.get("step"))
        if step is None:
            continue
        steps.append(step)
        for name, values in columns.items():
            value = number(record.get(name))
            values.append(float("nan") if value is None else value)
    series = tuple(
        (name, Series(tuple(steps), tuple(values)))
        for name, values in columns.items()
        if any(v == v for v in values)  # a column never recorded (accuracy of a regression)
    )
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
    latest = tuple((k, number(v)) for k, v in (final or {}).items() if k != "step")
    step = _whole(summary.get("steps")) or (steps[-1] if steps else 0)
    return replace(
        starting_snapshot(cfg, state=RunState.DONE),
        status=_status(summary.get("status")),
        explanation=str(summary.get("explanation") or ""),
        sentence=str(summary.get("sentence") or ""),
        step=step,
        elapsed_s=number(summary.get("train_s")) or 0.0,
        latest=latest,
        series=series,
        best_step=_whole(summary.get("best_step")),
        milestones=tuple((k, _whole(summary.get(k))) for k in MILESTONES),
        version=1,
    )
