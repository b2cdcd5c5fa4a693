"""`groklab bench`: fixed workloads timed on the compiled engine and on baselines, same run.

Speed is only ever reported as ratios against a baseline measured in the same process
(the NumPy reference, PyTorch CPU when importable, the machine's float32 matmul peak),
never asserted in tests: absolute numbers depend on the machine and on what else runs.

Workloads (fixed so results compare across versions):
  W1  modular addition p=97, train fraction 0.5 (4,704 pairs) as index inputs,
      MLP 194 -> 128 -> 97, biases, relu, cross-entropy, AdamW (lr 1e-3, betas 0.9/0.98,
      weight decay 1.0), full batch
  W2  W1 with minibatches of 256
  W3  W1 with 512 hidden units
  W4  the seed's linear regression (X 100x3, full-batch GD, lr 0.01): per-step overhead
  W5  the grokking-mod97 preset: wall seconds from process start to `grokked`, headless
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.config import load_config
from engine.launch import groklab_command
from engine.numerics.parallel import ParallelChoice
from engine.training.trainer import Trainer

WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
TARGET_MEASURE_S = 0.6  # each timed repeat runs about this long
# Calls a trainer gets to choose between parallel and serial shards before it is timed:
# each mode's first call and FIRST_CALLS more, taking turns, with room to spare.
MAX_SETTLING_CALLS = 4 * (ParallelChoice.FIRST_CALLS + 1)

_MODULAR = """
name = "{name}"
[data]
kind = "modular"
p = 97
op = "add"
train_fraction = 0.5
test_fraction = 0.1
[model]
kind = "mlp"
hidden = [{hidden}]
activation = "relu"
bias = true
[loss]
kind = "cross_entropy"
[optim]
kind = "adamw"
lr = 0.001
beta1 = 0.9
beta2 = 0.98
weight_decay = 1.0
batch_size = {batch}
[train]
precision = "{precision}"
"""

_LINEAR = """
name = "W4"
[data]
kind = "linear"
n = 100
val_fraction = 0.0
test_fraction = 0.0
[model]
kind = "linear"
bias = false
[optim]
kind = "gd"
lr = 0.01
[train]
precision = "{precision}"
"""


def workload_config(name: str, precision: str = "float64"):
    """The RunConfig of W1-W4 (W5 runs a bundled preset in a fresh process)."""
    if name == "W4":
        text = _LINEAR.format(precision=precision)
    else:
        hidden = 512 if name == "W3" else 128
        batch = 256 if name == "W2" else 0
        text = _MODULAR.format(name=name, hidden=hidden, batch=batch, precision=precision)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.toml"
        path.write_text(text)
        return load_config(path)


def flops_per_step(trainer: Trainer) -> float:
    """Model FLOPs of one training step: forward + backward of every layer.

    A dense layer costs 2*rows*fan_in*fan_out forward and twice that backward (input and
    weight gradients); the first layer of index inputs (the gather) costs 2*rows*c*fan_out
    adds forward and backward together. Elementwise work is not counted.
    """
    rows = trainer.hp.batch_size or trainer.splits["train"].n_rows
    rows = min(rows, trainer.splits["train"].n_rows)
    total = 0.0
    for i, layer in enumerate(trainer.arch.layers):
        if i == 0 and trainer.arch.input_kind == "index":
            total += 2.0 * rows * trainer.arch.index_width * layer.fan_out
        elif i == 0:
            total += 4.0 * rows * layer.fan_in * layer.fan_out  # no input gradient needed
        else:
            total += 6.0 * rows * layer.fan_in * layer.fan_out
    return total


def measure_peak_gflops(size: int = 2048, repeat: int = 5) -> float:
    """float32 matrix-multiply GFLOP/s of this machine's BLAS, as NumPy reaches it."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    _ = a @ b  # warm-up: thread pool start, page faults
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        _ = a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / min(times) / 1e9


def _time_steps(run_steps, repeat: int, settled=lambda: True) -> float:
    """Median steps/s of `run_steps(k)` over repeats, k calibrated to ~TARGET_MEASURE_S.

    Before timing, calls of the calibrated size run until `settled()` says the
    implementation has made its start-up choices (the trainer's parallel or serial shards):
    a run of thousands of steps spends almost all of them past that point.
    """
    run_steps(2)  # warm-up: compilation, caches, thread pools
    k = 2
    while True:
        start = time.perf_counter()
        run_steps(k)
        spent = time.perf_counter() - start
        if spent > 0.05 or k >= 1 << 22:
            break
        k *= 4
    for _ in range(MAX_SETTLING_CALLS):
        if settled():
            break
        run_steps(k)
    k = max(1, int(k * TARGET_MEASURE_S / max(spent, 1e-9)))
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_steps(k)
        rates.append(k / (time.perf_counter() - start))
    return statistics.median(rates)


def time_engine(cfg, impl: str, repeat: int) -> tuple[float, float]:
    """(steps/s, FLOPs per step) of the trainer alone: no evaluation, no Python per step."""
    trainer = Trainer(cfg, impl=impl)

    def run_steps(k: int) -> None:
        while k > 0:  # chunks of at most 5,000 steps keep the output buffers small
            n = min(k, 5000)
            trainer.run(n)
            k -= n

    return _time_steps(run_steps, repeat, lambda: trainer.shard_mode_settled), flops_per_step(
        trainer
    )


def time_torch(cfg, repeat: int) -> float | None:
    """steps/s of the same model in PyTorch on the CPU, or None when torch is missing."""
    from engine.bench.torch_baseline import torch_trainer

    try:
        step = torch_trainer(cfg)
    except ImportError:
        return None
    if step is None:
        return None
    return _time_steps(step, repeat)


def time_w5(repeat: int) -> float:
    """Median wall seconds from process start to grokked for the grokking-mod97 preset."""
    cfg = load_config("grokking-mod97")
    steps = str(cfg.train.steps)
    run = ("run", "grokking-mod97", "--headless", "--steps", steps)
    cmd = groklab_command(*run, "--set", "train.stop_on_converged=true")
    subprocess.run(cmd, capture_output=True, check=False)  # warm the compile cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if result.returncode != 0 or "grokked" not in result.stdout:
            raise RuntimeError(f"W5: the preset did not grok:\n{result.stdout}\n{result.stderr}")
        times.append(elapsed)
    return statistics.median(times)


def run_workload(name: str, repeat: int, peak: float) -> list[dict]:
    """Result rows for one workload: one per implementation."""
    if name == "W5":
        seconds = time_w5(repeat)
        return [
            {
                "workload": "W5",
                "impl": "numba",
                "seconds_to_grokked": seconds,
                "steps_per_s": None,
                "ratio_vs_numpy": None,
                "gflops": None,
                "peak_gflops": peak,
            }
        ]
    rows = []
    numpy_rate, flops = time_engine(workload_config(name), "reference", repeat)
    for precision in ("float64", "float32"):
        rate, flops = time_engine(workload_config(name, precision), "compiled", repeat)
        rows.append({"impl": f"numba-{precision}", "steps_per_s": rate})
    rows.append({"impl": "numpy-float64", "steps_per_s": numpy_rate})
    torch_rate = time_torch(workload_config(name, "float32"), repeat) if name != "W4" else None
    if torch_rate is not None:
        rows.append({"impl": "torch-float32", "steps_per_s": torch_rate})
    for row in rows:
        row.update(
            workload=name,
            ratio_vs_numpy=row["steps_per_s"] / numpy_rate,
            gflops=row["steps_per_s"] * flops / 1e9,
            peak_gflops=peak,
        )
        if name == "W4":
            row["us_per_step"] = 1e6 / row["steps_per_s"]
        if torch_rate is not None:
            row["ratio_vs_torch"] = row["steps_per_s"] / torch_rate
    return rows


def torch_available() -> bool:
    try:
        import torch  # noqa: F401  # pyright: ignore[reportMissingImports] - optional
    except ImportError:
        return False
    return True
