"""How a training call uses the cores: row shards in parallel, or BLAS threads.

Steps of SHARD_MIN_MACS multiply-adds or more split their rows into one shard per core
(engine/numerics/kernels.py, `_shard_gradient`); the shards' gradients are summed in shard
order, so the numbers depend on the shard count only (a property of the problem and the
machine, not of timing). A run records the cores its shards were planned for (its start
event), and a replay plans for the same count on any machine (plan_shards_for).
The shards run either in parallel on Numba's thread pool, each with single-threaded
BLAS, so both cores work on the products and on everything between them (gather,
softmax, activations, scatter) with one synchronisation per step; or one after another
on the calling thread. The kernels' BLAS then stays single-threaded for
good (see kernel_blas for why). `ParallelChoice` measures both and keeps the faster: on
an idle machine parallel shards win, but a parallel step waits for its slowest shard, so
when something else keeps a core busy (the dashboard, another process) small steps lose
badly and serial wins.

When no thread-safe threading layer (OpenMP or TBB) is available, nothing is sharded
and BLAS threads are set per call instead. OpenBLAS threads spin-wait between calls:
with small products a second one made them several times slower as soon as anything
else ran, so BLAS then gets more than one thread only for products of LARGE_PRODUCT_MACS
or more.
"""

from __future__ import annotations

import importlib
import os
from collections import deque
from contextlib import contextmanager
from statistics import median

# Multiply-adds of a product from which BLAS gets every core (when not sharding).
LARGE_PRODUCT_MACS = 1 << 24
# Multiply-adds of one training step from which its rows are sharded across the cores.
SHARD_MIN_MACS = 1 << 22
# Rows a shard gets at least: fewer would leave the products too small to pay off.
MIN_SHARD_ROWS = 64

_parallel_available: bool | None = None
_planned_cores: int | None = None  # a replay's: the cores the recorded run planned for


def cores() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def parallel_available() -> bool:
    """Whether a thread-safe Numba threading layer (TBB or OpenMP) can be loaded."""
    global _parallel_available
    if _parallel_available is None:
        _parallel_available = False
        for module in ("numba.np.ufunc.tbbpool", "numba.np.ufunc.omppool"):
            try:
                importlib.import_module(module)
            except (ImportError, OSError):  # e.g. libgomp.so.1 is not installed
                continue
            _parallel_available = True
            break
    return _parallel_available


def shard_cores() -> int:
    """The cores a step's shards are planned for: this machine's (as many as Numba's pool
    has threads), or during a replay the recorded run's (more shards than threads run
    in turns, with the same sums)."""
    if _planned_cores is not None:  # the serial kernel runs any number of shards
        return _planned_cores
    if not parallel_available():
        return 1
    return min(cores(), pool_threads())


def plan_shards_for(count: int | None) -> None:
    """Plan shards for `count` cores from now on (None: this machine's), process-wide."""
    global _planned_cores
    _planned_cores = count


def shards_for(rows: int, step_macs: int) -> int:
    """Row shards for a training step over `rows` rows costing `step_macs` multiply-adds."""
    if step_macs < SHARD_MIN_MACS:
        return 1
    return max(1, min(shard_cores(), rows // MIN_SHARD_ROWS))


def pool_threads() -> int:
    """Threads in Numba's pool: NUMBA_NUM_THREADS, fixed when numba is imported."""
    # Imported here, not at the top: building a trainer must not load numba.
    from numba.core import config as numba_config

    # numba.core.config sets its settings through globals(), so no stub declares them.
    return numba_config.NUMBA_NUM_THREADS  # pyright: ignore[reportAttributeAccessIssue]


_kernel_blas_libraries = None
_pinned = False


def _kernel_blas():
    """threadpoolctl controllers of the BLAS the kernels' np.dot calls: scipy's (numba
    lowers np.dot to scipy.linalg.cython_blas). NumPy's own OpenBLAS, which the NumPy
    reference and the benchmark's peak use, is left alone."""
    global _kernel_blas_libraries
    if _kernel_blas_libraries is None:
        import numpy
        from threadpoolctl import ThreadpoolController

        from engine.numerics.blas import import_cython_blas

        import_cython_blas()  # loads the library to control

        numpy_dir = os.path.dirname(numpy.__file__)
        _kernel_blas_libraries = [
            lib
            for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas" and not lib.filepath.startswith(numpy_dir)
        ]
    return _kernel_blas_libraries


@contextmanager
def kernel_blas(count: int):
    """Run a kernel call with `count` BLAS threads.

    With parallel shards available, the kernels' BLAS is pinned to one thread for good
    instead: OpenBLAS threads started from inside an OpenMP region may deadlock (OpenBLAS
    warns "Detect OpenMP Loop and this application may hang"), and a per-call setting is
    process-wide, so one runner restoring two threads while another runner's shards are
    running would do exactly that. Without parallel shards, the count applies per call.
    """
    global _pinned
    if parallel_available():
        if not _pinned:
            for lib in _kernel_blas():
                lib.set_num_threads(1)
            _pinned = True
        yield
        return
    libraries = _kernel_blas()
    before = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(count)
    try:
        yield
    finally:
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)


def threads_for(largest_product_macs: int) -> int:
    """BLAS threads for a product of this many multiply-adds when nothing else runs in
    parallel with it (parallel shards always get one: kernel_blas)."""
    return 1 if largest_product_macs < LARGE_PRODUCT_MACS else cores()


class ParallelChoice:
    """Whether to run a step's shards in parallel: whichever measured faster per step,
    re-measuring the other every PROBE_EVERY calls, since load comes and goes.

    Each mode's speed is the median of its last WINDOW calls' seconds per step, so one
    slow call (a dashboard frame drawn while the shards waited for a core) does not flip
    the choice: with a running mean, W1 inside the dashboard ran serially in 121 of 190
    calls although its median parallel step was 11% faster. Each mode is measured
    FIRST_CALLS times before the first choice: a single early parallel call, slowed by the
    dashboard's first frame, kept W1 serial for its first 64 calls. A probe faster than
    the chosen mode's median is tried again at once, so a mode the load had slowed wins
    back within a few calls, not a few probes (W1 after the dashboard's first busy
    seconds ran serially for another ~100 calls). Each mode's first call is not counted:
    it pays for compiling or loading the kernel and, in parallel, for starting the
    thread pool.
    """

    PROBE_EVERY = 32
    MIN_SECONDS = 0.002  # calls shorter than this measure mostly overhead: not counted
    WINDOW = 5  # calls per mode in its median: one outlier never decides
    FIRST_CALLS = 3  # counted calls of each mode before the first choice

    def __init__(self) -> None:
        self._recent: dict[bool, deque[float]] = {
            mode: deque(maxlen=self.WINDOW) for mode in (True, False)
        }
        self._warm: dict[bool, bool] = {True: False, False: False}
        self._calls = 0
        self._confirming: bool | None = None  # a mode whose latest call beat the other's

    @property
    def settled(self) -> bool:
        """Whether both modes have been measured enough for a choice (until then they take
        turns, so a timing of the first calls measures serial and parallel mixed)."""
        return min(len(self._recent[True]), len(self._recent[False])) >= self.FIRST_CALLS

    def choose(self) -> bool:
        self._calls += 1
        counts = len(self._recent[True]), len(self._recent[False])
        if not self.settled:  # measure each mode a few times, taking turns
            return counts[0] <= counts[1]
        parallel, serial = median(self._recent[True]), median(self._recent[False])
        best = parallel <= serial
        if self._confirming is not None and self._confirming != best:
            return self._confirming  # a probe that beat the choice is tried again at once
        return (not best) if self._calls % self.PROBE_EVERY == 0 else best

    def record(self, parallel: bool, seconds: float, steps: int) -> None:
        if not self._warm[parallel]:
            self._warm[parallel] = True
            return
        if steps < 1 or seconds < self.MIN_SECONDS:
            return
        per_step = seconds / steps
        self._recent[parallel].append(per_step)
        other = self._recent[not parallel]
        self._confirming = parallel if other and per_step < median(other) else None
