"""What a cold start can train without, compiled out of the way on the other core.

A run's first step needs only the serial training kernel. A child process started with
the run compiles, beside it, the parts of that kernel the run's compile reaches last
(warmup.py, HEAD_START), then the evaluation and prediction kernels (needed a moment
later; the run loads them from the cache when it first evaluates, waiting for the child
if it is not done) and then train_chunk's parallel variant. Its parallel loop is the
slowest kernel to compile (about as long as all the others), and a compile holds the GIL
for its whole length, so compiling it in the run's own process would freeze the
dashboard as surely as waiting for it. The run trains on the serial variant meanwhile
(the same numbers: shards are summed in the same order either way); when the child is
done the runner loads the parallel one from the cache, which takes a moment, and lets
the trainer choose parallel shards from then on.

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
    "from engine.numerics.warmup import HEAD_START, LATER_KERNELS, PARALLEL_KERNEL\n"
    "from engine.numerics.warmup import warm_up_kernels\n"
    "warm_up_kernels(np.dtype(sys.argv[1]), HEAD_START)\n"
    "warm_up_kernels(np.dtype(sys.argv[1]), LATER_KERNELS)\n"
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


class BackgroundCompile:
    """The child compiling one precision's kernels a run starts without; `done()` polls
    it (done: the parallel variant is in the cache)."""

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
