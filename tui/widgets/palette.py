"""Colours of run states, statuses and events: theme variables, one table each."""

from __future__ import annotations

from engine.vocabulary import Phase, RunState, Status

# The train and val series: the same colours in the chart and the sparklines, and
# glyphs that differ without colour (NO_COLOR): train solid blocks, val braille dots.
TRAIN_COLOR = "#40a0ff"
VAL_COLOR = "#ff8c28"
OTHER_COLOR = "#b48cff"  # gradient norm, lr: neither train nor val
BLOCKS = "▁▂▃▄▅▆▇█"
SERIES_GLYPHS = {"train": BLOCKS, "val": "⡀⣀⣄⣤⣦⣶⣷⣿", "other": BLOCKS}

# Style (theme variable) of each run state's badge in the header.
STATE_STYLES: dict[RunState, str] = {
    RunState.COMPILING: "bold $foreground on $warning-muted",
    RunState.RUNNING: "bold $text-success on $success-muted",
    RunState.PAUSED: "bold $text-warning on $warning-muted",
    RunState.DIVERGED: "bold $text-error on $error-muted",
    RunState.DONE: "bold $text-primary on $primary-muted",
    RunState.ERROR: "bold $text-error on $error-muted",
}

# Theme variable for each status word (status panel, event log).
STATUS_COLORS: dict[Status, str] = {
    Status.COMPILING: "warning",
    Status.IMPROVING: "success",
    Status.PLATEAU: "warning",
    Status.CONVERGED: "primary",
    Status.DIVERGED: "error",
    Status.DIVERGING: "error",
    Status.OVERFITTING: "error",
    Status.UNDERFITTING: "warning",
    Status.MEMORIZING: "accent",
    Status.GROKKED: "success",
}

# Colour (theme variable) of an event in the log, by kind; statuses use STATUS_COLORS.
EVENT_COLORS = {
    "edit": "warning",
    "test": "accent",
    "reset": "secondary",
    "error": "error",
    "diverged": "error",
    "grokked": "success",
    "memorized": "accent",
    "converged": "primary",
    "best_val": "success",
}


def state_style(state: str) -> str:
    """The header badge's style for a run state (a word the engine may add: reversed)."""
    try:
        return STATE_STYLES[RunState(state)]
    except ValueError:
        return "bold reverse"


def status_color(status: str) -> str | None:
    """The theme variable of a status word, None for a word this table does not know."""
    try:
        return STATUS_COLORS[Status(status)]
    except ValueError:
        return None


# The phase diagram's cells (tui/widgets/phase_map.py), by what tui.plot.heatmap keys them.
PHASE_RGB: dict[str, tuple[int, int, int]] = {
    Phase.COMPREHENSION: (90, 200, 90),
    Phase.GROKKING: (64, 150, 255),
    Phase.MEMORIZATION: (255, 140, 40),
    Phase.CONFUSION: (150, 150, 160),
    Phase.DIVERGED: (225, 60, 60),
}
SWEEP_RGB: dict[str, tuple[int, int, int]] = {
    **PHASE_RGB,
    "running": (180, 130, 230),
    "queued": (55, 55, 65),
    "failed": (200, 40, 160),
    "no phase": (110, 200, 200),
    "missing": (100, 100, 100),
    "cursor": (255, 255, 255),
}
# A sequential scale (viridis, dark to light) for a numeric column, low to high.
VALUE_SCALE_RGB = (
    (68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142),
    (31, 161, 135), (74, 194, 109), (159, 218, 58), (253, 231, 37),
)  # fmt: skip
