"""`groklab run --out/--resume/--force` in real processes: nothing lost, nothing mixed."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, child_env
from tests.engine.test_config import write

pytestmark = pytest.mark.slow

# Every evaluated step is a row; nothing stops the run before its budget.
SMALL = """
name = "small"
[data]
kind = "modular"
p = 11
[model]
kind = "mlp"
hidden = [16]
[optim]
kind = "sgd"
lr = 0.05
batch_size = 8
[train]
steps = 100
eval_every = 10
stop_on_converged = false
"""


def _files(directory: Path) -> dict[str, str]:
    """Every file of a folder by its content's hash: byte-identical or not."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def _rows(out: Path) -> list[dict]:
    with open(out / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


def test_resume_into_its_own_out_has_every_step_once_as_an_uninterrupted_run(run_cli, tmp_path):
    cfg = str(write(tmp_path, SMALL))
    straight = tmp_path / "straight"
    result = run_cli("run", cfg, "--headless", "--steps", "300", "--out", str(straight))
    assert result.returncode == 0, result.stderr

    out = tmp_path / "run"
    assert run_cli("run", cfg, "--headless", "--steps", "100", "--out", str(out)).returncode == 0
    at_100 = tmp_path / "checkpoint-100.npz"
    shutil.copy(out / "checkpoint.npz", at_100)
    result = run_cli("run", cfg, "--headless", "--resume", str(out), "--steps", "200")
    assert result.returncode == 0, result.stderr
    assert [r["step"] for r in _rows(out)][-1] == "200"
    # Killed after writing steps 110-200, its last checkpoint taken at step 100.
    shutil.copy(at_100, out / "checkpoint.npz")

    result = run_cli(
        "run", cfg, "--headless", "--resume", str(out / "checkpoint.npz"), "--out", str(out),
        "--steps", "300",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert [int(r["step"]) for r in rows] == list(range(0, 301, 10))
    for mine, theirs in zip(rows, _rows(straight), strict=True):
        for row in (mine, theirs):
            del row["elapsed_s"]  # wall time, the one thing that differs
        assert mine == theirs
    kinds = [line for line in (out / "events.jsonl").read_text().splitlines() if '"resume"' in line]
    assert len(kinds) == 1 and "at step 100" in kinds[0]  # the dropped run's resume is gone
    assert "steps = 300" in (out / "config.toml").read_text()


def test_out_holding_a_run_is_refused_unless_forced(run_cli, tmp_path):
    cfg = str(write(tmp_path, SMALL))
    out = tmp_path / "run"
    assert run_cli("run", cfg, "--headless", "--steps", "30", "--out", str(out)).returncode == 0
    before = _files(out)
    started = time.monotonic()
    for headless in (["--headless"], []):  # the dashboard's path checks first too
        result = run_cli("run", cfg, *headless, "--out", str(out))
        assert result.returncode == 2
        said = _one_line(result.stderr)
        assert str(out) in said and "--force" in said and "--resume" in said
    assert time.monotonic() - started < 10
    assert _files(out) == before

    result = run_cli("run", cfg, "--headless", "--steps", "20", "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert "overwriting" in result.stderr and str(out) in result.stderr
    assert [r["step"] for r in _rows(out)] == ["0", "10", "20"]

    # Resuming from one run into another run's folder is not resuming there.
    other = tmp_path / "other"
    assert run_cli("run", cfg, "--headless", "--steps", "10", "--out", str(other)).returncode == 0
    result = run_cli("run", cfg, "--headless", "--resume", str(out / "checkpoint.npz"),
                     "--steps", "40", "--out", str(other))  # fmt: skip
    assert result.returncode == 2 and str(other) in _one_line(result.stderr)


def test_a_failed_resume_leaves_the_directory_byte_identical(run_cli, tmp_path):
    cfg = str(write(tmp_path, SMALL))
    out = tmp_path / "run"
    assert run_cli("run", cfg, "--headless", "--steps", "30", "--out", str(out)).returncode == 0
    before = _files(out)
    # A config the checkpoint does not fit: refused (how, the checkpoint's checks say).
    result = run_cli("run", cfg, "--headless", "--resume", str(out), "--steps", "60",
                     "--set", "model.hidden=[8]")  # fmt: skip
    assert result.returncode != 0
    assert _files(out) == before
    # Damaged checkpoints: a truncated one (refused, however its checks say it), then one
    # that is no checkpoint at all (exit 2, one line).
    data = (out / "checkpoint.npz").read_bytes()
    for damaged, status in ((data[: len(data) // 2], None), (b"not a zip file", 2)):
        (out / "checkpoint.npz").write_bytes(damaged)
        before = _files(out)
        result = run_cli("run", cfg, "--headless", "--resume", str(out), "--steps", "60")
        assert result.returncode != 0
        if status is not None:
            assert result.returncode == status
            assert "checkpoint.npz" in _one_line(result.stderr)
        assert _files(out) == before


def test_resuming_a_finished_run_with_no_new_budget_trains_nothing(run_cli, tmp_path):
    cfg = str(write(tmp_path, SMALL))
    out = tmp_path / "run"
    assert run_cli("run", cfg, "--headless", "--steps", "30", "--out", str(out)).returncode == 0
    before = _files(out)
    for steps in ([], ["--steps", "30"], ["--steps", "20"]):
        result = run_cli("run", cfg, "--headless", "--resume", str(out), *steps)
        assert result.returncode == 0, result.stderr
        said = _one_line(result.stderr)
        assert "ended at step 30" in said and "nothing to train" in said and "--steps" in said
        assert _files(out) == before


DISK_FULL = """
import errno, os, sys
import engine.store.rundir as rundir
left = [int(sys.argv[1])]
def write(fd, data):
    if left[0] <= 0:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    n = min(len(data), left[0])
    left[0] -= n
    return os.write(fd, data[:n])
rundir._write = write
from tui.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("budget", [0, 2000, 5000])
def test_a_full_disk_mid_run_stops_it_with_whole_lines_and_exit_2(tmp_path, budget):
    cfg = str(write(tmp_path, SMALL))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(budget), "run", cfg, "--headless",
         "--steps", "100000", "--out", str(out)],
        cwd=tmp_path, env=child_env({"PYTHONPATH": str(REPO_ROOT)}), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    said = _one_line(result.stderr)
    assert "No space left on device" in said and "the run stopped at step" in said
    assert "metrics.csv" in said or "events.jsonl" in said
    for name in ("metrics.csv", "events.jsonl"):
        text = (out / name).read_text()
        assert text == "" or text.endswith("\n")
    widths = {len(line.split(",")) for line in (out / "metrics.csv").read_text().splitlines()}
    assert widths <= {12}


def _bad_outs(tmp: Path) -> dict[str, tuple[str, str]]:
    """id -> (--out value, a word the message must have). Built inside tmp."""
    (tmp / "file").write_text("x")
    os.mkfifo(tmp / "fifo")
    (tmp / "dangling").symlink_to(tmp / "nowhere")
    (tmp / "to-file").symlink_to(tmp / "file")
    run = tmp / "a-run"
    run.mkdir()
    (run / "metrics.csv").write_text("step\n")
    for name in ("config.toml", "events.jsonl", "summary.json", "checkpoint.npz"):
        (tmp / f"only-{name}").mkdir()
        (tmp / f"only-{name}" / name).write_text("")
    long_name = "n" * 300
    return {
        "a-file": (str(tmp / "file"), "an existing file"),
        "under-a-file": (str(tmp / "file" / "sub"), "a path under"),
        "deep-under-a-file": (str(tmp / "file" / "a" / "b" / "c"), "a path under"),
        "name-too-long": (str(tmp / long_name), "too long"),
        "name-too-long-below-new": (str(tmp / "new" / long_name), "too long"),
        "path-too-long": (str(tmp / "/".join(["d" * 200] * 25)), "too long"),
        "dev-null": ("/dev/null", "character device"),
        "under-dev-null": ("/dev/null/run", "a path under"),
        "fifo": (str(tmp / "fifo"), "FIFO"),
        "dangling-symlink": (str(tmp / "dangling"), "broken symbolic link"),
        "symlink-to-a-file": (str(tmp / "to-file"), "an existing file"),
        "empty": ("", "empty path"),
        "holds-a-run": (str(run), "--force"),
        "holds-config": (str(tmp / "only-config.toml"), "config.toml"),
        "holds-summary": (str(tmp / "only-summary.json"), "summary.json"),
        "holds-events": (str(tmp / "only-events.jsonl"), "events.jsonl"),
        "holds-checkpoint": (str(tmp / "only-checkpoint.npz"), "checkpoint.npz"),
        "read-only-sysfs": ("/sys/groklab-run", "not writable"),
        "proc": ("/proc/groklab-run", "not writable"),
    }


BAD_OUT_IDS = [
    "a-file", "under-a-file", "deep-under-a-file", "name-too-long", "name-too-long-below-new",
    "path-too-long", "dev-null", "under-dev-null", "fifo", "dangling-symlink",
    "symlink-to-a-file", "empty", "holds-a-run", "holds-config", "holds-summary",
    "holds-events", "holds-checkpoint", "read-only-sysfs", "proc",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_OUT_IDS)
def test_a_bad_out_is_exit_2_in_one_line_before_compiling(run_cli, tmp_path, case):
    out, needle = _bad_outs(tmp_path)[case]
    if out.startswith(("/sys", "/proc")) and not os.path.isdir(out.rsplit("/", 1)[0] or "/"):
        pytest.skip("no such filesystem here")
    started = time.monotonic()
    result = run_cli("run", "linear-regression", "--headless", "--out", out, timeout=30)
    assert time.monotonic() - started < 5  # refused before any kernel loads
    assert result.returncode == 2, result.stderr
    said = _one_line(result.stderr)
    assert "--out" in said and needle in said, said
    assert said.startswith("groklab: error: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(run_cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for out in (locked, locked / "run"):
            result = run_cli("run", "linear-regression", "--headless", "--out", str(out))
            assert result.returncode == 2 and "not writable" in _one_line(result.stderr)
    finally:
        locked.chmod(0o755)


def test_a_bad_out_on_the_dashboard_path_is_refused_too(run_cli, tmp_path):
    (tmp_path / "file").write_text("x")
    result = run_cli("run", "linear-regression", "--out", str(tmp_path / "file" / "run"))
    assert result.returncode == 2 and "--out" in _one_line(result.stderr)


def test_files_of_a_run_follow_the_umask(tmp_path):
    out = tmp_path / "run"
    code = textwrap.dedent(f"""
        import os, sys
        os.umask(0o027)
        from tui.cli.main import main
        sys.exit(main(["run", "linear-regression", "--headless", "--steps", "20",
                       "--out", {str(out)!r}]))
    """)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=child_env({"PYTHONPATH": str(REPO_ROOT)}),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("config.toml", "metrics.csv", "events.jsonl", "summary.json", "checkpoint.npz"):
        assert (out / name).stat().st_mode & 0o777 == 0o640, name
