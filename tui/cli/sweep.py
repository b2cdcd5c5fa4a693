"""`groklab sweep`: a grid of runs on a Dask cluster, and its phase diagram.

`groklab sweep PRESET_OR_FILE --grid KEY=V1,V2,... --out DIR` (or a bundled sweep's name),
`groklab sweep --resume DIR`, `groklab sweep --show DIR`. On a terminal the live phase
diagram (tui/sweep_app.py; `q` stops the sweep); with --headless or off a terminal a
progress bar (plain lines off one). At the end, the diagram as a table.
Ctrl+C (headless) or q stops handing out cells; what finished is kept, `--resume DIR` goes on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from engine.errors import ConfigError
from engine.sweep.bundled import bundled_sweep
from engine.sweep.plan import SweepPlan, load_plan, plan_from_args
from engine.sweep.progress import SweepProgress, finished_progress, progress_line
from engine.sweep.store import SweepDir
from engine.sweep.table import field_text, phases_by_point
from engine.sweep.where import check_address, check_workers
from tui.cli.interrupts import Interrupts
from tui.format import printable
from tui.widgets.palette import PHASE_RGB

if TYPE_CHECKING:
    from engine.sweep.driver import SweepDriver

PLAIN_EVERY_S = 2.0


def _plan(args: argparse.Namespace) -> tuple[SweepPlan, Path]:
    """The sweep the arguments ask for and its directory."""
    if args.resume is not None:
        folder = Path(args.resume)
        plan = load_plan(folder)
        if args.spec is not None or args.grid:
            asked = _asked(args)
            problem = plan.difference(asked, str(folder / "sweep.toml"))
            if problem is not None:
                raise problem
        return plan, folder
    if args.spec is None:
        raise ConfigError("sweep", "PRESET_OR_FILE", "a preset, a .toml file or a sweep", "none")
    if args.out is None:
        raise ConfigError("sweep", "--out", "a directory for the sweep (--out DIR)", "none")
    return _asked(args), Path(args.out)


def _asked(args: argparse.Namespace) -> SweepPlan:
    spec: str = args.spec
    grid, seeds, overrides = list(args.grid), args.seeds, list(args.overrides)
    bundled = bundled_sweep(spec) if spec is not None else None
    if bundled is not None:
        spec = bundled.preset
        # the command line's --grid replaces the bundled axis of the same key
        given = {text.partition("=")[0].strip() for text in grid}
        grid = [t for t in bundled.grid if t.partition("=")[0] not in given] + grid
        seeds = seeds if seeds is not None else bundled.seeds
        overrides = [*bundled.overrides, *overrides]
    return plan_from_args(spec, grid, seeds if seeds is not None else 1, overrides)


def run_sweep(args: argparse.Namespace) -> int:
    if args.show is not None:
        return _show(args)
    plan, folder_path = _plan(args)
    if args.scheduler is not None:
        check_address(args.scheduler)
    else:
        check_workers(args.workers)
    folder = SweepDir(folder_path)
    folder.open(plan)
    # Here, not at the top: Dask takes a second to import, and bad input needs none of it.
    from engine.sweep.driver import SweepDriver

    driver = SweepDriver(plan, folder, workers=args.workers, scheduler=args.scheduler)
    err = Console(stderr=True, highlight=False)
    left = len(plan.cells) - len(folder.finished() & {c.name for c in plan.cells})
    where = (
        f"the Dask scheduler at {args.scheduler}"
        if args.scheduler
        else f"a local Dask cluster of {driver.n_workers} workers"
    )
    err.print(
        f"sweep: {len(plan.cells)} cells, {left} to run, on {printable(where)}; "
        f"directory {printable(folder_path)}",
        markup=False,
        soft_wrap=True,
    )
    with Interrupts() as interrupts:
        interrupts.arm(lambda: "cells still running are not recorded: --resume runs them")
        driver.connect()
        if not _wants_view(args) or interrupts.signum is not None:
            return _headless(plan, driver, interrupts, folder_path)
    return _view(plan, driver, folder_path)


def _wants_view(args: argparse.Namespace) -> bool:
    """The Textual view on a terminal (it reads its keys from stdin), unless --headless."""
    return not args.headless and sys.stdout.isatty() and sys.stdin.isatty()


def _view(plan: SweepPlan, driver: SweepDriver, folder: Path) -> int:
    """The sweep in the live diagram; `q` stops it. The diagram as tables when it ends."""
    from tui.cli.interrupts import restore_defaults
    from tui.sweep_app import SweepApp

    restore_defaults()  # Textual reads Ctrl+C as a key; a signal from outside ends the app
    driver.start()
    app = SweepApp(plan, driver, folder)
    try:
        app.run()
    finally:
        driver.stop()  # quit while cells run: they are not recorded, --resume runs them
        driver.join()
    status = _report(plan, driver.progress(), folder)
    return _app_status(app) or status


def _headless(plan: SweepPlan, driver: SweepDriver, interrupts: Interrupts, folder: Path) -> int:
    console = Console()
    driver.start()
    if console.is_terminal:
        _follow_with_bar(driver, console, interrupts)
    else:
        _follow_with_lines(driver, console, interrupts)
    if interrupts.signum is not None:
        driver.stop()
    driver.join()
    interrupts.disarm("the sweep had stopped")
    status = _report(plan, driver.progress(), folder)
    if status == 0 and interrupts.signum is not None:
        return interrupts.status
    return status


def _report(plan: SweepPlan, final: SweepProgress, folder: Path) -> int:
    """The diagram as tables, the last progress line, the directory; 2 if the sweep failed."""
    console = Console()
    for table in diagram_tables(plan, final.rows, console.width):
        console.print(table)
    console.print(progress_line(final), markup=False, highlight=False, soft_wrap=True)
    console.print(f"sweep directory: {printable(folder)}", markup=False, soft_wrap=True)
    if final.state == "error":
        err = Console(stderr=True)
        err.print(f"groklab: error: {final.message}", markup=False, highlight=False)
        return 2
    return 0


def _app_status(app) -> int:
    """1 when the view stopped on an unexpected error (Textual printed its traceback)."""
    if app.crash is None:
        return app.return_code or 0
    what = printable(f"{type(app.crash).__name__}: {app.crash}")
    print(f"groklab: the sweep view stopped on an unexpected error: {what}", file=sys.stderr)
    return app.return_code or 1


def _follow_with_bar(driver: SweepDriver, console: Console, interrupts: Interrupts) -> None:
    columns = (
        TextColumn("sweep", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}", markup=False),
    )
    with Progress(*columns, console=console) as bar:
        p = driver.progress()
        task = bar.add_task("sweep", total=p.total, completed=p.done, info="")
        while not driver.join(0.2) and interrupts.signum is None:
            p = driver.progress()
            bar.update(task, completed=p.done, info=progress_line(p))
        bar.update(task, completed=driver.progress().done, info=progress_line(driver.progress()))


def _follow_with_lines(driver: SweepDriver, console: Console, interrupts: Interrupts) -> None:
    last = 0.0
    while not driver.join(0.2) and interrupts.signum is None:
        now = time.perf_counter()
        if now - last >= PLAIN_EVERY_S:
            last = now
            console.print(progress_line(driver.progress()), markup=False, highlight=False)


# A phase's short name, for diagrams too wide for the terminal with the full words.
SHORT_PHASE = {"comprehension": "comp", "grokking": "grok", "memorization": "memo",
               "confusion": "conf", "diverged": "div"}  # fmt: skip


def _fits(plan: SweepPlan, width: int, longest_cell: int) -> bool:
    """Whether a diagram whose cells are at most longest_cell wide fits in width columns
    (each column adds a border and two spaces of padding)."""
    keys = list(plan.keys)
    axes = dict(plan.axes)
    labels = [len(field_text(v)) for v in axes[keys[1]]] if len(keys) > 1 else [0]
    corner = len(f"{keys[1]} \\ {keys[0]}") if len(keys) > 1 else len(keys[0])
    columns = [max(longest_cell, len(field_text(v))) for v in axes[keys[0]]]
    return 1 + max(corner, *labels) + 3 + sum(c + 3 for c in columns) <= width


def diagram_tables(plan: SweepPlan, rows, width: int = 10**6) -> list[Table]:
    """The phase diagram as rich tables: the first key across, the second down, one table
    per value of any further key. When the words do not fit in `width` columns, the cells
    use the short names, the corner the keys' last parts, and a caption says what the short
    names stand for."""
    keys = list(plan.keys)
    texts = {k: [field_text(v) for v in values] for k, values in plan.axes}
    phases = phases_by_point(rows, keys)
    seeds = max((f.seeds for f in phases.values()), default=1)
    agree = len(f" {seeds}/{seeds}") if seeds > 1 else 0
    short = not _fits(plan, width, max(map(len, SHORT_PHASE)) + agree)
    x_key, y_key = keys[0], keys[1] if len(keys) > 1 else None
    rest = keys[2:]
    combos: list[tuple[str, ...]] = [()]
    for key in rest:
        combos = [(*c, v) for c in combos for v in texts[key]]
    tables = []
    for combo in combos:
        held = dict(zip(rest, combo))
        title = "phase diagram" + "".join(f"  {k}={v}" for k, v in held.items())
        caption = None
        if short:
            caption = Text(", ".join(f"{v} = {k}" for k, v in SHORT_PHASE.items()), style="dim")
        table = Table(title=Text(printable(title)), header_style="bold", caption=caption)
        x_name, y_name = (k.rsplit(".", 1)[-1] if short else k for k in (x_key, y_key or ""))
        table.add_column(Text(printable(f"{y_name} \\ {x_name}" if y_key else x_name)))
        for x in texts[x_key]:
            table.add_column(Text(printable(x)), justify="center")
        for y in texts[y_key] if y_key else [""]:
            cells = []
            for x in texts[x_key]:
                chosen = {x_key: x, **({y_key: y} if y_key else {}), **held}
                found = phases.get(tuple(chosen[k] for k in keys))
                cells.append(_phase_text(found, short))
            table.add_row(Text(printable(y)), *cells)
        tables.append(table)
    return tables


def _phase_text(found, short: bool = False) -> Text:
    if found is None:
        return Text("-", style="dim")
    if found.phase is None:
        return Text(f"no phase {found.seeds}", style="dim")
    rgb = PHASE_RGB.get(found.phase)  # type: ignore[arg-type]
    style = f"rgb({rgb[0]},{rgb[1]},{rgb[2]})" if rgb else ""
    agree = f" {found.agree}/{found.seeds}" if found.seeds > 1 else ""
    name = SHORT_PHASE.get(str(found.phase), str(found.phase)) if short else found.phase
    return Text(f"{name}{agree}", style=style)


def _show(args: argparse.Namespace) -> int:
    folder = Path(args.show)
    plan = load_plan(folder)
    rows = SweepDir(folder).rows()
    if _wants_view(args):
        from tui.cli.interrupts import restore_defaults
        from tui.screens.sweep import FinishedSweep
        from tui.sweep_app import SweepApp

        restore_defaults()
        app = SweepApp(plan, FinishedSweep(finished_progress(len(plan.cells), rows)), folder)
        app.run()
        return _app_status(app)
    console = Console()
    for table in diagram_tables(plan, rows, console.width):
        console.print(table)
    done = len({r["cell"] for r in rows} & {c.name for c in plan.cells})
    console.print(f"{done}/{len(plan.cells)} cells finished", highlight=False)
    return 0
