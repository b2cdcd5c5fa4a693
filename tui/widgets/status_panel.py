"""The status word, a plain sentence, the numbers behind it and, on quadratic problems,
the guarantee."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value, printable
from tui.widgets.content import set_content, set_wrapped_content
from tui.widgets.palette import status_color


class StatusPanel(VerticalScroll):
    """The monitor's status word, its explanation, the guarantee and the test result."""

    DEFAULT_CSS = """
    StatusPanel > #status-word { text-style: bold; }
    StatusPanel > #status-explanation { color: $foreground-muted; margin: 1 0 0 0; }
    StatusPanel > #status-guarantee { margin: 1 0 0 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._guarantee_rows: list | None = None

    def compose(self) -> ComposeResult:
        yield Static("compiling", id="status-word")
        yield Static("", id="status-sentence")  # for a student: what training is doing
        yield Static("", id="status-extra")  # test result and milestones: above the fold
        yield Static("", id="status-guarantee")  # the theory, and the rate observed
        yield Static("", id="status-explanation")  # last: the numbers that decided

    def show(self, snap: Snapshot) -> None:
        word = self.query_one("#status-word", Static)
        color = status_color(snap.status)
        style = f"bold $text-{color}" if color else "bold"
        set_content(word, Content.styled(snap.status.upper(), style))
        sentence = Content(printable(snap.sentence, newlines=True))
        set_wrapped_content(self.query_one("#status-sentence", Static), sentence)
        explanation = Content(printable(snap.explanation or "", newlines=True))
        set_wrapped_content(self.query_one("#status-explanation", Static), explanation)

        guarantee = self.query_one("#status-guarantee", Static)
        rows = list(snap.guarantee)
        if rows and snap.observed_contraction is not None:
            rows.append(("observed contraction", format_value(snap.observed_contraction, 6)))
        if rows != self._guarantee_rows:  # rebuilt only when a value changed
            same_shape = self._guarantee_rows is not None and len(rows) == len(self._guarantee_rows)
            self._guarantee_rows = rows
            if rows:
                table = Table.grid(padding=(0, 1), expand=True)
                table.add_column(ratio=1, style="dim", overflow="fold")
                table.add_column(justify="right", no_wrap=True)
                for label, value in rows:
                    table.add_row(Text(printable(label)), Text(printable(value)))
                guarantee.update(
                    Group(Text("guarantee", style="bold"), table),
                    layout=not same_shape,
                )
            guarantee.display = bool(rows)

        extra: list[Content] = []
        if snap.test is not None:
            scores = dict(snap.test)
            parts = ", ".join(
                f"{k.removeprefix('test_')} {format_value(v)}"
                for k, v in scores.items()
                if k != "step"
            )
            when = f" (step {scores['step']:,}, looked at once)" if "step" in scores else ""
            extra.append(Content.assemble(("test set: ", "bold $text-accent"), parts, when))
        if snap.best_step is not None:
            extra.append(
                Content.assemble(("best val at step ", "$foreground-muted"), f"{snap.best_step:,}")
            )
        milestones = [
            f"{k.removesuffix('_step')} @ {v:,}" for k, v in snap.milestones if v is not None
        ]
        if milestones:
            extra.append(
                Content.assemble(("milestones: ", "$foreground-muted"), ", ".join(milestones))
            )
        set_wrapped_content(self.query_one("#status-extra", Static), Content("\n").join(extra))
