"""SIGINT and SIGTERM at every moment of `groklab run --headless`, and SIGKILL then resume.

Each case runs groklab in a subprocess, signals it at a chosen moment and checks the
exit status (130 / 143), that stderr has no traceback, and that every file the last
message claims exists and parses.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.numerics.warmup import warm_up_kernels
from tests.conftest import child_env
from tests.engine.test_config import write

pytestmark = pytest.mark.slow

# A run that goes on for as long as a test needs.
ENDLESS = """
name = "endless"
[data]
kind = "modular"
p = 23
[model]
kind = "mlp"
hidden = [32]
[optim]
kind = "adamw"
lr = 0.001
[train]
steps = 100000000
eval_every = 5
stop_on_converged = false
"""

# Each step well over a second (a big MLP on many rows), evaluated only at the start.
# About 3.5 s a step on an idle 2-core machine (1.5 s at n = 20000 was too close to the
# 1 s after which the wait is announced: a signal late in the step missed it).
SLOW_STEPS = """
name = "slow-steps"
[data]
kind = "sine"
n = 50000
[model]
kind = "mlp"
hidden = [1024, 1024]
[optim]
kind = "adam"
lr = 0.001
[train]
steps = 1000
eval_every = 1000
stop_on_converged = false
"""

# A short run with a checkpoint big enough (about 130 MB) that its write can be caught.
BIG_CHECKPOINT = """
name = "big-checkpoint"
[data]
kind = "modular"
p = 23
[model]
kind = "mlp"
hidden = [1400, 1400]
[optim]
kind = "adam"
lr = 0.0001
[train]
steps = 4
eval_every = 2
stop_on_converged = false
checkpoint_every_s = 1000000
"""

# Long enough to be killed mid-way, short enough to run to its end twice.
RESUMABLE = """
name = "resumable"
[data]
kind = "modular"
p = 23
[model]
kind = "mlp"
hidden = [32]
[optim]
kind = "adamw"
lr = 0.003
batch_size = 64
[train]
steps = 60000
eval_every = 50
stop_on_converged = false
"""


class Groklab:
    """`python -m tui ARGS` in the background, its output collected line by line."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", *args],
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            text=True,
        )
        self.started = time.perf_counter()
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def until(self, predicate, timeout: float = 90.0, what: str = "") -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(f"groklab ended before {what}: {''.join(self.err)}")
            if time.perf_counter() > deadline:
                self.proc.kill()
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.01)

    def signal(self, signum: int) -> float:
        self.proc.send_signal(signum)
        return time.perf_counter()

    def finish(self, timeout: float = 120.0) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for reader in self._readers:
            reader.join(5)
        return code, "".join(self.err)

    def training(self) -> bool:
        """A progress line: the runner is past its kernels and training."""
        return any(line.startswith("step ") for line in self.out)


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


def _check_final_files(out: Path) -> dict:
    """summary.json and checkpoint.npz parse and agree on the step; returns the summary."""
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        step = json.loads(str(data["state"]))["step"]
    assert summary["steps"] == summary["checkpoint_step"] == step
    return summary


def _params(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files if k.startswith(("param.", "optim."))}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.1, 0.25])
def test_a_signal_before_training_quits_at_once_in_one_line(tmp_path, signum, delay):
    # 0.1-0.25 s is inside the imports on any machine (a warm start trains from ~0.5 s).
    cfg = write(tmp_path, ENDLESS)
    out = tmp_path / "early"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))
    time.sleep(delay)
    sent = run.signal(signum)
    code, stderr = run.finish(30)
    assert code == 128 + signum, stderr
    _no_traceback(stderr)
    assert time.perf_counter() - sent < 5.0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("groklab: interrupted"), stderr
    assert "no checkpoint or summary written" in lines[0]
    assert not (out / "summary.json").exists() and not (out / "checkpoint.npz").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.4, 0.6, 0.8, 1.2])
def test_a_signal_as_training_begins_gives_one_line_that_matches_the_files(tmp_path, signum, delay):
    # Whether training has begun at this moment depends on the machine; either way the
    # one line says what was saved, and the files agree with it.
    cfg = write(tmp_path, ENDLESS)
    out = tmp_path / "racing"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))
    time.sleep(delay)
    run.signal(signum)
    code, stderr = run.finish(30)
    assert code == 128 + signum, stderr
    _no_traceback(stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    if "no checkpoint or summary written" in lines[0]:
        assert not (out / "summary.json").exists() and not (out / "checkpoint.npz").exists()
    else:
        assert lines[0].startswith("interrupted at step "), stderr
        step = int(lines[0].removeprefix("interrupted at step ").split(":")[0])
        assert _check_final_files(out)["steps"] == step


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_compiling_quits_without_waiting_for_the_compile(tmp_path, signum):
    cfg = write(tmp_path, ENDLESS)
    cache = tmp_path / "empty-cache"  # a cold cache: compiling takes about a minute
    run = Groklab(tmp_path, "run", str(cfg), "--headless", env={"NUMBA_CACHE_DIR": str(cache)})
    run.until(lambda: cache.exists() and any(cache.iterdir()), what="the compile to begin")
    sent = run.signal(signum)
    code, stderr = run.finish(60)
    assert code == 128 + signum, stderr
    assert time.perf_counter() - sent < 10.0
    _no_traceback(stderr)
    assert stderr.strip() == (
        "groklab: interrupted while the kernels were loading: nothing trained, "
        "no checkpoint or summary written"
    )
    if signum == signal.SIGTERM:
        return  # the cache left behind is checked once, after SIGINT
    # What the abandoned compile left in the cache is whole: a run on it trains.
    again = subprocess.run(
        [sys.executable, "-m", "tui", "run", "linear-regression", "--headless", "--steps", "20"],
        env=child_env({"NUMBA_CACHE_DIR": str(cache)}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_writes_the_final_checkpoint_and_summary(tmp_path, signum):
    cfg = write(tmp_path, ENDLESS)
    out = tmp_path / "interrupted"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))
    run.until(run.training, what="training")
    time.sleep(0.5)
    run.signal(signum)
    code, stderr = run.finish(60)
    assert code == 128 + signum, stderr
    _no_traceback(stderr)
    summary = _check_final_files(out)
    assert summary["steps"] > 0
    expected = (
        f"interrupted at step {summary['steps']}: final checkpoint (step {summary['steps']}) "
        f"and summary written to {out}"
    )
    assert stderr.strip().splitlines()[-1] == expected
    assert f"checkpoint: {out / 'checkpoint.npz'} (step {summary['steps']})" in "".join(run.out)


@pytest.fixture
def warm_kernels():
    """Every float64 kernel in the cache the child reads, so its run never switches to
    the parallel kernel between steps (a switch widens the gap between steps, where a
    signal finds no step to wait for)."""
    warm_up_kernels(np.float64)


def test_ctrl_c_in_a_slow_step_waits_for_it_and_says_so(tmp_path, warm_kernels):
    cfg = write(tmp_path, SLOW_STEPS)
    out = tmp_path / "slow"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))
    run.until(run.training, what="training")
    run.signal(signal.SIGINT)
    code, stderr = run.finish(120)
    assert code == 130, stderr
    _no_traceback(stderr)
    assert (
        "groklab: waiting for the current step to finish (Ctrl+C again to quit without saving)"
        in stderr
    )
    summary = _check_final_files(out)
    assert summary["steps"] == 1  # the step under way, finished; no more
    assert "final checkpoint (step 1) and summary written" in stderr


def test_a_second_ctrl_c_quits_at_once_saying_what_was_not_saved(tmp_path, warm_kernels):
    cfg = write(tmp_path, SLOW_STEPS)
    out = tmp_path / "twice"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))
    run.until(run.training, what="training")
    run.signal(signal.SIGINT)
    run.until(lambda: any("waiting for the current step" in e for e in run.err), what="the wait")
    sent = run.signal(signal.SIGINT)
    code, stderr = run.finish(30)
    assert code == 130, stderr
    assert time.perf_counter() - sent < 2.0  # not the rest of the step
    _no_traceback(stderr)
    assert stderr.strip().splitlines()[-1] == (
        "groklab: quit at once: the final checkpoint and summary were not written, "
        "nor any checkpoint before"
    )
    assert not (out / "summary.json").exists() and not (out / "checkpoint.npz").exists()
    # what was logged before the slow step is on disk
    assert (out / "metrics.csv").read_text().splitlines()[1].startswith("0,")


def test_sigterm_during_the_final_writes_lets_them_finish(tmp_path):
    cfg = write(tmp_path, BIG_CHECKPOINT)
    out = tmp_path / "writing"
    run = Groklab(tmp_path, "run", str(cfg), "--headless", "--out", str(out))

    def writing() -> bool:  # the checkpoint's temporary file, before its rename
        return out.is_dir() and any(p.name.startswith(".checkpoint.npz.") for p in out.iterdir())

    run.until(writing, what="the final checkpoint's write")
    run.signal(signal.SIGTERM)
    code, stderr = run.finish(60)
    assert code == 143, stderr
    _no_traceback(stderr)
    summary = _check_final_files(out)
    assert summary["steps"] == 4
    assert "final checkpoint (step 4) and summary written" in stderr
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_sigkill_then_resume_from_the_periodic_checkpoint_is_bit_exact(tmp_path):
    cfg = write(tmp_path, RESUMABLE)
    whole, killed, resumed = tmp_path / "whole", tmp_path / "killed", tmp_path / "resumed"
    run = Groklab(
        tmp_path,
        *("run", str(cfg), "--headless", "--out", str(killed)),
        *("--set", "train.checkpoint_every_s=0.5"),
    )
    run.until(lambda: (killed / "checkpoint.npz").exists(), what="a periodic checkpoint")
    time.sleep(0.7)  # and, likely, a second one over it
    run.proc.send_signal(signal.SIGKILL)
    run.finish(30)
    assert not (killed / "summary.json").exists()  # it really was cut short
    with np.load(killed / "checkpoint.npz", allow_pickle=False) as data:
        step = json.loads(str(data["state"]))["step"]
    assert 0 < step < 60000
    resume = ("--resume", str(killed / "checkpoint.npz"), "--out", str(resumed))
    for args in (
        ("run", str(cfg), "--headless", "--out", str(whole)),
        ("run", str(cfg), "--headless", *resume),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tui", *args],
            env=child_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert _check_final_files(whole)["steps"] == _check_final_files(resumed)["steps"] == 60000
    expected, got = _params(whole / "checkpoint.npz"), _params(resumed / "checkpoint.npz")
    assert expected.keys() == got.keys() and len(expected) >= 5
    for name, array in expected.items():
        assert np.array_equal(array, got[name]), name


def test_periodic_checkpoints_replace_each_other_until_the_final_one(tmp_path):
    cfg = write(tmp_path, ENDLESS)
    out = tmp_path / "periodic"
    run = Groklab(
        tmp_path,
        *("run", str(cfg), "--headless", "--out", str(out)),
        *("--set", "train.checkpoint_every_s=0.3"),
    )
    steps_seen = set()

    def three_checkpoints() -> bool:
        try:
            with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
                steps_seen.add(json.loads(str(data["state"]))["step"])
        except (OSError, ValueError, KeyError):  # not there yet
            pass
        return len(steps_seen) >= 3

    run.until(three_checkpoints, what="three periodic checkpoints")
    assert not (out / "summary.json").exists()  # only the end writes the summary
    run.signal(signal.SIGINT)
    code, stderr = run.finish(60)
    assert code == 130, stderr
    assert _check_final_files(out)["steps"] > max(steps_seen)
