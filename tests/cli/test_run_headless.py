"""`groklab run --headless`, `list` and `show`: the command-line contract."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from rich.console import Console

from engine.live.runner import Runner
from tests.configs import linear
from tests.conftest import child_env
from tests.engine.test_config import BAD, write
from tui.cli.headless import run_headless
from tui.cli.main import main

HEADER = (
    "step,epoch,train_loss,val_loss,train_acc,val_acc,grad_norm,weight_norm,lr,"
    "weight_decay,batch_size,elapsed_s"
)
OUT_FILES = {"config.toml", "metrics.csv", "events.jsonl", "summary.json", "checkpoint.npz"}

LONG_RUN = """
name = "long"
[data]
kind = "modular"
p = 23
[model]
kind = "mlp"
hidden = [32]
[optim]
kind = "adamw"
lr = 0.001
[train]
steps = 100000000
eval_every = 5
stop_on_converged = false
"""


@pytest.mark.slow
def test_headless_run_writes_the_five_files(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "linear-regression", "--headless", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == OUT_FILES
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert rows and rows[0]["step"] == "0"
    assert rows[-1]["train_acc"] == "" and rows[-1]["val_acc"] == ""  # regression
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "converged"
    # converged at the noise floor first; the run itself stops at the seed's criterion
    assert summary["converged_step"] <= summary["steps"]
    assert "gradient below grad_tol" in summary["explanation"]
    assert summary["final"]["step"] == summary["steps"]
    assert summary["best"]["step"] >= 0
    assert summary["test"]["step"] == summary["steps"]  # evaluated once, at the end
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0]["kind"] == "start"
    assert any(e["kind"] == "converged" for e in events)
    assert [e["kind"] for e in events].count("test") == 1
    assert "converged" in result.stdout  # the summary table
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        assert data["param.0.weight"].shape == (3, 1)
        weights = data["param.0.weight"][:, 0]
    # The seed prints its converged weights: so does the run, as summary.json has them.
    assert summary["stopped_by"] == "grad_tol"
    assert list(summary["fit"]["weights"].values()) == weights.tolist()
    for value in weights:
        assert f"{value:.8g}" in result.stdout
    assert "none (model.bias = false)" in result.stdout
    assert set(summary["r2"]) == {"train", "val", "test"} and "R² val" in result.stdout


@pytest.mark.slow
def test_headless_without_a_run_directory_still_prints_the_weights(run_cli):
    result = run_cli("run", "linear-regression", "--headless")
    assert result.returncode == 0, result.stderr
    assert "fitted weights for y" in result.stdout and "x3" in result.stdout


@pytest.mark.slow
def test_a_preset_on_the_users_csv_reports_weights_in_its_units(run_cli, tmp_path):
    rows = "".join(f"{1000 + 10 * i},{i % 7},{3 * (1000 + 10 * i) - 2 * (i % 7) + 8}\n"
                   for i in range(60))  # fmt: skip
    (tmp_path / "mine.csv").write_text("size,rooms,price\n" + rows, encoding="utf-8")
    out = tmp_path / "run"
    result = run_cli(
        "run", "linear-regression", "--headless", "--out", str(out),
        "--set", "data.kind=csv", "--set", "data.path=mine.csv", "--set", "model.bias=true",
        "--set", "optim.lr=0.3", "--set", "convergence.grad_tol=1e-9",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    fit = summary["fit"]
    assert fit["weights"]["size"] == pytest.approx(3.0, abs=1e-6)
    assert fit["weights"]["rooms"] == pytest.approx(-2.0, abs=1e-6)
    assert fit["intercept"] == pytest.approx(8.0, abs=1e-3)
    assert summary["r2"]["train"] == pytest.approx(1.0, abs=1e-9)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    said = [e["detail"] for e in events if e["kind"] == "advice"]
    assert any("replaces the preset's linear data" in s and "expect.status" in s for s in said)


def test_the_summary_table_comes_from_the_runner_not_from_the_file(tmp_path):
    class MarkedSummary(Runner):
        @property
        def summary(self):
            kept = super().summary
            return None if kept is None else {**kept, "best_step": 4242}

    runner = MarkedSummary(linear(tmp_path, steps=40), out_dir=tmp_path / "run")
    out, err = Console(record=True, width=100), Console(record=True, width=100)
    assert run_headless(runner, out, err) == 0
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["best_step"] != 4242
    table = out.export_text()
    assert "4242" in table and "run directory" in table


@pytest.mark.slow
def test_plain_lines_when_not_a_terminal(run_cli, tmp_path):
    result = run_cli("run", "linear-regression", "--headless", "--steps", "300")
    assert result.returncode == 0, result.stderr
    assert "step 300/300" in result.stdout
    assert "\x1b[" not in result.stdout  # no terminal control codes in a log


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(run_cli, tmp_path):
    first = tmp_path / "a"
    assert (
        run_cli(
            "run", "linear-regression", "--headless", "--steps", "200", "--out", str(first)
        ).returncode
        == 0
    )
    second = tmp_path / "b"
    result = run_cli(
        "run",
        "linear-regression",
        "--headless",
        "--steps",
        "500",
        "--out",
        str(second),
        "--resume",
        str(first / "checkpoint.npz"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((second / "summary.json").read_text())
    assert summary["steps"] == 500
    events = (second / "events.jsonl").read_text()
    assert '"resume"' in events


@pytest.mark.slow
def test_sigkill_mid_run_leaves_parseable_files(tmp_path):
    cfg = write(tmp_path, LONG_RUN)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "run", str(cfg), "--headless", "--out", str(out)],
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            metrics = out / "metrics.csv"
            if metrics.exists() and len(metrics.read_text().splitlines()) > 20:
                break
            time.sleep(0.1)
        time.sleep(1.2)  # let at least one more flush happen
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) > 20
    assert all(row["step"].isdigit() for row in rows)  # no half-written line
    for line in (out / "events.jsonl").read_text().splitlines():
        json.loads(line)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_writes_summary(tmp_path):
    cfg = write(tmp_path, LONG_RUN)
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "run", str(cfg), "--headless", "--out", str(out)],
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "metrics.csv").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] > 0
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        assert json.loads(str(data["state"]))["step"] == summary["steps"]


@pytest.mark.parametrize(("text", "overrides", "extra", "needles"), BAD)
def test_every_bad_input_exits_2_naming_the_key(tmp_path, capsys, text, overrides, extra, needles):
    for name, content in extra.items():
        write(tmp_path, content, name)
    path = write(tmp_path, text)
    args = ["run", str(path), "--headless"]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_bad_input_in_a_real_process_has_no_traceback(run_cli):
    result = run_cli("run", "linear-regression", "--headless", "--set", "optim.lr=nan")
    assert result.returncode == 2
    assert "optim.lr" in result.stderr and "nan" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("run", "no-such-preset", "--headless")
    assert result.returncode == 2 and "no-such-preset" in result.stderr
    result = run_cli("run", "linear-regression", "--headless", "--steps", "0")
    assert result.returncode == 2 and "train.steps" in result.stderr


def test_list_shows_every_preset(run_cli):
    from engine.config import list_presets

    result = run_cli("list")
    assert result.returncode == 0
    for name in list_presets():
        assert name in result.stdout


def test_show_prints_the_resolved_toml_that_loads_back(run_cli, tmp_path):
    from engine.config import load_config

    result = run_cli("show", "linear-regression", "--set", "optim.lr=0.05")
    assert result.returncode == 0
    path = tmp_path / "shown.toml"
    path.write_text(result.stdout)
    cfg = load_config(path)
    assert cfg.optim.lr == 0.05 and cfg.name == "linear-regression"
