"""The runner thread: pause, step, reset, edits, divergence and errors, through its public API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from engine.config import load_config
from engine.errors import ConfigError
from engine.live.control import RunControl
from engine.live.runner import Runner
from engine.numerics.kernel_cache import compile_lock
from engine.training.session import Session
from engine.vocabulary import RunState, Status
from tests.configs import linear, modular


def wait_for(predicate, timeout=30.0):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def long_run(tmp_path):
    runner = Runner(modular(tmp_path, steps=10_000_000))
    runner.start()
    # The start may include compiling the kernels on a cold cache (CI): be generous.
    started = lambda: runner.snapshot().state == "running" and runner.snapshot().step > 0  # noqa: E731
    assert wait_for(started, timeout=300)
    yield runner
    runner.stop()


def test_pause_stops_the_step_counter_within_100ms_and_resume_continues(long_run):
    asked = time.perf_counter()
    long_run.pause()
    assert wait_for(lambda: long_run.snapshot().state == "paused", timeout=1.0)
    latency = time.perf_counter() - asked
    assert latency < 0.1
    frozen = long_run.snapshot().step
    time.sleep(0.2)
    assert long_run.snapshot().step == frozen
    long_run.resume()
    assert wait_for(lambda: long_run.snapshot().step > frozen, timeout=2.0)


def test_step_advances_exactly_one_step_while_paused(long_run):
    long_run.pause()
    assert wait_for(lambda: long_run.snapshot().state == "paused")
    before = long_run.snapshot().step
    long_run.step()
    assert wait_for(lambda: long_run.snapshot().step == before + 1, timeout=2.0)
    time.sleep(0.1)
    assert long_run.snapshot().step == before + 1
    long_run.step(5)
    assert wait_for(lambda: long_run.snapshot().step == before + 6, timeout=2.0)


def test_a_paused_run_publishes_nothing_until_something_happens(long_run):
    """No new snapshot while nothing changes, so a paused dashboard redraws nothing."""
    long_run.pause()
    assert wait_for(lambda: long_run.snapshot().state == "paused")
    time.sleep(0.15)  # the pause's own snapshot is out
    quiet = long_run.snapshot().version
    time.sleep(0.5)  # five publishing intervals
    assert long_run.snapshot().version == quiet
    long_run.step()
    assert wait_for(lambda: long_run.snapshot().version > quiet, timeout=2.0)


def test_the_first_steps_after_the_start_and_a_reset_are_shown_at_once(tmp_path, monkeypatch):
    """Not held back by the publishing interval: the dashboard says the run trains (its
    warm start's end) as soon as it does."""
    monkeypatch.setattr("engine.live.runner.PUBLISH_EVERY_S", 60.0)
    runner = Runner(modular(tmp_path, steps=10_000_000))
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == "running", timeout=300)
        assert wait_for(lambda: runner.snapshot().step > 0, timeout=10.0)
        runner.reset()
        reset_shown = lambda: any(e.kind == "reset" for e in runner.snapshot().events)  # noqa: E731
        assert wait_for(lambda: reset_shown() and runner.snapshot().step > 0, timeout=10.0)
    finally:
        runner.stop()


def test_reset_restores_the_initial_parameters_bit_for_bit(tmp_path):
    cfg = modular(tmp_path, steps=10_000_000)
    initial = Session(cfg).trainer.params.copy()
    runner = Runner(cfg)
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().step > 50)
        runner.pause()
        runner.reset()
        assert wait_for(lambda: runner.snapshot().step == 0 and runner.snapshot().state == "paused")
        np.testing.assert_array_equal(runner.session.trainer.params, initial)
        assert any(e.kind == "reset" for e in runner.snapshot().events)
    finally:
        runner.stop()


def test_invalid_set_is_rejected_with_a_reason_and_changes_nothing(long_run):
    before = long_run.snapshot().hparam("lr")
    for name, value in (
        ("lr", -1.0),
        ("lr", float("nan")),
        ("batch_size", -3),
        ("momentum", 0.5),
        ("nonsense", 1.0),
        ("lr", "fast"),
    ):
        with pytest.raises(ConfigError) as err:
            long_run.set(name, value)
        assert name in str(err.value)
    time.sleep(0.1)
    assert long_run.snapshot().hparam("lr") == before
    assert not any(e.kind == "edit" for e in long_run.snapshot().events)


def test_hparam_change_applies_at_the_next_chunk_and_is_an_event_with_its_step(long_run):
    long_run.set("lr", 0.02)
    assert wait_for(lambda: long_run.snapshot().hparam("lr") == 0.02, timeout=1.0)
    snap = long_run.snapshot()
    edits = [e for e in snap.events if e.kind == "edit"]
    assert len(edits) == 1 and "lr 0.01 -> 0.02" in edits[0].detail
    assert dict(edits[0].data) == {"name": "lr", "from": 0.01, "to": 0.02}
    assert 0 < edits[0].step <= snap.step
    assert "lr" in snap.edited
    assert wait_for(lambda: long_run.snapshot().metric("lr") == 0.02, timeout=2.0)


def test_a_kernel_raising_inside_the_thread_surfaces_in_the_snapshot(tmp_path):
    class Exploding(Session):
        def advance(self, count):
            raise RuntimeError("kernel exploded on purpose")

    runner = Runner(modular(tmp_path), session_factory=Exploding)
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == "error")
        snap = runner.snapshot()
        assert snap.error is not None  # an error state always carries its traceback
        assert "kernel exploded on purpose" in snap.error
        assert "Traceback" in snap.error and "advance" in snap.error
        assert runner.is_alive  # waits for stop, never a silent dead thread
    finally:
        runner.stop()
    assert not runner.is_alive


def test_a_diverging_run_pauses_itself_and_reports_diverged(tmp_path):
    cfg = linear(tmp_path, lr=5.0, steps=100_000)  # 2/L is about 1.2 for this problem
    runner = Runner(cfg)
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == "diverged")
        snap = runner.snapshot()
        assert snap.status == "diverged"
        assert snap.step < 100_000
        time.sleep(0.1)
        assert runner.snapshot().step == snap.step  # it stays paused
        assert any("lower the learning rate" in e.detail for e in snap.events)
        runner.set("lr", 0.01)  # the app keeps responding to commands
        runner.reset()
        assert wait_for(lambda: runner.snapshot().step == 0)
    finally:
        runner.stop()


def test_chunks_stay_short_so_the_ui_is_never_starved(long_run):
    time.sleep(0.5)
    steps, seconds = long_run.last_chunk
    assert steps >= 1
    assert seconds < 0.1


def test_test_set_is_evaluated_on_request(long_run):
    long_run.evaluate_test()
    assert wait_for(lambda: long_run.snapshot().test is not None, timeout=2.0)
    test = dict(long_run.snapshot().test)
    assert 0.0 <= test["test_acc"] <= 1.0
    assert any(e.kind == "test" for e in long_run.snapshot().events)


def test_export_writes_the_metrics_csv(long_run, tmp_path):
    path = long_run.export(tmp_path / "m.csv")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("step,epoch,train_loss")
    assert len(lines) > 1


def test_a_finished_run_is_done_and_can_go_on(tmp_path):
    runner = Runner(modular(tmp_path, steps=50))
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == "done")
        assert runner.snapshot().step == 50
        runner.resume()
        assert wait_for(lambda: runner.snapshot().step == 100)
    finally:
        runner.stop()


@pytest.mark.slow
def test_compile_lock_is_exclusive_across_processes(repo_root):
    """Two groklab processes on a cold cache take turns compiling (engine/live/runner.py)."""
    pytest.importorskip("fcntl")
    holder = (
        "import time\n"
        "from engine.numerics.kernel_cache import compile_lock\n"
        "with compile_lock():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(1.5)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder], cwd=repo_root, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None  # stdout=PIPE
        assert child.stdout.readline().strip() == "held"
        started = time.perf_counter()
        with compile_lock():
            waited = time.perf_counter() - started
        assert waited > 0.5  # blocked until the other process let go
    finally:
        child.wait(timeout=30)


HOLD_THE_LOCK = (
    "import time\n"
    "from engine.numerics.kernel_cache import compile_lock\n"
    "with compile_lock():\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def _hold_the_lock(repo_root, cache_dir) -> subprocess.Popen:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK], cwd=repo_root, env=env,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


@pytest.mark.slow
def test_runs_with_another_cache_never_wait_on_this_ones_lock(repo_root, tmp_path, monkeypatch):
    pytest.importorskip("fcntl")
    child = _hold_the_lock(repo_root, tmp_path / "theirs")
    try:
        monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "ours"))
        with compile_lock():
            assert child.poll() is None  # taken while the other cache's lock is still held
    finally:
        child.kill()
        child.wait(timeout=30)


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_is_taken_over(repo_root, tmp_path, monkeypatch):
    pytest.importorskip("fcntl")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    child = _hold_the_lock(repo_root, tmp_path / "cache")
    child.kill()  # dies holding the lock
    child.wait(timeout=30)
    taken = threading.Event()

    def take() -> None:
        with compile_lock():
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    # the kernel released the dead process's lock with its files: taken, not waited on
    assert taken.wait(timeout=30)


def test_the_runner_is_a_run_control(tmp_path):
    control: RunControl = Runner(modular(tmp_path))  # the type checker checks this line
    assert isinstance(control, RunControl)


def test_commands_given_while_compiling_are_applied_in_order(tmp_path):
    runner = Runner(modular(tmp_path, steps=10_000_000), start_paused=True)
    snap = runner.snapshot()
    assert snap.state == RunState.COMPILING and snap.status == Status.COMPILING
    runner.set("lr", 0.02)
    runner.step(3)
    runner.set("lr", 0.03)
    with pytest.raises(ConfigError):
        runner.set("lr", -1.0)  # rejected at once, before the kernels are even loaded
    with pytest.raises(RuntimeError, match="still starting"):
        runner.export(tmp_path / "early.csv")
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().step == 3)
        snap = runner.snapshot()
        assert snap.state == RunState.PAUSED and snap.hparam("lr") == 0.03
        kinds = [(e.kind, e.detail) for e in snap.events if e.kind in ("edit", "step")]
        assert kinds == [
            ("edit", "lr 0.01 -> 0.02"),
            ("step", "step x3 from step 0"),
            ("edit", "lr 0.02 -> 0.03"),
        ]
    finally:
        runner.stop()
    assert not runner.is_alive


def test_a_bad_csv_is_a_config_error_for_whoever_builds_the_runner(tmp_path):
    (tmp_path / "table.csv").write_text("x,y\n1,2\n3,abc\n4,5\n")
    path = tmp_path / "bad.toml"
    path.write_text("[data]\nkind = 'csv'\npath = 'table.csv'\n")
    with pytest.raises(ConfigError, match="abc"):
        Runner(load_config(path))


SMALL_SPLIT = """
name = "small-split"
[data]
kind = "linear"
n = 10
val_fraction = 0.25
test_fraction = 0.25
[model]
kind = "linear"
[optim]
kind = "gd"
lr = 0.01
[train]
steps = 5
"""


def test_snapshots_carry_the_engines_training_split_size(tmp_path):
    # 10 rows, a quarter each for val and test: round(2.5) is 2, so 6 rows train
    # (1 - 0.25 - 0.25 of 10 would say 5).
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SPLIT)
    runner = Runner(load_config(path))
    assert runner.session.trainer.splits["train"].n_rows == 6
    assert runner.snapshot().train_size == 6  # compiling already
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == RunState.DONE)
        assert runner.snapshot().train_size == 6
    finally:
        runner.stop()


def test_snapshot_hparams_are_the_rows_the_optimizer_shows(tmp_path):
    runner = Runner(modular(tmp_path, optim="momentum", steps=10_000_000), start_paused=True)
    names = [name for name, _ in runner.snapshot().hparams]
    assert names == ["optimizer", "lr", "weight_decay", "batch_size", "momentum", "schedule"]
    runner.start()
    try:
        assert wait_for(lambda: runner.snapshot().state == RunState.PAUSED)
        assert [name for name, _ in runner.snapshot().hparams] == names
        assert runner.snapshot().hparam("momentum") == 0.9
    finally:
        runner.stop()


def test_the_summary_is_kept_from_the_writer_at_the_end(tmp_path):
    runner = Runner(linear(tmp_path, steps=50), out_dir=tmp_path / "run")
    assert runner.summary is None
    runner.start()
    try:
        assert runner.wait(60)
        assert runner.summary is not None  # written when the run reached its end
    finally:
        runner.stop()
    assert runner.summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    assert runner.summary["steps"] == 50


def test_no_run_directory_a_summary_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = Runner(linear(tmp_path, steps=50))
    assert runner.summary is None
    runner.start()
    try:
        assert runner.wait(60) and runner.snapshot().state == RunState.DONE
    finally:
        runner.stop()
    assert runner.summary is not None and runner.summary["steps"] == 50
    assert runner.summary["fit"]["weights"].keys() == {"x1", "x2", "x3"}
    assert not list(tmp_path.glob("**/summary.json"))  # nothing written


def test_the_test_set_is_scored_once_and_a_second_request_reports_the_first():
    from engine.training.session import Session

    session = Session(load_config("linear-regression"))
    session.begin()
    session.advance(50)
    first = session.evaluate_test()
    session.advance(50)
    again = session.evaluate_test()
    assert again is first and again["step"] == 50
    tests = [e for e in session.events if e.kind == "test"]
    assert [e.data["repeat"] for e in tests] == [False, True]
    assert "already evaluated at step 50" in tests[1].detail and "not re-scored" in tests[1].detail
    session.reset()  # a new run may look at its own test set once
    assert session.test_metrics is None
