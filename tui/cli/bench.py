"""`groklab bench` output: a rich table on a terminal, JSON lines with --json."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from engine.bench import workloads as bench
from tui.format import format_value


def run_bench(
    workloads, repeat: int, as_json: bool, dashboard: bool, markdown: bool = False,
    rows_from: str | None = None,
) -> int:  # fmt: skip
    """Measure (or, with rows_from, read a --json run's rows back) and print the rows: a
    rich table, JSON lines, or with markdown the README's table."""
    console = Console()
    console.width = max(console.width, 110)  # the table stays readable in logs and pipes
    if rows_from is not None:
        rows = _read_rows(rows_from)
        peaks = [row["peak_gflops"] for row in rows if row.get("peak_gflops")]
        _print(console, rows, peaks or [0.0], as_json, markdown)
        return 0
    if repeat < 1:
        from engine.errors import ConfigError

        raise ConfigError("--repeat", "repeat", "a whole number >= 1", repeat)
    if not bench.torch_available() and not as_json:
        console.print(
            "PyTorch is not installed: its comparison is skipped "
            "(pip install -e '.[bench]' to include it)."
        )
    rows = []
    peaks = []
    for name in workloads or bench.WORKLOADS:
        # Measured again before each workload: on a shared machine the peak moves with
        # the neighbours' load, and % peak should compare like with like.
        peaks.append(bench.measure_peak_gflops())
        for row in bench.run_workload(name, repeat, peaks[-1]):
            rows.append(row)
            if as_json:
                print(json.dumps(row), flush=True)
    if dashboard:
        from tui.cli.bench_dashboard import measure_dashboard

        for row in measure_dashboard():
            rows.append(row)
            if as_json:
                print(json.dumps(row), flush=True)
    if not as_json:
        _print(console, rows, peaks, False, markdown)
    return 0


def _read_rows(path: str) -> list[dict]:
    """The rows a `groklab bench --json` run printed (one JSON object per line)."""
    from engine.errors import ConfigError

    expected = "the JSON lines of groklab bench --json"
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "--from", expected, type(exc).__name__) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ConfigError(path, "--from", expected, f"line {number}: not JSON") from None
    if not all(isinstance(row, dict) and "workload" in row and "impl" in row for row in rows):
        raise ConfigError(path, "--from", "rows with a workload and an impl", "other JSON")
    return rows


def _print(console: Console, rows: list[dict], peaks: list[float], as_json: bool,
           markdown: bool) -> None:  # fmt: skip
    if as_json:
        for row in rows:
            print(json.dumps(row))
    elif markdown:
        print(_markdown(rows))
    else:
        console.print(_table(rows, peaks))


COLUMNS = ("workload", "impl", "steps/s", "x numpy", "x torch", "GFLOP/s", "% peak", "note")
_LEFT = ("workload", "impl", "note")


def _cells(row: dict) -> list[str]:
    """A row's cells under COLUMNS, as both tables print them."""
    note = ""
    if "us_per_step" in row:
        note = f"{row['us_per_step']:.2f} us/step"
    if row.get("seconds_to_grokked") is not None:
        note = f"{row['seconds_to_grokked']:.2f} s to grokked"
    if "note" in row:
        note = row["note"]
    gflops, peak = row.get("gflops"), row.get("peak_gflops")
    return [
        str(row["workload"]),
        str(row["impl"]),
        format_value(row.get("steps_per_s"), spec=",.1f"),
        format_value(row.get("ratio_vs_numpy"), spec=".2f"),
        format_value(row.get("ratio_vs_torch"), spec=".2f"),
        format_value(gflops, spec=".2f"),
        format_value(100 * gflops / peak if gflops and peak else None, spec=".0f"),
        note,
    ]


def _markdown(rows: list[dict]) -> str:
    """The README's table (## Benchmarks): the same cells, the empty ones left blank."""
    lines = ["| " + " | ".join(COLUMNS) + " |"]
    lines.append("| " + " | ".join("---" if c in _LEFT else "---:" for c in COLUMNS) + " |")
    for row in rows:
        cells = ["" if cell == format_value(None) else cell for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table(rows: list[dict], peaks: list[float]) -> Table:
    span = (
        f"{min(peaks):.1f}-{max(peaks):.1f}"
        if len(peaks) > 1 and min(peaks) != max(peaks)
        else f"{peaks[0]:.1f}"
    )
    table = Table(
        title=f"groklab bench (float32 matmul peak {span} GFLOP/s, measured before each workload)",
        header_style="bold",
    )
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in _LEFT else "right")
    for row in rows:
        table.add_row(*_cells(row))
    return table
