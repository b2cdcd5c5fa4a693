"""`--grid KEY=V1,V2,...` and `--grid KEY=lo:hi:n[:log]`: the axes of a sweep, and its cells.

A value list is split at top-level commas (a list value such as `[64,64]` stays whole) and
each value goes through the config's own `--set` parsing and validation, so a grid accepts
exactly what `--set` does; a range gives n numbers from lo to hi, evenly spaced or, with
`:log`, evenly spaced in log (integers when lo and hi are). A cell is one grid point at one
seed: its resolved config, and the hash of that config that names its run directory.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

from engine.config import OVERRIDE_SOURCE, RunConfig, config_to_toml, with_overrides
from engine.errors import ConfigError

GRID_SOURCE = "--grid"
MAX_AXIS_VALUES = 1000  # one axis; a sweep of that many cells is already days of work
MAX_CELLS = 100_000
HASH_CHARS = 16  # 64 bits: no two cells of any sweep collide in practice
RANGE_DIGITS = 6  # a range's values are rounded to this many significant digits

Value = object  # what a config key holds: a number, a string, a bool or a list


@dataclass(frozen=True)
class Axis:
    """One varied key and the texts of its values, as given (each an override's right side)."""

    key: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    """One grid point at one seed: the varied values (resolved), its config and its name."""

    point: tuple[tuple[str, Value], ...]
    seed: int
    config: RunConfig
    name: str  # the hash of the resolved config: the cell's run directory


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(GRID_SOURCE, spec, f"{what}: a number", text) from None
    if not math.isfinite(value):
        raise ConfigError(GRID_SOURCE, spec, f"{what}: a finite number", text)
    return value


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _range(key: str, spec: str) -> tuple[str, ...]:
    """lo:hi:n[:log|:lin] -> the value texts."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise ConfigError(GRID_SOURCE, key, "lo:hi:n or lo:hi:n:log", spec)
    lo, hi = _number(parts[0], "lo", key), _number(parts[1], "hi", key)
    if not _is_int(parts[2]) or not 1 <= int(parts[2]) <= MAX_AXIS_VALUES:
        raise ConfigError(GRID_SOURCE, key, f"n: a whole number in [1, {MAX_AXIS_VALUES}]", spec)
    n = int(parts[2])
    log = len(parts) == 4 and parts[3] == "log"
    if log and not (lo > 0 and hi > 0):
        raise ConfigError(GRID_SOURCE, key, "lo and hi > 0 for a log range", spec)
    if n == 1:
        values = [lo]
    elif log:
        values = [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]
    else:
        values = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    if (
        _is_int(parts[0])
        and _is_int(parts[1])
        and all(abs(v - round(v)) < 1e-9 * max(1, abs(v)) for v in values)
    ):
        texts = [str(round(v)) for v in values]
    else:
        texts = [repr(float(f"{v:.{RANGE_DIGITS}g}")) for v in values]
    if len(set(texts)) < len(texts):
        raise ConfigError(GRID_SOURCE, key, f"{n} distinct values from lo to hi", spec)
    return tuple(texts)


def parse_axis(text: str) -> Axis:
    """One `--grid` argument as an Axis; the key and values are checked when cells are built."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or len(parts) != 2 or not all(p.strip() for p in parts):
        raise ConfigError(GRID_SOURCE, key or text, "SECTION.KEY=V1,V2,... or KEY=lo:hi:n", text)
    spec = spec.strip()
    is_range = spec.count(":") >= 2 and "," not in spec and not spec.startswith(("[", '"', "'"))
    texts = _range(key, spec) if is_range else tuple(_split_values(spec))
    if not texts or any(t == "" for t in texts):
        raise ConfigError(GRID_SOURCE, key, "one or more values, separated by commas", spec)
    if len(texts) > MAX_AXIS_VALUES:
        raise ConfigError(GRID_SOURCE, key, f"at most {MAX_AXIS_VALUES} values", len(texts))
    return Axis(key, texts)


def _resolved(cfg: RunConfig, key: str) -> Value:
    section, name = key.split(".")
    value = getattr(getattr(cfg, section), name)
    return list(value) if isinstance(value, tuple) else value


def _with(base: RunConfig, overrides: Sequence[str], seed: int) -> RunConfig:
    """The base config with the grid's overrides; their errors name --grid, not --set."""
    try:
        return with_overrides(base, overrides, seed=seed)
    except ConfigError as exc:
        if exc.source != OVERRIDE_SOURCE:
            raise
        raise ConfigError(GRID_SOURCE, exc.key, exc.expected, exc.found) from None


def cell_name(cfg: RunConfig) -> str:
    """The hash of a resolved config: equal configs, and only they, share a name."""
    return hashlib.sha256(config_to_toml(cfg).encode()).hexdigest()[:HASH_CHARS]


def build_cells(base: RunConfig, axes: Sequence[Axis], seeds: Sequence[int]) -> list[Cell]:
    """Every grid point x seed, seeds outermost (a sweep fills the whole diagram at its first
    seed first); every value validated, two values giving the same run refused."""
    if not axes:
        raise ConfigError(GRID_SOURCE, "--grid", "at least one --grid KEY=V1,V2,...", "none")
    keys = [a.key for a in axes]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(GRID_SOURCE, key, "each key on one --grid only", "given twice")
        if key == "train.seed":
            raise ConfigError(GRID_SOURCE, key, "--seeds N to vary the seed", key)
    total = math.prod(len(a.texts) for a in axes) * len(seeds)
    if total > MAX_CELLS:
        raise ConfigError(GRID_SOURCE, "--grid", f"at most {MAX_CELLS:,} cells", f"{total:,}")
    cells: list[Cell] = []
    seen: dict[str, tuple] = {}
    for seed in seeds:
        for texts in product(*(a.texts for a in axes)):
            overrides = [f"{k}={t}" for k, t in zip(keys, texts)]
            cfg = _with(base, overrides, seed)
            point = tuple((k, _resolved(cfg, k)) for k in keys)
            name = cell_name(cfg)
            if name in seen:
                raise ConfigError(
                    GRID_SOURCE, "--grid", "values that give different runs",
                    f"{dict(seen[name])} and {dict(point)} are the same run",
                )  # fmt: skip
            seen[name] = point
            cells.append(Cell(point, seed, cfg, name))
    return cells
