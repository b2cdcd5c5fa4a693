"""The run directory (`--out DIR`): config, metrics, events, summary, checkpoint.

Metrics and events are appended as they happen and flushed at least once a second, so a
run killed with SIGKILL keeps everything up to its last second and the files stay
parseable (a line is written whole or not at all). checkpoint.npz is written atomically
(a temporary file in the same folder, fsync, rename) every train.checkpoint_every_s by the
runner and at the end, when summary.json follows, atomically too, naming its step.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from engine.config import config_to_toml
from engine.store.checkpoint import save as save_checkpoint
from engine.store.files import atomic_write_bytes, json_safe
from engine.training.session import CSV_COLUMNS, Session

FLUSH_EVERY_S = 0.5  # well inside the promised second


def write_metrics_csv(path: Path, session: Session) -> None:
    """All metrics rows the session holds in memory, under the CSV_COLUMNS header."""
    rows = list(session.rows)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)


class RunWriter:
    """Listens to a session and keeps its run directory up to date."""

    def __init__(self, out_dir: Path, session: Session) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.session = session
        (self.dir / "config.toml").write_text(config_to_toml(session.cfg))
        self._metrics = open(self.dir / "metrics.csv", "w", newline="")
        self._csv = csv.writer(self._metrics)
        self._csv.writerow(CSV_COLUMNS)
        self._events = open(self.dir / "events.jsonl", "w")
        self._last_flush = time.perf_counter()
        self._finished_step: int | None = None
        self._summary: dict | None = None
        self.checkpoint_step: int | None = None  # the step of the last checkpoint written
        session.listeners.append(self._on)

    def _on(self, kind: str, payload: dict) -> None:
        if kind == "record":
            self._csv.writerow(self.session.csv_row(payload))
        else:
            self._events.write(json.dumps(json_safe(payload)) + "\n")
        self.maybe_flush()

    def maybe_flush(self) -> None:
        if time.perf_counter() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        for fh in (self._metrics, self._events):
            if not fh.closed:
                fh.flush()
        self._last_flush = time.perf_counter()

    def finish(self, wall_s: float) -> dict:
        """Write summary.json and checkpoint.npz (once per step reached); return the summary
        as written, so a caller need not read the file back."""
        self.flush()
        if self._finished_step == self.session.step and self._summary is not None:
            return self._summary
        self._finished_step = self.session.step
        self.checkpoint()  # first, so the summary never names a checkpoint not on disk
        summary = json_safe(self.session.summary(wall_s))
        assert isinstance(summary, dict)
        summary["checkpoint_step"] = self.checkpoint_step
        atomic_write_bytes(
            self.dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode()
        )
        self._summary = summary
        return summary

    def checkpoint(self) -> float:
        """Write checkpoint.npz now, atomically, after flushing metrics and events (so they
        reach at least its step); return the seconds the write took."""
        self.flush()
        started = time.perf_counter()
        save_checkpoint(self.session, self.dir / "checkpoint.npz")
        self.checkpoint_step = self.session.step
        return time.perf_counter() - started

    @property
    def summary_written(self) -> bool:
        return self._summary is not None

    def close(self) -> None:
        self.flush()
        self._metrics.close()
        self._events.close()
        if self._on in self.session.listeners:
            self.session.listeners.remove(self._on)
