"""`groklab warmup` compiles every kernel of a precision into the cache a run reads."""

from __future__ import annotations

import pytest

from tui.cli.main import main


def test_warmup_names_every_kernel_of_the_precision(capsys):
    assert main(["warmup", "--precision", "float64"]) == 0
    err = capsys.readouterr().err
    for kernel in ("training, serial", "evaluation", "prediction"):
        assert f"{kernel} (float64): " in err
    assert "float32" not in err
    assert "kernels ready in" in err


@pytest.mark.slow  # compiles one precision's kernels into an empty cache
def test_a_warmup_fills_an_empty_cache_and_the_next_one_only_loads(run_cli, tmp_path):
    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("warmup", "--precision", "float32", env=cache, timeout=600)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stderr.splitlines() if line.startswith("  ")]
    assert len(lines) >= 3 and all("compiled in" in line for line in lines), first.stderr
    again = run_cli("warmup", "--precision", "float32", env=cache, timeout=600)
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stderr.splitlines() if line.startswith("  ")]
    assert lines and all(line.endswith("loaded from the cache") for line in lines), again.stderr
