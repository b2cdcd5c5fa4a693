"""How much memory a run needs, estimated from its config before anything is allocated.

A config within the parser's caps may still ask for more than the machine has
(`model.hidden = [1000000000]`, `data.n = 1000000000`): allocating it would be killed by
the kernel's OOM killer without a word, or die in a MemoryError halfway. `check_memory`
refuses such a config up front, naming the key that drives the estimate, the estimate and
what is available.

The estimate counts what a run holds at its peak, in bytes: the parameters with their
gradient, optimizer moments and the copies a checkpoint makes; the data arrays while they
are generated, shuffled and split; a training step's and an evaluation's workspaces; the
sampler's indices; the guarantee's dense matrices. It errs high (every temporary counted
as alive at once), and leaves out what every run pays alike (the interpreter, the kernels,
the bounded logs): the refusal threshold is a fraction of the available memory for that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.config import CLASSIFICATION_DATA, RunConfig
from engine.errors import ConfigError
from engine.training.data import (
    BAYES_SAMPLES,
    MAX_CSV_BYTES,
    MAX_CSV_CLASSES,
    MAX_LINE_CHARS,
    train_split_size,
)
from engine.training.guarantee import MAX_ANALYSED
from engine.training.trainer import EVAL_BLOCK

# A run may take at most this share of the memory available when it starts.
SAFE_FRACTION = 0.5

# Live copies of the parameter vector at the peak: parameters, gradient, two moments, the
# weight mask (float64 and cast), the best parameters, a checkpoint's state dict and its
# serialised buffer (five each), and a gradient per row shard.
_PARAM_COPIES = 18
# Copies of the generated data at the peak: as drawn, shuffled, and the split's temporaries.
_DATA_COPIES = 3
# A CSV table: parsed cells, features without the target, shuffled, standardized (2).
_CSV_COPIES = 5
# The modular table: a and b grids, their op and remainder, permutation, stacked, shuffled.
_MODULAR_COPIES = 10
# Steps' row indices a minibatch sampler hands to one kernel call, at most (a chunk).
_CHUNK_STEPS = 64


@dataclass(frozen=True)
class Need:
    """One part of the estimate: what it is, the key that drives it, its bytes."""

    what: str
    key: str
    bytes: int


@dataclass(frozen=True)
class _Shape:
    """The data's sizes, as the config says them (for a CSV: as its file says them)."""

    rows: int  # all splits
    train_rows: int
    x_cols: int  # stored input columns (float64, or int64 indices)
    inputs: int  # the model's input width (one-hot width for indices, powers for poly)
    outputs: int
    rows_key: str
    cols_key: str
    outputs_key: str


def _rows_key(cfg: RunConfig) -> str:
    """The count that sets the rows: data.n, or a held-out count when it is the larger."""
    d = cfg.data
    counts = {"data.n": d.n or 0, "data.n_val": d.n_val or 0, "data.n_test": d.n_test or 0}
    return max(counts, key=counts.__getitem__)


def _csv_shape(cfg: RunConfig) -> _Shape | None:
    """Rows and columns of a CSV from its bytes: newlines and the header's fields. None
    when the file cannot tell (too big, unreadable): reading it then says why."""
    path = Path(str(cfg.data.path))
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            return None
        with path.open("rb") as handle:
            header = handle.readline(MAX_LINE_CHARS + 1)
            lines = 1 + sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
    columns = header.count(b",") + 1
    classes = MAX_CSV_CLASSES if cfg.is_classification else 1
    rows = max(lines, 1)
    return _Shape(rows, rows, columns, columns - 1, classes, "data.path", "data.path", "data.path")


def _shape(cfg: RunConfig) -> _Shape | None:
    d, model = cfg.data, cfg.model
    if d.kind == "csv":
        return _csv_shape(cfg)
    train_rows = train_split_size(cfg) or 0
    if d.kind == "modular":
        p = d.p or 0
        pairs = p * (p - 1 if d.op == "div" else p)
        return _Shape(pairs, train_rows, 2, 2 * p, p, "data.p", "data.p", "data.p")
    held_out = (d.n_val or 0) + (d.n_test or 0)
    rows = (d.n or 0) + held_out
    if d.kind in CLASSIFICATION_DATA:
        classes = d.classes or 2
        return _Shape(
            rows, train_rows, 2, 2, classes, _rows_key(cfg), _rows_key(cfg), "data.classes"
        )
    columns = (d.n_features or 1) if d.kind == "linear" else 1
    degree = (model.degree or 1) if model.kind == "polynomial" else 1
    cols_key = "data.n_features" if d.kind == "linear" and columns >= degree else "model.degree"
    return _Shape(rows, train_rows, columns, columns * degree, 1, _rows_key(cfg), cols_key, "")


def _layer_sizes(cfg: RunConfig, shape: _Shape) -> list[int]:
    """The dense layers' widths: a shared embedding's rows, side by side, are the first."""
    hidden = list(cfg.model.hidden or ()) if cfg.model.kind == "mlp" else []
    inputs = shape.x_cols * cfg.model.embedding if cfg.model.embedding else shape.inputs
    return [inputs, *hidden, shape.outputs]


def _embedding_params(cfg: RunConfig, shape: _Shape) -> int:
    """The shared embedding table: one row per token (one operand's one-hot width)."""
    width = cfg.model.embedding or 0
    return shape.inputs // shape.x_cols * width if width else 0


def _params_key(shape: _Shape, sizes: list[int]) -> str:
    """The key behind the largest layer: the data's width, its classes, or the hidden sizes."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    i = products.index(max(products))
    if sizes[i] >= sizes[i + 1]:  # the layer's inputs make it big
        return shape.cols_key if i == 0 else "model.hidden"
    if i == len(products) - 1:  # its outputs: the classes
        return shape.outputs_key or shape.cols_key
    return "model.hidden"


def needs(cfg: RunConfig) -> list[Need]:
    """The parts of the estimate, largest first (empty when the data's size is unknown)."""
    shape = _shape(cfg)
    if shape is None:
        return []
    item = 4 if cfg.train.precision == "float32" else 8
    sizes = _layer_sizes(cfg, shape)
    bias = bool(cfg.model.bias)
    table = _embedding_params(cfg, shape)
    dense = [a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:])]
    n_params = table + sum(dense)
    params_key = "model.embedding" if table > max(dense) else _params_key(shape, sizes)
    # Every layer's outputs (the embedding's are the first dense layer's inputs): a step
    # keeps three buffers of each.
    width = sum(sizes[1:]) + (sizes[0] if table else 0)
    batch = cfg.optim.batch_size or 0
    minibatch = 0 < batch < shape.train_rows
    step_rows = batch if minibatch else shape.train_rows
    step_key = "optim.batch_size" if minibatch else shape.rows_key
    hidden_heavy = cfg.model.kind == "mlp" and max(sizes[1:-1], default=0) >= step_rows
    out = [
        Need(
            f"{n_params:,} parameters with their gradient, moments and checkpoint copies",
            params_key,
            n_params * item * _PARAM_COPIES,
        ),
        Need(
            f"a training step's workspace over {step_rows:,} rows",
            "model.hidden" if hidden_heavy else step_key,
            step_rows * (3 * width + (shape.x_cols if minibatch else 0)) * item,
        ),
        Need(
            "an evaluation's workspace",
            "model.hidden" if cfg.model.kind == "mlp" else shape.rows_key,
            min(EVAL_BLOCK, shape.rows) * (3 * width + shape.x_cols) * item,
        ),
    ]
    out += _data_needs(cfg, shape, item)
    if minibatch:
        indices = shape.train_rows * 2 + batch * _CHUNK_STEPS
        out.append(Need("the minibatch sampler's indices", "optim.batch_size", indices * 8))
    if cfg.model.kind in ("linear", "polynomial") and cfg.loss.kind == "mse":
        p = shape.inputs + int(bias)
        if p <= MAX_ANALYSED:  # beyond it the guarantee is skipped
            dense = shape.train_rows * (p + shape.inputs) * 8 + 12 * p * p * 8
            out.append(Need("the guarantee's dense matrices", shape.rows_key, dense))
    return sorted(out, key=lambda need: need.bytes, reverse=True)


def _data_needs(cfg: RunConfig, shape: _Shape, item: int) -> list[Need]:
    d = cfg.data
    if d.kind == "csv":
        cells = shape.rows * shape.x_cols
        return [Need("the CSV table and its copies", "data.path", cells * 8 * _CSV_COPIES)]
    if d.kind == "modular":
        return [Need("the table of pairs", "data.p", shape.rows * 8 * _MODULAR_COPIES)]
    drawn = shape.rows * (shape.x_cols + 1) * 8 * _DATA_COPIES
    if shape.inputs != shape.x_cols:  # polynomial features: the powers, then stacked
        drawn += shape.rows * shape.inputs * 8 * 2
    if item != 8:  # the kernels' float32 copy
        drawn += shape.rows * shape.inputs * item
    key = shape.rows_key if shape.rows >= shape.inputs else shape.cols_key
    out = [Need(f"{shape.rows:,} rows of data", key, drawn)]
    if d.kind in CLASSIFICATION_DATA and (d.jitter or 0) > 0:
        # The Bayes floor's Monte Carlo: per point and class, the spiral sums 13 windings.
        per_class = {"spiral": 13 * 4, "moons": 400 * 3}.get(d.kind, 2 * 3)
        mc = BAYES_SAMPLES * shape.outputs * per_class * 8
        out.append(Need("the Bayes floor's Monte Carlo", "data.classes", mc))
    return out


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """What a cgroup (v2) memory limit leaves this process: containers lie in /proc/meminfo."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((root / "memory.current").read_text()), 0)
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes the system can still give: MemAvailable, lowered by a cgroup limit; else the
    physical memory; None when nothing tells."""
    found = [n for n in (_meminfo_available(), _cgroup_available()) if n is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    return min(found)


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_memory(cfg: RunConfig, available: int | None = None) -> int:
    """Refuse (ConfigError naming the driving key) a config whose estimate exceeds
    SAFE_FRACTION of the available memory; return the estimate in bytes."""
    parts = needs(cfg)
    total = sum(part.bytes for part in parts)
    available = available_memory() if available is None else available
    if available is None or not parts:
        return total
    limit = int(available * SAFE_FRACTION)
    if total > limit:
        top = parts[0]
        expected = (
            f"a run that fits in memory: at most {format_bytes(limit)}, "
            f"{SAFE_FRACTION:.0%} of the {format_bytes(available)} available"
        )
        found = f"an estimated {format_bytes(total)}, mostly {top.what} ({format_bytes(top.bytes)})"
        raise ConfigError(cfg.source, top.key, expected, found)
    return total
