"""The header line: preset, step, epoch, speed and the run state as one word."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value, printable
from tui.widgets.content import set_content
from tui.widgets.palette import state_style


class RunHeader(Static):
    """One line: preset, step, epoch, steps/s and the run state as one word."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    def show(self, snap: Snapshot) -> None:
        # The state word comes first: on a narrow terminal the end of the line is cut.
        target = f"/{snap.target_steps:,}" if snap.target_steps else ""
        epoch = format_value(snap.epoch, spec=".2f")
        speed = format_value(snap.steps_per_s, spec=",.0f")
        state = snap.state if snap.state else "?"
        sep = (" · ", "$foreground-muted")
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
            (speed, "bold"),
            (" steps/s", "$foreground-muted"),
            sep,
            (printable(snap.title), "italic $foreground-muted"),
        )
        set_content(self, line, layout=False)
