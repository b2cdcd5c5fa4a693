"""The `groklab` command line: argument parsing and dispatch to subcommands.

This module is imported on every invocation (even `--version`), so it imports
nothing heavy at the top level: the Textual app and the engine's compiled
kernels are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from engine import __version__
from engine.errors import ConfigError

# Exit statuses: 0 success, 2 bad input (a bug's traceback exits with Python's 1);
EXIT_OK = 0
# `replay` exits 1 when the run is not reproduced, the dashboard when it crashed.
EXIT_DIFFERS = 1
EXIT_BUG = 1
EXIT_BAD_INPUT = 2

# A handler receives the parsed arguments and returns the exit status.
Handler = Callable[[argparse.Namespace], int]
# Adds one subcommand: `subparsers.add_parser(NAME, ...)`, its arguments, and
# `set_defaults(handler=...)`.
AddSubcommand = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _add_set_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help=help,
    )


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=None, help="override train.seed")
    _add_set_option(parser, "override one config value (repeatable), e.g. --set optim.lr=0.1")


def _resolve_config(args: argparse.Namespace):
    """The run's config: preset/file (or a checkpoint's) plus --set, --steps and --seed."""
    from engine.config import load_config

    overrides = list(args.overrides)
    if getattr(args, "steps", None) is not None:
        overrides.append(f"train.steps={args.steps}")
    if getattr(args, "resume", None):
        from engine.store.checkpoint import resume_config

        return resume_config(args.resume, overrides, seed=args.seed)
    return load_config(args.spec, overrides, seed=args.seed)


def _resume_in_place(args: argparse.Namespace) -> None:
    """`--resume DIR` is `--resume DIR/checkpoint.npz --out DIR`, unless --out says otherwise:
    a run directory goes on where it is."""
    if args.resume and os.path.isdir(args.resume):
        if args.out is None:
            args.out = args.resume
        args.resume = os.path.join(args.resume, "checkpoint.npz")


def _run(args: argparse.Namespace) -> int:
    if args.headless:
        from tui.cli.interrupts import Interrupts

        # Before anything heavy: a signal at any moment of the run has an answer.
        with Interrupts() as interrupts:
            return _start_run(args, interrupts)
    return _start_run(args, None)


def _start_run(args: argparse.Namespace, interrupts) -> int:
    """Check, resolve and build the run, then drive it headless (`interrupts` given) or in
    the dashboard."""
    if args.steps is not None and args.steps < 1:
        raise ConfigError("--steps", "train.steps", "a whole number >= 1", args.steps)
    _resume_in_place(args)
    overwrite = False
    if args.out is not None:
        from engine.store.rundir import check_out_dir

        # Before the config, the data and the kernels: a bad --out costs no waiting.
        resumed_dir = os.path.dirname(os.path.abspath(args.resume)) if args.resume else None
        overwrite = check_out_dir(args.out, resumed_dir=resumed_dir, force=args.force)
    cfg = _resolve_config(args)
    from engine.training.budget import check_memory

    check_memory(cfg)  # before anything is allocated: a config too big is exit 2, not OOM
    # Built here, before any UI or kernel, so a mistake in the data (a bad CSV cell) or
    # the checkpoint is exit 2, not a failed run, and leaves the run directory untouched.
    if interrupts is not None:
        from engine.live.runner import Runner

        first = Runner(cfg, out_dir=args.out, resume=args.resume)
    else:
        from tui.app import build_runner

        first = build_runner(cfg, out_dir=args.out, resume=args.resume)
    nothing = first.session.nothing_left() if args.resume else None
    if nothing is not None:
        # Exit 0: the run is already where the command asks it to be, so a script that
        # resumes until done may run it again; the directory is left as it was.
        print(f"groklab: {args.resume}: {nothing}", file=sys.stderr)
        return EXIT_OK
    if overwrite:
        print(f"groklab: --out {args.out}: overwriting the run there (--force)", file=sys.stderr)
    if interrupts is not None:
        from rich.console import Console

        from tui.cli.headless import run_headless

        return run_headless(first, Console(), Console(stderr=True), interrupts)

    from tui.app import GroklabApp, build_runner

    # Handed over, not kept: this frame holding it would keep its session alive after a
    # switch to another preset.
    unused = [first]
    del first

    def runner_factory(chosen):
        # The first run is the one above; presets picked later start fresh.
        return unused.pop() if chosen is cfg and unused else build_runner(chosen)

    return _run_app(GroklabApp(runner_factory, preset=cfg, output_dir=args.out), exit_now=True)


def _run_app(app, exit_now: bool = False) -> int:
    """Run the dashboard; an unexpected error (Textual has printed its traceback) is
    exit status 1 with one more line saying what it was.

    With `exit_now` (the command line, never a caller that goes on) the process ends here
    once every run's files are written, skipping the interpreter's shutdown: tearing down
    numba's and Textual's modules took over a second after `q`, and a run quit while its
    kernels compile has nothing to write (its compile may be abandoned at any moment).
    """
    from tui.cli.interrupts import restore_defaults
    from tui.format import printable

    restore_defaults()

    app.run()
    if app.crash is not None:
        what = printable(f"{type(app.crash).__name__}: {app.crash}")
        print(f"groklab: the dashboard stopped on an unexpected error: {what}", file=sys.stderr)
    status = app.return_code or (EXIT_BUG if app.crash is not None else EXIT_OK)
    if exit_now:
        exit_at_once(status)
    return status


def exit_at_once(status: int) -> NoReturn:
    """End the process once every run's files are written, without the interpreter's
    shutdown (see _run_app)."""
    from engine.live.runner import stop_every_runner

    stop_every_runner()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _add_run(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="train a preset or a preset file",
        description="Open the dashboard on a preset or a .toml "
        "file, or train headless with --headless.",
    )
    parser.add_argument("spec", metavar="PRESET_OR_FILE")
    parser.add_argument("--headless", action="store_true", help="train without the dashboard")
    parser.add_argument("--steps", type=int, default=None, help="override train.steps")
    _add_config_options(parser)
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write config.toml, metrics.csv, events.jsonl, summary.json and checkpoint.npz "
        "here (refused if it holds a run, unless resumed or --force)",
    )
    parser.add_argument(
        "--resume",
        default=None,
        metavar="CHECKPOINT_OR_DIR",
        help="continue from a checkpoint.npz (its config, plus --set and --steps); a run "
        "directory resumes its checkpoint there, appending to its metrics and events",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="let --out overwrite a directory that holds another run",
    )
    parser.set_defaults(handler=_run)


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from engine.config import list_presets, load_config
    from tui.format import printable

    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("name", "title", "phenomenon"):
        table.add_column(column)
    for name in list_presets():
        cfg = load_config(name)
        table.add_row(*(Text(printable(v)) for v in (name, cfg.title, cfg.phenomenon)))
    Console().print(table)
    return EXIT_OK


def _add_list(subparsers) -> None:
    parser = subparsers.add_parser("list", help="list the bundled presets")
    parser.set_defaults(handler=_list)


def _show(args: argparse.Namespace) -> int:
    from engine.config import config_to_toml

    sys.stdout.write(config_to_toml(_resolve_config(args)))
    return EXIT_OK


def _add_show(subparsers) -> None:
    parser = subparsers.add_parser("show", help="print a preset's fully resolved TOML")
    parser.add_argument("spec", metavar="PRESET_OR_FILE")
    _add_config_options(parser)
    parser.set_defaults(handler=_show)


def _bench(args: argparse.Namespace) -> int:
    from tui.cli.bench import run_bench

    return run_bench(
        args.workloads or None, args.repeat, args.json, args.dashboard, args.markdown,
        args.rows_from,
    )  # fmt: skip


def _add_bench(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time the engine against NumPy (and PyTorch, if installed)",
        description="Steps/s of the compiled engine and its baselines on fixed workloads "
        "W1-W5, as ratios measured in the same run.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per result line")
    parser.add_argument(
        "--workload",
        dest="workloads",
        action="append",
        choices=["W1", "W2", "W3", "W4", "W5"],
        help="repeatable; default all",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (median)")
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="also measure W1/W2 inside the dashboard: throughput vs headless "
        "and UI timer p99, plus start-up times",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the README's table (markdown)"
    )
    parser.add_argument(
        "--from",
        dest="rows_from",
        default=None,
        metavar="FILE",
        help="print the rows a --json run saved in FILE instead of measuring",
    )
    parser.set_defaults(handler=_bench)


def _replay(args: argparse.Namespace) -> int:
    from engine.live.replay import Replay

    replay = Replay(args.dir)
    result = replay.run()
    print(
        f"replayed {replay.dir}: {result.steps} steps, {result.commands} logged commands, "
        f"{result.rows_compared} metrics rows compared"
    )
    if result.exact:
        print(f"bit-exact: checkpoint.npz at step {result.checkpoint_step} reproduced")
        return EXIT_OK
    print(f"differs at step {result.first_difference}: {result.reason}", file=sys.stderr)
    return EXIT_DIFFERS


def _add_replay(subparsers) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-run a run directory and check it is reproduced bit for bit",
        description="Re-run DIR's config.toml with its logged live edits, resets and "
        "extensions at their steps, and compare metrics.csv and checkpoint.npz: exit 0 when "
        "bit-exact, 1 with the first differing step.",
    )
    parser.add_argument("dir", metavar="DIR", help="a run directory written by --out")
    parser.set_defaults(handler=_replay)


def _sweep(args: argparse.Namespace) -> int:
    from tui.cli.sweep import run_sweep

    return run_sweep(args)


def _add_sweep(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a grid of configs x seeds on a Dask cluster; the phase diagram, live",
        description="One headless run per cell (grid point x seed) into DIR/cells/, "
        "DIR/sweep.csv a row per finished cell, DIR/sweep.toml the grid; on a local Dask "
        "cluster (--workers) or the one at --scheduler.",
    )
    parser.add_argument("spec", metavar="PRESET_OR_FILE", nargs="?", default=None)
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...|KEY=lo:hi:n[:log]",
        help="an axis of the grid (repeatable): values, or n values from lo to hi",
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per grid point (1)")
    _add_set_option(parser, "override one config value in every cell (repeatable)")
    parser.add_argument("--out", default=None, metavar="DIR", help="the sweep's directory")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: cores)"
    )
    where.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler, tcp://HOST:PORT"
    )
    parser.add_argument("--headless", action="store_true", help="a progress bar, no view")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--resume", default=None, metavar="DIR", help="continue a sweep")
    shown.add_argument("--show", default=None, metavar="DIR", help="the diagram of a sweep")
    parser.set_defaults(handler=_sweep)


def _warmup(args: argparse.Namespace) -> int:
    from tui.cli.warmup import run_warmup

    return run_warmup(args)


def _add_warmup(subparsers) -> None:
    parser = subparsers.add_parser(
        "warmup",
        help="compile every kernel now (a classroom machine, before the lesson)",
        description="Compile, or load from Numba's cache, every kernel the presets use, so "
        "the first run starts training at once.",
    )
    parser.add_argument(
        "--precision",
        choices=("all", "float64", "float32"),
        default="all",
        help="which precision's kernels (default: all; most presets train in float64)",
    )
    parser.set_defaults(handler=_warmup)


def _picker(args: argparse.Namespace) -> int:
    from tui.app import GroklabApp

    return _run_app(GroklabApp(), exit_now=True)


# One entry per subcommand, in help order.
SUBCOMMANDS: list[AddSubcommand] = [
    _add_run, _add_list, _add_show, _add_replay, _add_bench, _add_sweep, _add_warmup,
]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options, then every subcommand in SUBCOMMANDS."""
    parser = argparse.ArgumentParser(
        prog="groklab",
        description="groklab: a terminal lab for watching small models learn.",
    )
    parser.add_argument("--version", action="version", version=f"groklab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (the `groklab` script runs it through tui.cli.entry); returns the
    exit status."""
    from tui.cli.interrupts import quit_early

    with quit_early():  # a signal while the arguments are read is one line, not a traceback
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits for --help/--version (0) and usage errors (2); return
        # the status instead, so tests and scripts can call main() directly.
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT

    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            handler = _picker  # `groklab` on a terminal opens the preset picker
        else:
            parser.print_help()
            return EXIT_OK
    try:
        return handler(args)
    except ConfigError as exc:
        # A user's mistake: one line naming file, key and value; no traceback.
        print(f"groklab: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        # What the memory estimate (engine/training/budget.py) did not foresee.
        print("groklab: error: out of memory: try smaller sizes", file=sys.stderr)
        return EXIT_BAD_INPUT
