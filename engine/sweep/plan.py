"""A sweep's identity: its base config, its axes and its seeds, kept in DIR/sweep.toml.

The base config is stored fully resolved, so `--resume DIR` rebuilds exactly the same cells
(the same hashes) even when the preset file has changed since; the axes are stored as the
values the config resolved them to, so `1e-3` and `0.001` are the same grid.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from engine.config import RunConfig, config_from_dict, config_to_dict, config_to_toml, load_config
from engine.errors import ConfigError
from engine.sweep.grid import Axis, Cell, Value, build_cells, parse_axis

PLAN_FILE = "sweep.toml"
PLAN_VERSION = 1
MAX_SEEDS = 1000


@dataclass(frozen=True)
class SweepPlan:
    """What to run: the cells of `axes` x `seeds` over `base` (spec names it for people)."""

    spec: str
    base: RunConfig
    axes: tuple[tuple[str, tuple[Value, ...]], ...]  # key, resolved values
    seeds: int
    cells: tuple[Cell, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.axes)

    def to_toml(self) -> str:
        doc = {
            "sweep": {"version": PLAN_VERSION, "spec": self.spec, "seeds": self.seeds},
            "grid": {key: list(values) for key, values in self.axes},
            "base": tomllib.loads(config_to_toml(self.base)),
        }
        return tomli_w.dumps(doc)

    def difference(self, other: SweepPlan, source: str) -> ConfigError | None:
        """The first way `other` (this command's sweep) differs from this one (on disk)."""
        mine, theirs = dict(self.axes), dict(other.axes)
        refuse = "as the sweep there has it (--resume continues it; another --out starts anew)"
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                had = list(mine[key]) if key in mine else "no such axis"
                now = list(theirs[key]) if key in theirs else "no such axis"
                return ConfigError(source, f"grid {key}", f"{had}, {refuse}", now)
        if self.seeds != other.seeds:
            return ConfigError(source, "--seeds", f"{self.seeds}, {refuse}", other.seeds)
        base, new = config_to_dict(self.base), config_to_dict(other.base)
        for section in sorted(base):
            if base[section] == new[section]:
                continue
            old_values, new_values = base[section], new[section]
            if not isinstance(old_values, dict) or not isinstance(new_values, dict):
                return ConfigError(source, section, f"{old_values!r}, {refuse}", new_values)
            for key in sorted(old_values):
                if old_values[key] != new_values.get(key):
                    expected = f"{old_values[key]!r}, {refuse}"
                    return ConfigError(source, f"{section}.{key}", expected, new_values.get(key))
        return None


def seeds_of(base: RunConfig, count: int) -> list[int]:
    """`--seeds N`: the base config's seed and the N - 1 after it."""
    return [base.train.seed + i for i in range(count)]


def _check_seeds(seeds: int) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError("--seeds", "--seeds", f"a whole number in [1, {MAX_SEEDS}]", seeds)


def _plan(spec: str, base: RunConfig, axes: Sequence[Axis], seeds: int) -> SweepPlan:
    _check_seeds(seeds)
    cells = build_cells(base, axes, seeds_of(base, seeds))
    resolved = []
    for i, axis in enumerate(axes):
        values: list[Value] = []
        for cell in cells:
            value = cell.point[i][1]
            if value not in values:
                values.append(value)
        resolved.append((axis.key, tuple(values)))
    return SweepPlan(spec, base, tuple(resolved), seeds, tuple(cells))


def plan_from_args(
    spec: str, grid: Sequence[str], seeds: int, overrides: Sequence[str] = ()
) -> SweepPlan:
    """The sweep a command line asks for; every cell's config validated (ConfigError)."""
    axes = [parse_axis(text) for text in grid]
    base = load_config(spec, overrides)
    return _plan(spec, base, axes, seeds)


def _literal(value: Value) -> str:
    """A value as the TOML text an override takes."""
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def load_plan(folder: Path) -> SweepPlan:
    """Read DIR/sweep.toml back into the plan that wrote it (ConfigError naming the file)."""
    path = Path(folder) / PLAN_FILE
    source = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(folder), PLAN_FILE, "a sweep directory", "no sweep.toml") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(source, "<toml>", "a readable sweep.toml", str(exc)) from None
    sweep, grid, base = doc.get("sweep"), doc.get("grid"), doc.get("base")
    if not isinstance(sweep, dict) or sweep.get("version") != PLAN_VERSION:
        raise ConfigError(source, "sweep.version", str(PLAN_VERSION), (sweep or {}).get("version"))
    if not isinstance(grid, dict) or not all(isinstance(v, list) for v in grid.values()):
        raise ConfigError(source, "grid", "a table of KEY = [values]", grid)
    if not isinstance(base, dict):
        raise ConfigError(source, "base", "a table [base]", base)
    axes = [Axis(key, tuple(_literal(v) for v in values)) for key, values in grid.items()]
    config = config_from_dict(base, source)
    return _plan(str(sweep.get("spec", "")), config, axes, sweep.get("seeds", 1))
