"""The header line: preset, step, epoch, speed, pace and the run state as one word."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from engine.vocabulary import RunState
from tui.format import format_value, printable
from tui.widgets.content import set_content
from tui.widgets.palette import state_style

SEP = Content.styled(" · ", "$foreground-muted")


def fit_parts(parts: list[tuple[int, Content]], width: int) -> Content:
    """The parts (rank, content) in their order, joined by " · ", leaving out the
    highest ranks (the least important) until the line fits `width` cells. The last part
    (the title) is first shortened to whole words and "…"; nothing is cut mid-word."""
    kept = list(parts)
    while kept:
        line = SEP.join(content for _, content in kept)
        if line.cell_length <= width or len(kept) == 1:
            return line
        if kept[-1] is parts[-1] and len(parts) > 1:
            head = SEP.join(content for _, content in kept[:-1])
            room = width - head.cell_length - SEP.cell_length - 1
            short = _words(kept[-1][1], room)
            if short is not None:
                return Content.assemble(head, SEP, short, "…")
        kept.remove(max(kept, key=lambda part: part[0]))
    return Content("")


def _words(content: Content, room: int) -> Content | None:
    """The longest run of whole words of `content` within `room` cells, or None if
    fewer than two words fit (one word of a title says little)."""
    cut = content.plain.rfind(" ", 0, room + 1) if room > 0 else -1
    short = content[:cut].rstrip() if cut > 0 else None
    return short if short is not None and " " in short.plain else None


def pace_text(pace: float) -> str:
    """'pace 200/s', 'pace 0.5/s' or 'full speed' (pace 0)."""
    if pace <= 0:
        return "full speed"
    return f"pace {pace:,.0f}/s" if pace >= 10 else f"pace {pace:.2g}/s"


class RunHeader(Static):
    """One line: preset, step, epoch, steps/s (while running), pace and the run state as
    one word; what does not fit the width is left out, least important first (the title,
    then the epoch)."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    _snap: Snapshot | None = None

    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        target = f"/{snap.target_steps:,}" if snap.target_steps else ""
        steps = f"{snap.step:,}{target}"
        epoch = format_value(snap.epoch, spec=".2f")
        state = snap.state if snap.state else "?"
        badge = Content.styled(f" {state} ", state_style(state))
        preset = Content.styled(printable(snap.preset), "bold $text-primary")
        parts = [
            (0, Content.assemble(badge, " ", preset)),
            (1, Content.assemble(("step ", "$foreground-muted"), (steps, "bold"))),
            (4, Content.assemble(("epoch ", "$foreground-muted"), (epoch, "bold"))),
        ]
        # A speed only while training: a paused run's last rate would read as a live one.
        if snap.state == RunState.RUNNING:
            speed = format_value(snap.steps_per_s, spec=",.0f")
            parts.append((3, Content.assemble((speed, "bold"), (" steps/s", "$foreground-muted"))))
        parts += [
            (2, Content.styled(pace_text(snap.pace), "$foreground-muted")),
            (5, Content.styled(printable(snap.title), "italic $foreground-muted")),
        ]
        set_content(self, fit_parts(parts, self.size.width or 80), layout=False)

    def on_resize(self) -> None:
        if self._snap is not None:
            self.show(self._snap)
