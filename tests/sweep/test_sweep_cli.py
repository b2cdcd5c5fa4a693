"""`groklab sweep` end to end: a real LocalCluster, a real `dask scheduler` with workers
(one killed mid-sweep), resume, and bad input. The cluster tests are slow."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store.rundir import RUN_FILES
from tui.cli.main import main

TINY = """
name = "tiny-sweep"
[data]
kind = "modular"
p = 11
train_fraction = 0.5
[model]
kind = "mlp"
hidden = [16]
[optim]
kind = "adamw"
lr = 0.01
weight_decay = 0.1
[train]
steps = {steps}
eval_every = {every}
stop_on_converged = false
"""


def tiny(tmp_path: Path, steps: int = 200, every: int = 10) -> str:
    path = tmp_path / f"tiny-{steps}.toml"
    path.write_text(TINY.format(steps=steps, every=every))
    return str(path)


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "sweep.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def check_complete(out: Path, cells: int) -> list[dict[str, str]]:
    found = rows(out)
    names = [r["cell"] for r in found]
    assert len(names) == cells and len(set(names)) == cells, names
    for name in names:
        assert sorted(os.listdir(out / "cells" / name)) == sorted(RUN_FILES)
    assert [p.name for p in (out / "cells").iterdir() if p.name.startswith(".")] == []
    return found


# ---------------------------------------------------------------- bad input (quick)
@pytest.mark.parametrize(
    ("grid", "named"),
    [
        (["optim.nonsense=1,2"], "optim.nonsense"),
        (["optim.lr="], "optim.lr"),
        (["optim.lr=-1,0.1"], "optim.lr"),
        ([], "--grid"),
    ],
)
def test_bad_grids_exit_2_naming_the_key(tmp_path, capsys, grid, named):
    args = ["sweep", tiny(tmp_path), "--out", str(tmp_path / "s"), "--headless"]
    assert main([*args, *(f"--grid={g}" for g in grid)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_an_unwritable_out_exits_2(tmp_path, capsys):
    args = ["sweep", tiny(tmp_path), "--grid", "optim.lr=0.01", "--out", "/sys/groklab-sweep"]
    assert main(args) == 2
    assert "--out" in capsys.readouterr().err


def test_bad_workers_and_addresses_exit_2(tmp_path, capsys):
    base = ["sweep", tiny(tmp_path), "--grid", "optim.lr=0.01", "--out", str(tmp_path / "s")]
    assert main([*base, "--workers", "0"]) == 2
    assert main([*base, "--scheduler", "not an address"]) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "--scheduler" in err
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------- clusters (slow)
@pytest.mark.slow
def test_local_cluster_runs_every_cell_once_and_resume_reruns_none(tmp_path, capsys):
    out = tmp_path / "sweep"
    spec = tiny(tmp_path)
    grid = ["--grid", "optim.lr=0.003,0.01", "--grid", "optim.weight_decay=0,1"]
    args = ["sweep", spec, *grid, "--workers", "2", "--out", str(out), "--headless"]
    assert main(args) == 0
    first = check_complete(out, 4)
    assert all(r["worker"] and r["status"] and r["phase"] for r in first)
    printed = capsys.readouterr().out
    assert "phase diagram" in printed and "4/4 done" in printed

    # Interrupted after two cells: their rows are there, the others' are not (one left a
    # directory behind, as a sweep killed between the two writes would).
    kept = first[:2]
    header = list(first[0])
    with open(out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(kept)
    for row in first[3:]:
        (out / "cells" / row["cell"] / "summary.json").unlink()
    stamps = {r["cell"]: (out / "cells" / r["cell"] / "summary.json").stat().st_mtime_ns
              for r in kept}  # fmt: skip
    assert main(["sweep", "--resume", str(out), "--workers", "2", "--headless"]) == 0
    again = check_complete(out, 4)
    assert again[:2] == kept  # the finished cells were not run again
    for name, stamp in stamps.items():
        assert (out / "cells" / name / "summary.json").stat().st_mtime_ns == stamp
    assert {r["cell"] for r in again} == {r["cell"] for r in first}

    changed = ["sweep", spec, "--grid", "optim.lr=0.003,0.02", "--grid",
               "optim.weight_decay=0,1", "--out", str(out), "--headless"]  # fmt: skip
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "sweep.toml" in err and "optim.lr" in err and "0.02" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, tmp: Path | None = None) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    env = dict(os.environ)
    if tmp is not None:  # a worker's cells run in temporary folders there
        tmp.mkdir()
        env["TMPDIR"] = str(tmp)
    return subprocess.Popen(
        [str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, cwd="/", env=env,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_a_scheduler_and_workers_the_user_runs_with_one_killed_mid_sweep(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port),
                      "--no-dashboard")  # fmt: skip
    workers = [
        _dask(
            "worker",
            address,
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            tmp=tmp_path / f"worker{i}",
        )  # fmt: skip
        for i in range(2)
    ]
    try:
        out = tmp_path / "plain"
        args = ["sweep", tiny(tmp_path), "--grid", "optim.lr=0.003,0.01", "--scheduler", address,
                "--out", str(out), "--headless"]  # fmt: skip
        assert main(args) == 0
        check_complete(out, 2)

        # Cells of about a second each: one worker is killed while it runs one (its cell's
        # temporary folder, left behind, says which).
        out = tmp_path / "killed"
        spec = tiny(tmp_path, steps=50000, every=500)
        worker0 = tmp_path / "worker0"
        args = ["sweep", spec, "--grid", "optim.weight_decay=0,0.1,0.3,1,3,10", "--scheduler",
                address, "--out", str(out), "--headless"]  # fmt: skip
        child = subprocess.Popen(
            [sys.executable, "-m", "tui", *args], cwd="/", stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(worker0.glob("groklab-cell-*")):
            time.sleep(0.02)
        os.killpg(workers[0].pid, signal.SIGKILL)
        stdout, stderr = child.communicate(timeout=90)
        assert child.returncode == 0, stderr
        found = check_complete(out, 6)
        assert all(r["status"] != "error" for r in found), found
        # the cell it was running (its folder left behind) was run again, once, elsewhere
        (cut_short,) = worker0.glob("groklab-cell-*")
        again = [r["worker"] for r in found if r["cell"] == cut_short.name.split("-")[2]]
        assert len(again) == 1
        assert "6/6 done" in stdout
    finally:
        for process in (*workers, scheduler):
            _stop(process)


@pytest.mark.slow
def test_an_unreachable_scheduler_is_exit_2_within_seconds(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_free_port()}"
    args = ["sweep", tiny(tmp_path), "--grid", "optim.lr=0.01", "--scheduler", address,
            "--out", str(tmp_path / "s"), "--headless"]  # fmt: skip
    start = time.monotonic()
    assert main(args) == 2
    assert time.monotonic() - start < 15
    err = capsys.readouterr().err
    assert address in err and "dask scheduler" in err and "Traceback" not in err
