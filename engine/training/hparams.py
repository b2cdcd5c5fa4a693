"""Live hyperparameter edits: which ones exist and what values they accept.

Kept apart from the session (and free of numba) so a UI can validate an edit at once,
even before the engine has loaded.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import ConfigError

# Hyperparameters that can change while the run goes on.
LIVE_HPARAMS = ("lr", "weight_decay", "batch_size", "momentum")


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
