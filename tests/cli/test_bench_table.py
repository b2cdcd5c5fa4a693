"""`groklab bench --from FILE --markdown`: the README's table from a saved --json run."""

from __future__ import annotations

import json

from tui.cli.main import main

ROWS = [
    {"workload": "W1", "impl": "numba-float32", "steps_per_s": 205.1, "ratio_vs_numpy": 7.52,
     "ratio_vs_torch": 3.04, "gflops": 72.4, "peak_gflops": 169.0},
    {"workload": "start-up", "impl": "warm cache", "steps_per_s": None,
     "note": "first frame 0.50 s, training 1.20 s"},
]  # fmt: skip


def test_saved_rows_print_as_the_readme_table(tmp_path, capsys):
    saved = tmp_path / "bench.jsonl"
    saved.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    assert main(["bench", "--from", str(saved), "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| workload | impl | steps/s | x numpy | x torch | GFLOP/s | % peak | note |"
    assert lines[2] == "| W1 | numba-float32 | 205.1 | 7.52 | 3.04 | 72.40 | 43 |  |"
    note = "first frame 0.50 s, training 1.20 s"
    assert lines[3] == f"| start-up | warm cache |  |  |  |  |  | {note} |"


def test_a_file_that_is_not_bench_json_is_exit_2_naming_it(tmp_path, capsys):
    saved = tmp_path / "notes.txt"
    saved.write_text('{"workload": "W1", "impl": "x"}\nhello\n')
    assert main(["bench", "--from", str(saved), "--markdown"]) == 2
    err = capsys.readouterr().err
    assert str(saved) in err and "line 2: not JSON" in err
    assert main(["bench", "--from", str(tmp_path / "missing.jsonl")]) == 2
