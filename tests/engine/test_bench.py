"""The benchmark's workloads are the maths the engine promises, and `groklab bench` reports."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from engine.bench import workloads
from engine.bench.workloads import flops_per_step, workload_config
from engine.training.trainer import Trainer


@pytest.mark.parametrize("precision,rtol", [("float64", 1e-9), ("float32", 2e-3)])
@pytest.mark.slow
def test_compiled_and_reference_agree_on_w1_after_20_steps(precision, rtol):
    fast = Trainer(workload_config("W1", precision), impl="compiled")
    slow = Trainer(workload_config("W1"), impl="reference")
    assert fast.params.dtype == np.dtype(precision) and slow.params.dtype == np.float64
    fast_losses = fast.run(20).losses
    slow_losses = slow.run(20).losses
    np.testing.assert_allclose(fast_losses, slow_losses, rtol=rtol)
    scale = np.abs(slow.params).max()
    assert np.abs(fast.params - slow.params).max() <= rtol * scale


def test_w1_is_the_documented_workload():
    trainer = Trainer(workload_config("W1"), impl="reference")
    assert trainer.splits["train"].n_rows == 4704
    assert trainer.arch.sizes == (194, 128, 97)
    assert trainer.hp.kind == "adamw" and trainer.hp.weight_decay == 1.0
    assert (trainer.hp.beta1, trainer.hp.beta2) == (0.9, 0.98)
    # gather forward+backward, then 6 flops per multiply-add of the dense layer
    assert flops_per_step(trainer) == 2 * 4704 * 2 * 128 + 6 * 4704 * 128 * 97


@pytest.mark.slow
def test_bench_json_emits_the_documented_keys(run_cli):
    result = run_cli("bench", "--json", "--workload", "W4", "--repeat", "1", timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {row["impl"] for row in rows} >= {"numba-float64", "numpy-float64"}
    for row in rows:
        for key in ("workload", "impl", "steps_per_s", "ratio_vs_numpy", "gflops", "peak_gflops"):
            assert key in row
        assert row["workload"] == "W4" and row["steps_per_s"] > 0


def test_steps_are_timed_only_once_the_implementation_has_settled(monkeypatch):
    """A trainer's first calls alternate parallel and serial shards: W3 was once timed on
    them and reported at half its speed."""
    clock = [0.0]  # a step takes 0.1 ms of this clock: calibration ends at k = 512
    monkeypatch.setattr(workloads, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    calls: list[int] = []

    def run_steps(k: int) -> None:
        calls.append(k)
        clock[0] += k * 1e-4

    # a warm-up and five calibration calls (k = 2 ... 512), then settling calls
    settled_after = 9
    workloads._time_steps(run_steps, repeat=3, settled=lambda: len(calls) >= settled_after)
    assert calls[:6] == [2, 2, 8, 32, 128, 512]
    assert calls[6:settled_after] == [512] * 3  # settling, at the calibrated size
    assert len(calls) == settled_after + 3  # then the timed repeats
