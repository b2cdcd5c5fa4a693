"""SweepApp: the phase diagram of a sweep, live while it runs or of one already done.

    SweepApp(plan, source, folder).run()

`source` is the sweep's SweepDriver (started) or anything with progress() and stop(),
such as a finished sweep's picture. Quitting stops the source: the driver hands out no
more cells, and those still running are not recorded (`--resume DIR` runs them).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from engine.sweep.plan import SweepPlan
from tui.app import GroklabApp
from tui.format import printable
from tui.screens.sweep import POLL_S, SweepScreen, SweepSource


class SweepApp(App[None]):
    CSS_PATH = GroklabApp.CSS_PATH  # the dashboard's look (its footer, its borders)
    TITLE = "groklab sweep"
    # Ctrl+C stops a sweep, as it does without the view (Textual's own only says how to quit)
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(
        self, plan: SweepPlan, source: SweepSource, folder: Path | str, poll_s: float = POLL_S
    ) -> None:
        super().__init__()
        self.plan = plan
        self.source = source
        self.folder = Path(folder)
        self.poll_s = poll_s
        self.crash: BaseException | None = None

    def _handle_exception(self, error: Exception) -> None:
        if self.crash is None:  # the command line says what it was (as GroklabApp)
            self.crash = error
        super()._handle_exception(error)

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None,
               markup: bool = False) -> None:  # fmt: skip
        """Plain text always: messages quote paths and values, whose brackets are no markup."""
        super().notify(
            printable(message, newlines=True), title=printable(title), severity=severity,
            timeout=timeout, markup=False,
        )  # fmt: skip

    def on_mount(self) -> None:
        self.push_screen(SweepScreen(self.plan, self.source, self.folder, self.poll_s))

    async def action_quit(self) -> None:
        self.source.stop()
        self.exit()
