"""The pace: a paced run sleeps between chunks and never changes a number."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.live.control import valid_pace
from engine.live.runner import Runner
from engine.training.session import Session
from engine.vocabulary import RunState
from tests.configs import LINEAR, linear, modular, write_config


def test_session_advance_is_chunk_independent(tmp_path):
    """What lets a pace (whose chunks are a few steps) change no number."""
    cfg = linear(tmp_path, steps=100)
    whole, pieces = Session(cfg), Session(cfg)
    whole.begin()
    pieces.begin()
    whole.advance(37)
    for count in (1, 1, 5, 13, 17):
        pieces.advance(count)
    assert pieces.step == whole.step == 37
    assert np.array_equal(pieces.trainer.params, whole.trainer.params)
    for name in ("step_loss", "step_grad_norm", "train_loss", "val_loss"):
        a, b = pieces.history.series(name), whole.history.series(name)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), name


def test_pace_is_a_number_of_steps_per_second_at_least_0(tmp_path):
    assert valid_pace(0) == 0.0 and valid_pace(12) == 12.0
    for bad in (-1, float("nan"), float("inf"), True, "fast"):
        with pytest.raises(ValueError, match="pace"):
            valid_pace(bad)  # type: ignore[arg-type]
    assert write_config(tmp_path, LINEAR + "pace = 50\n", lr=0.1, steps=10).train.pace == 50
    with pytest.raises(ConfigError, match="pace"):
        write_config(tmp_path, LINEAR + "pace = -2\n", lr=0.1, steps=10)


def _final_params(cfg, pace: float) -> np.ndarray:
    runner = Runner(cfg, pace=pace)
    runner.start()
    assert runner.wait(timeout=300)
    runner.stop()
    assert runner.snapshot().state == RunState.DONE
    return runner.session.trainer.params.copy()


@pytest.mark.slow
def test_a_paced_run_ends_with_the_same_parameters_bit_for_bit(tmp_path):
    cfg = modular(tmp_path, steps=300, batch=8)  # minibatches: the sampler's stream too
    assert np.array_equal(_final_params(cfg, pace=1500.0), _final_params(cfg, pace=0.0))


def _rate(runner: Runner, seconds: float) -> float:
    first, start = runner.snapshot().step, time.perf_counter()
    time.sleep(seconds)
    return (runner.snapshot().step - first) / (time.perf_counter() - start)


@pytest.mark.slow
def test_a_paced_run_keeps_its_pace_and_sleeps(tmp_path):
    runner = Runner(modular(tmp_path, steps=10_000_000), pace=40.0)
    runner.start()
    try:
        end = time.perf_counter() + 300
        while runner.snapshot().step == 0 and time.perf_counter() < end:
            time.sleep(0.01)
        cpu = time.process_time()
        assert _rate(runner, 2.0) == pytest.approx(40.0, rel=0.2)
        # Waiting on the command queue between chunks, not spinning: well under a core.
        assert time.process_time() - cpu < 0.5
        assert runner.snapshot().pace == 40.0
        runner.set_pace(160.0)
        time.sleep(0.2)
        assert _rate(runner, 2.0) == pytest.approx(160.0, rel=0.2)
        # One step a second: the header's speed is measured across chunks a second apart.
        runner.set_pace(1.0)
        time.sleep(1.6)  # two chunks
        rates = []
        for _ in range(12):
            time.sleep(0.12)
            rates.append(runner.snapshot().steps_per_s)
        assert rates == pytest.approx([1.0] * len(rates), rel=0.2)
        # A pause takes effect at once, even between two slow chunks.
        asked = time.perf_counter()
        runner.pause()
        while runner.snapshot().state != RunState.PAUSED:
            time.sleep(0.005)
        assert time.perf_counter() - asked < 0.2
    finally:
        runner.stop()
