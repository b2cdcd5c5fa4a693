"""A run trains serially while the parallel kernel compiles out of the way, and switching
to parallel shards mid-run changes no number."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.config import load_config
from engine.live import runner as runner_module
from engine.live.runner import Runner
from engine.numerics import kernels
from engine.numerics.parallel import parallel_available
from engine.training.trainer import Trainer
from engine.vocabulary import RunState

needs_parallel = pytest.mark.skipif(
    not runner_module.parallel_wanted(), reason="one core or no thread-safe threading layer"
)


def _sharded_config():
    # Minibatches of 512 over mod 97 with 128 hidden units: past SHARD_MIN_MACS per step.
    return load_config("grokking-mod97", ["train.steps=100000", "train.eval_every=20"])


@needs_parallel
def test_switching_to_parallel_mid_run_gives_the_same_bits_as_parallel_throughout():
    cfg = _sharded_config()
    throughout, switched = Trainer(cfg), Trainer(cfg)
    assert throughout.core_plan(cfg.optim.batch_size or 0)[0] > 1  # the steps are sharded
    switched.parallel_ready = False
    for chunk in range(12):
        if chunk == 6:
            switched.parallel_ready = True
        throughout.run(5)
        switched.run(5)
    np.testing.assert_array_equal(switched.params, throughout.params)
    np.testing.assert_array_equal(switched.m, throughout.m)
    np.testing.assert_array_equal(switched.v, throughout.v)


class _ChildCompile:
    """Stands for the child compiling the parallel variant; the test says when it ends."""

    outcome: bool | None = None

    def __init__(self, dtype) -> None:
        self.dtype = dtype

    def done(self) -> bool | None:
        return _ChildCompile.outcome


def _wait(condition, seconds: float = 120.0) -> None:
    end = time.perf_counter() + seconds
    while not condition():
        assert time.perf_counter() < end, "timed out"
        time.sleep(0.01)


@needs_parallel
@pytest.mark.parametrize("outcome", [True, False])
def test_a_run_trains_before_the_parallel_kernel_exists_then_switches(monkeypatch, outcome):
    assert parallel_available()
    used = []
    real = kernels.train_chunk

    def spy(*args):
        used.append(args[-2])  # `parallel`: True only for the parallel variant
        return real(*args)

    monkeypatch.setattr(runner_module, "parallel_is_cached", lambda dtype: False)
    monkeypatch.setattr(runner_module, "BackgroundCompile", _ChildCompile)
    monkeypatch.setattr(kernels, "train_chunk", spy)
    _ChildCompile.outcome = None
    runner = Runner(_sharded_config())
    runner.start()
    try:
        _wait(lambda: runner.snapshot().state == RunState.RUNNING and runner.snapshot().step > 200)
        assert used and True not in used  # trained, and only serially
        assert runner.session.trainer.parallel_ready is False
        _ChildCompile.outcome = outcome
        _wait(lambda: any(e.kind == "kernels" and ("ready" in e.detail or "fail" in e.detail)
                          for e in runner.session.events))  # fmt: skip
        assert runner.session.trainer.parallel_ready is outcome
        if outcome:  # the trainer may now choose parallel shards: it measures both
            used.clear()  # the switch's own load of the kernel called it once
            _wait(lambda: True in used)
        else:
            before = len(used)
            _wait(lambda: len(used) > before + 20)
            assert True not in used
    finally:
        runner.stop()


COLD_START = """
import json, time
from engine.config import load_config
from engine.live.runner import Runner
runner = Runner(load_config("grokking-mod97", ["train.steps=100000000"]))
runner.start()
ready = lambda: any(e.kind == "kernels" and "ready" in e.detail for e in runner.session.events)
end = time.time() + 600
while not ready() and time.time() < end and runner.snapshot().state != "error":
    time.sleep(0.1)
print(json.dumps({"events": [[e.step, e.kind, e.detail] for e in runner.session.events],
                  "state": str(runner.snapshot().state)}))
runner.stop()
"""


@needs_parallel
@pytest.mark.slow  # every kernel compiles into an empty cache: about a minute
def test_a_cold_start_trains_before_the_parallel_kernel_exists(on_an_empty_cache):
    """In a fresh process with an empty Numba cache: the run trains from the start, on the
    serial kernel, and the parallel one becomes ready at a later step (an order, not a time)."""
    report = on_an_empty_cache(COLD_START, 900)
    assert report["state"] == "running"
    kernels = [(step, detail) for step, kind, detail in report["events"] if kind == "kernels"]
    assert kernels[0][0] == 0 and "training serially" in kernels[0][1]
    ready = [step for step, detail in kernels if "parallel shards ready" in detail]
    assert ready and ready[0] > 0  # it had trained before the parallel kernel existed
