"""What the screens ask of the app that hosts them: the presets it offers and RunHost.

Screens sit below the app in the layers, so they name the app's abilities here (as a
protocol) instead of importing it: the picker starts a run, the dashboard goes back to
the picker, the command palette lists and starts presets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.errors import ConfigError


@dataclass(frozen=True)
class PresetEntry:
    """One row of the picker: what to show, and the config to run (None if broken)."""

    name: str
    title: str
    phenomenon: str
    description: str
    config: Any = None  # engine.config.RunConfig
    error: str | None = None  # why the preset cannot be loaded

    @classmethod
    def from_config(cls, cfg: Any) -> PresetEntry:
        return cls(cfg.name, cfg.title, cfg.phenomenon, cfg.description, cfg)

    def matches(self, query: str) -> bool:
        haystack = " ".join((self.name, self.title, self.phenomenon, self.description)).lower()
        return all(word in haystack for word in query.lower().split())


PresetSource = Callable[[], Sequence[Any]] | Sequence[Any]


def bundled_presets() -> list[PresetEntry]:
    """Every bundled preset, loaded and validated; a broken one is listed with its error."""
    from engine.config import list_presets, load_config

    entries = []
    for name in list_presets():
        try:
            entries.append(PresetEntry.from_config(load_config(name)))
        except ConfigError as exc:
            entries.append(PresetEntry(name, name, "", "cannot be loaded", None, str(exc)))
    return entries


def to_entries(items: Iterable[Any]) -> list[PresetEntry]:
    """PresetEntry objects from entries or RunConfigs (anything with name, title, ...)."""
    return [
        item if isinstance(item, PresetEntry) else PresetEntry.from_config(item) for item in items
    ]


@runtime_checkable
class RunHost(Protocol):
    def preset_entries(self) -> list[PresetEntry]:
        """The presets offered by the picker and the palette."""
        ...

    def start_entry(self, entry: PresetEntry) -> None:
        """Start a preset from its entry (a broken preset is reported, not started)."""
        ...

    def start_run(self, cfg: Any) -> None:
        """Stop the current run, start `cfg` and show its dashboard."""
        ...

    def show_picker(self) -> None:
        """Stop the run and go back to the preset list."""
        ...
