"""`groklab run ... --headless`: train without the dashboard, for scripts, CI and SSH.

On a terminal a rich progress bar shows step, steps/s, losses and status; otherwise plain
lines a log can keep, about one a second. It ends with a summary table (and, for a
one-layer model, its fitted weights and intercept in the data's own units).

SIGINT (Ctrl+C) or SIGTERM stops cleanly: the step under way finishes (a slow one is
waited for, and stderr says so), the runner writes the final checkpoint and summary, and
the exit status is 130 or 143; stderr says what was written, as checked on disk. A second
signal quits at once, saying what was not saved; during the kernels' compile there is
nothing to save, so the first does (tui/cli/interrupts.py).
"""

from __future__ import annotations

import math
import signal
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from engine.live.runner import Runner
from engine.live.snapshot import Snapshot
from engine.vocabulary import RunState
from tui.cli.interrupts import Interrupts, quit_now
from tui.format import printable

PLAIN_EVERY_S = 1.0
EXIT_INTERRUPTED = 130
EXIT_BAD_INPUT = 2  # as tui/cli/main.py: what the user can fix (here, the disk)
WAIT_NOTICE_S = 1.0  # a stop still waiting after this long says what it waits for


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _progress_line(snap: Snapshot) -> str:
    parts = [
        f"step {snap.step}/{snap.target_steps}",
        f"{snap.steps_per_s:,.0f} steps/s",
        f"train_loss {_fmt(snap.metric('train_loss'))}",
        f"val_loss {_fmt(snap.metric('val_loss'))}",
    ]
    if snap.task == "classification":
        parts += [
            f"train_acc {_fmt(snap.metric('train_acc'))}",
            f"val_acc {_fmt(snap.metric('val_acc'))}",
        ]
    parts.append(f"status {snap.status}")
    return "  ".join(parts)


def summary_table(snap: Snapshot, summary: dict | None) -> Table:
    # Names, CSV columns and messages are the user's text, never markup: Text, markup=False.
    title = Text(f"{printable(snap.preset)}: {snap.status}")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("final", justify="right")
    table.add_column("best", justify="right")
    final = (summary or {}).get("final") or dict(snap.latest)
    best = (summary or {}).get("best") or {}
    keys = ["train_loss", "val_loss"]
    keys += ["train_acc", "val_acc"] if snap.task == "classification" else []
    keys += ["grad_norm", "weight_norm", "lr"]
    for key in keys:
        table.add_row(key, _fmt(final.get(key)), _fmt(best.get(key)))
    table.add_row("step", _fmt(snap.step), _fmt((summary or {}).get("best_step")))
    test = (summary or {}).get("test") or dict(snap.test or ())
    for key in ("test_loss", "test_acc", "test_mad"):
        if test.get(key) is not None:
            table.add_row(key, _fmt(test[key]), "")
    for split, r2 in ((summary or {}).get("r2") or {}).items():
        table.add_row(f"R² {split}", _fmt(r2), "")
    return table


def fit_table(summary: dict | None) -> Table | None:
    """The fitted weights and intercept of a one-layer model, in the data's own units, as
    the seed prints its converged weights; None for other models."""
    fit = (summary or {}).get("fit")
    if not fit:
        return None
    target = fit.get("target", "y")
    title = Text(f"fitted weights for {printable(target)} ({printable(fit['units'])})")
    table = Table(title=title, header_style="bold")
    table.add_column("term")
    table.add_column("weight", justify="right")
    for term, weight in fit["weights"].items():
        table.add_row(Text(printable(term)), _fmt_weight(weight))
    intercept = fit["intercept"]
    shown = "none (model.bias = false)" if intercept is None else _fmt_weight(intercept)
    table.add_row("intercept", shown)
    return table


def _fmt_weight(value) -> str:
    """Full precision: the seed's point is how close these come to least squares."""
    if isinstance(value, list):
        return "  ".join(_fmt_weight(v) for v in value)
    return "-" if value is None else f"{value:.8g}"


def summary_lines(snap: Snapshot) -> list[str]:
    lines = [
        f"status: {snap.status} - {printable(snap.explanation)}",
        f"{snap.step} steps in {snap.elapsed_s:.2f} s of training "
        f"({snap.steps_per_s:,.0f} steps/s)",
    ]
    for name, step in snap.milestones:
        if step is not None:
            lines.append(f"{name.replace('_', ' ')}: {step}")
    return lines


def run_headless(
    runner: Runner, console: Console, err: Console, interrupts: Interrupts | None = None
) -> int:
    """Drive a runner to its end, showing progress; return the process exit status.

    `interrupts`: the installed signal handlers (tui/cli/main.py installs them before
    anything heavy); without them (a caller in a test) no signal is ever recorded.
    """
    interrupts = interrupts if interrupts is not None else Interrupts()
    interrupts.arm(lambda: _unsaved(runner))
    runner.start()
    if console.is_terminal:
        _follow_with_bar(runner, console, interrupts)
    else:
        _follow_with_lines(runner, console, interrupts)
    _stop(runner, interrupts, err)
    saved = _saved(runner)
    interrupts.disarm(saved)
    snap = runner.snapshot()
    if runner.failure is not None:  # the run directory could not be written: not a bug
        err.print(
            f"groklab: error: {runner.failure}", markup=False, highlight=False, soft_wrap=True
        )
        return EXIT_BAD_INPUT
    if snap.state == RunState.ERROR:
        err.print("groklab: the run failed", style="red", highlight=False)
        err.print(printable(snap.error, newlines=True), markup=False, highlight=False)
        return 1
    console.print(summary_table(snap, runner.summary))
    fit = fit_table(runner.summary)
    if fit is not None:
        console.print(fit)
    for line in summary_lines(snap):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if runner.out_dir is not None:
        console.print(
            f"run directory: {printable(Path(runner.out_dir))}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        step = runner.checkpoint_step
        if step is not None:
            where = Path(runner.out_dir) / "checkpoint.npz"
            console.print(
                f"checkpoint: {printable(where)} (step {step})",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if interrupts.signum is not None:
        said = f"interrupted at step {snap.step}: {saved}"
        err.print(said, markup=False, highlight=False, soft_wrap=True)
        return interrupts.status
    if runner.save_error is not None:
        err.print(f"groklab: error: {saved}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


def _stop(runner: Runner, interrupts: Interrupts, err: Console) -> None:
    """Stop the runner and wait for its final writes; a signal while it still loads the
    kernels quits at once (nothing to save, and a cold compile can take a minute)."""
    if runner.request_stop() and interrupts.signum is not None:
        quit_now(
            "interrupted while the kernels were loading: nothing trained, "
            "no checkpoint or summary written",
            interrupts.status,
        )
    since = None
    while not runner.join(0.1):
        if interrupts.signum is None:
            continue
        now = time.perf_counter()
        since = now if since is None else since
        if now - since >= WAIT_NOTICE_S:
            since = math.inf  # said once
            doing = (
                "waiting for the current step to finish"
                if runner.in_chunk
                else "writing the final checkpoint and summary"
            )
            again = "Ctrl+C again" if interrupts.signum == signal.SIGINT else "signal again"
            message = f"groklab: {doing} ({again} to quit without saving)"
            err.print(message, markup=False, highlight=False, soft_wrap=True)


def _checkpoint_on_disk(runner: Runner) -> Path | None:
    step = runner.checkpoint_step
    path = Path(runner.out_dir) / "checkpoint.npz" if runner.out_dir is not None else None
    return path if step is not None and path is not None and path.is_file() else None


def _saved(runner: Runner) -> str:
    """What the finished run wrote, checked on disk."""
    if runner.out_dir is None:
        return "nothing saved (no run directory)"
    out = Path(runner.out_dir)
    checkpoint = _checkpoint_on_disk(runner)
    summary_ok = runner.summary_written and (out / "summary.json").is_file()
    if checkpoint is not None and summary_ok and runner.checkpoint_step == runner.snapshot().step:
        return f"final checkpoint (step {runner.checkpoint_step}) and summary written to {out}"
    reason = f" ({runner.save_error})" if runner.save_error else ""
    if checkpoint is not None:
        return (
            f"the final checkpoint and summary were not written{reason}; "
            f"{checkpoint} holds step {runner.checkpoint_step}"
        )
    return f"no checkpoint or summary written{reason}"


def _unsaved(runner: Runner) -> str:
    """What quitting now leaves unsaved (a second signal, while the runner stops)."""
    if runner.out_dir is None:
        return "nothing to save (no run directory)"
    if runner.summary_written:
        return f"the final checkpoint (step {runner.checkpoint_step}) and summary were written"
    checkpoint = _checkpoint_on_disk(runner)
    if checkpoint is None:
        return "the final checkpoint and summary were not written, nor any checkpoint before"
    return (
        f"the final checkpoint and summary were not written; {checkpoint} holds step "
        f"{runner.checkpoint_step}, metrics.csv and events.jsonl at least up to it"
    )


def _follow_with_bar(runner: Runner, console: Console, interrupts: Interrupts) -> None:
    columns = (
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}", markup=False),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}", markup=False),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(
            printable(runner.config.name),
            total=runner.config.train.steps,
            rate="",
            info="compiling",
        )
        while not runner.wait(0.1) and interrupts.signum is None:
            _update_bar(bar, task, runner.snapshot())
        _update_bar(bar, task, runner.snapshot())


def _update_bar(bar: Progress, task, snap: Snapshot) -> None:
    info = f"loss {_fmt(snap.metric('train_loss'))}/{_fmt(snap.metric('val_loss'))}"
    if snap.task == "classification":
        info += f" acc {_fmt(snap.metric('train_acc'))}/{_fmt(snap.metric('val_acc'))}"
    bar.update(
        task,
        completed=snap.step,
        total=snap.target_steps,
        rate=f"{snap.steps_per_s:,.0f} steps/s",
        info=f"{info} {snap.status}",
    )


def _follow_with_lines(runner: Runner, console: Console, interrupts: Interrupts) -> None:
    last = 0.0
    while not runner.wait(0.1) and interrupts.signum is None:
        now = time.perf_counter()
        if now - last >= PLAIN_EVERY_S:
            last = now
            snap = runner.snapshot()
            if snap.state != RunState.COMPILING:
                console.print(_progress_line(snap), markup=False, highlight=False, soft_wrap=True)
    console.print(_progress_line(runner.snapshot()), markup=False, highlight=False, soft_wrap=True)
    sys.stdout.flush()
