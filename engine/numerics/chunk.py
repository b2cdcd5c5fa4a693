"""The argument list of `train_chunk`, built in one place.

Numba kernels take plain positional arguments (no dataclasses), 36 of them for
`train_chunk`. Every caller (the trainer, the kernels' warm-up, the tests) names them
here by keyword instead, so the order lives in one function, and the warm-up passes
exactly the argument types the trainer will (a different type would be another compiled
signature).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.numerics.model import OPT_SGD
from engine.numerics.optim import HParams

# The optimizer's scalar settings, in the kernel's order.
OPTIMIZER_SCALARS = (
    "momentum",
    "beta1",
    "beta2",
    "eps",
    "weight_decay",
    "l1",
    "l2",
    "clip_norm",
)


# Plain SGD with nothing added: for calls where the optimizer does not matter (the
# kernels' warm-up, a one-step gradient read). Same types as optimizer_scalars gives.
PLAIN_SGD: dict[str, Any] = {
    "opt_code": OPT_SGD,
    "momentum": 0.0,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "clip_norm": 0.0,
}


def optimizer_scalars(hp: HParams) -> dict[str, Any]:
    """The kernel's optimizer arguments (its code and scalars) from the live settings."""
    return {"opt_code": hp.opt_code} | {
        name: float(getattr(hp, name)) for name in OPTIMIZER_SCALARS
    }


def train_chunk_args(
    *,
    state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    layout: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int],
    batches: tuple[np.ndarray, np.ndarray],
    lrs: np.ndarray,
    opt_code: int,
    momentum: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    l1: float,
    l2: float,
    clip_norm: float,
    weight_mask: np.ndarray,
    step0: int,
    grad_stop: float,
    outputs: tuple[np.ndarray, np.ndarray, np.ndarray],
    stop: np.ndarray | None = None,
    shards: int = 1,
    parallel: bool = False,
    scratch: np.ndarray | None = None,
) -> tuple:
    """Positional arguments for kernels.train_chunk and reference.train_chunk.

    state: params, grad, m, v (updated in place); data: xd, xi, yf, yi; layout: fan_in,
    fan_out, w_off, b_off (per-layer arrays), activation and loss codes; batches: rows and
    per-step pointers (empty rows = full batch); outputs: per-step loss, gradient norm and
    update ratio buffers; stop: the flag another thread sets to end the chunk between
    steps (a 1-element int64 array; None = a fresh one, never set); scratch: the
    workspace buffer (None = an empty one: the kernel allocates its own for the call).
    """
    return (
        *state,
        *data,
        *layout,
        *batches,
        lrs,
        opt_code,
        momentum,
        beta1,
        beta2,
        eps,
        weight_decay,
        l1,
        l2,
        clip_norm,
        weight_mask,
        step0,
        grad_stop,
        *outputs,
        np.zeros(1, dtype=np.int64) if stop is None else stop,
        shards,
        True if parallel else None,  # None: the variant compiled without the parallel loop
        # An empty one, not None: the kernel allocates a too-short scratch per call either
        # way, and None would compile a signature no run uses, beside the runs' own.
        np.empty(0, dtype=state[0].dtype) if scratch is None else scratch,
    )
