"""Hyperparameters as a person sees and edits them: which rows a run shows, which ones can
change live, what values they accept, and the steps of the dashboard's keys.

Kept apart from the session (and free of numba) so a UI can validate an edit at once,
even before the engine has loaded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import ConfigError

if TYPE_CHECKING:
    from engine.numerics.optim import HParams

# Hyperparameters that can change while the run goes on.
LIVE_HPARAMS = ("lr", "weight_decay", "batch_size", "momentum")

# The step policy of the dashboard's keys (w/W weight decay, b/B batch size).
DEFAULT_WEIGHT_DECAY = 1e-4  # what `w` turns a weight decay of 0 into
WEIGHT_DECAY_OFF_BELOW = 1e-5  # `W` below this switches weight decay off (0)
DEFAULT_HALF_BATCH = 128  # `B` from full batch when the training set size is unknown


def shown_hparams(hp: HParams, lr_now: float) -> tuple[tuple[str, object], ...]:
    """The rows that describe this optimizer, in display order: settings that do nothing
    for it (momentum for adam, a zero penalty, lr_now without a schedule) are left out."""
    rows: list[tuple[str, object]] = [("optimizer", hp.kind), ("lr", hp.lr)]
    if hp.schedule != "constant" or hp.warmup_steps:
        rows.append(("lr_now", lr_now))  # where the schedule has taken the base lr
    rows += [("weight_decay", hp.weight_decay), ("batch_size", hp.batch_size)]
    if hp.kind in ("momentum", "nesterov"):
        rows.append(("momentum", hp.momentum))
    if hp.kind in ("adam", "adamw"):
        rows += [("beta1", hp.beta1), ("beta2", hp.beta2)]
    rows.append(("schedule", hp.schedule))
    rows += [(name, getattr(hp, name)) for name in ("l1", "l2", "clip_norm") if getattr(hp, name)]
    return tuple(rows)


def validate_hparam(optimizer: str, name: str, value) -> float | int:
    """The value as its proper type, or ConfigError saying why it cannot be set."""
    key = f"optim.{name}"
    if name not in LIVE_HPARAMS:
        raise ConfigError("live edit", key, f"one of {', '.join(LIVE_HPARAMS)}", name)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError("live edit", key, "a number", value)
    if name == "batch_size":
        if int(value) != value or value < 0:
            raise ConfigError("live edit", key, "a whole number >= 0 (0 = full batch)", value)
        if optimizer == "gd" and value != 0:
            raise ConfigError(
                "live edit", key, "0: gd is full-batch (use sgd for minibatches)", value
            )
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError("live edit", key, "a finite number", value)
    if name == "lr" and value <= 0:
        raise ConfigError("live edit", key, "a number > 0", value)
    if name == "weight_decay" and value < 0:
        raise ConfigError("live edit", key, "a number >= 0", value)
    if name == "momentum":
        if optimizer not in ("momentum", "nesterov"):
            raise ConfigError(
                "live edit", key, "an optimizer with momentum (momentum, nesterov)", optimizer
            )
        if not 0 <= value < 1:
            raise ConfigError("live edit", key, "a number in [0, 1)", value)
    return value


def doubled_batch(batch: int, n_train: int | None) -> tuple[int | None, str]:
    """`b`: twice the batch; reaching the training set size means full batch (0)."""
    if batch == 0:
        return None, "already full batch"
    new = batch * 2
    if n_train is not None and new >= n_train:
        return 0, "full batch"
    return new, ""


def halved_batch(batch: int, n_train: int | None) -> tuple[int | None, str]:
    """`B`: half the batch; from full batch, the largest power of two below the set size."""
    if batch == 1:
        return None, "batch size is already 1"
    if batch == 0:
        if n_train is None:
            return DEFAULT_HALF_BATCH, ""
        if n_train <= 1:
            return None, "the training set has one row"
        return 1 << ((n_train - 1).bit_length() - 1), ""
    return max(1, batch // 2), ""


def doubled_decay(wd: float) -> float:
    return DEFAULT_WEIGHT_DECAY if wd == 0 else wd * 2


def halved_decay(wd: float) -> tuple[float | None, str]:
    if wd == 0:
        return None, "weight decay is already 0"
    half = wd / 2
    return (0.0 if half < WEIGHT_DECAY_OFF_BELOW else half), ""
