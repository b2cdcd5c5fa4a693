"""The compiled kernels' warm-up: compile (or load from Numba's cache) every kernel a
precision needs, in the order and under the locks (kernel_cache.py) that keep a run moving.

Numba's on-disk cache is not safe for two processes that save into it at once, so every
save holds a short lock on the cache's index (make_kernel_cache_crash_safe), and the
kernels a run needs first are compiled or loaded under a longer one (compile_lock): two
cold starts take turns and the second loads what the first compiled. Every compile goes
through warm_up_kernels: the runner's, a sweep worker's, `groklab warmup`'s, the child
that compiles what a run can start without (engine/live/background_compile.py), and the
trainer's own before its first call of a kernel (`ensure_warm`), which makes a session or
a benchmark driven without a runner safe too. What a process has warmed is remembered, so
asking again costs nothing.

A cold start needs only the serial training kernel before its first step. Evaluation and
prediction (LATER_KERNELS) come a moment later, and the parallel variant when it is ready:
the child compiles them on the other core meanwhile, each under its own lock, so a run that
asks for them first waits for the child and then loads them. Before those, the child
compiles HEAD_START: the parts of the serial kernel that its compile reaches last (the
loss, the backward pass, the optimizer update; Numba compiles and caches each function on
its own), so the run loads them from the cache when it gets there.
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
    part_lock_path,
)

# Seconds from a cold start's first step until the parallel variant was ready, on the
# 2-core development machine: what the run's note announces.
PARALLEL_COMPILE_S = 10

# kernel_warmups' selections: everything; what a run needs before its first step; and
# what a cold start leaves to a child process (BackgroundCompile): the evaluation and
# prediction kernels, then the parallel variant.
ALL_KERNELS, FIRST_KERNELS, LATER_KERNELS, PARALLEL_KERNEL = "all", "first", "later", "parallel"
# Parts of FIRST_KERNELS, compiled ahead by the child, unlocked (see the module's note).
HEAD_START = "head start"
# The selections ALL_KERNELS stands for, in the order it compiles them.
PARTS = (FIRST_KERNELS, PARALLEL_KERNEL, LATER_KERNELS)


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
    them under their locks (warm_up_kernels does). train_chunk has a serial and, where
    shards can run in parallel (parallel_wanted), a parallel variant: FIRST_KERNELS is the
    former, PARALLEL_KERNEL the latter (nothing where it is not wanted), LATER_KERNELS
    evaluation and prediction.
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

    def head_start() -> None:
        # The kernels' own argument types: C arrays, int64 and float64 scalars.
        kernels.compile_ahead(params, xd, empty_i2, yf, empty_i1, empty_i1, 0, 0, 0)
        kernels._penalise_and_norm(params, params.copy(), params.copy(), 0.0, 0.0)
        kernels._update(
            params.copy(), params.copy(), params.copy(), params.copy(), params.copy(), 0,
            0.0, 1.0, 0.0, 0.0, 0.9, 0.999, 1e-8, 1,
        )  # fmt: skip

    parts: dict[str, list[tuple[str, Callable[[], object]]]] = {
        HEAD_START: [(f"training's loss, backward pass and update ({name})", head_start)],
        FIRST_KERNELS: [(f"training, serial ({name})", lambda: train(False))],
        PARALLEL_KERNEL: [(f"training, parallel shards ({name})", lambda: train(True))]
        if parallel_wanted() else [],
        LATER_KERNELS: [
            (f"evaluation ({name})", lambda: kernels.evaluate(
                params, xd, empty_i2, yf, empty_i1, *meta, 0, 0, 16)),
            (f"prediction ({name})", lambda: kernels.predict(
                params, xd, empty_i2, *meta, 0, 0, 16, np.empty((2, 2), dtype))),
        ],
    }  # fmt: skip
    if which == ALL_KERNELS:
        return [step for part in PARTS for step in parts[part]]
    return parts[which]


# (precision, one of PARTS) this process has warmed.
_warm: set[tuple[str, str]] = set()
_warm_lock = threading.Lock()  # one warm-up at a time within the process too


def warm_up_kernels(dtype: DTypeLike = np.float64, which: str = ALL_KERNELS) -> None:
    """Compile (or load from the cache) the kernels of this precision (kernel_warmups);
    the runner says `compiling` meanwhile."""
    saves_are_safe = make_kernel_cache_crash_safe()  # before anything compiles
    if which == HEAD_START:  # beside the run's compile of the same kernel: never waits
        if saves_are_safe:
            for _what, warm_up in kernel_warmups(dtype, which):
                warm_up()
        return
    name = np.dtype(dtype).name
    parts = PARTS if which == ALL_KERNELS else (which,)
    # What a run can start without compiles outside compile_lock, its saves being safe
    # anyway: it must never hold back another run's first kernels. Each part takes turns
    # with other compiles of itself, so a second run loads it instead of compiling it too.
    if which in (PARALLEL_KERNEL, LATER_KERNELS) and saves_are_safe:
        turn = exclusive(part_lock_path(dtype, which))
    else:
        turn = compile_lock()
    with _warm_lock, turn:
        for _what, warm_up in kernel_warmups(dtype, which):
            warm_up()
        _warm.update((name, part) for part in parts)


def ensure_warm(dtype: DTypeLike, *parts: str) -> None:
    """Before a kernel call: warm these parts of this precision's kernels unless this
    process already has, so no call compiles outside its lock."""
    name = np.dtype(dtype).name
    for part in parts:
        if (name, part) not in _warm:
            warm_up_kernels(dtype, part)
