"""The live phase diagram of a sweep, and the curves of one of its cells.

SweepScreen polls a SweepSource (the sweep's driver, or a finished sweep read from its
directory) on a timer for an immutable SweepProgress, builds the diagram from its rows
and draws it: a progress line, the heatmap, its legend, and the rows of the selected
point. Enter opens a finished cell's run (RunCurvesScreen: its loss and accuracy read
back from its directory); Escape comes back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.errors import ConfigError
from engine.sweep.curves import run_snapshot
from engine.sweep.diagram import VALUE_COLUMNS, Diagram, Point, build_diagram
from engine.sweep.plan import SweepPlan
from engine.sweep.progress import SweepProgress, progress_line
from engine.sweep.store import SweepDir
from engine.sweep.table import ERROR_STATUS
from tui.format import format_value, printable
from tui.plot import heatmap as H
from tui.screens.live import LiveScreen
from tui.widgets import MainChart
from tui.widgets.key_footer import KeyFooter
from tui.widgets.phase_map import PhaseMap, key_style

POLL_S = 0.25  # the diagram fills in at this pace; a sweep's cells take seconds each
# What `c` cycles through: the phase, then each numeric column of sweep.csv.
COLOR_BY: tuple[str | None, ...] = (None, *(column for column, _ in VALUE_COLUMNS))
DETAIL_MIN_WIDTH = 60  # below: no side panel, the diagram takes the width
QUIT_NOTE = "q stops the sweep: running cells are not recorded, --resume DIR reruns them"
SHORT_HEIGHT = 16  # below: the progress line alone, no workers or note
# The rows of the detail panel: (label, sweep.csv column).
DETAIL_FIELDS = (
    ("seed", "seed"),
    ("phase", "phase"),
    ("status", "status"),
    ("memorized", "memorized_step"),
    ("grokked", "grokked_step"),
    ("converged", "converged_step"),
    ("diverged", "diverged_step"),
    ("steps", "steps"),
    ("train acc", "final_train_acc"),
    ("val acc", "final_val_acc"),
    ("train loss", "final_train_loss"),
    ("val loss", "final_val_loss"),
    ("wall s", "wall_s"),
    ("worker", "worker"),
)
MAX_DETAIL_ROWS = 4  # cells (seeds) side by side in the panel


class SweepSource(Protocol):
    def progress(self) -> SweepProgress:
        """The latest picture of the sweep (never blocks)."""
        ...

    def stop(self) -> None:
        """Stop handing out cells (a finished sweep: nothing to do)."""
        ...


class FinishedSweep:
    """A sweep nobody runs (`--show DIR`): the same picture at every poll."""

    def __init__(self, progress: SweepProgress) -> None:
        self._progress = progress

    def progress(self) -> SweepProgress:
        return self._progress

    def stop(self) -> None:
        """Nothing runs: nothing to stop."""


def _shown(text: str | None) -> str:
    """A sweep.csv field for reading: numbers to 4 digits, empty as '-'."""
    if text is None or text == "":
        return "-"
    try:
        value = float(text)
    except ValueError:
        return printable(text)
    return printable(text) if value.is_integer() and "." not in text else format_value(value)


def detail_table(diagram: Diagram, point: Point) -> Group:
    """The selected point: its keys, its majority phase and each of its finished rows."""
    head = Text()
    head.append(printable(f"{diagram.x_key} = {diagram.x_texts[point.x]}") + "\n")
    if diagram.y_key is not None:
        head.append(printable(f"{diagram.y_key} = {diagram.y_texts[point.y]}") + "\n")
    for key, values in diagram.pooled:
        head.append(printable(f"{key}: {', '.join(values)} (pooled)") + "\n")
    said = f"{len(point.rows)}/{len(point.cells)} cells done"
    if point.running:
        said += f", {point.running} running"
    if point.phase.phase is not None:
        said += f"; {point.phase.phase} {point.phase.agree}/{point.phase.seeds}"
    head.append(said, style="italic")
    rows = sorted(point.rows, key=lambda r: (r.get("seed", ""), r.get("cell", "")))
    shown = rows[:MAX_DETAIL_ROWS]
    if not shown:
        return Group(head, Text(point.category, style="dim"))
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    for _ in shown:
        table.add_column(no_wrap=True, overflow="ellipsis")
    for label, column in DETAIL_FIELDS:
        table.add_row(label, *(_shown(r.get(column)) for r in shown))
    for key, _ in diagram.pooled:
        table.add_row(printable(key), *(_shown(r.get(key)) for r in shown))
    parts: list = [head, table]
    if len(rows) > len(shown):
        parts.append(Text(f"+{len(rows) - len(shown)} more in sweep.csv", style="dim"))
    return Group(*parts)


class SweepScreen(LiveScreen):
    """The sweep's phase diagram, filling in as cells finish."""

    AUTO_FOCUS = ""  # the keys are the screen's; nothing here needs the focus
    BINDINGS = [
        Binding("left", "move(-1, 0)", "←", show=False),
        Binding("right", "move(1, 0)", "→", show=False),
        Binding("up", "move(0, -1)", "↑", show=False),
        Binding("down", "move(0, 1)", "↓", show=False),
        Binding("enter", "open_cell", "Curves", id="sweep-open", tooltip="The selected cell's run"),
        Binding(
            "c",
            "cycle_color",
            "Colour by",
            id="sweep-color",
            tooltip="Phase, or a numeric column of sweep.csv",
        ),  # fmt: skip
        Binding("q", "app.quit", "Quit", id="sweep-quit", tooltip=QUIT_NOTE),
    ]
    FOOTER_PRIORITY = (("q",), ("enter",), ("c",))
    DEFAULT_CSS = """
    SweepScreen #sweep-progress { height: auto; padding: 0 1; }
    SweepScreen #sweep-body { height: 1fr; }
    SweepScreen #sweep-map { border: round $primary; }
    SweepScreen #sweep-detail { width: 30; height: 1fr; padding: 0 1; border: round $secondary; }
    SweepScreen.-narrow #sweep-detail { display: none; }
    SweepScreen #sweep-legend { height: auto; padding: 0 1; }
    """

    def __init__(
        self, plan: SweepPlan, source: SweepSource, folder: Path, poll_s: float = POLL_S
    ) -> None:
        super().__init__()
        self.plan = plan
        self.source = source
        self.folder = SweepDir(folder)
        self.poll_s = poll_s
        self.progress: SweepProgress | None = None
        self.diagram = build_diagram(plan, ())
        self.cursor = (0, 0)
        self.color_by: str | None = None
        self.polls = 0

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-progress")
        with Horizontal(id="sweep-body"):
            yield PhaseMap(id="sweep-map")
            yield Static(id="sweep-detail")
        yield Static(id="sweep-legend")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._narrow(self.app.size.width)
        self.poll()
        self.set_interval(self.poll_s, self.poll)

    def on_resize(self, event) -> None:
        self._narrow(self.app.size.width)

    def _narrow(self, width: int) -> None:
        self.set_class(width < DETAIL_MIN_WIDTH, "-narrow")

    # -- polling -------------------------------------------------------------------

    def poll(self) -> None:
        if not self.live:
            return
        self.polls += 1
        p = self.source.progress()
        last = self.progress
        if last is None or (p.rows, p.running_cells) != (last.rows, last.running_cells):
            self.diagram = build_diagram(self.plan, p.rows, p.running_cells)
        self.progress = p
        self.redraw()

    def redraw(self) -> None:
        p = self.progress
        diagram = self.diagram
        if p is None:
            said = "starting"
        elif isinstance(self.source, FinishedSweep):  # nothing runs: no rate, ETA or workers
            failed = f", {p.failed} failed" if p.failed else ""
            said = f"{p.done}/{p.total} cells finished{failed}  ({self.folder.path})"
        else:
            said = progress_line(p)
        lines = Text(printable(said), style="bold")
        roomy = self.app.size.height >= SHORT_HEIGHT
        if p is not None and p.workers and roomy:
            lines.append("\nworkers: " + printable(", ".join(p.workers)), style="dim")
        if p is not None and not p.finished and roomy:
            lines.append("\n" + QUIT_NOTE, style="dim")
        self.query_one("#sweep-progress", Static).update(lines)
        heatmap = self.query_one(PhaseMap)
        heatmap.show(diagram, self.color_by, self.cursor)
        axes = f"{diagram.x_key} →" + (f"  {diagram.y_key} ↓" if diagram.y_key else "")
        heatmap.border_title = printable(axes)
        pooled = ", ".join(k for k, _ in diagram.pooled)
        colour = f"colour: {H.column_title(self.color_by)}"
        heatmap.border_subtitle = printable(f"{colour} · pooled: {pooled}" if pooled else colour)
        legend = Text()
        for text, key in H.legend_runs(diagram, self.color_by, color=heatmap.color):
            legend.append(text, key_style(key))
        self.query_one("#sweep-legend", Static).update(legend)
        point = diagram.at(*self.cursor)
        detail = self.query_one("#sweep-detail", Static)
        detail.update(detail_table(diagram, point) if point is not None else "")

    # -- keys ----------------------------------------------------------------------

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        nx, ny = self.diagram.width, self.diagram.height
        self.cursor = (min(max(x + dx, 0), max(nx - 1, 0)), min(max(y + dy, 0), max(ny - 1, 0)))
        self.redraw()

    def action_cycle_color(self) -> None:
        i = COLOR_BY.index(self.color_by) if self.color_by in COLOR_BY else 0
        self.color_by = COLOR_BY[(i + 1) % len(COLOR_BY)]
        self.redraw()

    def action_open_cell(self) -> None:
        point = self.diagram.at(*self.cursor)
        done = [r for r in (point.rows if point else ()) if r.get("status") != ERROR_STATUS]
        if not done:
            self.app.notify("no finished run in this cell yet", severity="warning")
            return
        row = min(done, key=lambda r: (r.get("seed", ""), r.get("cell", "")))
        where = self.folder.cell_dir(row.get("cell", ""))
        try:
            snap = run_snapshot(where)
        except ConfigError as exc:
            self.app.notify(str(exc), title="Cannot show the run", severity="error")
            return
        title = f"cell {row.get('cell', '')}  seed {row.get('seed', '')}  {row.get('phase') or '-'}"
        self.app.push_screen(RunCurvesScreen(snap, printable(title)))


class RunCurvesScreen(LiveScreen):
    """One finished cell's loss and accuracy against step, its milestones marked."""

    AUTO_FOCUS = ""  # Escape is the screen's (a focused chart would take it for its cursor)
    BINDINGS = [
        Binding("escape", "back", "Back", id="curves-back", tooltip="Back to the diagram"),
        Binding("q", "app.quit", "Quit", id="curves-quit", tooltip=QUIT_NOTE),
    ]
    DEFAULT_CSS = """
    RunCurvesScreen #curves-title { height: auto; padding: 0 1; }
    RunCurvesScreen #curves-charts { height: 1fr; }
    RunCurvesScreen MainChart { border: round $primary; }
    """

    def __init__(self, snapshot, title: str) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text, style="bold"), id="curves-title")
        with Vertical(id="curves-charts"):
            yield MainChart("loss", id="curves-loss")
            if self.snapshot.task == "classification":
                yield MainChart("accuracy", id="curves-accuracy")
        yield KeyFooter()

    def on_mount(self) -> None:
        for chart in self.query(MainChart):
            chart.draw(self.snapshot)

    def action_back(self) -> None:
        self.app.pop_screen()
