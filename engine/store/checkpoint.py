"""Checkpoints: a session's state dict in one `.npz`, loadable with allow_pickle=False.

Every array of `Session.state_dict()` is a member under its own key: each parameter as
`param.<layer>.weight` (fan_in x fan_out) and `param.<layer>.bias`, layers from 0, the
optimizer moments and last gradient (`optim.*`), the sampler's permutation, the history's
arrays (`history.*`). Everything else (counters, RNG state, hyperparameters, monitor,
records, event log) is one JSON string, `state`; the resolved config is another, `config`.
Non-finite floats are kept as JSON's NaN/Infinity extension, so nothing is lost. Resuming
continues bit-for-bit: the next steps see the same parameters, moments, learning rates
and minibatches as an uninterrupted run would.

A checkpoint to resume from is a user's file like any other, so it is checked before
use: a regular file (a FIFO or a device is never opened), an intact zip of plain `.npy`
arrays, members of the names, dtypes and shapes a session of its config has, JSON of the
structure that session saves, steps in range. Each failure is one ConfigError naming the
file and the member.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import (
    MAX_INT,
    OVERRIDE_SOURCE,
    SCHEDULES,
    SECTIONS,
    SEED_SOURCE,
    RunConfig,
    config_from_dict,
    config_to_dict,
    with_overrides,
)
from engine.errors import ConfigError
from engine.store.files import atomic_write_bytes
from engine.training.budget import SAFE_FRACTION, available_memory, format_bytes
from engine.training.history import MetricHistory
from engine.training.session import CSV_COLUMNS
from engine.vocabulary import Event, Status

FORMAT = 3  # 3: the epoch is counted in rows seen (rows_seen), not a float sum
_JSON_MEMBERS = ("state", "config")
_NPY_MAGIC = b"\x93NUMPY"

# What a resumed run keeps from its checkpoint, whatever --set says: the data, model and
# optimizer its arrays were made for (the seed names the data, the precision the dtype).
FIXED_ON_RESUME = ("data", "model", "loss", "optim.kind", "train.seed", "train.precision")


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


# --------------------------------------------------------------------------- reading


def _refuse(path: Path, member: str, expected: str, found: object) -> ConfigError:
    return ConfigError(str(path), member, expected, found)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    kinds += ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One `.npy` member, its header checked against its size before anything is allocated."""
    name = info.filename.removesuffix(".npy")
    try:
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise _refuse(path, name, "an .npy array of format 1.0 or 2.0", version)
            if dtype.hasobject:
                raise _refuse(path, name, "an array of numbers or text (no pickles)", str(dtype))
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > info.file_size:
                expected = f"an array its {info.file_size:,} bytes can hold"
                raise _refuse(path, name, expected, f"shape {shape} of {dtype}")
            data = handle.read(nbytes)
            if len(data) != nbytes or handle.read(1):
                raise _refuse(path, name, f"{nbytes:,} bytes of data", "a different length")
    except ConfigError:
        raise
    except Exception as exc:
        raise _refuse(path, name, "an intact array (the file is damaged)", str(exc)) from None
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _members(path: Path) -> dict[str, np.ndarray]:
    """Every member of the checkpoint at path, read whole; any damage is a ConfigError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _refuse(path, "--resume", "an existing checkpoint.npz", str(path)) from None
    except OSError as exc:
        raise _refuse(path, "--resume", "a readable checkpoint.npz", exc.strerror) from None
    if not stat.S_ISREG(info.st_mode):  # never opened: reading a FIFO would wait forever
        expected = "a regular file (a checkpoint.npz)"
        raise _refuse(path, "--resume", expected, _file_kind(info.st_mode))
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_NPY_MAGIC))
            archive = zipfile.ZipFile(handle)
            with archive:
                return _archive_members(path, archive, info.st_size)
    except ConfigError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        found = "a single array (.npy)" if head == _NPY_MAGIC else str(exc)
        if info.st_size == 0:
            found = "an empty file"
        raise _refuse(path, "--resume", "a groklab checkpoint (an .npz archive)", found) from None


def _archive_members(path: Path, archive: zipfile.ZipFile, size: int) -> dict[str, np.ndarray]:
    infos = archive.infolist()
    if not infos:
        raise _refuse(path, "--resume", "a groklab checkpoint (with members)", "an empty archive")
    total = sum(i.file_size for i in infos)
    available = available_memory()
    if available is not None and total > available * SAFE_FRACTION:
        expected = f"members that fit in memory ({format_bytes(available * SAFE_FRACTION)})"
        raise _refuse(path, "--resume", expected, f"{format_bytes(total)} uncompressed")
    out = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise _refuse(path, info.filename, "an .npy array member", "another kind of file")
        out[info.filename.removesuffix(".npy")] = _read_member(path, archive, info)
    return out


def _json_member(path: Path, members: Mapping[str, np.ndarray], name: str) -> dict:
    if name not in members:
        raise _refuse(path, name, "a groklab checkpoint (with state and config)", "no such member")
    text = members[name]
    if text.shape != () or text.dtype.kind != "U":
        found = f"a {text.dtype} array of shape {text.shape}"
        raise _refuse(path, name, "JSON text (a string)", found)
    try:
        value = json.loads(str(text))
    except json.JSONDecodeError as exc:  # says where, never the text
        raise _refuse(path, name, "valid JSON", str(exc)) from None
    except RecursionError:
        raise _refuse(path, name, "JSON nested a few hundred levels at most", "deeper") from None
    if not isinstance(value, dict):
        raise _refuse(path, name, "a JSON object", type(value).__name__)
    return value


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict, dict]:
    """(arrays, state JSON, config JSON) of a checkpoint."""
    members = _members(path)
    state = _json_member(path, members, "state")
    config = _json_member(path, members, "config")
    arrays = {k: v for k, v in members.items() if k not in _JSON_MEMBERS}
    return arrays, state, config


def load_config(path: Path) -> RunConfig:
    """The resolved config stored in a checkpoint."""
    path = Path(path)
    _, _, config = _read(path)
    try:
        return config_from_dict(config, str(path))
    except ConfigError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _refuse(path, "config", "a groklab config", str(exc)) from None


def resume_config(path: Path, overrides: Sequence[str] = (), seed: int | None = None) -> RunConfig:
    """The checkpoint's config with --set overrides (and --seed), refusing any change to
    what its arrays were made for (FIXED_ON_RESUME)."""
    saved = load_config(path)
    cfg = with_overrides(saved, overrides, seed=seed)
    before, after = config_to_dict(saved), config_to_dict(cfg)
    set_keys = {text.partition("=")[0].strip() for text in overrides}
    for section in SECTIONS:
        old, new = before[section], after[section]
        assert isinstance(old, dict) and isinstance(new, dict)
        for key in sorted(old, key=lambda k: k != "kind"):  # a changed kind first
            dotted = f"{section}.{key}"
            fixed = section in FIXED_ON_RESUME or dotted in FIXED_ON_RESUME
            if old[key] == new[key] or not fixed:
                continue
            source = OVERRIDE_SOURCE if dotted in set_keys or seed is None else SEED_SOURCE
            expected = (
                f"{old[key]!r}, the checkpoint's value (a resumed run keeps the data, model "
                "and optimizer its arrays were made for; start a new run to change it)"
            )
            raise ConfigError(source, dotted, expected, new[key])
    return cfg


# --------------------------------------------------------------------------- checking


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _fits(saved: object, fresh: object) -> bool:
    if isinstance(fresh, bool):
        return isinstance(saved, bool)
    if isinstance(fresh, int):
        return isinstance(saved, int) and not isinstance(saved, bool)
    if isinstance(fresh, float):
        return isinstance(saved, int | float) and not isinstance(saved, bool)
    if isinstance(fresh, str):
        return isinstance(saved, str)
    if isinstance(fresh, list):
        return isinstance(saved, list)
    return isinstance(saved, dict)


# Keys a fresh session holds as null, and what they may hold once set (None: always null).
_NULLABLE: dict[str, type | tuple[type, ...] | None] = {
    "state.last_record": dict,
    "state.best_record": dict,
    "state.test_metrics": dict,
    "state.best_params": None,  # when set, it is an array member instead
    "state.stopped_by": str,
    "state.guarantee": None,  # the config has no quadratic guarantee
    "state.monitor.vmin": list,
    "state.monitor.grok_kind": str,
    "state.monitor.pending": str,
}
_NUMBER = (int, float)


def _check_like(path: Path, key: str, saved: object, fresh: object) -> None:
    """`saved` has the JSON structure of `fresh` (a fresh session's value for the key)."""
    if fresh is None:
        allowed = _NULLABLE.get(key, _NUMBER)
        if saved is None:
            return
        if allowed is None or not isinstance(saved, allowed) or isinstance(saved, bool):
            shown = "null" if allowed is None else f"null or {_json_type(_sample(allowed))}"
            raise _refuse(path, key, shown, saved)
        return
    if not _fits(saved, fresh):
        raise _refuse(path, key, _json_type(fresh), saved)
    if isinstance(fresh, dict):
        assert isinstance(saved, dict)
        for name in fresh:
            if name not in saved:
                raise _refuse(path, f"{key}.{name}", "a value", "nothing")
        for name in saved:
            if name not in fresh:
                raise _refuse(path, f"{key}.{name}", "no such key", saved[name])
            _check_like(path, f"{key}.{name}", saved[name], fresh[name])


def _sample(allowed: type | tuple[type, ...]) -> object:
    return {dict: {}, list: [], str: ""}.get(allowed, 0.0)  # type: ignore[call-overload]


def _whole(path: Path, key: str, value: object, lo: int, hi: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _refuse(path, key, f"an integer in [{lo}, {hi}]", value)
    return value


def _non_negative(path: Path, key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, _NUMBER) or not 0 <= value < math.inf:
        raise _refuse(path, key, "a finite number >= 0", value)


def _check_arrays(path: Path, arrays: Mapping[str, np.ndarray], fresh: Mapping) -> None:
    """Names, dtypes and shapes of the members against a fresh session's arrays."""
    expected = {k: v for k, v in fresh.items() if isinstance(v, np.ndarray)}
    params = expected["optim.m"]  # the flat parameter vector's shape and dtype
    for name in arrays:
        if name not in expected and name != "best_params":
            raise _refuse(path, name, "only the members a checkpoint of its config has", "more")
    for name, want in [*expected.items(), ("best_params", params)]:
        if name not in arrays:
            if name == "best_params":
                continue  # optional: JSON null when there is no best point yet
            raise _refuse(path, name, f"a {want.dtype} member of shape {want.shape}", "none")
        got = arrays[name]
        if got.dtype != want.dtype:
            raise _refuse(path, name, f"dtype {want.dtype}", str(got.dtype))
        variable = name.startswith("history.metric.") or name == "grad_tail"
        if (got.ndim != want.ndim) if variable else (got.shape != want.shape):
            what = f"{want.ndim} dimensions" if variable else f"shape {want.shape}"
            raise _refuse(path, name, f"{what} (a session of its config has that)", got.shape)
    if not np.array_equal(arrays["history.meta"], expected["history.meta"]):
        meta = expected["history.meta"].tolist()
        raise _refuse(path, "history.meta", f"{meta}", arrays["history.meta"].tolist())
    perm = arrays["sampler.perm"]
    if not np.array_equal(np.sort(perm), np.arange(perm.shape[0])):
        raise _refuse(path, "sampler.perm", "a permutation of the training rows", "another array")
    history = {k.removeprefix("history."): v for k, v in arrays.items() if k[:8] == "history."}
    try:
        MetricHistory().load_state_dict(history)  # checks every array, keeps nothing
    except ValueError as exc:
        raise _refuse(path, "history", "consistent history arrays", str(exc)) from None


def _check_state(path: Path, state: dict, arrays: Mapping[str, np.ndarray], fresh: Mapping):
    """The JSON state's structure and ranges against a fresh session's."""
    fresh_json = {k: v for k, v in fresh.items() if not isinstance(v, np.ndarray)}
    if "best_params" in arrays:
        fresh_json.pop("best_params")
    state.setdefault("stopped_by", None)  # older checkpoints have no stopped_by
    _check_like(path, "state", state, fresh_json)
    step = _whole(path, "state.step", state["step"], 0)
    target = _whole(path, "state.target_steps", state["target_steps"], 1)
    if step > target:
        raise _refuse(path, "state.step", f"a step <= target_steps ({target})", step)
    _whole(path, "state.seed", state["seed"], 0)
    _whole(path, "state.rows_seen", state["rows_seen"], 0)
    for key in ("elapsed", "steps_per_s"):
        _non_negative(path, f"state.{key}", state[key])
    n_rows = arrays["sampler.perm"].shape[0]
    _whole(path, "state.sampler.pos", state["sampler"]["pos"], 0, n_rows)
    bit_generator = state["sampler"]["bit_generator"]
    if bit_generator.get("bit_generator") != fresh["sampler"]["bit_generator"]["bit_generator"]:
        raise _refuse(path, "state.sampler.bit_generator", "a PCG64 state", bit_generator)
    try:
        np.random.PCG64().state = bit_generator
    except (TypeError, ValueError, OverflowError) as exc:
        raise _refuse(path, "state.sampler.bit_generator", "a PCG64 state", str(exc)) from None
    for key in ("hparams", "hparams_initial"):
        _check_hparams(path, f"state.{key}", state[key], fresh[key])
    monitor = state["monitor"]
    if monitor["version"] != fresh["monitor"]["version"]:
        version = fresh["monitor"]["version"]
        raise _refuse(path, "state.monitor.version", version, monitor["version"])
    if monitor["status"] not in {s.value for s in Status}:
        raise _refuse(path, "state.monitor.status", "a status word", monitor["status"])
    for i, record in enumerate(monitor["records"]):
        if not isinstance(record, list) or len(record) != 5 or not all(map(_maybe_number, record)):
            raise _refuse(path, f"state.monitor.records[{i}]", "5 numbers or nulls", record)
    _check_history_steps(path, arrays, step)
    _check_events(path, state["events"], step)
    width = len(CSV_COLUMNS)
    for i, row in enumerate(state["rows"]):
        ok = isinstance(row, list) and len(row) == width
        if not ok or not all(v is None or isinstance(v, int | float | str) for v in row):
            raise _refuse(path, f"state.rows[{i}]", f"a list of {width} values", row)
        _whole(path, f"state.rows[{i}][0]", row[0], 0, step)
    for key in ("last_record", "best_record"):
        record = state[key]
        if record is not None:
            if not isinstance(record.get("layer_grad_norms"), list):
                raise _refuse(path, f"state.{key}.layer_grad_norms", "a list", None)
            _whole(path, f"state.{key}.step", record.get("step"), 0, step)
    for key in ("early_stopped_at", "restored_from"):
        if state[key] is not None:
            _whole(path, f"state.{key}", state[key], 0, step)


def _maybe_number(value: object) -> bool:
    return value is None or (isinstance(value, _NUMBER) and not isinstance(value, bool))


def _check_hparams(path: Path, key: str, saved: dict, fresh: dict) -> None:
    if saved["kind"] != fresh["kind"]:
        raise _refuse(path, f"{key}.kind", repr(fresh["kind"]), saved["kind"])
    if saved["schedule"] not in SCHEDULES:
        raise _refuse(path, f"{key}.schedule", "one of " + ", ".join(SCHEDULES), saved["schedule"])
    for name, value in saved.items():
        if name not in ("kind", "schedule"):
            _non_negative(path, f"{key}.{name}", value)
    if not saved["lr"] > 0:
        raise _refuse(path, f"{key}.lr", "a number > 0", saved["lr"])
    _whole(path, f"{key}.step_every", saved["step_every"], 1)


def _check_history_steps(path: Path, arrays: Mapping[str, np.ndarray], step: int) -> None:
    for name, counters in arrays.items():
        if name.startswith("history.metric.") and name.endswith(".state"):
            has_last, last = int(counters[5]), int(counters[6])
            if has_last and not 0 <= last <= step:
                raise _refuse(path, name, f"a last step in [0, {step}]", last)


_EVENT_KEYS = {f.name for f in fields(Event)}


def _check_events(path: Path, events: list, step: int) -> None:
    for i, event in enumerate(events):
        where = f"state.events[{i}]"
        if not isinstance(event, dict) or not {"step", "time", "kind", "detail"} <= event.keys():
            raise _refuse(path, where, "an event (step, time, kind, detail)", event)
        if not event.keys() <= _EVENT_KEYS:
            raise _refuse(path, where, "only the keys " + ", ".join(sorted(_EVENT_KEYS)), event)
        _whole(path, f"{where}.step", event["step"], 0, step)
        if not (isinstance(event["kind"], str) and isinstance(event["detail"], str)):
            raise _refuse(path, where, "a kind and a detail that are strings", event)
        if not isinstance(event.get("data", {}), dict):
            raise _refuse(path, f"{where}.data", "an object", event["data"])
        if not _maybe_number(event["time"]) or event["time"] is None:
            raise _refuse(path, f"{where}.time", "a number", event["time"])


def load_state(path: Path, session) -> dict:
    """The state dict stored in a checkpoint (what `Session.load_state_dict` takes), checked
    against `session` (a fresh session of the checkpoint's config)."""
    path = Path(path)
    arrays, state, _ = _read(path)
    found = state.pop("format", None)
    if found != FORMAT:  # the config may still be readable: a new run can start from it
        raise _refuse(path, "format", f"a checkpoint of format {FORMAT}", f"format {found}")
    fresh = session.state_dict()
    _check_arrays(path, arrays, fresh)
    _check_state(path, state, arrays, fresh)
    state.update(arrays)
    return state


def check(session, path: Path) -> None:
    """Refuse (ConfigError) a checkpoint `session` could not resume from; loads nothing."""
    load_state(path, session)


def load_into(session, path: Path) -> None:
    """Restore a session (built from the checkpoint's config) to the saved state."""
    state = load_state(path, session)
    try:
        session.load_state_dict(state)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a case the checks missed
        raise _refuse(Path(path), "state", "a state this run can continue from", str(exc)) from None
