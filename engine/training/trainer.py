"""The numerical state of a run and the calls that advance and measure it.

A Trainer owns the parameters, gradient and optimizer moments (flat float64 vectors), the
minibatch sampler and the current hyperparameters, and advances them through either the
compiled kernels or the NumPy reference (same arguments, same maths). It records nothing:
engine/training/session.py turns its outputs into metrics, statuses and events.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError
from engine.numerics import reference
from engine.numerics.chunk import optimizer_scalars, train_chunk_args
from engine.numerics.model import Architecture, init_params, polynomial_features
from engine.numerics.optim import BatchSampler, HParams, lr_schedule
from engine.numerics.parallel import (
    ParallelChoice,
    kernel_blas,
    parallel_available,
    shards_for,
    threads_for,
)
from engine.numerics.warmup import FIRST_KERNELS, LATER_KERNELS, PARALLEL_KERNEL, ensure_warm
from engine.training.data import Dataset, make_dataset

# Evaluation works through a split in blocks of this many rows to bound its workspace.
EVAL_BLOCK = 8192
# Predictions (the data view, between chunks) in smaller blocks: a workspace of a few MB
# instead of tens, so each view does not fault in fresh pages under the training thread.
PREDICT_BLOCK = 1024


def _compiled():
    """The compiled kernels, imported at their first use rather than with this module:
    importing them loads numba, and building a trainer (in a runner's caller, say) need not
    wait for that; the runner thread warms the kernels up while its snapshot says compiling."""
    from engine.numerics import kernels

    return kernels


@dataclass(frozen=True)
class SplitArrays:
    """One split in the exact dtypes and layouts the kernels take (unused ones are empty)."""

    xd: np.ndarray  # float64 (n, d) or (0, 0)
    xi: np.ndarray  # int64 (n, c) or (0, 0)
    yf: np.ndarray  # float64 (n, outputs) or (0, 0)
    yi: np.ndarray  # int64 (n,) or (0,)

    @property
    def n_rows(self) -> int:
        return max(self.xd.shape[0], self.xi.shape[0])


@dataclass(frozen=True)
class ChunkResult:
    losses: np.ndarray  # per-step training loss (of the batch the step used)
    grad_norms: np.ndarray  # per-step gradient norm, before clipping
    update_ratios: np.ndarray  # per-step |delta w| / |w|
    steps_done: int  # < requested when the chunk stopped early (see `stopped`)
    # "nonfinite", "converged" (gradient norm < grad_stop), "requested" (stop_flag) or None
    stopped: str | None


def build_architecture(cfg, data: Dataset) -> Architecture:
    model = cfg.model
    n_in = data.n_inputs
    if model.kind == "polynomial":
        if data.input_kind != "dense":
            raise ConfigError(cfg.source, "model.kind", "a model for dense inputs", model.kind)
        n_in = data.n_inputs * model.degree
    hidden = tuple(model.hidden) if model.kind == "mlp" else ()
    activation = model.activation if model.kind == "mlp" else "linear"
    return Architecture(
        sizes=(n_in, *hidden, data.n_outputs),
        activation=activation,
        loss=cfg.loss.kind,
        bias=bool(model.bias),
        input_kind=data.input_kind,
        index_width=data.train.X.shape[1] if data.input_kind == "index" else 0,
        embedding=model.embedding or 0,
    )


def _model_inputs(X: np.ndarray, data: Dataset, degree: int, dtype):
    """(xd, xi) for rows of the data's inputs: the kernels' dtypes, polynomial features
    added; one float precision throughout, or numba would compile (and run)
    mixed-precision variants."""
    empty_f, empty_i = np.empty((0, 0), dtype), np.empty((0, 0), dtype=np.int64)
    if data.input_kind == "index":
        return empty_f, np.ascontiguousarray(X, dtype=np.int64)
    x = np.asarray(X, dtype=np.float64)
    x = polynomial_features(x, degree) if degree else x
    return np.ascontiguousarray(x, dtype=dtype), empty_i


def _split_arrays(split, data: Dataset, degree: int, dtype) -> SplitArrays:
    """The split in the kernels' dtypes (see _model_inputs)."""
    empty_f = np.empty((0, 0), dtype)
    xd, xi = _model_inputs(split.X, data, degree, dtype)
    if data.task == "classification":
        yf, yi = empty_f, np.ascontiguousarray(split.y, dtype=np.int64)
    else:
        y = np.asarray(split.y, dtype=np.float64).reshape(len(split.y), data.n_outputs)
        yf, yi = np.ascontiguousarray(y, dtype=dtype), np.empty(0, dtype=np.int64)
    return SplitArrays(xd, xi, yf, yi)


def _norm(values: np.ndarray) -> float:
    """The 2-norm as a pairwise sum, not np.linalg.norm's BLAS dot: that one splits a long
    vector across the machine's threads, so its last bits followed the core count."""
    return math.sqrt(float(np.sum(values * values)))


class Trainer:
    """Parameters + optimizer state + sampler; `run(k)` advances k steps in one kernel call."""

    def __init__(self, cfg, dataset: Dataset | None = None, impl: str = "compiled") -> None:
        self.cfg = cfg
        self.data = dataset if dataset is not None else make_dataset(cfg)
        self.arch = build_architecture(cfg, self.data)
        degree = cfg.model.degree if cfg.model.kind == "polynomial" else 0
        self._degree = degree
        # The NumPy reference is the float64 oracle whatever the config asks for.
        self.dtype = np.dtype(cfg.train.precision if impl == "compiled" else "float64")
        self.splits = {
            name: _split_arrays(getattr(self.data, name), self.data, degree, self.dtype)
            for name in ("train", "val", "test")
        }
        self.impl = impl
        self._meta = self.arch.meta()
        # Where weight decay and the penalties apply (see Architecture.weight_mask).
        self.decay_mask = self.arch.weight_mask(bool(cfg.optim.decay_biases)).astype(self.dtype)
        self.hp = HParams.from_config(cfg)
        self._parallel = ParallelChoice()
        # False while train_chunk's parallel variant is not loaded yet (the runner compiles
        # it out of the way): shards then run serially, with the same numbers.
        self.parallel_ready = True
        self._scratch = np.empty(0, self.dtype)
        # Set to 1 (from any thread) to end the current chunk before its next step.
        self.stop_flag = np.zeros(1, dtype=np.int64)
        self.reset()

    @property
    def _kernels(self):
        return _compiled() if self.impl == "compiled" else reference

    def reset(self, seed: int | None = None) -> None:
        """Fresh parameters, moments, sampler and counters from the seed (default: config's)."""
        seed = self.cfg.train.seed if seed is None else seed
        self.seed = seed
        init_rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        model = self.cfg.model
        self.params = init_params(
            self.arch, init_rng, model.init_scale, model.init or "auto"
        ).astype(self.dtype)
        self.grad = np.zeros_like(self.params)
        self.m = np.zeros_like(self.params)
        self.v = np.zeros_like(self.params)
        sampler_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        self.sampler = BatchSampler(self.splits["train"].n_rows, sampler_rng)
        self.step = 0
        # Counted in whole rows, so the epoch is the same however the steps were chunked.
        self.rows_seen = 0

    @property
    def epoch(self) -> float:
        return self.rows_seen / self.splits["train"].n_rows

    def state_dict(self) -> dict:
        """Everything a continued run needs, as arrays (top level) and JSON-able values.

        Each layer's parameters are `param.<layer>.weight` (fan_in x fan_out) and
        `param.<layer>.bias`, layers from 0: the names a checkpoint file keeps.
        """
        state: dict = {}
        for i, (weight, bias) in enumerate(self.arch.views(self.params)):
            state[f"param.{i}.weight"] = weight.copy()
            if bias is not None:
                state[f"param.{i}.bias"] = bias.copy()
        state["optim.m"] = self.m.copy()
        state["optim.v"] = self.v.copy()
        state["optim.grad"] = self.grad.copy()
        state["sampler"], state["sampler.perm"] = self.sampler.state()
        state["step"] = self.step
        state["rows_seen"] = self.rows_seen
        state["seed"] = self.seed
        state["hparams"] = dict(vars(self.hp))
        return state

    def load_state_dict(self, state) -> None:
        """Restore a `state_dict()` into this trainer (built from the same config)."""
        for i, (weight, bias) in enumerate(self.arch.views(self.params)):
            weight[...] = state[f"param.{i}.weight"]
            if bias is not None:
                bias[...] = state[f"param.{i}.bias"]
        self.m[:] = state["optim.m"]
        self.v[:] = state["optim.v"]
        self.grad[:] = state["optim.grad"]
        self.sampler.load_state(state["sampler"], state["sampler.perm"])
        self.step = int(state["step"])
        self.rows_seen = int(state["rows_seen"])
        self.seed = int(state["seed"])
        self.hp = HParams(**state["hparams"])

    def run(self, count: int, grad_stop: float = 0.0) -> ChunkResult:
        """Advance up to `count` steps; stops early (and says why) on a non-finite loss or
        when the gradient norm falls below grad_stop (0 = never)."""
        hp = self.hp
        train = self.splits["train"]
        mark = self.sampler.mark()
        rows, ptr = self.sampler.next(count, hp.batch_size)
        lrs = lr_schedule(hp, self.step, count)
        losses, gnorms, ratios = np.empty(count), np.empty(count), np.empty(count)
        shards, blas = self.core_plan(hp.batch_size)
        parallel = self._parallel_possible(shards) and self._parallel.choose()
        scratch = None
        if self.impl == "compiled":
            ensure_warm(self.dtype, FIRST_KERNELS, *([PARALLEL_KERNEL] if parallel else []))
            scratch = self._scratch_for(shards)
        started = time.perf_counter()
        with kernel_blas(1 if parallel else blas):
            done = self._kernels.train_chunk(
                *train_chunk_args(
                    state=(self.params, self.grad, self.m, self.v),
                    data=(train.xd, train.xi, train.yf, train.yi),
                    layout=(*self._meta, self.arch.act_code, self.arch.loss_code),
                    batches=(rows, ptr),
                    lrs=lrs,
                    **optimizer_scalars(hp),
                    weight_mask=self.decay_mask,
                    step0=self.step,
                    grad_stop=grad_stop,
                    outputs=(losses, gnorms, ratios),
                    stop=self.stop_flag,
                    shards=shards,
                    parallel=parallel,
                    scratch=scratch,
                )
            )
        if shards > 1:
            self._parallel.record(parallel, time.perf_counter() - started, int(done))
        done = int(done)
        if done < count:  # the batches drawn for steps never taken are drawn again later
            self.sampler.rewind(mark, done, hp.batch_size)
        full_batch = rows.shape[0] == 0
        self.rows_seen += done * train.n_rows if full_batch else int(ptr[done] - ptr[0])
        self.step += done
        stopped = None
        recorded = done
        if done < count and gnorms[done] < 0:
            stopped = "requested"  # step `done` never began: nothing to record
        elif done < count:
            recorded = done + 1
            finite = np.isfinite(losses[done]) and np.isfinite(gnorms[done])
            stopped = "converged" if finite else "nonfinite"
        return ChunkResult(losses[:recorded], gnorms[:recorded], ratios[:done], done, stopped)

    def _parallel_possible(self, shards: int) -> bool:
        """Whether a step of this many shards may run them in parallel (a replay may plan
        shards where no threading layer runs them: they run serially)."""
        return shards > 1 and self.parallel_ready and parallel_available()

    @property
    def shard_mode_settled(self) -> bool:
        """Whether run() has measured parallel and serial shards enough to keep the faster
        (trivially so when its steps cannot run shards in parallel)."""
        shards, _ = self.core_plan(self.hp.batch_size)
        return not self._parallel_possible(shards) or self._parallel.settled

    def _step_rows(self, batch_size: int) -> int:
        """Rows one training step takes: the batch, or the whole training split."""
        n_train = self.splits["train"].n_rows
        return batch_size if 0 < batch_size < n_train else n_train

    def _scratch_for(self, shards: int) -> np.ndarray:
        """The kernel's workspaces, kept across calls (engine/numerics/kernels.py train_chunk)."""
        train = self.splits["train"]
        rows = self._step_rows(self.hp.batch_size)
        minibatch = rows < train.n_rows
        x_cols = train.xd.shape[1] if minibatch and train.xi.shape[0] == 0 else 0
        need = _compiled().scratch_size(
            self._meta[0], self._meta[1], -(-rows // shards), x_cols, shards, self.params.shape[0]
        )
        if self._scratch.shape[0] < need:
            self._scratch = np.empty(need, self.dtype)
        return self._scratch

    def core_plan(self, batch_size: int) -> tuple[int, int]:
        """(row shards, BLAS threads when the shards run serially) for a training call at
        this batch size (engine/numerics/parallel.py says why)."""
        rows = self._step_rows(batch_size)
        dense = self.arch.layers[1:] if self.arch.input_kind == "index" else self.arch.layers
        products = [rows * lay.fan_in * lay.fan_out for lay in dense]
        # forward, weight gradient and input gradient: three products per dense layer
        shards = shards_for(rows, 3 * sum(products)) if self.impl == "compiled" else 1
        return shards, threads_for(max(products, default=0) // shards)

    def evaluate(self, split: str) -> tuple[float, float, float]:
        """(loss, accuracy, MAD) on a split at the current parameters; NaN where n/a."""
        arrays = self.splits[split]
        fan_in, fan_out, w_off, b_off = self._meta
        # One BLAS thread: an idle second OpenBLAS thread spin-waits for ~0.1 s after each
        # call, and evaluations come often enough to keep it spinning against the UI.
        if self.impl == "compiled":
            ensure_warm(self.dtype, LATER_KERNELS)
        with kernel_blas(1):
            loss, acc, mad = self._kernels.evaluate(
                self.params,
                arrays.xd,
                arrays.xi,
                arrays.yf,
                arrays.yi,
                fan_in,
                fan_out,
                w_off,
                b_off,
                self.arch.act_code,
                self.arch.loss_code,
                EVAL_BLOCK,
            )
        return float(loss), float(acc), float(mad)

    def predict(self, X: np.ndarray, probabilities: bool = True) -> np.ndarray:
        """The model's outputs on rows of the data's own inputs (as the splits hold them):
        class probabilities for a classifier (its logits when not `probabilities`: the
        same argmax without a softmax), predictions for regression; (n, outputs)."""
        xd, xi = _model_inputs(X, self.data, self._degree, self.dtype)
        out = np.empty((max(xd.shape[0], xi.shape[0]), self.arch.sizes[-1]), self.dtype)
        fan_in, fan_out, w_off, b_off = self._meta
        if self.impl == "compiled":
            ensure_warm(self.dtype, LATER_KERNELS)
        with kernel_blas(1):  # as evaluate: no spinning second BLAS thread
            self._kernels.predict(
                self.params, xd, xi, fan_in, fan_out, w_off, b_off,
                self.arch.act_code, self.arch.loss_code if probabilities else 0, PREDICT_BLOCK, out,
            )  # fmt: skip
        return out

    def layer_grad_norms(self) -> tuple[float, ...]:
        """Norm of the last step's gradient, per layer."""
        return tuple(_norm(self.grad[s]) for s in self.arch.layer_slices())

    def weight_norm(self) -> float:
        return _norm(self.params)
