"""`groklab bench` output: a rich table on a terminal, JSON lines with --json."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from engine.bench import workloads as bench
from tui.format import format_value


def run_bench(workloads, repeat: int, as_json: bool, dashboard: bool) -> int:
    console = Console()
    console.width = max(console.width, 110)  # the table stays readable in logs and pipes
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
        console.print(_table(rows, peaks))
    return 0


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
    for column in (
        "workload",
        "impl",
        "steps/s",
        "x numpy",
        "x torch",
        "GFLOP/s",
        "% peak",
        "note",
    ):
        table.add_column(
            column, justify="left" if column in ("workload", "impl", "note") else "right"
        )
    for row in rows:
        note = ""
        if "us_per_step" in row:
            note = f"{row['us_per_step']:.2f} us/step"
        if row.get("seconds_to_grokked") is not None:
            note = f"{row['seconds_to_grokked']:.2f} s to grokked"
        if "note" in row:
            note = row["note"]
        gflops, peak = row.get("gflops"), row.get("peak_gflops")
        table.add_row(
            row["workload"],
            row["impl"],
            format_value(row.get("steps_per_s"), spec=",.1f"),
            format_value(row.get("ratio_vs_numpy"), spec=".2f"),
            format_value(row.get("ratio_vs_torch"), spec=".2f"),
            format_value(gflops, spec=".2f"),
            format_value(100 * gflops / peak if gflops and peak else None, spec=".0f"),
            note,
        )
    return table
