"""What a Dask worker runs: the kernels warmed once, then one headless run per cell.

A cell runs like `groklab run --headless --out`, into a temporary folder on the worker's
own disk; its five files travel back with the result, so workers on other machines need
no shared filesystem, and a worker that dies mid-cell leaves nothing half-written in the
sweep directory (the scheduler hands the cell to another worker).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from engine.config import RunConfig
from engine.live.runner import Runner
from engine.numerics.warmup import warm_up_kernels
from engine.store.rundir import RUN_FILES
from engine.vocabulary import RunState


class WarmKernels(WorkerPlugin):
    """Compile or load the kernels of each precision a sweep uses, once per worker, before
    its first cell. warm_up_kernels holds the compile lock, so workers sharing a Numba
    cache take turns on a cold one instead of racing. Off the worker's event loop, so it
    keeps answering the scheduler meanwhile."""

    name = "groklab-warm-kernels"

    def __init__(self, precisions: Sequence[str]) -> None:
        self.precisions = tuple(precisions)

    async def setup(self, worker) -> None:
        for precision in self.precisions:
            await asyncio.to_thread(warm_up_kernels, np.dtype(precision))


@dataclass(frozen=True)
class CellResult:
    """A finished cell as it comes back from its worker."""

    name: str
    files: dict[str, bytes]  # the run directory's files, by name
    summary: dict | None  # summary.json's content; None when the run failed
    wall_s: float  # the cell on its worker: data, training and files
    worker: str
    error: str | None  # one line when the run failed


def worker_label(address: str) -> str:
    return address.removeprefix("tcp://")


def run_cell(cfg: RunConfig, name: str, topic: str) -> CellResult:
    """Run one cell to its end on this worker; `topic` hears that it started."""
    worker = get_worker()
    where = worker_label(worker.address)
    worker.log_event(topic, {"cell": name, "on": where})
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix=f"groklab-cell-{name}-"))
    try:
        runner = Runner(cfg, out_dir=folder)
        runner.start()
        runner.wait()
        runner.stop()
        snap = runner.snapshot()
        error = runner.failure
        if error is None and snap.state == RunState.ERROR:
            error = (snap.error or "the run failed").splitlines()[0]
        files = {n: (folder / n).read_bytes() for n in RUN_FILES if (folder / n).is_file()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - start
    summary = runner.summary if error is None else None
    return CellResult(name, files, summary, wall, where, error)
