"""The event log: one line per event, coloured by kind or, for a status change, by the
status it changed to."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widgets import RichLog

from engine.live.snapshot import Snapshot
from engine.vocabulary import Event
from tui.format import printable
from tui.widgets.palette import EVENT_COLORS, STATUS_COLORS, status_color


def new_status(event: Event) -> str:
    """The status a "status" event changed to: its data's "to", else read from the
    detail, which the monitor writes as "old -> new: why"."""
    to = event.data.get("to")
    if to is not None:
        return str(to)
    return event.detail.split(":", 1)[0].rsplit("->", 1)[-1].strip()


def event_line(event: Event, colors: dict[str, str]) -> Text:
    """One event as a log line: step, kind, detail, coloured by kind."""
    kind = event.kind
    var = status_color(new_status(event)) if kind == "status" else EVENT_COLORS.get(kind)
    color = colors.get(var or "", None)
    text = Text(no_wrap=False)
    text.append(f"{event.step:>6,} ", style="dim")
    text.append(f"{kind} ", style=Style(color=color, bold=True) if color else "bold")
    text.append(printable(event.detail))  # may quote a name, a path, a CSV cell
    return text


def new_events(events: Sequence[Event], last: Event | None) -> tuple[list[Event], bool]:
    """The events after `last` (the last one written), and whether the run restarted.

    snapshot.events is a bounded window of the most recent events, so a count alone
    cannot say what is new once the window is full: find the last event written.
    """
    if last is None:
        return list(events), False
    for i in range(len(events) - 1, -1, -1):
        if events[i] == last:
            return list(events[i + 1 :]), False
    if not events:
        return [], False
    if events[-1].time >= last.time and events[-1].step >= last.step:
        # The window slid past the last one written: keep what is newer.
        return [e for e in events if (e.time, e.step) > (last.time, last.step)], False
    return list(events), True  # time went backwards: a new run (reset)


# Event kinds that can arrive at every evaluation or key press: a run of them shows as
# one line, the latest, with a count, instead of flooding the log.
FOLDED_KINDS = frozenset({"best_val", "step"})
MAX_LOG_LINES = 2000


class EventLog(RichLog):
    """Events, oldest first; each poll appends only the ones not yet written."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_lines=MAX_LOG_LINES, min_width=1, wrap=True, markup=False, highlight=False, **kwargs
        )
        self._last: Event | None = None
        self._texts: list[Text] = []  # kept to re-wrap them when the width changes
        self._wrapped_at = 0
        self._tail_kind: str | None = None  # kind of the last line, if it can fold
        self._tail_count = 0
        self._tail_strips = 0  # screen lines the last line took (0: not drawn yet)

    def _colors(self) -> dict[str, str]:
        theme = self.app.theme_variables
        return {
            name: theme.get(f"text-{name}", theme.get(name, ""))
            for name in set(STATUS_COLORS.values()) | set(EVENT_COLORS.values())
        }

    def show(self, snap: Snapshot) -> None:
        fresh, restarted = new_events(snap.events, self._last)
        if restarted:
            self._add(Text("── new run ──", style="dim"))
        if not fresh:
            return
        colors = self._colors()
        for event in fresh:
            self._add(event_line(event, colors), event.kind)
        self._last = fresh[-1]

    def note(self, message: str) -> None:
        """A line from the UI itself (not a runner event), e.g. a request made."""
        self._add(Text(f"{'':>6} {printable(message)}", style="dim italic"))

    def _add(self, line: Text, kind: str | None = None) -> None:
        fold = (
            kind in FOLDED_KINDS
            and kind == self._tail_kind
            and 0 < self._tail_strips <= len(self.lines)
        )
        if fold:
            # Replace the previous line of this kind with the newest one, counted.
            self._tail_count += 1
            line = line.copy()
            line.append(f"  (×{self._tail_count})", style="dim")
            del self.lines[-self._tail_strips :]
            self._texts[-1] = line
        else:
            self._tail_count = 1
            self._texts.append(line)
            del self._texts[:-MAX_LOG_LINES]
        self._tail_kind = kind if kind in FOLDED_KINDS else None
        before = len(self.lines)
        self.write(line)  # before the size is known, RichLog defers it: no strips yet
        self._tail_strips = len(self.lines) - before

    def render_line(self, y: int) -> Strip:
        # A line that may still fold changes in place, at the same line numbers, which
        # RichLog's line cache would serve stale: draw it uncached.
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        if self._tail_kind is not None and len(self.lines) - self._tail_strips <= index < len(
            self.lines
        ):
            width = self.scrollable_content_region.width
            strip = self.lines[index].crop_extend(scroll_x, scroll_x + width, self.rich_style)
            return strip.apply_style(self.rich_style)
        return super().render_line(y)

    def on_resize(self, event) -> None:
        # Runs before RichLog's own handler, which flushes the writes made before the
        # size was known; re-wrap only when a known width changes.
        previous, self._wrapped_at = self._wrapped_at, event.size.width
        if previous and event.size.width != previous and self._texts:
            self.clear()
            for line in self._texts:
                before = len(self.lines)
                self.write(line)
                self._tail_strips = len(self.lines) - before
