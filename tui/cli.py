"""The `groklab` command line: argument parsing and dispatch to subcommands.

This module is imported on every invocation (even `--version`), so it imports
nothing heavy at the top level: the Textual app and the engine's compiled
kernels are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from engine import __version__
from engine.errors import ConfigError

# Exit statuses (DESIGN.md): 0 success, 1 bug, 2 bad input.
EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2

# A handler receives the parsed arguments and returns the exit status.
Handler = Callable[[argparse.Namespace], int]
# Adds one subcommand: `subparsers.add_parser(NAME, ...)`, its arguments, and
# `set_defaults(handler=...)`.
AddSubcommand = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# One entry per subcommand ("run", "list", "show", "bench"), in help order.
SUBCOMMANDS: list[AddSubcommand] = []


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
    """Entry point of the `groklab` script and `python -m tui`; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits for --help/--version (0) and usage errors (2); return
        # the status instead, so tests and scripts can call main() directly.
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT

    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_OK
    try:
        return handler(args)
    except ConfigError as exc:
        # A user's mistake: one line naming file, key and value; no traceback.
        print(f"groklab: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
