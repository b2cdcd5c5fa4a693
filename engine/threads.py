"""How a training call uses the cores: row shards in parallel, or BLAS threads.

Large steps are split into row shards computed in parallel by Numba's thread pool, each
shard with single-threaded BLAS (engine/kernels.py, `_sharded_gradient`): both cores then
work on the products and on everything between them (gather, softmax, activations,
scatter), with one synchronisation per step. Measured on this project's 2-core machine,
W1 went from 208-218 to 263-284 steps/s and W3 from 55 to 68 against two BLAS threads.

Small steps stay on one thread: a parallel region per step costs microseconds, and a
second thread that gets descheduled (the dashboard, another process) stalls every step.
W2 (minibatches of 256, 9.5M multiply-adds a step) sharded ran anywhere from 1,300 to
3,500 steps/s against a steady 2,400-2,600 unsharded, so the threshold sits above it.

When no thread-safe threading layer (OpenMP or TBB) is available, nothing is sharded and
large products get every core through BLAS instead. OpenBLAS threads spin-wait between
calls: with small products a second one lost 5x as soon as anything else ran, so BLAS
gets more than one thread only for products of LARGE_PRODUCT_MACS or more.
"""

from __future__ import annotations

import importlib
import os
from contextlib import contextmanager

import numba

# Multiply-adds of a product from which BLAS gets every core (when not sharding).
LARGE_PRODUCT_MACS = 1 << 24
# Multiply-adds of one training step from which its rows are sharded across the cores.
SHARD_MIN_MACS = 1 << 24
# Rows a shard gets at least: fewer would leave the products too small to pay off.
MIN_SHARD_ROWS = 64

if numba.config.THREADING_LAYER == "default":
    # Never Numba's workqueue layer: it aborts the process when two threads launch
    # parallel kernels at once (two runners can train at the same time).
    numba.config.THREADING_LAYER = "threadsafe"

_parallel_available: bool | None = None


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


def shards_for(rows: int, step_macs: int) -> int:
    """Row shards for a training step over `rows` rows costing `step_macs` multiply-adds."""
    if step_macs < SHARD_MIN_MACS or not parallel_available():
        return 1
    count = min(cores(), numba.config.NUMBA_NUM_THREADS, rows // MIN_SHARD_ROWS)
    return max(1, count)


_blas_libraries = None


def _libraries():
    global _blas_libraries
    if _blas_libraries is None:
        import scipy.linalg.cython_blas  # noqa: F401 - the BLAS numba's np.dot calls
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        _blas_libraries = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    return _blas_libraries


def threads_for(largest_product_macs: int, shards: int = 1) -> int:
    """BLAS threads for a kernel whose largest matrix product has this many multiply-adds
    (one per shard when sharded: the shards already use the cores)."""
    if shards > 1 or largest_product_macs < LARGE_PRODUCT_MACS:
        return 1
    return cores()


@contextmanager
def blas_threads(count: int):
    """Run the block with `count` BLAS threads, then restore the previous settings."""
    libraries = _libraries()
    before = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(count)
    try:
        yield
    finally:
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)
