"""The sweep on Dask: a local cluster or the user's, cells out, rows in as they finish.

By default a `distributed.LocalCluster` of worker processes with one thread each (a cell
is one run; Numba's kernels use the cores inside it); with `--scheduler ADDRESS` the
cluster the user runs (`dask scheduler`, `dask worker ADDRESS` on each machine). Each
worker warms the kernels once (cell.WarmKernels) before its first cell. Cells are
submitted seed by seed and collected with `as_completed`; a worker that dies mid-cell
loses nothing: the scheduler runs its cell again on another worker (up to Dask's
`allowed-failures`), and a cell's row is written once, when its result arrives.

The driver is the only writer of the sweep directory. Its thread publishes an immutable
SweepProgress (progress.py) that a front end polls (done, running, queued, rate, ETA,
workers, rows).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from distributed import Client, LocalCluster, as_completed
from distributed.client import Future

from engine.errors import ConfigError
from engine.store.files import RunDirError
from engine.sweep.cell import CellResult, WarmKernels, run_cell
from engine.sweep.grid import Cell
from engine.sweep.plan import SweepPlan
from engine.sweep.progress import SweepProgress
from engine.sweep.store import SweepDir
from engine.sweep.table import make_row
from engine.sweep.where import check_address, check_workers

CONNECT_TIMEOUT_S = 3.0  # an unreachable scheduler is said within a few seconds
POLL_S = 0.05  # the collecting loop's tick
WORKERS_EVERY_S = 1.0  # the worker list is refreshed this often


class SweepDriver:
    """Runs the unfinished cells of `plan` into `folder` on a Dask cluster."""

    def __init__(
        self,
        plan: SweepPlan,
        folder: SweepDir,
        workers: int | None = None,
        scheduler: str | None = None,
    ) -> None:
        self.plan = plan
        self.folder = folder
        self.n_workers = check_workers(workers) if scheduler is None else None
        self.scheduler = check_address(scheduler) if scheduler is not None else None
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}  # cell -> worker, from the workers' start events
        self._workers: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.perf_counter()
        self._done_here = 0  # cells this driver collected (the rate counts these)
        self._failed = 0
        self._state = "starting"
        self._message: str | None = None
        self._topic = f"groklab-sweep-{uuid.uuid4().hex}"
        self._rows = tuple(folder.rows())
        finished = folder.finished()
        self._todo: list[Cell] = [c for c in plan.cells if c.name not in finished]
        self._progress = self._picture()

    # ------------------------------------------------------------------ setup
    def connect(self) -> None:
        """Start the local cluster or reach the user's; ConfigError when it cannot be."""
        if self.scheduler is not None:
            try:
                self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    "--scheduler", self.scheduler,
                    "a reachable Dask scheduler (start one with `dask scheduler`)",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                ) from None  # fmt: skip
        else:
            self._cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,  # pyright: ignore[reportArgumentType]
                # no dashboard, and its HTTP routes on any free port, not a busy 8787
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.CRITICAL,
            )
            self._client = Client(self._cluster)
        self._client.subscribe_topic(self._topic, self._on_start)

    def _on_start(self, event) -> None:
        _, message = event
        with self._lock:
            self._running[str(message["cell"])] = str(message["on"])

    # ------------------------------------------------------------------ running
    def start(self, on_change: Callable[[], None] | None = None) -> None:
        """Run the sweep in a thread (after connect)."""
        self._thread = threading.Thread(
            target=self.run, args=(on_change,), name="groklab-sweep", daemon=True
        )
        self._thread.start()

    def run(self, on_change: Callable[[], None] | None = None) -> None:
        """Warm the workers, submit every unfinished cell, collect them as they finish."""
        client = self._client
        assert client is not None, "connect() first"
        final, message = "done", None
        try:
            if self._todo and not self._stop.is_set():
                self._poll_workers(client)
                self._set_state("warming")
                precisions = sorted({c.config.train.precision for c in self._todo})
                client.register_plugin(WarmKernels(precisions))
                self._collect(client, on_change)
            if self._stop.is_set():
                final, message = "stopped", "unfinished cells run again with --resume"
        except RunDirError as exc:
            final, message = "error", str(exc)
        except Exception as exc:  # the cluster failed under us: say so, never hang
            final, message = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self._set_state("closing")
            self._close()
            self._set_state(final, message)
            if on_change is not None:
                on_change()

    def _collect(self, client: Client, on_change: Callable[[], None] | None) -> None:
        self._set_state("running")
        cells = {}
        for cell in self._todo:
            key = f"groklab-cell-{cell.name}-{uuid.uuid4().hex[:8]}"
            cells[client.submit(run_cell, cell.config, cell.name, self._topic, key=key)] = cell
        waiting = as_completed(list(cells))
        polled = 0.0
        while not waiting.is_empty() and not self._stop.is_set():
            now = time.perf_counter()
            if now - polled >= WORKERS_EVERY_S:
                polled = now
                self._poll_workers(client)
            if not waiting.has_ready():
                self._publish()
                time.sleep(POLL_S)
                continue
            ready = waiting.next_batch(block=False)
            for future in ready:  # pyright: ignore[reportGeneralTypeIssues]
                self._finish(cells[future], future)
                if on_change is not None:
                    on_change()
        if self._stop.is_set():
            client.cancel(list(cells))

    def _poll_workers(self, client: Client) -> None:
        threads: dict = client.nthreads()  # pyright: ignore[reportAssignmentType]
        workers = tuple(sorted(w.removeprefix("tcp://") for w in threads))
        with self._lock:
            self._workers = workers
            # a cell whose worker left is queued again (the scheduler reschedules it)
            self._running = {c: w for c, w in self._running.items() if w in workers}

    def _finish(self, cell: Cell, future: Future) -> None:
        try:
            result: CellResult = future.result()
        except Exception as exc:  # the cell's code raised, or its workers kept dying
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            result = CellResult(cell.name, {}, None, 0.0, "", error)
        if result.files:
            self.folder.write_cell(cell.name, result.files)
        row = make_row(
            cell.name, cell.point, cell.seed, result.summary, result.wall_s, result.worker,
            result.error,
        )  # fmt: skip
        self.folder.append_row(self.plan, row)
        with self._lock:
            self._running.pop(cell.name, None)
            self._done_here += 1
            self._failed += result.error is not None
            self._rows = tuple(self.folder.rows())
        self._publish()

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Stop handing out cells; running cells are abandoned (--resume runs them again)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _close(self) -> None:
        for thing in (self._client, self._cluster):
            if thing is not None:
                thing.close()

    def close(self) -> None:
        """Close the client (and the local cluster) when run() was never called."""
        if self._thread is None:
            self._close()

    # ------------------------------------------------------------------ progress
    def progress(self) -> SweepProgress:
        return replace(self._progress, elapsed_s=time.perf_counter() - self._started)

    def _set_state(self, state: str, message: str | None = None) -> None:
        self._state = state
        if message is not None:
            self._message = message
        self._publish()

    def _publish(self) -> None:
        self._progress = self._picture()

    def _picture(self) -> SweepProgress:
        with self._lock:
            done_names = {r["cell"] for r in self._rows}
            total = len(self.plan.cells)
            done = sum(1 for c in self.plan.cells if c.name in done_names)
            running = tuple(sorted(self._running))
            elapsed = time.perf_counter() - self._started
            left = sum(1 for c in self._todo if c.name not in done_names) if self._todo else 0
            rate = self._done_here / elapsed * 60 if self._done_here and elapsed > 0 else None
            eta = left / rate * 60 if rate else None
            active = self._state in ("running", "warming")
            queued = max(0, left - len(running)) if active else 0
            return SweepProgress(
                state=self._state,
                total=total,
                done=done,
                running=len(running) if active else 0,
                queued=queued,
                failed=self._failed,
                workers=self._workers,
                elapsed_s=elapsed,
                cells_per_min=rate,
                eta_s=eta if eta is None or math.isfinite(eta) else None,
                rows=self._rows,
                message=self._message,
                running_cells=running,
            )
