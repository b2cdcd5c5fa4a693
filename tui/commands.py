"""The command palette: every dashboard action the run allows now, and every preset."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.screens.dashboard import DashboardScreen
from tui.screens.host import RunHost


class GroklabCommands(Provider):
    """Command palette: every dashboard action the run allows now, and every preset."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        screen = self.screen
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        if isinstance(screen, DashboardScreen):
            seen: set[str] = set()
            for binding in screen.BINDINGS:
                if not isinstance(binding, Binding) or binding.action in seen:
                    continue
                seen.add(binding.action)
                if not screen.check_action(binding.action, ()):
                    continue
                key = app.get_key_display(binding)
                text = binding.tooltip or binding.description
                commands.append(
                    (
                        f"{text} ({key})",
                        binding.description,
                        partial(screen.run_action, binding.action),
                    )
                )
        if isinstance(app, RunHost):
            for entry in app.preset_entries():
                help_text = entry.error or f"{entry.title} · {entry.phenomenon}"
                commands.append(
                    (f"Preset: {entry.name}", help_text, partial(app.start_entry, entry))
                )
        return commands

    async def discover(self) -> Hits:
        for text, help_text, command in self._commands():
            yield DiscoveryHit(text, command, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
