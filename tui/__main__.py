"""`python -m tui` runs the same command line as the `groklab` script."""

from tui.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
