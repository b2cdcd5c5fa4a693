"""Checkpoints: the whole state of a session in one `.npz`, loadable with allow_pickle=False.

Layout (DESIGN.md): each parameter as `param.<layer>.weight` (fan_in x fan_out) and
`param.<layer>.bias`, layers from 0; optimizer moments and the last gradient; the sampler's
permutation; the history's arrays; and JSON strings for the resolved config, the counters
and RNG state, the monitor and the event log. Resuming continues bit-for-bit: the next
steps see the same parameters, moments, learning rates and minibatches as an
uninterrupted run would.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from engine.config import config_from_dict, config_to_dict
from engine.errors import ConfigError
from engine.numerics.optim import HParams
from engine.store.rundir import _json_safe, atomic_write_bytes
from engine.training.history import MetricHistory
from engine.vocabulary import Event

FORMAT = 1


def _json_array(value) -> np.ndarray:
    return np.array(json.dumps(_json_safe(value)))


def save(session, path: Path) -> None:
    tr = session.trainer
    arrays: dict[str, np.ndarray] = {}
    for i, (weight, bias) in enumerate(tr.arch.views(tr.params)):
        arrays[f"param.{i}.weight"] = weight.copy()
        if bias is not None:
            arrays[f"param.{i}.bias"] = bias.copy()
    arrays["optim.m"] = tr.m
    arrays["optim.v"] = tr.v
    arrays["optim.grad"] = tr.grad
    sampler_state, perm = tr.sampler.state()
    arrays["sampler.perm"] = perm
    if session.best_params is not None:
        arrays["best.params"] = session.best_params
    arrays["grad_tail"] = np.asarray(session._grad_tail, dtype=np.float64)
    arrays.update(session.history.to_arrays())
    state = {
        "format": FORMAT,
        "step": tr.step,
        "epoch": tr.epoch,
        "seed": tr.seed,
        "target_steps": session.target_steps,
        "elapsed": session.elapsed,
        "steps_per_s": session.steps_per_s,
        "hparams": tr.hp.__dict__,
        "hparams_initial": session._hp_initial.__dict__,
        "sampler": sampler_state,
        "monitor": session.monitor.state_dict(),
        "last_record": session.last_record,
        "best_record": session.best_record,
        "test_metrics": session.test_metrics,
        "early_stopped_at": session.early_stopped_at,
        "restored_from": session.restored_from,
        "last_ratio": session._last_ratio,
        "rows": [list(row) for row in session.rows],
    }
    arrays["config"] = _json_array(config_to_dict(session.cfg))
    arrays["state"] = _json_array(state)
    arrays["events"] = _json_array([e.as_dict() for e in session.events])
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


def load_into(session, path: Path) -> None:
    """Restore a session (built from the checkpoint's config) to the saved state."""
    path = Path(path)
    with _open(path) as data:
        state = json.loads(str(data["state"]))
        tr = session.trainer
        for i, (weight, bias) in enumerate(tr.arch.views(tr.params)):
            weight[...] = data[f"param.{i}.weight"]
            if bias is not None:
                bias[...] = data[f"param.{i}.bias"]
        tr.m[:] = data["optim.m"]
        tr.v[:] = data["optim.v"]
        tr.grad[:] = data["optim.grad"]
        tr.sampler.load_state(state["sampler"], data["sampler.perm"])
        tr.step = int(state["step"])
        tr.epoch = float(state["epoch"])
        tr.seed = int(state["seed"])
        tr.hp = HParams(**state["hparams"])
        session._hp_initial = HParams(**state["hparams_initial"])
        session.target_steps = max(int(state["target_steps"]), session.cfg.train.steps)
        session.elapsed = float(state["elapsed"])
        session.steps_per_s = float(state["steps_per_s"])
        session.monitor.load_state_dict(state["monitor"])
        session.last_record = state["last_record"]
        session.best_record = state["best_record"]
        session.test_metrics = state["test_metrics"]
        session.early_stopped_at = state["early_stopped_at"]
        session.restored_from = state["restored_from"]
        session._last_ratio = state["last_ratio"]
        session.rows.extend(tuple(row) for row in state["rows"])
        session.best_params = data["best.params"].copy() if "best.params" in data else None
        session._grad_tail = data["grad_tail"].tolist()
        history = {k: data[k] for k in data.files if k.startswith("history.")}
        session.history = MetricHistory.from_arrays(history)
        session.events.extend(Event(**e) for e in json.loads(str(data["events"])))
    session.guarantee = session._compute_guarantee()
