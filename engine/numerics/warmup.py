"""The compiled kernels' warm-up: compile (or load from Numba's cache) every kernel a
precision needs, in the order and under the locks (kernel_cache.py) that keep a run moving.

Numba's on-disk cache is not safe for two processes that save into it at once, so every
save holds a short lock on the cache's index (make_kernel_cache_crash_safe), and the
kernels a run needs first are compiled or loaded under a longer one (compile_lock): two
cold starts take turns and the second loads what the first compiled. Every compile goes
through warm_up_kernels: the runner's, a sweep worker's, `groklab warmup`'s, the child
that compiles the parallel kernel (engine/live/parallel_compile.py), and the trainer's own
before its first kernel call (`ensure_warm`), which makes a session or a benchmark driven
without a runner safe too. What a process has warmed is remembered, so asking again costs
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from engine.numerics.kernel_cache import (
    compile_lock,
    exclusive,
    make_kernel_cache_crash_safe,
    parallel_lock_path,
)

# Seconds the parallel variant took to compile on the 2-core development machine (its
# child's whole run, interpreter start included): what the run's note announces.
PARALLEL_COMPILE_S = 12

# kernel_warmups' selections: everything, what a run needs before its first step, and
# the parallel variant a run compiles out of the way (ParallelCompile).
ALL_KERNELS, FIRST_KERNELS, PARALLEL_KERNEL = "all", "first", "parallel"


def parallel_wanted() -> bool:
    """Whether train_chunk's parallel variant is ever used here (parallel.shards_for)."""
    from engine.numerics.parallel import cores, parallel_available

    return cores() > 1 and parallel_available()


def kernel_warmups(
    dtype: DTypeLike = np.float64, which: str = ALL_KERNELS
) -> list[tuple[str, Callable[[], object]]]:
    """(what it compiles, a call that compiles or loads it) for each kernel of a precision,
    on a tiny problem.

    Every session passes the kernels arrays of the same dimensions and layouts, and the
    same argument types as here (the shard count as an int, a scratch array: omitting them
    would be another signature), so these calls cover every model of a precision. Call
    them under compile_lock (warm_up_kernels does). train_chunk has a serial and, where
    shards can run in parallel (parallel_wanted), a parallel variant: FIRST_KERNELS is
    everything but the latter, PARALLEL_KERNEL the latter alone.
    """
    from engine.numerics import kernels
    from engine.numerics.chunk import PLAIN_SGD, train_chunk_args

    params = np.zeros(4, dtype)
    one = np.array([1], dtype=np.int64)
    meta = (one * 1, one * 2, np.zeros(1, dtype=np.int64), np.array([2], dtype=np.int64))
    xd, yf = np.ones((2, 1), dtype), np.ones((2, 2), dtype)
    empty_i2, empty_i1 = np.empty((0, 0), dtype=np.int64), np.empty(0, dtype=np.int64)
    buf = np.empty(1)

    def train(parallel: bool) -> object:
        return kernels.train_chunk(
            *train_chunk_args(
                state=(params, np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)),
                data=(xd, empty_i2, yf, empty_i1),
                layout=(*meta, 0, 0),
                batches=(empty_i1, np.zeros(2, dtype=np.int64)),
                lrs=np.zeros(1),
                **PLAIN_SGD,
                weight_mask=np.ones(4, dtype),
                step0=0,
                grad_stop=0.0,
                outputs=(buf, buf.copy(), buf.copy()),
                stop=np.zeros(1, dtype=np.int64),
                shards=2 if parallel else 1,
                parallel=parallel,
                scratch=np.empty(0, dtype),
            )
        )

    name = np.dtype(dtype).name
    first: list[tuple[str, Callable[[], object]]] = [
        (f"training, serial ({name})", lambda: train(False)),
        (f"evaluation ({name})", lambda: kernels.evaluate(
            params, xd, empty_i2, yf, empty_i1, *meta, 0, 0, 16)),
        (f"prediction ({name})", lambda: kernels.predict(
            params, xd, empty_i2, *meta, 0, 0, 16, np.empty((2, 2), dtype))),
    ]  # fmt: skip
    parallel = [(f"training, parallel shards ({name})", lambda: train(True))]
    if which == FIRST_KERNELS or not parallel_wanted():
        return [] if which == PARALLEL_KERNEL else first
    return parallel if which == PARALLEL_KERNEL else first[:1] + parallel + first[1:]


# (precision, FIRST_KERNELS or PARALLEL_KERNEL) this process has warmed.
_warm: set[tuple[str, str]] = set()
_warm_lock = threading.Lock()  # one warm-up at a time within the process too


def warm_up_kernels(dtype: DTypeLike = np.float64, which: str = ALL_KERNELS) -> None:
    """Compile (or load from the cache) the kernels of this precision (kernel_warmups);
    the runner says `compiling` meanwhile."""
    saves_are_safe = make_kernel_cache_crash_safe()  # before anything compiles
    name = np.dtype(dtype).name
    parts = (FIRST_KERNELS, PARALLEL_KERNEL) if which == ALL_KERNELS else (which,)
    # The parallel variant compiles outside compile_lock, its saves being safe anyway: its
    # half-minute compile must never hold back another run's first kernels. It takes turns
    # with other compiles of itself, so a second run loads it instead of compiling it too.
    if which == PARALLEL_KERNEL and saves_are_safe:
        turn = exclusive(parallel_lock_path(dtype))
    else:
        turn = compile_lock()
    with _warm_lock, turn:
        for _what, warm_up in kernel_warmups(dtype, which):
            warm_up()
        _warm.update((name, part) for part in parts)


def ensure_warm(dtype: DTypeLike, parallel: bool) -> None:
    """Before a kernel call: warm this precision's kernels (the parallel variant too when
    `parallel`) unless this process already has, so no call compiles outside the lock."""
    name = np.dtype(dtype).name
    if (name, FIRST_KERNELS) not in _warm:
        warm_up_kernels(dtype, FIRST_KERNELS)
    if parallel and (name, PARALLEL_KERNEL) not in _warm:
        warm_up_kernels(dtype, PARALLEL_KERNEL)
