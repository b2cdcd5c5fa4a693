"""The entry screen: every preset with its title, phenomenon and description.

Typing filters the list (all words must match, in any field); up/down move; enter
starts the highlighted preset. With the filter empty, q quits and ? shows the keys, as
on the dashboard (typed into a filter they are text); Ctrl+Q and F1 always work.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.format import printable
from tui.screens.host import PresetEntry, RunHost
from tui.screens.live import LiveScreen


def one_line(text: str, width: int) -> str:
    """`text` on one line of at most `width` characters, cut with an ellipsis."""
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)].rstrip() + "…"


class FilterInput(Input):
    """The filter: every key is text, except q and ? while it is empty, which stay the
    dashboard's quit and help (a preset's name has neither)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if not self.value and character in ("q", "?"):
            return False
        return super().check_consume_key(key, character)


class PickerScreen(LiveScreen):
    """Choose a preset."""

    BINDINGS = [
        Binding(
            "enter",
            "start",
            "Start",
            id="picker-start",
            tooltip="Start the highlighted preset",
            priority=True,
        ),
        Binding("down", "cursor(1)", "Next", id="picker-down", show=False),
        Binding("up", "cursor(-1)", "Previous", id="picker-up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", id="picker-pagedown", show=False),
        Binding("pageup", "cursor(-10)", "Page up", id="picker-pageup", show=False),
        Binding("escape", "clear", "Clear filter", id="picker-clear", tooltip="Clear the filter"),
        Binding("f1", "help", "Help", id="picker-help", tooltip="List every key"),
        Binding("ctrl+q", "quit", "Quit", id="picker-quit", tooltip="Quit groklab"),
        # The dashboard's keys, before the filter sees them (priority) while it is empty
        # (FilterInput gives them up only then).
        Binding(
            "q", "quit", "Quit", id="picker-q", show=False, priority=True, tooltip="Quit groklab"
        ),
        Binding(
            "question_mark",
            "help",
            "Help",
            id="picker-question",
            show=False,
            priority=True,
            tooltip="List every key",
        ),
    ]

    def __init__(self, entries: Sequence[PresetEntry]) -> None:
        super().__init__()
        self.entries = list(entries)
        self.shown: list[PresetEntry] = []
        self._query: str | None = None  # the filter the list was last made for

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(
                (" groklab ", "bold $text-primary"),
                ("│ watch small models learn: pick a preset", "$foreground-muted"),
            ),
            id="picker-header",
        )
        yield FilterInput(
            placeholder="type to filter presets (name, title, phenomenon, description)",
            id="picker-filter",
        )
        yield OptionList(id="picker-list")
        yield Static("", id="picker-detail")
        yield Static("", id="picker-count")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).border_title = "presets"
        self._refill("")
        self.query_one(Input).focus()

    def _prompt(self, entry: PresetEntry, name_width: int, width: int) -> Content:
        """Two lines: name, title and phenomenon; the description cut to one line."""
        head = Content.assemble(
            (f"{printable(entry.name):<{name_width}}", "bold"),
            "  ",
            (printable(entry.title), ""),
            ("  ·  " if entry.phenomenon else "", "$foreground-muted"),
            (printable(entry.phenomenon), "italic $text-accent"),
        )
        body = one_line(entry.error or entry.description, max(10, width - 2))
        style = "$text-error" if entry.error else "$foreground-muted"
        return Content.assemble(head, "\n", ("  " + body, style))

    def _refill(self, query: str) -> None:
        changed, self._query = query != self._query, query
        self.shown = [e for e in self.entries if e.matches(query)]
        name_width = max((len(printable(e.name)) for e in self.shown), default=0)
        option_list = self.query_one(OptionList)
        width = (option_list.scrollable_content_region.width or self.size.width or 80) - 4
        previous = self.highlighted_index
        option_list.set_options(
            Option(self._prompt(e, name_width, width), id=f"preset-{i}")
            for i, e in enumerate(self.shown)
        )
        if self.shown:
            option_list.highlighted = min(previous or 0, len(self.shown) - 1)
            named = [i for i, e in enumerate(self.shown) if e.name == query.strip()]
            if changed and named:  # a preset's full name: that one, wherever it is listed
                option_list.highlighted = named[0]
        self._show_detail()
        total = len(self.entries)
        if not total:
            text = "No presets found."
        elif not self.shown:
            text = f"No preset matches '{printable(query)}' (esc clears the filter)."
        else:
            text = f"{len(self.shown)} of {total} presets · enter starts the highlighted one"
        self.query_one("#picker-count", Static).update(Content(text))  # the query is not markup

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        if not self.live:  # queued before the screen was switched away
            return
        self.query_one(OptionList).highlighted = 0
        self._refill(event.value)

    def on_resize(self) -> None:
        # the one-line descriptions are cut to the width
        self.call_after_refresh(self._refill_live)

    def _refill_live(self) -> None:
        if self.live:  # a refresh may come after the screen was switched away
            self._refill(self.query_one(Input).value)

    @on(OptionList.OptionHighlighted)
    def _highlight_changed(self) -> None:
        if self.live:
            self._show_detail()

    def _show_detail(self) -> None:
        entry = self.highlighted
        detail = self.query_one("#picker-detail", Static)
        if entry is None:
            detail.update("")
        elif entry.error:
            detail.update(Content.styled(printable(entry.error, newlines=True), "$text-error"))
        else:
            title, description = printable(entry.title), printable(entry.description, newlines=True)
            detail.update(Content.assemble((title, "bold"), "\n", description))

    def action_cursor(self, delta: int) -> None:
        option_list = self.query_one(OptionList)
        if not self.shown:
            return
        current = option_list.highlighted or 0
        option_list.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    def action_clear(self) -> None:
        self.query_one(Input).value = ""

    @property
    def highlighted_index(self) -> int | None:
        return self.query_one(OptionList).highlighted

    @property
    def highlighted(self) -> PresetEntry | None:
        index = self.highlighted_index
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def action_start(self) -> None:
        # Keys typed in one burst ("spiral" then enter) may still wait in the filter's
        # queue when this priority binding runs: start from behind them, with the list
        # made for what the filter then holds.
        self.query_one(Input).call_later(self._start_typed)

    def _start_typed(self) -> None:
        if not self.live:
            return
        query = self.query_one(Input).value
        if query != self._query:
            self.query_one(OptionList).highlighted = 0
            self._refill(query)
        self.start(self.highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if self.live:
            self.start(self.shown[event.option_index])

    def start(self, entry: PresetEntry | None) -> None:
        if entry is None:
            self.notify("No preset is highlighted.", severity="warning")
            return
        if entry.config is None:
            self.notify(
                entry.error or "this preset cannot be loaded",
                title=f"{entry.name} cannot start",
                severity="error",
            )
            return
        if isinstance(self.app, RunHost):
            self.app.start_run(entry.config)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, key_rows

        note = "Type to filter; ctrl+p opens the command palette (every preset is there too)."
        self.app.push_screen(HelpScreen("picker keys", key_rows(self.app, self.BINDINGS), note))

    async def action_quit(self) -> None:
        await self.app.action_quit()
