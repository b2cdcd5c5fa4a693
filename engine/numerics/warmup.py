"""The compiled kernels' warm-up: compile (or load from Numba's cache) every kernel a
precision needs, one process at a time.

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

import hashlib
import itertools
import os
import tempfile
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike


def compile_lock_path() -> Path:
    """The lock file of the Numba cache this process compiles into.

    One lock per cache (NUMBA_CACHE_DIR when set, else the cache beside this checkout's
    kernels), so runs of another checkout or with another cache never wait on this one.
    A lock held by a process that died is released by the kernel with its file
    descriptors (flock), so it is never waited on forever.
    """
    from engine import numerics

    cache = os.environ.get("NUMBA_CACHE_DIR") or str(Path(numerics.__file__).resolve().parent)
    key = hashlib.sha1(cache.encode()).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"groklab-kernels-{user}-{key}.lock"


@contextmanager
def compile_lock():
    """Hold an exclusive lock, across processes, while a run's first kernels compile or
    load: two groklab processes started together on a cold cache take turns, and the
    second loads what the first compiled instead of compiling it again beside it. Where
    numba's cache writer could not be patched (make_kernel_cache_crash_safe), it is also
    what keeps two saves apart. Where fcntl is missing (Windows) there is no lock.
    """
    with _exclusive(compile_lock_path()):
        yield


def index_lock_path() -> Path:
    """The lock a save into this process's Numba cache holds (a sibling of compile_lock's)."""
    return compile_lock_path().with_suffix(".index.lock")


def parallel_lock_path(dtype: DTypeLike) -> Path:
    """The lock a compile of train_chunk's parallel variant of one precision holds."""
    return compile_lock_path().with_suffix(f".parallel-{np.dtype(dtype).name}.lock")


@contextmanager
def _exclusive(path: Path):
    """flock on `path`: exclusive across processes, released by the kernel if we die."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save_data_before_index(self, key, data) -> None:
    """numba's IndexDataCacheFile.save, safe to cut short and safe beside other savers.

    numba writes the index entry first, then the machine code it names: a process that
    ends in between (a quit while the kernels compile) leaves an entry naming a missing
    file or, after an edit of the source, a stale one of the same name, whose old code
    then runs against the new arguments and crashes every later start. The code first,
    then the entry: cut anywhere, the index is old (so it compiles again) or complete.
    And numba numbers a new entry from the index it read: two processes saving at once
    could take the same number, so the read, the code and the entry hold the index lock.
    """
    with _exclusive(index_lock_path()):
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            taken = set(overloads.values())
            name = next(n for n in map(self._data_name, itertools.count(1)) if n not in taken)
        self._save_data(name, data)
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)


def make_kernel_cache_crash_safe() -> bool:
    """Patch numba's cache writer (once) so a compile may be abandoned at any moment and
    may run beside another process's. False if numba's writer is not the one patched."""
    from numba.core import caching

    cls = getattr(caching, "IndexDataCacheFile", None)
    needs = ("save", "_load_index", "_data_name", "_save_data", "_save_index")
    if cls is None or not all(hasattr(cls, name) for name in needs):  # numba changed
        return False
    cls.save = _save_data_before_index
    return True


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
        turn = _exclusive(parallel_lock_path(dtype))
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
