"""How training calls use the cores: the shard count and the parallel-or-serial choice."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.numerics import parallel as threads
from engine.numerics.parallel import ParallelChoice, shards_for


def test_parallel_choice_tries_both_then_keeps_the_faster_and_reprobes():
    choice = ParallelChoice()
    seconds = {True: 0.010, False: 0.020}  # parallel 1 ms a step, serial 2 ms
    tried = []
    # Each mode's first call (compiling, starting threads) is not counted; then each is
    # measured FIRST_CALLS times, taking turns, before the first choice.
    for _ in range(2 + 2 * ParallelChoice.FIRST_CALLS):
        mode = choice.choose()
        tried.append(mode)
        choice.record(mode, seconds[mode], 10)
    assert tried.count(True) == tried.count(False) == 1 + ParallelChoice.FIRST_CALLS
    picks = [choice.choose() for _ in range(ParallelChoice.PROBE_EVERY * 2)]
    assert picks.count(False) == 2 and picks.count(True) == len(picks) - 2  # probes only
    for _ in range(3):  # load arrives: parallel steps now take 4 ms
        choice.record(True, 0.040, 10)
    picks = [choice.choose() for _ in range(ParallelChoice.PROBE_EVERY)]
    assert picks.count(True) == 1  # serial now, parallel only probed


def test_parallel_choice_is_settled_once_both_modes_are_measured():
    """Until settled the modes take turns, so a timing of those calls mixes the two."""
    choice = ParallelChoice()
    for _ in range(1 + 2 * ParallelChoice.FIRST_CALLS):
        assert not choice.settled
        mode = choice.choose()
        choice.record(mode, 0.01, 10)
    assert choice.choose() is False  # the last turn: serial's third counted call
    assert not choice.settled
    choice.record(False, 0.02, 10)
    assert choice.settled


def test_parallel_choice_is_not_flipped_by_one_slow_call():
    choice = ParallelChoice()
    seconds = {True: 0.010, False: 0.012}  # parallel a little faster
    for _ in range(2 + 2 * ParallelChoice.WINDOW):  # both measured, parallel chosen since
        mode = choice.choose()
        choice.record(mode, seconds[mode], 10)
    assert choice.choose() is True
    choice.record(True, 0.100, 10)  # one call 10x slower: a frame drawn on its core
    picks = [choice.choose() for _ in range(ParallelChoice.PROBE_EVERY)]
    assert picks.count(False) == 1  # the probe only: parallel stays the choice
    for _ in range(ParallelChoice.WINDOW // 2):  # most of the window slow: the load is real
        choice.record(True, 0.100, 10)
    assert choice.choose() is False


def test_one_slow_early_call_does_not_make_the_first_choice():
    choice = ParallelChoice()
    # After the uncounted first call, one slowed by the dashboard's first frame.
    parallel = iter([0.010, 0.100] + [0.010] * ParallelChoice.FIRST_CALLS)
    for _ in range(2 + 2 * ParallelChoice.FIRST_CALLS):
        mode = choice.choose()
        choice.record(mode, next(parallel) if mode else 0.012, 10)
    assert choice.choose() is True


def test_a_probe_faster_than_the_choice_is_confirmed_at_once():
    choice = ParallelChoice()
    seconds = {True: 0.040, False: 0.020}  # loaded: parallel slower
    for _ in range(2 + 2 * ParallelChoice.WINDOW):
        mode = choice.choose()
        choice.record(mode, seconds[mode], 10)
    assert choice.choose() is False
    seconds[True] = 0.010  # the load leaves
    picks = []
    for _ in range(ParallelChoice.PROBE_EVERY + ParallelChoice.WINDOW):
        mode = choice.choose()
        picks.append(mode)
        choice.record(mode, seconds[mode], 10)
    probe = picks.index(True)
    assert picks[probe:] == [True] * (len(picks) - probe)  # confirmed, then kept
    choice.record(True, 0.030, 10)  # a slower parallel call than serial's median: no rush
    assert choice.choose() is True  # parallel's median still the faster


def test_parallel_choice_ignores_calls_too_short_to_measure():
    choice = ParallelChoice()
    for _ in range(2):
        assert choice.choose() is True
        choice.record(True, 0.010, 10)
    assert choice.choose() is False
    choice.record(False, 1.0, 1)  # the first call: not counted
    assert choice.choose() is False
    choice.record(False, ParallelChoice.MIN_SECONDS / 2, 10)  # looks 100x faster, too short
    assert choice.choose() is False  # serial still unmeasured, so it is tried again


def test_shards_one_per_core_for_large_steps_only(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads, "parallel_available", lambda: True)
    assert shards_for(4704, threads.SHARD_MIN_MACS - 1) == 1
    most = min(2, threads.pool_threads())
    assert shards_for(4704, threads.SHARD_MIN_MACS) == most
    assert shards_for(threads.MIN_SHARD_ROWS, 1 << 30) == 1  # too few rows to split
    monkeypatch.setattr(threads, "parallel_available", lambda: False)
    assert shards_for(4704, 1 << 30) == 1


@pytest.mark.skipif(
    threads.cores() < 2 or not threads.parallel_available(),
    reason="needs two cores and a thread-safe threading layer",
)
def test_the_w1_workload_is_sharded_and_w4_is_not():
    from engine.bench.workloads import workload_config
    from engine.training.trainer import Trainer

    shards, _blas = Trainer(workload_config("W1", "float32")).core_plan(0)
    assert shards >= 2
    assert Trainer(workload_config("W4")).core_plan(0)[0] == 1


def test_the_weight_norm_is_the_same_whatever_blas_threads_the_machine_has():
    """A metrics column replayed on a machine with another core count must match: NumPy's
    BLAS dot (np.linalg.norm) splits a long vector across its threads and its last bits
    followed their number."""
    from threadpoolctl import threadpool_limits

    from engine.training.trainer import Trainer

    holder = SimpleNamespace(params=np.random.default_rng(0).normal(size=37_248))
    norms = set()
    for count in (1, 2, 4):
        with threadpool_limits(count):
            norms.add(Trainer.weight_norm(holder))  # pyright: ignore[reportArgumentType]
    assert len(norms) == 1
    assert norms.pop() == pytest.approx(np.linalg.norm(holder.params), rel=1e-14)
