"""Optimizer settings, learning-rate schedules and the minibatch sampler.

Everything here runs in Python between kernel calls (as umap does with its epochs): the
schedule becomes an array of per-step learning rates and the sampler a flat array of row
indices, so the compiled kernel only does arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.numerics.model import OPT_ADAM, OPT_MOMENTUM, OPT_NESTEROV, OPT_SGD

OPTIMIZER_CODES = {
    "gd": OPT_SGD,
    "sgd": OPT_SGD,
    "momentum": OPT_MOMENTUM,
    "nesterov": OPT_NESTEROV,
    "adam": OPT_ADAM,
    "adamw": OPT_ADAM,  # adam + decoupled weight decay; the decay itself is in the kernel
}


@dataclass(frozen=True)
class HParams:
    """The optimizer's settings at one moment; live edits replace it with a new one."""

    kind: str
    lr: float
    weight_decay: float
    batch_size: int  # 0 = full batch
    momentum: float
    beta1: float
    beta2: float
    eps: float
    l1: float
    l2: float
    clip_norm: float
    schedule: str
    warmup_steps: int
    step_every: int
    step_gamma: float
    min_lr: float
    total_steps: int  # the cosine's horizon: the run's budget (Session.target_steps keeps it)

    @classmethod
    def from_config(cls, cfg) -> HParams:
        opt = cfg.optim
        return cls(
            kind=opt.kind,
            lr=float(opt.lr),
            weight_decay=float(opt.weight_decay or 0.0),
            batch_size=int(opt.batch_size or 0),
            momentum=float(opt.momentum if opt.momentum is not None else 0.0),
            beta1=float(opt.beta1 if opt.beta1 is not None else 0.9),
            beta2=float(opt.beta2 if opt.beta2 is not None else 0.999),
            eps=float(opt.eps if opt.eps is not None else 1e-8),
            l1=float(opt.l1 or 0.0),
            l2=float(opt.l2 or 0.0),
            clip_norm=float(opt.clip_norm or 0.0),
            schedule=opt.schedule,
            warmup_steps=int(opt.warmup_steps or 0),
            step_every=int(opt.step_every or 1),
            step_gamma=float(opt.step_gamma if opt.step_gamma is not None else 1.0),
            min_lr=float(opt.min_lr or 0.0),
            total_steps=int(cfg.train.steps),
        )

    @property
    def opt_code(self) -> int:
        return OPTIMIZER_CODES[self.kind]

    def with_(self, **changes) -> HParams:
        return replace(self, **changes)


def lr_schedule(hp: HParams, start: int, count: int) -> np.ndarray:
    """Learning rates for global steps start .. start+count-1 (0-based)."""
    steps = np.arange(start, start + count, dtype=np.float64)
    if hp.schedule == "step":
        lrs = hp.lr * hp.step_gamma ** np.floor(steps / hp.step_every)
    elif hp.schedule == "cosine":
        horizon = max(hp.total_steps, 1)
        progress = np.minimum(steps, horizon) / horizon
        lrs = hp.min_lr + 0.5 * (hp.lr - hp.min_lr) * (1.0 + np.cos(math.pi * progress))
    else:  # constant, and warmup (constant after its ramp)
        lrs = np.full(count, hp.lr)
    if hp.warmup_steps > 0:
        ramp = np.minimum((steps + 1.0) / hp.warmup_steps, 1.0)
        lrs = lrs * ramp
    return np.ascontiguousarray(lrs, dtype=np.float64)


class BatchSampler:
    """Minibatches that reshuffle the training rows each epoch from the run's own RNG.

    The last batch of an epoch may be smaller: every row is seen exactly once per epoch.
    Its whole state (RNG, permutation, position) is saved in checkpoints, so a resumed run
    draws the very same batches.
    """

    def __init__(self, n_rows: int, rng: np.random.Generator) -> None:
        self.n_rows = n_rows
        self.rng = rng
        self.perm = np.arange(n_rows, dtype=np.int64)
        self.pos = n_rows  # forces a shuffle on first use

    def next(self, count: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices for `count` steps as (flat rows, pointers of length count+1)."""
        if batch_size <= 0 or batch_size >= self.n_rows:
            # Full batch: no indices at all, the kernel reads the split in place.
            return np.empty(0, dtype=np.int64), np.zeros(count + 1, dtype=np.int64)
        pieces, ptr = [], np.zeros(count + 1, dtype=np.int64)
        for k in range(count):
            if self.pos >= self.n_rows:
                self.perm = self.rng.permutation(self.n_rows).astype(np.int64)
                self.pos = 0
            stop = min(self.pos + batch_size, self.n_rows)
            pieces.append(self.perm[self.pos : stop])
            ptr[k + 1] = ptr[k] + (stop - self.pos)
            self.pos = stop
        return np.ascontiguousarray(np.concatenate(pieces)), ptr

    def mark(self) -> tuple:
        """A cheap bookmark of where the sampler is (the permutation is replaced on each
        reshuffle, never changed in place, so holding it needs no copy)."""
        return self.rng.bit_generator.state, self.pos, self.perm

    def rewind(self, mark: tuple, steps: int, batch_size: int) -> None:
        """Back to `mark`, then on by `steps` batches: where a chunk that stopped early (a
        stop, a divergence, the gradient criterion) has really got to."""
        self.rng.bit_generator.state, self.pos, self.perm = mark
        if steps:
            self.next(steps, batch_size)

    def state(self) -> tuple[dict, np.ndarray]:
        """JSON-able RNG state and position, and the current permutation as an array."""
        return {"bit_generator": self.rng.bit_generator.state, "pos": self.pos}, self.perm.copy()

    def load_state(self, state: dict, perm: np.ndarray) -> None:
        self.rng.bit_generator.state = state["bit_generator"]
        self.pos = int(state["pos"])
        self.perm = np.ascontiguousarray(perm, dtype=np.int64)
