"""Checkpoints: a session's state dict in one `.npz`, loadable with allow_pickle=False.

Every array of `Session.state_dict()` is a member under its own key: each parameter as
`param.<layer>.weight` (fan_in x fan_out) and `param.<layer>.bias`, layers from 0, the
optimizer moments and last gradient (`optim.*`), the sampler's permutation, the history's
arrays (`history.*`). Everything else (counters, RNG state, hyperparameters, monitor,
records, event log) is one JSON string, `state`; the resolved config is another, `config`.
Non-finite floats are kept as JSON's NaN/Infinity extension, so nothing is lost. Resuming
continues bit-for-bit: the next steps see the same parameters, moments, learning rates
and minibatches as an uninterrupted run would.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import config_from_dict, config_to_dict
from engine.errors import ConfigError
from engine.store.files import atomic_write_bytes

FORMAT = 3  # 3: the epoch is counted in rows seen (rows_seen), not a float sum
_JSON_MEMBERS = ("state", "config")


def save(session, path: Path) -> None:
    """Write the session's state and config to path, atomically."""
    state = session.state_dict()
    if {"format", *_JSON_MEMBERS} & state.keys():
        raise ValueError("a state dict may not use the keys format, state or config")
    # Any: numpy's stubs read **arrays as if it could fill savez's allow_pickle flag.
    arrays: dict[str, Any] = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    rest = {"format": FORMAT} | {k: v for k, v in state.items() if k not in arrays}
    arrays["state"] = np.array(json.dumps(rest))
    arrays["config"] = np.array(json.dumps(config_to_dict(session.cfg)))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(Path(path), buffer.getvalue())


def _open(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(str(path), "--resume", "an existing checkpoint.npz", str(path)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "--resume", "a groklab checkpoint (.npz)", str(exc)) from None


def load_config(path: Path):
    """The resolved config stored in a checkpoint."""
    with _open(Path(path)) as data:
        if "config" not in data:
            raise ConfigError(str(path), "config", "a groklab checkpoint", "no config inside")
        return config_from_dict(json.loads(str(data["config"])), str(path))


def load_state(path: Path) -> dict:
    """The state dict stored in a checkpoint (what `Session.load_state_dict` takes)."""
    path = Path(path)
    with _open(path) as data:
        if "state" not in data:
            raise ConfigError(str(path), "state", "a groklab checkpoint", "no state inside")
        state = json.loads(str(data["state"]))
        found = state.pop("format", None)
        if found != FORMAT:
            raise ConfigError(
                str(path), "format", f"a checkpoint of format {FORMAT}", f"format {found}"
            )
        state.update({k: data[k] for k in data.files if k not in _JSON_MEMBERS})
    return state


def load_into(session, path: Path) -> None:
    """Restore a session (built from the checkpoint's config) to the saved state."""
    session.load_state_dict(load_state(path))
