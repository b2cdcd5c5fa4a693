"""Stopping a run: the kernel's stop flag through the session, the runner's stop and its
periodic checkpoints, and the kernel cache a stop may cut short."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from numba.core import caching
from rich.console import Console

from engine.config import load_config, with_overrides
from engine.errors import ConfigError
from engine.live import runner as runner_module
from engine.live.runner import Runner
from engine.numerics.kernel_cache import make_kernel_cache_crash_safe
from engine.store.rundir import RunWriter
from engine.training.session import Session
from tests.configs import linear, modular
from tests.engine.test_runner import wait_for
from tui.cli.headless import run_headless


def test_a_requested_stop_ends_the_advance_with_nothing_half_done(tmp_path):
    session = Session(modular(tmp_path, steps=1000))
    session.begin()
    session.advance(7)
    params, rows = session.trainer.params.copy(), len(session.rows)
    session.trainer.stop_flag[0] = 1
    result = session.advance(50)
    assert (result.steps_done, result.finished, result.diverged) == (0, False, False)
    assert session.step == 7 and len(session.rows) == rows
    np.testing.assert_array_equal(session.trainer.params, params)
    session.trainer.stop_flag[0] = 0
    assert session.advance(3).steps_done == 3  # and nothing stays stuck


def test_a_minibatch_run_stopped_between_chunks_goes_on_as_if_never_stopped(tmp_path):
    """The batches drawn for a chunk the stop cut short are drawn again, not skipped."""
    straight, stopped = (Session(modular(tmp_path, batch=16, steps=1000)) for _ in range(2))
    for session in (straight, stopped):
        session.begin()
    straight.advance(40)
    stopped.advance(13)
    stopped.trainer.stop_flag[0] = 1
    assert stopped.advance(20).steps_done == 0
    stopped.trainer.stop_flag[0] = 0
    stopped.advance(27)
    np.testing.assert_array_equal(stopped.trainer.params, straight.trainer.params)
    assert stopped.trainer.sampler.pos == straight.trainer.sampler.pos


def test_checkpoint_every_s_defaults_to_30_and_must_be_positive():
    assert load_config("linear-regression").train.checkpoint_every_s == 30.0
    cfg = with_overrides(load_config("linear-regression"), ["train.checkpoint_every_s=0.5"])
    assert cfg.train.checkpoint_every_s == 0.5
    for bad in ("0", "-1", "nan", "'often'"):
        with pytest.raises(ConfigError, match="train.checkpoint_every_s"):
            with_overrides(load_config("linear-regression"), [f"train.checkpoint_every_s={bad}"])


def test_a_stop_while_the_kernels_load_does_not_wait_and_writes_nothing(tmp_path, monkeypatch):
    loading, release = threading.Event(), threading.Event()

    def slow_compile(*args) -> None:
        loading.set()
        release.wait(10)

    monkeypatch.setattr(runner_module, "warm_up_kernels", slow_compile)
    out = tmp_path / "run"
    runner = Runner(linear(tmp_path), out_dir=out)
    runner.start()
    assert loading.wait(10)
    asked = time.perf_counter()
    runner.stop()
    assert time.perf_counter() - asked < 0.1  # the compile is not waited for
    release.set()
    assert runner.join(10)
    assert not out.exists() and runner.checkpoint_step is None and not runner.summary_written


def test_the_kernel_cache_writes_the_code_before_the_index_entry(tmp_path):
    """A process ending between the two writes leaves no entry naming missing or stale
    code (numba's own order would load the old source's code for "second" here)."""
    make_kernel_cache_crash_safe()
    old = caching.IndexDataCacheFile(str(tmp_path), "kernel", source_stamp=(1.0, 10))
    old.save("a", b"old code a")
    old.save("b", b"old code b")  # kernel.2.nbc: a stale file once the source changes
    cache = caching.IndexDataCacheFile(str(tmp_path), "kernel", source_stamp=(2.0, 11))
    cache.save("first", b"code of the first")

    def cut_short(name, data):
        raise SystemExit("the process ends here")

    cache._save_data = cut_short  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        cache.save("second", b"code of the second")
    del cache._save_data
    assert cache.load("second") is None  # compiles again, never runs stale code
    assert cache.load("first") == b"code of the first"
    cache.save("second", b"code of the second")
    assert cache.load("second") == b"code of the second"


@pytest.mark.slow
def test_stop_waits_for_the_final_checkpoint_and_summary(tmp_path):
    out = tmp_path / "run"
    runner = Runner(modular(tmp_path, steps=10_000_000), out_dir=out)
    runner.start()
    assert wait_for(lambda: runner.snapshot().step > 100, timeout=300)
    runner.stop()
    assert not runner.is_alive and runner.summary_written
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == summary["checkpoint_step"] == runner.snapshot().step
    assert runner.checkpoint_step == summary["steps"]


@pytest.mark.slow
def test_checkpoints_are_written_periodically_between_chunks(tmp_path, monkeypatch):
    cfg = with_overrides(modular(tmp_path, steps=10_000_000), ["train.checkpoint_every_s=0.2"])
    writes: list[tuple[int, float]] = []
    original = RunWriter.checkpoint

    def timed(self):
        spent = original(self)
        writes.append((self.checkpoint_step, spent))
        return spent

    monkeypatch.setattr(RunWriter, "checkpoint", timed)
    runner = Runner(cfg, out_dir=tmp_path / "run")
    runner.start()
    try:
        assert wait_for(lambda: len(writes) >= 3, timeout=300)
        assert not (tmp_path / "run" / "summary.json").exists()  # the end writes that
    finally:
        runner.stop()
    steps = [step for step, _ in writes]
    # Periodic writes move on; the final one may repeat the last step (a stop right after
    # a periodic write), rewritten since the end adds the test result and events.
    periodic = steps[:-1]
    assert periodic == sorted(set(periodic)) and steps[-1] >= periodic[-1]
    assert steps[-1] == runner.snapshot().step
    assert runner.summary is not None and runner.summary["checkpoint_step"] == steps[-1]


@pytest.mark.slow
def test_a_final_write_that_fails_is_reported_not_claimed(tmp_path, monkeypatch):
    def full_disk(self, wall_s):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunWriter, "finish", full_disk)
    runner = Runner(modular(tmp_path, steps=10_000_000), out_dir=tmp_path / "run")
    out, err = Console(record=True, width=200), Console(record=True, width=200)

    def stop_once_training() -> None:  # as a signal would
        wait_for(lambda: runner.snapshot().step > 10, timeout=300)
        runner.request_stop()

    threading.Thread(target=stop_once_training, daemon=True).start()
    assert run_headless(runner, out, err) == 1
    said = err.export_text()
    assert "No space left on device" in said and "no checkpoint or summary written" in said
    assert "summary written to" not in said
