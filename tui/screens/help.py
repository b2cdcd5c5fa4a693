"""Modal screens: the key help (`?`) and the runner-error report."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.format import printable


@dataclass(frozen=True)
class KeyHelp:
    keys: str  # as displayed: "space", "+", "w / W"
    description: str
    tooltip: str = ""


def key_rows(app, bindings: Iterable[BindingType]) -> list[KeyHelp]:
    """One row per action, keys shown as the footer shows them; actions bound to the
    same key (Pause / Resume on space) share a row."""
    rows: list[KeyHelp] = []
    by_key: dict[str, int] = {}
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        keys = " ".join(app.get_key_display(b) for b in Binding.make_bindings([binding]))
        if keys in by_key:
            i = by_key[keys]
            old = rows[i]
            rows[i] = KeyHelp(keys, f"{old.description} / {binding.description}", old.tooltip)
            continue
        by_key[keys] = len(rows)
        rows.append(KeyHelp(keys, binding.description, binding.tooltip))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every key of the screen it was opened from, with what it does."""

    BINDINGS = [
        Binding(
            "escape,question_mark,q", "dismiss", "Close", id="help-close", tooltip="Close this help"
        ),
    ]

    def __init__(self, title: str, rows: Iterable[KeyHelp], footer_note: str = "") -> None:
        super().__init__()
        self._title = title
        self._rows = list(rows)
        self._note = footer_note

    def compose(self) -> ComposeResult:
        wide = self.app.size.width >= 80  # room for the longer explanations
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, justify="right")
        table.add_column(no_wrap=not wide)
        if wide:
            table.add_column(style="dim", overflow="fold")
        for row in self._rows:
            table.add_row(row.keys, row.description, *([row.tooltip] if wide else []))
        with Vertical(id="help-box") as box:
            box.border_title = self._title
            box.border_subtitle = "esc / ? closes"
            with VerticalScroll():
                yield Static(table, id="help-keys")
                if self._note:
                    yield Static(self._note, id="help-note")

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)


_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?')


def traceback_location(text: str) -> str:
    """The innermost frame of a traceback as 'path:line in function' ('' if none)."""
    frames = [m for line in text.splitlines() if (m := _FRAME.search(line.strip()))]
    if not frames:
        return ""
    m = frames[-1]
    where = f"{m['path']}:{m['line']}"
    return f"{where} in {m['func']}" if m["func"] else where


def error_message(text: str) -> str:
    """The last non-empty line of a traceback: 'SomeError: what went wrong'."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


class ErrorScreen(ModalScreen[None]):
    """The runner failed: what, where, and where the full traceback was saved."""

    BINDINGS = [
        Binding(
            "escape,enter,q",
            "dismiss",
            "Close",
            id="error-close",
            tooltip="Close; the dashboard stays open (r resets, p picks a preset)",
        ),
    ]

    def __init__(self, traceback: str, saved_to: str | None) -> None:
        super().__init__()
        self.traceback = traceback
        self.saved_to = saved_to

    def compose(self) -> ComposeResult:
        where = printable(traceback_location(self.traceback))
        with Vertical(id="error-box") as box:
            box.border_title = "The run stopped with an error"
            message = printable(error_message(self.traceback))
            yield Static(Text(message, style="bold"), id="error-message")
            if where:
                yield Static(Text(f"at {where}"), id="error-where")
            saved = (
                f"Full traceback saved to {self.saved_to}"
                if self.saved_to
                else "Full traceback below (it could not be saved to a file)."
            )
            yield Static(Text(printable(saved), style="italic"), id="error-saved")
            with VerticalScroll(id="error-traceback"):
                yield Static(Text(printable(self.traceback, newlines=True)))
            yield Button("Close", id="error-close", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
