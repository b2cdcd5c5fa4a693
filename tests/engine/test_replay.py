"""`groklab replay`: a run directory, edits and resets included, is reproduced bit for bit,
and a tampered record is caught at the step where it was changed."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.config import list_presets, load_config
from engine.errors import ConfigError
from engine.live.replay import Replay, read_commands
from engine.live.runner import Runner
from engine.numerics import parallel
from engine.training.hparams import validate_hparam
from engine.training.trainer import Trainer
from tests.configs import modular

ROOT = Path(__file__).resolve().parents[2]


def _until(runner: Runner, predicate, what: str, timeout: float = 120.0):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        snap = runner.snapshot()
        if predicate(snap):
            return snap
        time.sleep(0.002)
    raise AssertionError(f"timed out waiting for {what}")


def record_run(cfg, out: Path, edit_at: int = 30, reset_at: int | None = 60) -> Path:
    """A run driven as a user would: steps while paused, an lr edit, a reset, then to the end."""
    runner = Runner(cfg, out_dir=out, start_paused=True)
    runner.start()
    _until(runner, lambda s: s.state == "paused", "the start")
    runner.step(edit_at)
    # A diverging preset may stop sooner: the edit and reset then follow the divergence.
    _until(runner, lambda s: s.step == edit_at or s.state == "diverged", "the first steps")
    runner.set("lr", validate_hparam(cfg.optim.kind, "lr", cfg.optim.lr * 0.5))
    if reset_at is not None:
        runner.step(reset_at - edit_at)
        _until(
            runner, lambda s: s.step == reset_at or s.state == "diverged", "steps before the reset"
        )
        runner.reset()
    runner.resume()
    assert runner.wait(300)
    runner.stop()
    return out


def _tamper_metric(out: Path, row_index: int, column: str) -> int:
    path = out / "metrics.csv"
    rows = list(csv.reader(path.open(newline="")))
    col = rows[0].index(column)
    rows[row_index][col] = repr(float(rows[row_index][col]) * (1 + 1e-12) + 1e-300)
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return int(rows[row_index][0])


def test_an_edited_and_reset_run_replays_bit_exact(tmp_path):
    out = record_run(modular(tmp_path, steps=150), tmp_path / "run")
    kinds = [c.kind for c in read_commands(out / "events.jsonl")]
    assert kinds == ["edit", "reset"]
    result = Replay(out).run()
    assert result.exact, result.reason
    assert result.steps == 60 + 150 and result.rows_compared > 20


def test_a_tampered_checkpoint_is_caught_at_its_step(tmp_path):
    out = record_run(modular(tmp_path, steps=150), tmp_path / "run", reset_at=None)
    path = out / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as data:
        members = {k: data[k] for k in data.files}
    members["param.1.bias"] = members["param.1.bias"] + 1e-15
    np.savez(path, **members)
    result = Replay(out).run()
    assert not result.exact
    assert result.first_difference == 150 and "param.1.bias" in result.reason


def test_a_tampered_metrics_row_is_caught_at_that_row(tmp_path):
    out = record_run(modular(tmp_path, steps=150), tmp_path / "run")
    step = _tamper_metric(out, row_index=5, column="val_loss")
    result = Replay(out).run()
    assert not result.exact
    assert result.first_difference == step == 40 and "val_loss" in result.reason


def test_an_edit_the_log_moved_is_caught_where_the_curves_part(tmp_path):
    out = record_run(modular(tmp_path, steps=150), tmp_path / "run", reset_at=None)
    events = out / "events.jsonl"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    for event in lines:
        if event["kind"] == "edit":
            event["step"] = 50  # it happened at step 30
    events.write_text("".join(json.dumps(e) + "\n" for e in lines))
    result = Replay(out).run()
    assert result.first_difference == 40, result.reason  # the first evaluation after step 30


def test_a_directory_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="config.toml"):
        Replay(tmp_path)
    with pytest.raises(ConfigError, match="no directory"):
        Replay(tmp_path / "nowhere")


EDIT = '{"step": 3, "time": 1, "kind": "edit", "detail": "x", "data": %s}\n'
# A run directory damaged by hand or by a disk: (file, bytes appended, what the line names).
DAMAGE = {
    "edit-without-name": ("events.jsonl", EDIT % "{}", "events.jsonl:"),
    "edit-bad-value": ("events.jsonl", EDIT % '{"name": "lr", "to": -1}', "optim.lr"),
    "edit-unknown-name": ("events.jsonl", EDIT % '{"name": "warp", "to": 1}', "optim.warp"),
    "event-not-an-object": ("events.jsonl", "[1, 2]\n", "events.jsonl:"),
    "event-undecodable": ("events.jsonl", "\udcff\n", "events.jsonl:"),
    "reset-negative": (
        "events.jsonl",
        '{"step": 3, "time": 1, "kind": "reset", "detail": "", "data": {"from_step": -4}}\n',
        "reset",
    ),
    "metrics-undecodable": ("metrics.csv", "\udcff\n", "metrics.csv"),
    "metrics-not-a-step": ("metrics.csv", "seven,1\n", "metrics.csv:"),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("recorded")
    return record_run(modular(tmp, steps=60), tmp / "run", edit_at=20, reset_at=None)


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_run_directory_is_refused_naming_the_file(recorded, tmp_path, damage):
    name, appended, named = DAMAGE[damage]
    out = tmp_path / "run"
    shutil.copytree(recorded, out)
    with (out / name).open("ab") as fh:
        fh.write(appended.encode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError, match=re.escape(named)):
        Replay(out)


def test_a_config_too_big_for_the_machine_is_refused_before_the_replay_builds_it(
    recorded, tmp_path, monkeypatch
):
    from engine.training import budget

    monkeypatch.setattr(budget, "available_memory", lambda: 1024)
    with pytest.raises(ConfigError, match="fits in memory"):
        Replay(recorded)


@pytest.mark.slow
@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_with_an_edit_and_a_reset_replays_bit_exact(preset, tmp_path):
    cfg = load_config(preset, [f"train.steps={min(load_config(preset).train.steps, 120)}"])
    out = record_run(cfg, tmp_path / "run", edit_at=20, reset_at=40)
    result = Replay(out).run()
    assert result.exact, result.reason


@pytest.mark.slow
def test_the_command_exits_0_when_exact_and_1_at_the_differing_step(tmp_path):
    out = record_run(modular(tmp_path, steps=150), tmp_path / "run")
    command = [sys.executable, "-m", "tui", "replay", str(out)]
    exact = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert exact.returncode == 0, exact.stderr
    assert "bit-exact" in exact.stdout
    step = _tamper_metric(out, row_index=3, column="train_loss")
    differs = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert differs.returncode == 1
    assert f"differs at step {step}" in differs.stderr and "Traceback" not in differs.stderr


def test_a_run_stopped_and_resumed_into_its_own_directory_replays_bit_exact(tmp_path):
    cfg = modular(tmp_path, steps=150)
    out = tmp_path / "run"
    assert cfg.optim.lr is not None
    first = Runner(cfg, out_dir=out, start_paused=True)
    first.start()
    _until(first, lambda s: s.state == "paused", "the start")
    first.set("lr", validate_hparam(cfg.optim.kind, "lr", cfg.optim.lr * 0.5))
    first.step(70)
    _until(first, lambda s: s.step == 70, "the first steps")
    first.stop()  # writes the checkpoint at step 70
    second = Runner(cfg, out_dir=out, resume=out / "checkpoint.npz")
    second.start()
    assert second.wait(300)
    second.stop()
    result = Replay(out).run()
    assert result.exact, result.reason
    assert result.steps == 150 and result.checkpoint_step == 150


@pytest.mark.skipif(
    not parallel.parallel_available() or parallel.pool_threads() < 2,
    reason="no parallel shards here",
)
def test_a_run_replays_bit_exact_on_a_machine_with_other_cores(tmp_path, monkeypatch):
    """A step's rows are sharded one shard per core and the shards' sums added in order:
    the bits follow the core count, so the run records it and the replay plans for it."""
    cfg = load_config("grokking-mod97", ["train.steps=60", "train.eval_every=20"])
    monkeypatch.setattr(parallel, "cores", lambda: 2)  # the recording machine
    assert Trainer(cfg).core_plan(cfg.optim.batch_size or 0)[0] == 2
    out = tmp_path / "run"
    runner = Runner(cfg, out_dir=out)
    runner.start()
    assert runner.wait(300)
    runner.stop()
    monkeypatch.setattr(parallel, "cores", lambda: 1)  # the replaying one
    result = Replay(out).run()
    assert result.exact, result.reason
    # Without the record, one core plans one shard: the sums part in the last bits.
    events = out / "events.jsonl"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    for event in lines:
        event["data"].pop("shard_cores", None)
    events.write_text("".join(json.dumps(event) + "\n" for event in lines))
    assert not Replay(out).run().exact


def test_the_recorded_core_count_is_read_checked_and_must_be_one(tmp_path):
    from engine.live.replay import recorded_shard_cores

    def log(*events) -> Path:
        path = tmp_path / "events.jsonl"
        path.write_text("".join(json.dumps({"step": 0, "time": 0.0, "detail": ""} | e) + "\n"
                                for e in events))  # fmt: skip
        return path

    start = {"kind": "start", "data": {"shard_cores": 2}}
    assert recorded_shard_cores(log(start)) == 2
    assert recorded_shard_cores(log({"kind": "start", "data": {}})) is None  # an older run
    unpaused = {"kind": "resume", "data": {}}  # a pause's end, not a resume from a file
    resumed_here = {"kind": "resume", "data": {"shard_cores": 2}}
    assert recorded_shard_cores(log(start, unpaused, resumed_here)) == 2
    for bad in (0, 2.5, "2", True):
        with pytest.raises(ConfigError, match="shard_cores"):
            recorded_shard_cores(log({"kind": "start", "data": {"shard_cores": bad}}))
    elsewhere = {"kind": "resume", "data": {"shard_cores": 1}}
    with pytest.raises(ConfigError, match="2, then 1"):
        recorded_shard_cores(log(start, elsewhere))
