"""The kernel cache's locks: saves never collide, and the parallel variant's long compile
never holds back another run's first kernels (engine/numerics/kernel_cache.py, warmup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from numba.core.caching import IndexDataCacheFile

from engine.numerics import warmup
from engine.numerics.kernel_cache import make_kernel_cache_crash_safe, training_kernel_never_cached
from engine.numerics.warmup import FIRST_KERNELS, LATER_KERNELS, PARALLEL_KERNEL

# Subprocesses and lock waits: seconds each, so out of the quick selection.
pytestmark = pytest.mark.slow
pytest.importorskip("fcntl")

SAVER = """
import sys
from numba.core.caching import IndexDataCacheFile
from engine.numerics.kernel_cache import make_kernel_cache_crash_safe, training_kernel_never_cached
assert make_kernel_cache_crash_safe()
cache = IndexDataCacheFile(sys.argv[1], "shared", "stamp")
for i in range(int(sys.argv[3])):
    cache.save((sys.argv[2], i), (sys.argv[2], i))
"""


def test_two_processes_saving_into_one_index_lose_no_entry(repo_root, tmp_path):
    """numba numbers a new entry from the index it read: unlocked, two savers take the
    same numbers and one's index names the other's code (or loses its entries)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(tmp_path), who, "150"], cwd=repo_root, env=env
        )  # fmt: skip
        for who in ("a", "b")
    ]
    assert [saver.wait(timeout=120) for saver in savers] == [0, 0]
    cache = IndexDataCacheFile(str(tmp_path), "shared", "stamp")
    index = cache._load_index()
    assert sorted(index) == sorted((who, i) for who in ("a", "b") for i in range(150))
    for key, name in index.items():  # every entry names its own data
        assert cache._load_data(name) == key


HOLD_A_LOCK = (
    "import sys, time\n"
    "from engine.numerics import kernel_cache as k\n"
    "lock = k.compile_lock() if sys.argv[1] == 'compile' else "
    "k.exclusive(k.part_lock_path('float64', sys.argv[1]))\n"
    "with lock:\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def _hold(repo_root, which: str) -> subprocess.Popen:
    """Another process holding this cache's compile lock (a cold start compiling its first
    kernels) or the float64 lock of a part (a child compiling the parallel variant, or
    the evaluation and prediction kernels)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LOCK, which], cwd=repo_root,
        env=dict(os.environ), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


@pytest.fixture
def holder(repo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    children: list[subprocess.Popen] = []
    yield lambda which: children.append(_hold(repo_root, which)) or children[-1]
    for child in children:
        child.kill()
        child.wait(timeout=30)


def _warm_up_in_a_thread(monkeypatch, which: str) -> threading.Event:
    """warm_up_kernels(which) with nothing to compile, from a thread; set when it returns."""
    monkeypatch.setattr(warmup, "kernel_warmups", lambda dtype, which: [])
    monkeypatch.setattr(warmup, "_warm", set())
    finished = threading.Event()

    def warm() -> None:
        warmup.warm_up_kernels(np.float64, which)
        finished.set()

    threading.Thread(target=warm, daemon=True).start()
    return finished


@pytest.mark.parametrize("which", [PARALLEL_KERNEL, LATER_KERNELS])
def test_what_a_run_starts_without_never_waits_for_a_runs_first_kernels(holder, monkeypatch, which):
    """The child compiling them runs beside the run's own first compile, on the other core."""
    compiling_first = holder("compile")
    assert make_kernel_cache_crash_safe()  # its saves are safe without the compile lock
    assert _warm_up_in_a_thread(monkeypatch, which).wait(timeout=30)
    assert compiling_first.poll() is None  # it did not wait for the holder


@pytest.mark.parametrize(
    ("held", "which"),
    [
        ("compile", FIRST_KERNELS),
        (PARALLEL_KERNEL, PARALLEL_KERNEL),
        (LATER_KERNELS, LATER_KERNELS),
    ],
    ids=[
        "first kernels after a cold start's",
        "parallel variant after another's",
        "evaluation kernels after a child's",
    ],
)
def test_compiles_of_the_same_kernels_take_turns(holder, monkeypatch, held, which):
    other = holder(held)
    finished = _warm_up_in_a_thread(monkeypatch, which)
    assert not finished.wait(timeout=1.0)  # waits while the other process holds the lock
    other.kill()
    assert finished.wait(timeout=30)  # and goes on once it lets go (or dies)


HEAD_START_THEN_FIRST = """
import json, sys, subprocess
import numpy as np
from numba.core import event
from engine.numerics import warmup
ahead = "from engine.numerics import warmup; import numpy as np; "
ahead += "warmup.warm_up_kernels(np.float32, warmup.HEAD_START)"
subprocess.run([sys.executable, "-c", ahead], check=True)  # the child, on a cold start
with event.install_recorder("numba:compile") as recorded:
    warmup.warm_up_kernels(np.float32, warmup.FIRST_KERNELS)
compiled = [e.data["dispatcher"].py_func.__name__ for _, e in recorded.buffer if e.is_end]
print(json.dumps(compiled))
"""


@pytest.mark.slow  # two compiles into an empty cache: about 20 s
def test_the_head_start_leaves_the_run_to_load_its_loss_backward_pass_and_update(
    on_an_empty_cache,
):
    """What a child compiles ahead (HEAD_START) has the types the run's serial kernel calls
    it with: the run's own compile loads it from the cache instead of compiling it."""
    compiled = on_an_empty_cache(HEAD_START_THEN_FIRST, 600)
    assert "train_chunk" in compiled and "_forward" in compiled  # the run compiled the rest
    assert not {"_loss_and_output_grad", "_backward", "_update", "_penalise_and_norm"} & set(
        compiled
    )


def test_a_cache_without_a_training_kernel_index_is_known_without_numba(tmp_path, monkeypatch):
    """What lets a first run start its child before importing Numba."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert training_kernel_never_cached()
    folder = tmp_path / "numerics_0123"  # Numba's folder for the kernels' source folder
    folder.mkdir()
    (folder / "kernels.evaluate-800.py311.nbi").write_bytes(b"")
    assert training_kernel_never_cached()  # another kernel's index is not train_chunk's
    (folder / "kernels.train_chunk-634.py311.nbi").write_bytes(b"")
    assert not training_kernel_never_cached()
