"""train_chunk's parallel variant, compiled out of the way while a run trains serially.

Its parallel loop is the slowest kernel to compile (about as long as all the others), and
a compile holds the GIL for its whole length, so compiling it in the run's own process
would freeze the dashboard as surely as waiting for it. A run therefore starts on the
serial variant (the same numbers: shards are summed in the same order either way) and a
child process compiles the parallel one into the shared Numba cache, outside the compile
lock (a run started meanwhile loads its own first kernels at once). When the child is
done the runner loads it from the cache, which takes a moment, and lets the trainer
choose parallel shards from then on.

One child per process at a time: a second runner (a test suite, a sweep worker) waits for
the same child instead of starting its own. Another process's child waits for this one
(warm_up_kernels' parallel lock) and then only loads what it compiled.
"""

from __future__ import annotations

import subprocess
import threading

import numpy as np
from numpy.typing import DTypeLike

from engine.launch import python_command

_CHILD_CODE = (
    "import sys\n"
    "import numpy as np\n"
    "from engine.numerics.warmup import PARALLEL_KERNEL, warm_up_kernels\n"
    "warm_up_kernels(np.dtype(sys.argv[1]), PARALLEL_KERNEL)\n"
)

_children: dict[str, subprocess.Popen] = {}  # precision -> its compiling child
_children_lock = threading.Lock()


def parallel_is_cached(dtype: DTypeLike) -> bool:
    """Whether Numba's cache holds train_chunk's parallel variant for this precision, so
    loading it costs a moment, not a compile. Read from the cache's index (an index whose
    source stamp is stale reads as empty): False whenever it cannot tell."""
    from engine.numerics import kernels

    name = np.dtype(dtype).name
    try:
        cache = kernels.train_chunk._cache  # pyright: ignore[reportAttributeAccessIssue]
        index = cache._cache_file._load_index()
        signatures = [key[0] for key in index]
        # The first argument is the parameters (their precision); the second to last,
        # `parallel`, is a boolean only in the parallel variant (None in the serial one).
        return any(str(sig[0]).startswith(f"array({name}") and str(sig[-2]) == "bool"
                   for sig in signatures)  # fmt: skip
    except Exception:  # numba's internals moved: compile in process as before
        return False


class ParallelCompile:
    """The child compiling the parallel variant for one precision; `done()` polls it."""

    def __init__(self, dtype: DTypeLike) -> None:
        self.precision = np.dtype(dtype).name
        with _children_lock:
            child = _children.get(self.precision)
            if child is None or child.poll() not in (None, 0):
                child = subprocess.Popen(
                    python_command(_CHILD_CODE, self.precision),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                _children[self.precision] = child
        self._child = child

    def done(self) -> bool | None:
        """True when it compiled, False when it failed, None while it still runs."""
        code = self._child.poll()
        return None if code is None else code == 0
