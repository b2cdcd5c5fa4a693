"""The command palette: every dashboard action the run allows now, and every preset."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import (
    Command,
    CommandList,
    CommandPalette,
    DiscoveryHit,
    Hit,
    Hits,
    Matcher,
    Provider,
)
from textual.content import Content

from tui.format import printable
from tui.screens.dashboard import DashboardScreen
from tui.screens.host import RunHost


class GroklabPalette(CommandPalette):
    """Textual's command palette, without two crashes under fast keys: a page key pressed
    before the command list is laid out (KeyError in OptionList._move_page, which reads
    a line map built at layout), and a search finishing after the palette was closed
    (NoMatches: its widgets are gone). Then the key, or the late result, does nothing."""

    def _action_command_list(self, action: str) -> None:
        with contextlib.suppress(KeyError, IndexError):  # the list is not laid out yet
            super()._action_command_list(action)

    def _refresh_command_list(
        self, command_list: CommandList, commands: list[Command], clear_current: bool
    ) -> None:
        if not (self._closing or self._closed or self._pruning):
            super()._refresh_command_list(command_list, commands, clear_current)


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
            yield DiscoveryHit(Content(printable(text)), command, text=text, help=_plain(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                display = _highlight(matcher, text)
                yield Hit(score, display, command, text=text, help=_plain(help_text))


def _plain(text: str) -> Any:
    """Help text the palette shows as it is: it reads a str as markup, a Content as is."""
    return Content(printable(text))


def _highlight(matcher: Matcher, text: str) -> Content:
    """matcher.highlight(text) for text that is not markup (a preset's name may hold
    brackets): the matches are found on a copy without brackets, which the highlighter
    would read as markup, and their styles laid over the text as it is."""
    shown = printable(text)
    spans = matcher.highlight(shown.replace("[", "\u27e6")).spans
    return Content(shown, spans=list(spans))
