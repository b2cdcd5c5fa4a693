"""`python -m tui` runs the same command line as the `groklab` script."""

from tui.cli import entry

if __name__ == "__main__":
    raise SystemExit(entry())
