"""The header line: preset, step, epoch, speed and the run state as one word."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.plot import series as S
from tui.widgets.content import set_content
from tui.widgets.palette import STATE_STYLES


class RunHeader(Static):
    """One line: preset, step, epoch, steps/s and the run state as one word."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    def show(self, snap: Snapshot) -> None:
        # The state word comes first: on a narrow terminal the end of the line is cut.
        target = f"/{snap.target_steps:,}" if snap.target_steps else ""
        epoch = f"{snap.epoch:.2f}" if S.is_finite(snap.epoch) else "—"
        speed = f"{snap.steps_per_s:,.0f}" if S.is_finite(snap.steps_per_s) else "—"
        state = snap.state if snap.state else "?"
        sep = (" · ", "$foreground-muted")
        line = Content.assemble(
            (f" {state} ", STATE_STYLES.get(state, "bold reverse")),
            " ",
            (snap.preset, "bold $text-primary"),
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
            (snap.title, "italic $foreground-muted"),
        )
        set_content(self, line, layout=False)
