"""Run configuration: a TOML preset validated into frozen dataclasses.

A preset (a bundled name or a .toml path) plus `--set section.key=value` overrides
becomes one `RunConfig`. Every mistake raises `ConfigError` naming where it came from
(the file, `--set` or `--seed`), the dotted key, what was expected and what was found.
A resolved config is plain data: it converts to a dict (checkpoints) or to TOML text
(`groklab show`, `--out DIR/config.toml`) and loads back equal.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, fields, replace
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeGuard

import tomli_w

from engine.errors import ConfigError
from engine.vocabulary import Status

OVERRIDE_SOURCE = "--set"
SEED_SOURCE = "--seed"

REGRESSION_DATA = ("linear", "polynomial", "sine")
CLASSIFICATION_DATA = ("circles", "xor", "gaussians", "spiral", "moons", "modular")
LOSS_KINDS = ("mse", "mae", "cross_entropy")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "square", "linear")
# model.init: "auto" scales each layer for its activation (He for relu) and counts an index
# input's active entries as its fan-in; "normal" and "uniform" use the layer's true fan-in,
# and "uniform" with init_scale 1 is PyTorch's default for Linear layers
# (engine/numerics/model.py).
INITS = ("auto", "normal", "uniform")
MODULAR_OPS = ("add", "sub", "mul", "div")
SCHEDULES = ("constant", "step", "cosine", "warmup")

TEXT_KEYS = ("name", "title", "description", "phenomenon")
SECTIONS = ("data", "model", "loss", "optim", "train", "convergence", "expect")

# Caps on what a preset file or --set may ask for. Sizes that fit these can still need
# more memory than the machine has: engine/training/budget.py checks that before a run.
MAX_PRESET_BYTES = 1 << 20  # a preset is a page of settings; 1 MiB is far beyond any
MAX_INT = 1 << 53  # every count, seed and step: exact as a float, safe in int64 arithmetic
MAX_FEATURES = 1_000_000  # data.n_features: its default weights are built when resolving
MAX_P = 1_000_000  # data.p: primality is checked by trial division when resolving
MAX_LAYERS = 100  # model.hidden: hidden layers
MAX_EMBEDDING = 1_000_000  # model.embedding: the width of one token's row
MAX_LIST = 1_000_000  # data.weights, data.coeffs: numbers in one list
MAX_NAME_CHARS = 200  # name, title
MAX_TEXT_CHARS = 10_000  # description, phenomenon, data.path, data.target


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class DataConfig:
    """[data]: which generator (or CSV file) and its knobs; keys not used by `kind` are None."""

    kind: str
    n: int | None = None
    val_fraction: float | None = None
    test_fraction: float | None = None
    # Generated data: held-out rows drawn in addition to the n training rows. Either one
    # given makes n the training rows and replaces val_fraction/test_fraction.
    n_val: int | None = None
    n_test: int | None = None
    n_features: int | None = None
    weights: tuple[float, ...] | None = None
    intercept: float | None = None
    noise: float | None = None
    coeffs: tuple[float, ...] | None = None
    frequency: float | None = None
    amplitude: float | None = None
    label_noise: float | None = None
    jitter: float | None = None
    classes: int | None = None
    p: int | None = None
    op: str | None = None
    train_fraction: float | None = None
    path: str | None = None  # csv: absolute once resolved
    target: str | None = None  # csv: None = the last column
    standardize: bool | None = None


@dataclass(frozen=True)
class ModelConfig:
    """[model]: the model family and its shape."""

    kind: str
    bias: bool | None = None
    # 0: all-zero weights (not for an MLP); a list gives each layer its own scale, the
    # embedding first when there is one.
    init_scale: float | tuple[float, ...] | None = None
    init: str | None = None
    degree: int | None = None
    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    # Index inputs only: one table of rows this wide, shared by every operand, the rows
    # concatenated before the first dense layer (0: none).
    embedding: int | None = None


@dataclass(frozen=True)
class LossConfig:
    """[loss]: only a kind."""

    kind: str


@dataclass(frozen=True)
class OptimConfig:
    """[optim]: optimizer, penalties, clipping, batch size and lr schedule."""

    kind: str
    lr: float | None = None
    weight_decay: float | None = None
    # Weight decay and the l1/l2 penalties on every parameter (biases too, as PyTorch's
    # AdamW does), not on the weights only.
    decay_biases: bool | None = None
    l1: float | None = None
    l2: float | None = None
    clip_norm: float | None = None
    batch_size: int | None = None
    schedule: str | None = None
    warmup_steps: int | None = None
    step_every: int | None = None
    step_gamma: float | None = None
    min_lr: float | None = None
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None


@dataclass(frozen=True)
class TrainConfig:
    """[train]: seed, length of the run, evaluation cadence, stopping and checkpoints."""

    seed: int = 0
    steps: int = 1000
    eval_every: int = 10
    early_stopping: bool = False
    patience: int = 10
    stop_on_converged: bool = True
    # float64 is the reference; float32 halves memory traffic and doubles BLAS throughput
    # on large models, and is tested to agree with the reference to float32 tolerance.
    precision: str = "float64"
    # What the dashboard's main chart opens on (CHART_VIEWS); v cycles through them.
    view: str = "loss"
    # Steps per second the dashboard trains at, so a preset's phenomenon unfolds at a speed
    # a person can follow (0 = full speed). Headless runs and benchmarks ignore it; a pace
    # only spaces the chunks out in time, so it never changes a number.
    pace: float = 0.0
    # A run directory's checkpoint.npz is rewritten this often (wall seconds) as well as at
    # the end, so a killed run resumes from at most this far back.
    checkpoint_every_s: float = 30.0


@dataclass(frozen=True)
class ConvergenceConfig:
    """[convergence]: thresholds of the monitor's status words (in steps or fractions of
    the run, never in numbers of evaluations; engine/training/monitor.py defines them)."""

    grad_tol: float = 1e-6
    plateau_rel_tol: float = 1e-3  # relative change over the recent window that is flat
    window_fraction: float = 0.25  # the recent window: this fraction of the steps so far
    dwell_fraction: float = 0.1  # a calm status must hold this fraction of the steps so far
    overfit_rel: float = 0.1  # validation loss this far above its best (relative) overfits
    chance: float | None = None  # None = auto: 1 / n_classes (written as -1 in TOML)
    memorize_acc: float = 0.99
    grok_acc: float = 0.95


@dataclass(frozen=True)
class ExpectConfig:
    """[expect]: what a preset promises to show; every key optional (None = no claim)."""

    status: str | None = None
    within_steps: int | None = None
    min_grok_delay: int | None = None
    max_test_mad: float | None = None
    max_final_val_loss: float | None = None
    min_final_val_acc: float | None = None
    params_close_to_lstsq: float | None = None
    diverged_predicted: bool | None = None
    val_loss_rises: bool | None = None
    val_acc_drops: bool | None = None
    best_restored: bool | None = None


@dataclass(frozen=True)
class RunConfig:
    """One fully resolved run. `source` (where it was read from) is not part of equality."""

    name: str
    title: str
    description: str
    phenomenon: str
    source: str = field(compare=False)
    data: DataConfig
    model: ModelConfig
    loss: LossConfig
    optim: OptimConfig
    train: TrainConfig
    convergence: ConvergenceConfig
    expect: ExpectConfig
    # What resolving the config changed on the user's behalf, in plain words; the run says
    # each one at start. Not part of equality (nor of the dict or the TOML).
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_classification(self) -> bool:
        """Labels to predict (a CSV is classification only when trained with cross_entropy;
        a generated data kind decides by itself, whatever the loss)."""
        if self.data.kind == "csv":
            return self.loss.kind == "cross_entropy"
        return self.data.kind in CLASSIFICATION_DATA


# --------------------------------------------------------------------------- value checks


class _Invalid(Exception):
    """Raised by a check; carries the 'expected ...' text for the ConfigError."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class _Missing:
    """Marks a required key in a defaults table; printed as `found nothing` in errors."""

    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()

# A check returns the value in its proper type or raises _Invalid; the schema's values
# are therefore only known to be right at run time, hence Any.
Check = Callable[[object], Any]


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(lo: int, hi: int = MAX_INT) -> Check:
    expected = f"an integer >= {lo}" if hi == MAX_INT else f"an integer in [{lo}, {hi}]"

    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise _Invalid(expected)
        if value > hi:
            raise _Invalid(f"an integer in [{lo}, {hi}]")
        return value

    return check


def _number(
    lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False
) -> Check:
    if lo is not None and hi is not None:
        expected = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    elif lo is not None:
        expected = f"a finite number {'>' if lo_open else '>='} {lo:g}"
    else:
        expected = "a finite number"

    def check(value: object) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise _Invalid(expected)
        x = float(value)
        if lo is not None and (x <= lo if lo_open else x < lo):
            raise _Invalid(expected)
        if hi is not None and (x >= hi if hi_open else x > hi):
            raise _Invalid(expected)
        return x

    return check


def _numbers(non_empty: bool) -> Check:
    expected = "a non-empty list of finite numbers" if non_empty else "a list of finite numbers"
    expected += f" (at most {MAX_LIST:,})"

    def check(value: object) -> tuple[float, ...]:
        if not isinstance(value, list | tuple) or (non_empty and not value):
            raise _Invalid(expected)
        if len(value) > MAX_LIST:
            raise _Invalid(expected)
        if not all(_is_number(v) and math.isfinite(v) for v in value):
            raise _Invalid(expected)
        return tuple(float(v) for v in value)

    return check


def _integers(lo: int, most: int) -> Check:
    expected = f"a non-empty list of at most {most} integers in [{lo}, {MAX_INT}]"

    def check(value: object) -> tuple[int, ...]:
        if not isinstance(value, list | tuple) or not 0 < len(value) <= most:
            raise _Invalid(expected)
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and lo <= v <= MAX_INT for v in value
        ):
            raise _Invalid(expected)
        return tuple(value)

    return check


def _one_of_text(names: Sequence[str]) -> str:
    return "one of " + ", ".join(repr(n) for n in names)


def _choice(names: Sequence[str]) -> Check:
    expected = _one_of_text(names)

    def check(value: object) -> str:
        if not isinstance(value, str) or value not in names:
            raise _Invalid(expected)
        return value

    return check


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("true or false")
    return value


def _text(most: int) -> Check:
    expected = f"a non-empty string of at most {most:,} characters"

    def check(value: object) -> str:
        if not isinstance(value, str) or not 0 < len(value) <= most:
            raise _Invalid(expected)
        return value

    return check


def _chance(value: object) -> float | None:
    """-1 means auto (1 / number of classes), stored as None."""
    if _is_number(value) and value == -1:
        return None
    return _number(0.0, 1.0, hi_open=True)(value)


_FRACTION = _number(0.0, 1.0, hi_open=True)
_NON_NEGATIVE = _number(0.0)
_POSITIVE = _number(0.0, lo_open=True)


def _scale_or_scales(value: object) -> float | tuple[float, ...]:
    """model.init_scale: one number >= 0 for every layer, or a list of them, one per layer."""
    if isinstance(value, list | tuple):
        expected = f"a number >= 0 or a non-empty list of at most {MAX_LAYERS + 2} of them"
        if not 0 < len(value) <= MAX_LAYERS + 2:
            raise _Invalid(expected)
        try:
            return tuple(_NON_NEGATIVE(v) for v in value)
        except _Invalid:
            raise _Invalid(expected) from None
    return _NON_NEGATIVE(value)


# Per section: the check of every key. Per kind: the keys it allows and their defaults.
_DATA_CHECKS: dict[str, Check] = {
    "n": _integer(4),
    "n_val": _integer(0),
    "n_test": _integer(0),
    "val_fraction": _FRACTION,
    "test_fraction": _FRACTION,
    "n_features": _integer(1, MAX_FEATURES),
    "weights": _numbers(non_empty=True),
    "intercept": _number(),
    "noise": _NON_NEGATIVE,
    "coeffs": _numbers(non_empty=True),
    "frequency": _POSITIVE,
    "amplitude": _POSITIVE,
    "label_noise": _FRACTION,
    "jitter": _NON_NEGATIVE,
    "classes": _integer(2),
    "p": _integer(2, MAX_P),
    "op": _choice(MODULAR_OPS),
    "train_fraction": _number(0.0, 1.0, lo_open=True, hi_open=True),
    "path": _text(MAX_TEXT_CHARS),
    "target": _text(MAX_TEXT_CHARS),
    "standardize": _boolean,
}
_SPLIT = {"val_fraction": 0.2, "test_fraction": 0.2}
_HELD_OUT = {"n_val": None, "n_test": None}  # generators only: a CSV has the rows it has
_LINEAR_WEIGHTS = (3.0, 5.0, 2.0)
_DATA_DEFAULTS: dict[str, dict[str, object]] = {
    "linear": {
        "n": 100, **_SPLIT, **_HELD_OUT, "n_features": 3, "weights": _LINEAR_WEIGHTS,
        "intercept": 0.0, "noise": 1.0,
    },
    "polynomial": {
        "n": 200, **_SPLIT, **_HELD_OUT, "coeffs": (0.0, 1.0, 0.0, -2.0), "noise": 0.1,
    },
    "sine": {
        "n": 200, **_SPLIT, **_HELD_OUT, "frequency": 1.0, "amplitude": 1.0, "noise": 0.1,
    },
    "circles": {"n": 200, **_SPLIT, **_HELD_OUT, "label_noise": 0.0, "jitter": 0.1},
    "xor": {"n": 200, **_SPLIT, **_HELD_OUT, "label_noise": 0.0, "jitter": 0.1},
    "gaussians": {
        "n": 200, **_SPLIT, **_HELD_OUT, "label_noise": 0.0, "jitter": 0.5, "classes": 2,
    },
    "spiral": {
        "n": 200, **_SPLIT, **_HELD_OUT, "label_noise": 0.0, "jitter": 0.2, "classes": 3,
    },
    "moons": {"n": 200, **_SPLIT, **_HELD_OUT, "label_noise": 0.0, "jitter": 0.1},
    "modular": {"p": 97, "op": "add", "train_fraction": 0.5, "test_fraction": 0.1},
    "csv": {"path": MISSING, "target": None, "standardize": True, **_SPLIT},
}  # fmt: skip

_MODEL_CHECKS: dict[str, Check] = {
    "bias": _boolean,
    "init_scale": _scale_or_scales,
    "init": _choice(INITS),
    "embedding": _integer(0, MAX_EMBEDDING),
    "degree": _integer(1),
    "hidden": _integers(1, MAX_LAYERS),
    "activation": _choice(ACTIVATIONS),
}
_MODEL_COMMON = {"bias": True, "init_scale": 1.0, "init": "auto"}
_MODEL_DEFAULTS: dict[str, dict[str, object]] = {
    "linear": _MODEL_COMMON,
    "polynomial": {"degree": 3, **_MODEL_COMMON},
    "softmax": {"embedding": 0, **_MODEL_COMMON},
    "mlp": {"hidden": (64,), "activation": "relu", "embedding": 0, **_MODEL_COMMON},
}

_LOSS_DEFAULTS: dict[str, dict[str, object]] = {kind: {} for kind in LOSS_KINDS}

_OPTIM_CHECKS: dict[str, Check] = {
    "lr": _POSITIVE,
    "weight_decay": _NON_NEGATIVE,
    "decay_biases": _boolean,
    "l1": _NON_NEGATIVE,
    "l2": _NON_NEGATIVE,
    "clip_norm": _NON_NEGATIVE,
    "batch_size": _integer(0),
    "schedule": _choice(SCHEDULES),
    "warmup_steps": _integer(0),
    "step_every": _integer(1),
    "step_gamma": _number(0.0, 1.0, lo_open=True),
    "min_lr": _NON_NEGATIVE,
    "momentum": _FRACTION,
    "beta1": _FRACTION,
    "beta2": _FRACTION,
    "eps": _POSITIVE,
}
_OPTIM_COMMON = {
    "lr": 0.01, "weight_decay": 0.0, "decay_biases": False, "l1": 0.0, "l2": 0.0,
    "clip_norm": 0.0, "batch_size": 0,
    "schedule": "constant", "warmup_steps": 0, "step_every": 1000, "step_gamma": 0.5,
    "min_lr": 0.0,
}  # fmt: skip
_MOMENTUM = {"momentum": 0.9}
_ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
_OPTIM_DEFAULTS: dict[str, dict[str, object]] = {
    "gd": _OPTIM_COMMON,
    "sgd": _OPTIM_COMMON,
    "momentum": {**_OPTIM_COMMON, **_MOMENTUM},
    "nesterov": {**_OPTIM_COMMON, **_MOMENTUM},
    "adam": {**_OPTIM_COMMON, **_ADAM},
    "adamw": {**_OPTIM_COMMON, "weight_decay": 0.01, **_ADAM},
}

PRECISIONS = ("float64", "float32")
# The main chart's views: "accuracy" and "mad" name the task's second metric (either word
# opens it), "guarantee" the excess loss of a quadratic problem (else: loss).
CHART_VIEWS = ("loss", "accuracy", "mad", "grad_norm", "lr", "guarantee")

_TRAIN_CHECKS: dict[str, Check] = {
    "seed": _integer(0),
    "steps": _integer(1),
    "eval_every": _integer(1),
    "early_stopping": _boolean,
    "patience": _integer(1),
    "stop_on_converged": _boolean,
    "precision": _choice(PRECISIONS),
    "view": _choice(CHART_VIEWS),
    "pace": _NON_NEGATIVE,
    "checkpoint_every_s": _POSITIVE,
}
_CONVERGENCE_CHECKS: dict[str, Check] = {
    "grad_tol": _POSITIVE,
    "plateau_rel_tol": _POSITIVE,
    "window_fraction": _number(0.0, 1.0, lo_open=True),
    "dwell_fraction": _number(0.0, 0.5),
    "overfit_rel": _POSITIVE,
    "chance": _chance,
    "memorize_acc": _number(0.0, 1.0, lo_open=True),
    "grok_acc": _number(0.0, 1.0, lo_open=True),
}
# Keys that counted evaluations or compared with the old floor: what replaced each.
_REMOVED_KEYS = {
    ("convergence", "window"): "convergence.window_fraction (a fraction of the steps so far)",
    ("convergence", "patience"): "convergence.dwell_fraction (a fraction of the steps so far)",
    ("convergence", "underfit_ratio"): "nothing: underfitting compares with the data's own "
    "noise floor or Bayes accuracy",
}
_EXPECT_CHECKS: dict[str, Check] = {
    "status": _choice(tuple(s.value for s in Status)),
    "within_steps": _integer(1),
    "min_grok_delay": _integer(0),
    "max_test_mad": _NON_NEGATIVE,
    "max_final_val_loss": _NON_NEGATIVE,
    "min_final_val_acc": _number(0.0, 1.0),
    "params_close_to_lstsq": _NON_NEGATIVE,
    "diverged_predicted": _boolean,
    "val_loss_rises": _boolean,
    "val_acc_drops": _boolean,
    "best_restored": _boolean,
}

# Every kind a section accepts: the keys of its defaults (tests run each one).
DATA_KINDS = tuple(_DATA_DEFAULTS)
MODEL_KINDS = tuple(_MODEL_DEFAULTS)
OPTIM_KINDS = tuple(_OPTIM_DEFAULTS)

# section -> (check of every key, {kind: {allowed key: default}}); kindless sections use None.
_SCHEMA: dict[str, tuple[dict[str, Check], dict[Any, dict[str, Any]]]] = {
    "data": (_DATA_CHECKS, _DATA_DEFAULTS),
    "model": (_MODEL_CHECKS, _MODEL_DEFAULTS),
    "loss": ({}, _LOSS_DEFAULTS),
    "optim": (_OPTIM_CHECKS, _OPTIM_DEFAULTS),
    "train": (_TRAIN_CHECKS, {None: {f.name: f.default for f in fields(TrainConfig)}}),
    "convergence": (
        _CONVERGENCE_CHECKS,
        {None: {f.name: f.default for f in fields(ConvergenceConfig)}},
    ),
    "expect": (_EXPECT_CHECKS, {None: dict.fromkeys(_EXPECT_CHECKS)}),
}
# The loss's default kind is not here: it follows the data (see _default_loss).
_DEFAULT_KIND = {"data": "linear", "model": "linear", "optim": "gd"}


# --------------------------------------------------------------------------- raw sections


@dataclass
class _RawSection:
    """One section's raw key/values, remembering where each key came from (for errors)."""

    name: str
    values: dict[str, object]
    source: str
    origin: dict[str, str] = field(default_factory=dict)

    def where(self, key: str) -> str:
        return self.origin.get(key, self.source)

    def set(self, key: str, value: object, origin: str) -> None:
        self.values[key] = value
        self.origin[key] = origin

    def error(self, key: str, expected: str, found: object) -> ConfigError:
        return ConfigError(self.where(key), f"{self.name}.{key}", expected, found)


def _parse_override(text: str) -> tuple[str, str, object]:
    """'section.key=value' -> (section, key, value); value is TOML, else a bare string."""
    dotted, sep, raw_value = text.partition("=")
    parts = dotted.strip().split(".")
    if not sep or len(parts) != 2 or not all(p.strip() for p in parts):
        raise ConfigError(OVERRIDE_SOURCE, dotted.strip() or text, "section.key=value", text)
    try:
        parsed = tomllib.loads("v = " + raw_value)
    except tomllib.TOMLDecodeError:
        parsed = {}
    except RecursionError:
        raise ConfigError(OVERRIDE_SOURCE, dotted.strip(), _SHALLOW, "deeper nesting") from None
    # More than one key means the text smuggled in a newline: take it literally.
    value = parsed["v"] if list(parsed) == ["v"] else raw_value.strip()
    return parts[0].strip(), parts[1].strip(), value


def _apply_overrides(raw: dict[str, _RawSection], overrides: Sequence[str]) -> None:
    given: dict[str, dict[str, object]] = {}
    for text in overrides:
        section, key, value = _parse_override(text)
        if section not in raw:
            raise ConfigError(OVERRIDE_SOURCE, section, "a section: " + ", ".join(SECTIONS), text)
        given.setdefault(section, {})[key] = value
    for section, values in given.items():
        target = raw[section]
        current_kind = target.values.get("kind", _DEFAULT_KIND.get(section))
        if "kind" in values and values["kind"] != current_kind:
            # A new kind starts afresh: the file's keys belonged to the old kind.
            target.values.clear()
            target.origin.clear()
        for key, value in values.items():
            target.set(key, value, OVERRIDE_SOURCE)


# --------------------------------------------------------------------------- sections


def _kind(raw: _RawSection, default: str) -> str:
    kinds = list(_SCHEMA[raw.name][1])
    kind = raw.values.get("kind", default)
    if not isinstance(kind, str) or kind not in kinds:
        raise raw.error("kind", _one_of_text(kinds), kind)
    return kind


def _fill(raw: _RawSection, kind: str | None) -> dict[str, Any]:
    """Check every given key against the kind's allowed keys, then add defaults."""
    checks, defaults_by_kind = _SCHEMA[raw.name]
    defaults = defaults_by_kind[kind]
    allowed = ", ".join(defaults) or "no keys besides kind"
    where = f"[{raw.name}]" if kind is None else f"{raw.name}.kind={kind!r}"
    out: dict[str, Any] = {}
    for key, value in raw.values.items():
        if key == "kind" and kind is not None:
            continue
        if (raw.name, key) in _REMOVED_KEYS:
            replaced = _REMOVED_KEYS[(raw.name, key)]
            raise raw.error(key, f"no such key any more: it was replaced by {replaced}", value)
        if key not in defaults:
            raise raw.error(key, f"a key allowed for {where} ({allowed})", value)
        try:
            out[key] = checks[key](value)
        except _Invalid as bad:
            raise raw.error(key, bad.expected, value) from None
    for key, default in defaults.items():
        if default is MISSING and key not in out:
            # Blame whoever chose the kind that needs this key.
            expected = f"a value (required for {where})"
            raise ConfigError(raw.where("kind"), f"{raw.name}.{key}", expected, MISSING)
        out.setdefault(key, default)
    return out


def _resolve_linear(raw: _RawSection, values: dict[str, Any]) -> None:
    """n_features follows the weights when only they are given; default weights fit n_features."""
    given_n, given_w = "n_features" in raw.values, "weights" in raw.values
    if given_w and not given_n:
        values["n_features"] = len(values["weights"])
    elif given_n and not given_w:
        n = values["n_features"]
        values["weights"] = tuple(_LINEAR_WEIGHTS[i % 3] for i in range(n))
    elif len(values["weights"]) != values["n_features"]:
        n = values["n_features"]
        expected = f"a list of {n} numbers (data.n_features = {n})"
        raise raw.error("weights", expected, raw.values["weights"])


def _resolve_csv_path(raw: _RawSection, values: dict[str, Any], base_dir: Path | None) -> None:
    """Relative paths resolve against the config file's folder (cwd for --set)."""
    path = Path(values["path"]).expanduser()
    if not path.is_absolute():
        from_cwd = raw.where("path") == OVERRIDE_SOURCE or base_dir is None
        path = (Path.cwd() if from_cwd or base_dir is None else base_dir) / path
    if not path.is_file():
        raise raw.error("path", "an existing CSV file", str(path))
    values["path"] = str(path.resolve())


def _resolve_held_out(raw: _RawSection, values: dict[str, Any]) -> None:
    """data.n_val / data.n_test (either one) draw the held-out rows in addition to data.n:
    then n is the training rows, the fractions do not apply, and a missing count is 0."""
    if values.get("n_val") is None and values.get("n_test") is None:
        return
    for key in ("val_fraction", "test_fraction"):
        if key in raw.values:
            expected = (
                "no fraction with data.n_val/n_test (they draw held-out rows in addition "
                "to data.n): give one or the other"
            )
            raise raw.error(key, expected, raw.values[key])
        values[key] = None
    for key in ("n_val", "n_test"):
        if values[key] is None:
            values[key] = 0


def _data_config(raw: _RawSection, base_dir: Path | None) -> DataConfig:
    kind = _kind(raw, _DEFAULT_KIND["data"])
    values = _fill(raw, kind)
    _resolve_held_out(raw, values)
    if kind == "linear":
        _resolve_linear(raw, values)
    elif kind == "csv":
        _resolve_csv_path(raw, values, base_dir)
    return DataConfig(kind=kind, **values)


def _kinded_config(raw: _RawSection, cls: type, default: str):
    kind = _kind(raw, default)
    return cls(kind=kind, **_fill(raw, kind))


def _default_loss(data_kind: str) -> str:
    return "cross_entropy" if data_kind in CLASSIFICATION_DATA else "mse"


# --------------------------------------------------------------------------- cross-section rules


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, math.isqrt(p) + 1))


def model_layer_count(model: ModelConfig) -> int:
    """Layers with parameters: the embedding (when there is one), hidden layers, output."""
    hidden = len(model.hidden or ()) if model.kind == "mlp" else 0
    return (1 if model.embedding else 0) + hidden + 1


def _check_rules(cfg: RunConfig, raw: dict[str, _RawSection]) -> None:
    data, loss, optim, model = cfg.data, cfg.loss, cfg.optim, cfg.model
    # _fill gave every key of the data kind a value, so the kind's fractions are set.
    test_fraction = data.test_fraction or 0.0
    if data.kind == "modular":
        if (data.train_fraction or 0.0) + test_fraction > 1:
            raise raw["data"].error(
                "test_fraction", "train_fraction + test_fraction <= 1", data.test_fraction
            )
        if data.op == "div" and not _is_prime(data.p or 0):
            expected = "a prime (op = 'div' needs an inverse of every b != 0)"
            raise raw["data"].error("p", expected, data.p)
    elif (data.val_fraction or 0.0) + test_fraction >= 1:
        expected = "val_fraction + test_fraction < 1"
        raise raw["data"].error("test_fraction", expected, data.test_fraction)

    if loss.kind == "cross_entropy" and data.kind in REGRESSION_DATA:
        raise raw["loss"].error("kind", f"'mse' or 'mae' for data.kind={data.kind!r}", loss.kind)
    if loss.kind == "mae" and data.kind in CLASSIFICATION_DATA:
        expected = f"'cross_entropy' or 'mse' (on one-hot targets) for data.kind={data.kind!r}"
        raise raw["loss"].error("kind", expected, loss.kind)
    if model.kind == "softmax" and loss.kind != "cross_entropy":
        raise raw["loss"].error("kind", "'cross_entropy' for model.kind='softmax'", loss.kind)

    if model.embedding and data.kind != "modular":
        expected = "0 unless the inputs are indices (data.kind='modular')"
        raise raw["model"].error("embedding", expected, model.embedding)
    scales = model.init_scale if isinstance(model.init_scale, tuple) else None
    layers = model_layer_count(model)
    if scales is not None and len(scales) != layers:
        expected = f"one number, or a list of {layers} (one per layer, the embedding first)"
        raise raw["model"].error("init_scale", expected, list(scales))
    if model.kind == "mlp" and 0 in (scales or (model.init_scale,)):
        expected = (
            "numbers > 0 for model.kind='mlp' (all-zero weights give every hidden unit the "
            "same zero gradient: the network never learns features; 0 is for one-layer models)"
        )
        raise raw["model"].error("init_scale", expected, model.init_scale)

    if optim.kind == "gd" and optim.batch_size != 0:
        expected = "0 for optim.kind='gd' (full batch; use 'sgd' for minibatches)"
        raise raw["optim"].error("batch_size", expected, optim.batch_size)


# --------------------------------------------------------------------------- building


def _build(
    doc: Mapping[str, Any],
    source: str,
    base_dir: Path | None,
    default_name: str,
    overrides: Sequence[str] = (),
    seed: int | None = None,
) -> RunConfig:
    top_expected = f"a top-level key ({', '.join(TEXT_KEYS)}) or section ({', '.join(SECTIONS)})"
    for key, value in doc.items():
        if key in TEXT_KEYS:
            most = MAX_NAME_CHARS if key in ("name", "title") else MAX_TEXT_CHARS
            if not isinstance(value, str) or len(value) > most:
                raise ConfigError(source, key, f"a string of at most {most:,} characters", value)
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(source, key, f"a table [{key}]", value)
        else:
            raise ConfigError(source, key, top_expected, value)

    raw = {name: _RawSection(name, dict(doc.get(name, {})), source) for name in SECTIONS}
    _apply_overrides(raw, overrides)
    if seed is not None:
        raw["train"].set("seed", seed, SEED_SOURCE)

    data = _data_config(raw["data"], base_dir)
    file_data = doc.get("data", {})
    file_kind = file_data.get("kind", _DEFAULT_KIND["data"])
    dropped = _drop_generated_claims(raw) if data.kind == "csv" and file_kind != "csv" else None
    name = doc.get("name", default_name)
    cfg = RunConfig(
        name=name,
        title=doc.get("title", name),
        description=doc.get("description", ""),
        phenomenon=doc.get("phenomenon", ""),
        source=source,
        data=data,
        model=_kinded_config(raw["model"], ModelConfig, _DEFAULT_KIND["model"]),
        loss=_kinded_config(raw["loss"], LossConfig, _default_loss(data.kind)),
        optim=_kinded_config(raw["optim"], OptimConfig, _DEFAULT_KIND["optim"]),
        train=TrainConfig(**_fill(raw["train"], None)),
        convergence=ConvergenceConfig(**_fill(raw["convergence"], None)),
        expect=ExpectConfig(**_fill(raw["expect"], None)),
    )
    _check_rules(cfg, raw)
    if dropped is not None:
        cfg = replace(cfg, notes=(*cfg.notes, _csv_switch_note(cfg, file_kind, dropped)))
    return cfg


# Keys written for a preset's generated data, meaningless for a user's CSV: the [expect]
# claims (verdicts, losses, accuracies measured on that data) and an explicit chance level
# (of its classes). Only what the file said goes; a --set of the same key is the user's own.
_GENERATED_CLAIMS = ("expect", "convergence.chance")


def _drop_generated_claims(raw: dict[str, _RawSection]) -> list[str]:
    """Remove the file's claims about its generated data; return the dotted keys removed."""
    dropped = []
    for claim in _GENERATED_CLAIMS:
        section, _, only = claim.partition(".")
        target = raw[section]
        for key in [k for k in target.values if (not only or k == only)]:
            if target.where(key) != OVERRIDE_SOURCE:
                del target.values[key]
                target.origin.pop(key, None)
                dropped.append(f"{section}.{key}")
    return dropped


def _csv_switch_note(cfg: RunConfig, file_kind: str, dropped: list[str]) -> str:
    """What a preset for generated data keeps and loses when its data becomes a CSV file."""
    model, optim, train = cfg.model, cfg.optim, cfg.train
    shape = model.kind + ("" if model.bias else " without intercept (model.bias = false)")
    kept = (
        f"kept from the preset: model {shape}, loss {cfg.loss.kind}, optimizer {optim.kind} "
        f"at lr {optim.lr:g}, {train.steps} steps, an evaluation every {train.eval_every} "
        "steps; change them with --set if they do not suit your data"
    )
    if dropped:
        gone = ", ".join(dropped)
        lost = f"dropped what the preset claimed about that data ({gone}); "
    else:
        lost = ""
    return f"data.kind = 'csv' replaces the preset's {file_kind} data: {lost}{kept}"


def _is_preset_name(spec: str) -> bool:
    return bool(spec) and not spec.endswith(".toml") and "/" not in spec and "\\" not in spec


def _read_spec(spec: str | Path) -> tuple[str, str, Path, str]:
    """(source, TOML text, folder for relative paths, default name) of a preset or file."""
    text_spec = str(spec)
    found = False
    if isinstance(spec, str) and _is_preset_name(spec):
        resource = files("presets") / f"{spec}.toml"
        with suppress(OSError):  # a name too long for a file is no preset's either
            found = resource.is_file()
        if found:
            return spec, resource.read_text(encoding="utf-8"), Path(str(files("presets"))), spec
    path = Path(spec).expanduser()
    try:
        is_file = path.is_file()  # False for a folder, a FIFO or a device: never opened
    except OSError as exc:  # a name too long, say
        raise ConfigError(text_spec, "file", "a readable .toml file", exc.strerror) from None
    if not is_file:
        expected = "a bundled preset name or an existing .toml file"
        raise ConfigError(text_spec, "file", expected, text_spec)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PRESET_BYTES + 1)
        if len(data) > MAX_PRESET_BYTES:
            expected = f"a preset file of at most {MAX_PRESET_BYTES >> 20} MiB"
            raise ConfigError(text_spec, "file", expected, f"{path.stat().st_size:,} bytes")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(text_spec, "file", "a readable UTF-8 .toml file", str(exc)) from None
    return text_spec, text, path.resolve().parent, path.stem


def _parse_toml(text: str, source: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries "(at line L, column C)"
        raise ConfigError(source, "<toml>", "valid TOML", str(exc)) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(source, "<toml>", _SHALLOW, "arrays or tables nested deeper") from None


_SHALLOW = "TOML nested at most a few hundred levels deep"


# --------------------------------------------------------------------------- public API


def load_config(
    spec: str | Path, overrides: Sequence[str] = (), seed: int | None = None
) -> RunConfig:
    """Read a bundled preset (by name) or a .toml file, apply overrides and seed, validate."""
    source, text, base_dir, default_name = _read_spec(spec)
    return _build(_parse_toml(text, source), source, base_dir, default_name, overrides, seed)


def list_presets() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in files("presets").iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def config_to_dict(cfg: RunConfig) -> dict[str, object]:
    """Plain JSON-able dict: every key of every section, None where a kind does not use it."""
    out: dict[str, object] = {key: getattr(cfg, key) for key in TEXT_KEYS}
    for section in SECTIONS:
        values = getattr(cfg, section)
        out[section] = {
            f.name: list(v) if isinstance(v := getattr(values, f.name), tuple) else v
            for f in fields(values)
        }
    return out


def _drop_none(d: Mapping[str, object]) -> dict[str, object]:
    return {
        k: _drop_none(v) if isinstance(v, Mapping) else v for k, v in d.items() if v is not None
    }


def config_from_dict(d: Mapping[str, object], source: str) -> RunConfig:
    """Inverse of config_to_dict, with the same validation as a file (None = key absent)."""
    return _build(_drop_none(d), source, None, str(d.get("name", source)))


def with_overrides(
    cfg: RunConfig, overrides: Sequence[str] = (), seed: int | None = None
) -> RunConfig:
    """A new config: `cfg` with 'section.key=value' overrides (and seed) applied and validated."""
    new = _build(_drop_none(config_to_dict(cfg)), cfg.source, None, cfg.name, overrides, seed)
    return replace(new, notes=(*cfg.notes, *new.notes))


def config_to_toml(cfg: RunConfig) -> str:
    """Fully resolved TOML: every key in use with its value; loads back to an equal config."""
    d = config_to_dict(cfg)
    convergence = d["convergence"]
    if isinstance(convergence, dict) and convergence["chance"] is None:
        convergence["chance"] = -1.0  # auto; TOML has no null
    return tomli_w.dumps(_drop_none(d))
