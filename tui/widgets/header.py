"""The header line: preset, step, epoch, speed, pace and the run state as one word."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from engine.vocabulary import RunState
from tui.format import format_value, printable
from tui.widgets.content import set_content
from tui.widgets.palette import state_style


def pace_text(pace: float) -> str:
    """'pace 200/s', 'pace 0.5/s' or 'full speed' (pace 0)."""
    if pace <= 0:
        return "full speed"
    return f"pace {pace:,.0f}/s" if pace >= 10 else f"pace {pace:.2g}/s"


class RunHeader(Static):
    """One line: preset, step, epoch, steps/s (while running), pace and the run state."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    def show(self, snap: Snapshot) -> None:
        # The state word comes first: on a narrow terminal the end of the line is cut.
        target = f"/{snap.target_steps:,}" if snap.target_steps else ""
        epoch = format_value(snap.epoch, spec=".2f")
        state = snap.state if snap.state else "?"
        sep = (" · ", "$foreground-muted")
        # A speed only while training: a paused run's last rate would read as a live one.
        speed: tuple = ()
        if snap.state == RunState.RUNNING:
            rate = format_value(snap.steps_per_s, spec=",.0f")
            speed = ((rate, "bold"), (" steps/s", "$foreground-muted"), sep)
        line = Content.assemble(
            (f" {state} ", state_style(state)),
            " ",
            (printable(snap.preset), "bold $text-primary"),
            sep,
            ("step ", "$foreground-muted"),
            (f"{snap.step:,}{target}", "bold"),
            sep,
            ("epoch ", "$foreground-muted"),
            (epoch, "bold"),
            sep,
            *speed,
            (pace_text(snap.pace), "$foreground-muted"),
            sep,
            (printable(snap.title), "italic $foreground-muted"),
        )
        set_content(self, line, layout=False)
