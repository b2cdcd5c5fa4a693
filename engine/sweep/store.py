"""The sweep directory: sweep.toml (the plan), sweep.csv (the rows) and cells/NAME/ (runs).

A cell's run directory appears whole or not at all: the worker's files are written into a
hidden folder beside it, then renamed. Its row is appended to sweep.csv after that, so a
row always has its directory; a directory without a row (the sweep stopped in between) is
a cell still to run, and is replaced when it runs again. A cell is finished when it has a
row (unless its run failed: those run again).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from engine.errors import ConfigError
from engine.store.files import RunDirError, atomic_write_bytes
from engine.store.rundir import check_out_dir
from engine.sweep.plan import PLAN_FILE, SweepPlan, load_plan
from engine.sweep.table import ERROR_STATUS, TABLE_FILE, header, read_rows, row_line

CELLS = "cells"


class SweepDir:
    """One sweep directory, for the process that drives the sweep (its only writer)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.table = self.path / TABLE_FILE

    def cell_dir(self, name: str) -> Path:
        return self.path / CELLS / name

    def holds_sweep(self) -> bool:
        return (self.path / PLAN_FILE).is_file()

    def open(self, plan: SweepPlan) -> None:
        """Make the directory hold `plan`: a new one is created, one holding the same sweep
        is continued; another sweep (or a run) there is refused, naming the difference."""
        check_out_dir(str(self.path))  # a file, a run, a read-only folder: refused here
        if self.holds_sweep():
            problem = load_plan(self.path).difference(plan, str(self.path / PLAN_FILE))
            if problem is not None:
                raise problem
        try:
            (self.path / CELLS).mkdir(parents=True, exist_ok=True)
            if not self.holds_sweep():
                atomic_write_bytes(self.path / PLAN_FILE, plan.to_toml().encode())
            self._start_table(plan)
        except OSError as exc:
            raise ConfigError(str(self.path), "--out", "a folder groklab can write", exc) from None

    def _start_table(self, plan: SweepPlan) -> None:
        columns = header(plan.keys)
        try:
            data = self.table.read_bytes()
        except FileNotFoundError:
            data = b""
        if not data:
            atomic_write_bytes(self.table, row_line(columns, dict(zip(columns, columns))).encode())
        elif not data.endswith(b"\n"):  # a row cut short by a kill: cut back to whole rows
            with open(self.table, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def rows(self) -> list[dict[str, str]]:
        """The latest row of each cell (a failed cell run again has two), in sweep order."""
        latest = {row["cell"]: row for row in read_rows(self.table)}
        return list(latest.values())

    def finished(self) -> set[str]:
        """Names of the cells with a row whose run did not fail."""
        return {r["cell"] for r in self.rows() if r.get("status") != ERROR_STATUS}

    def write_cell(self, name: str, files: Mapping[str, bytes]) -> Path:
        """Put a cell's run files in place as one directory (replacing any left before)."""
        final = self.cell_dir(name)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final.parent))
            for file_name, data in files.items():
                (tmp / Path(file_name).name).write_bytes(data)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as exc:
            raise RunDirError(final, exc) from None
        return final

    def append_row(self, plan: SweepPlan, row: Mapping[str, object]) -> None:
        try:
            with open(self.table, "a", encoding="utf-8") as fh:
                fh.write(row_line(header(plan.keys), row))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise RunDirError(self.table, exc) from None
