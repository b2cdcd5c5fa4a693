"""Numba's on-disk cache kept whole when several processes compile into it.

Two locks per cache, both flock on files in the temp folder: released by the kernel with
a process that dies, keyed to the cache in use, so runs of another checkout or another
cache never wait on them. The index lock is held only while a compiled kernel is saved
(numba's writer, patched); the compile lock while a run's first kernels compile or load,
so two cold starts take turns (engine/numerics/warmup.py decides who takes which).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike


def _cache_setting() -> str:
    """NUMBA_CACHE_DIR when set, else the folder of this checkout's kernels (whose
    __pycache__ Numba uses)."""
    from engine import numerics

    return os.environ.get("NUMBA_CACHE_DIR") or str(Path(numerics.__file__).resolve().parent)


def training_kernel_never_cached() -> bool:
    """Whether the cache this process uses holds no index of train_chunk at all: a first
    run with this cache, known without importing Numba (a stale index counts as cached
    here; loading finds it out). Numba keeps a NUMBA_CACHE_DIR cache in one folder per
    source folder, and the default one in __pycache__ beside the kernels."""
    root = Path(_cache_setting())
    folder = "*" if os.environ.get("NUMBA_CACHE_DIR") else "__pycache__"
    return next(root.glob(f"{folder}/kernels.train_chunk-*.nbi"), None) is None


def compile_lock_path() -> Path:
    """The lock file of the Numba cache this process compiles into.

    One lock per cache (NUMBA_CACHE_DIR when set, else the cache beside this checkout's
    kernels), so runs of another checkout or with another cache never wait on this one.
    A lock held by a process that died is released by the kernel with its file
    descriptors (flock), so it is never waited on forever.
    """
    key = hashlib.sha1(_cache_setting().encode()).hexdigest()[:16]
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
    with exclusive(compile_lock_path()):
        yield


def index_lock_path() -> Path:
    """The lock a save into this process's Numba cache holds (a sibling of compile_lock's)."""
    return compile_lock_path().with_suffix(".index.lock")


def part_lock_path(dtype: DTypeLike, part: str) -> Path:
    """The lock a compile of one part of a precision's kernels holds outside compile_lock
    (warmup.py: the parallel variant, or the evaluation and prediction kernels)."""
    return compile_lock_path().with_suffix(f".{part}-{np.dtype(dtype).name}.lock")


@contextmanager
def exclusive(path: Path):
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
    with exclusive(index_lock_path()):
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
