"""Colours of run states, statuses and events: theme variables, one table each."""

from __future__ import annotations

# Style (theme variable) of each run state's badge in the header.
STATE_STYLES = {
    "compiling": "bold $foreground on $warning-muted",
    "running": "bold $text-success on $success-muted",
    "paused": "bold $text-warning on $warning-muted",
    "diverged": "bold $text-error on $error-muted",
    "done": "bold $text-primary on $primary-muted",
    "error": "bold $text-error on $error-muted",
}

# Theme variable for each status word (status panel, event log).
STATUS_COLORS = {
    "compiling": "warning",
    "improving": "success",
    "plateau": "warning",
    "converged": "primary",
    "diverged": "error",
    "diverging": "error",
    "overfitting": "error",
    "underfitting": "warning",
    "memorizing": "accent",
    "grokked": "success",
}

# Colour (theme variable) of an event in the log, by kind; statuses use STATUS_COLORS.
EVENT_COLORS = {
    "edit": "warning",
    "test": "accent",
    "reset": "secondary",
    "reseed": "secondary",
    "error": "error",
    "diverged": "error",
    "grokked": "success",
    "memorized": "accent",
    "converged": "primary",
    "best_val": "success",
    "done": "primary",
}
