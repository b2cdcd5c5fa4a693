"""Colours of run states, statuses and events: theme variables, one table each."""

from __future__ import annotations

from engine.vocabulary import RunState, Status

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
