"""The bundled sweeps (presets/sweeps/NAME.toml): a preset, overrides, axes and seeds.

A file there reads like a command line: `preset`, `set` (a list of `--set` texts),
`seeds`, and `[grid]` with one `KEY = "V1,V2,..."` or `KEY = "lo:hi:n:log"` per axis.
`groklab sweep NAME --out DIR` runs it; `--grid` and `--seeds` given as well replace the
file's axis of that key and its seed count.
"""

from __future__ import annotations

import tomllib
from contextlib import suppress
from dataclasses import dataclass
from importlib.resources import files

from engine.errors import ConfigError

SWEEPS = "sweeps"


@dataclass(frozen=True)
class BundledSweep:
    name: str
    title: str
    preset: str
    overrides: tuple[str, ...]
    grid: tuple[str, ...]  # as --grid arguments
    seeds: int


def list_sweeps() -> list[str]:
    folder = files("presets") / SWEEPS
    return sorted(
        e.name.removesuffix(".toml") for e in folder.iterdir() if e.name.endswith(".toml")
    )


def bundled_sweep(name: str) -> BundledSweep | None:
    """The bundled sweep of that name, None when there is none (a preset or a file)."""
    if "/" in name or "\\" in name or name.endswith(".toml"):
        return None
    resource = files("presets") / SWEEPS / f"{name}.toml"
    found = False
    with suppress(OSError):
        found = resource.is_file()
    if not found:
        return None
    source = f"presets/{SWEEPS}/{name}.toml"
    doc = tomllib.loads(resource.read_text(encoding="utf-8"))
    grid = doc.get("grid")
    if not isinstance(grid, dict) or not all(isinstance(v, str) for v in grid.values()):
        raise ConfigError(source, "grid", 'a table of KEY = "V1,V2,..."', grid)
    overrides = doc.get("set", [])
    if not isinstance(overrides, list) or not all(isinstance(v, str) for v in overrides):
        raise ConfigError(source, "set", "a list of SECTION.KEY=VALUE texts", overrides)
    return BundledSweep(
        name=name,
        title=str(doc.get("title", name)),
        preset=str(doc["preset"]),
        overrides=tuple(overrides),
        grid=tuple(f"{key}={value}" for key, value in grid.items()),
        seeds=int(doc.get("seeds", 1)),
    )
