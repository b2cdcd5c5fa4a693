"""The run directory: --out checks, resuming into it, whole lines on a full disk, umask."""

from __future__ import annotations

import csv
import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from engine.config import with_overrides
from engine.errors import ConfigError
from engine.numerics.optim import lr_schedule
from engine.store import checkpoint, rundir
from engine.store.files import RunDirError, atomic_write_bytes
from engine.store.rundir import RUN_FILES, RunWriter, check_out_dir, continue_lines
from engine.training.session import CSV_COLUMNS, STOP_STEPS, Session
from tests.configs import linear, modular


def _rows(out: Path) -> list[dict]:
    with open(out / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


def _session_with_writer(cfg, out: Path, resumed_from: Path | None = None):
    session = Session(cfg)
    if resumed_from is not None:
        checkpoint.load_into(session, resumed_from)
    writer = RunWriter(out, session, resumed=resumed_from is not None)
    if resumed_from is None:
        session.begin()
    return session, writer


def _advance_to(session, step: int, chunk: int = 7) -> None:
    while session.step < step:
        session.advance(min(chunk, step - session.step))


# ---------------------------------------------------------------------- continue_lines
def test_continue_lines_drops_what_came_after_the_checkpoint_and_restores_what_was_lost():
    saved = [b"a\n", b"b\n", b"c\n"]
    assert continue_lines([b"a\n", b"b\n", b"c\n", b"d\n", b"e\n"], saved) == saved
    assert continue_lines([b"a\n"], saved) == saved  # lost before a flush: restored
    assert continue_lines([b"0\n", b"a\n", b"b\n"], saved) == [b"0\n", *saved]  # older kept
    assert continue_lines([b"x\n", b"y\n"], saved) == saved  # nothing in common
    # After a reset the steps repeat: the match is the line, not the step.
    assert continue_lines([b"a\n", b"b\n", b"c\n", b"a\n", b"z\n"], [b"b\n", b"c\n", b"a\n"]) == [
        b"a\n", b"b\n", b"c\n", b"a\n",
    ]  # fmt: skip


# ---------------------------------------------------------------------- resume into --out
def test_resuming_into_the_run_directory_has_every_step_once_as_an_uninterrupted_run(tmp_path):
    cfg = modular(tmp_path, optim="sgd", batch=8, wd=0.0, steps=10_000)
    straight, writer = _session_with_writer(cfg, tmp_path / "straight")
    _advance_to(straight, 120)
    writer.close()

    out = tmp_path / "run"
    first, writer = _session_with_writer(cfg, out)
    _advance_to(first, 50)
    checkpoint.save(first, out / "checkpoint.npz")
    saved_events = len(first.events)
    _advance_to(first, 90)  # written after the checkpoint, then the process dies
    first.note("pause", "paused after the checkpoint")
    writer.close()
    events_before = (out / "events.jsonl").read_text().splitlines()

    resumed, writer = _session_with_writer(cfg, out, resumed_from=out / "checkpoint.npz")
    resumed.note("resume", "resumed")
    _advance_to(resumed, 120)
    writer.close()

    rows = _rows(out)
    assert [int(r["step"]) for r in rows] == list(range(0, 121, 10))
    assert _without_time(rows) == _without_time(_rows(tmp_path / "straight"))
    events = (out / "events.jsonl").read_text().splitlines()
    assert events[:saved_events] == events_before[:saved_events]
    assert '"resumed"' in events[saved_events]  # the next line is the resume's own
    assert "paused after the checkpoint" not in "".join(events)
    np.testing.assert_array_equal(resumed.trainer.params, straight.trainer.params)


def test_a_resume_into_a_new_directory_writes_the_whole_history(tmp_path):
    cfg = linear(tmp_path, steps=10_000)
    first, writer = _session_with_writer(cfg, tmp_path / "a")
    _advance_to(first, 40)
    writer.close()
    checkpoint.save(first, tmp_path / "a" / "checkpoint.npz")
    resumed, writer = _session_with_writer(
        cfg, tmp_path / "b", resumed_from=tmp_path / "a" / "checkpoint.npz"
    )
    _advance_to(resumed, 60)
    writer.close()
    assert [int(r["step"]) for r in _rows(tmp_path / "b")] == [0, 10, 20, 30, 40, 50, 60]
    assert (tmp_path / "b" / "metrics.csv").read_text().startswith(",".join(CSV_COLUMNS))


def test_a_new_run_removes_the_summary_and_checkpoint_it_overwrites(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in RUN_FILES:
        (out / name).write_text("old run\n")
    _, writer = _session_with_writer(linear(tmp_path), out)
    writer.close()
    assert not (out / "summary.json").exists() and not (out / "checkpoint.npz").exists()
    assert "old run" not in (out / "metrics.csv").read_text()


# ---------------------------------------------------------------------- a full disk
def _disk_full_after(monkeypatch, budget: int):
    """Let `budget` more bytes reach the disk, then refuse with ENOSPC (a short write first,
    as a real filesystem does)."""
    left = [budget]

    def write(fd, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(data), left[0])
        left[0] -= n
        return os.write(fd, data[:n])

    monkeypatch.setattr(rundir, "_write", write)


def test_a_full_disk_leaves_whole_lines_and_says_which_file(tmp_path, monkeypatch):
    out = tmp_path / "run"
    session, writer = _session_with_writer(linear(tmp_path, steps=10_000), out)
    writer.flush()
    _disk_full_after(monkeypatch, 700)
    full = r"(metrics.csv|events.jsonl): could not write it: No space left"
    with pytest.raises(RunDirError, match=full):
        for _ in range(50):
            session.advance(10)
            writer.maybe_flush()
            writer.flush()
    assert writer.failure is not None
    with pytest.raises(RunDirError):
        writer.flush()  # and again, every time it is asked
    writer.close()
    text = (out / "metrics.csv").read_text()
    assert text.endswith("\n")
    assert all(len(line.split(",")) == len(CSV_COLUMNS) for line in text.splitlines())
    for line in (out / "events.jsonl").read_text().splitlines():
        assert line.endswith("}")


def test_a_summary_or_checkpoint_that_cannot_be_written_is_a_run_dir_error(tmp_path, monkeypatch):
    session, writer = _session_with_writer(linear(tmp_path), tmp_path / "run")

    def refuse(*_):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rundir, "save_checkpoint", refuse)
    with pytest.raises(RunDirError, match="checkpoint.npz: could not write it"):
        writer.finish(1.0)
    writer.close()


# ---------------------------------------------------------------------- --out checks
def test_out_checks_refuse_bad_paths_naming_out_and_the_reason(tmp_path):
    (tmp_path / "file").write_text("x")
    cases = {
        str(tmp_path / "file"): "an existing file",
        str(tmp_path / "file" / "sub"): "a path under",
        str(tmp_path / ("n" * 300)): "too long",
        str(tmp_path / "new" / ("n" * 300)): "too long",
        "": "an empty path",
        "a\0b": "NUL",
    }
    for out, reason in cases.items():
        with pytest.raises(ConfigError) as err:
            check_out_dir(out)
        assert "--out" in str(err.value) and reason in str(err.value), (out, err.value)


def test_out_holding_a_run_is_refused_unless_resumed_there_or_forced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    assert check_out_dir(str(out)) is False  # an empty folder is fine
    assert check_out_dir(str(tmp_path / "new" / "deeper")) is False
    assert not (tmp_path / "new").exists()  # the check creates nothing
    for name in RUN_FILES:
        (out / name).write_text("")
        with pytest.raises(ConfigError, match="--force.*--resume.*" + name.replace(".", r"\.")):
            check_out_dir(str(out))
        (out / name).unlink()
    (out / "checkpoint.npz").write_text("")
    assert check_out_dir(str(out), resumed_dir=out) is False  # goes on there
    assert check_out_dir(str(out), force=True) is True  # overwrites
    (out / "metrics.csv").mkdir()
    with pytest.raises(ConfigError, match="metrics.csv there is not a regular file"):
        check_out_dir(str(out), force=True)


def test_out_on_a_read_only_or_full_filesystem_is_refused(tmp_path, monkeypatch):
    def read_only(*_, **__):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    with monkeypatch.context() as patch:
        patch.setattr(rundir.tempfile, "mkstemp", read_only)
        with pytest.raises(ConfigError, match="not writable .Read-only file system"):
            check_out_dir(str(tmp_path / "run"))

    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(rundir.os, "statvfs", lambda _: Full())
    with pytest.raises(ConfigError, match="a full filesystem"):
        check_out_dir(str(tmp_path))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".groklab-probe")]


# ---------------------------------------------------------------------- umask
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_atomic_writes_respect_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic_write_bytes(tmp_path / "f.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f.json").st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


# ---------------------------------------------------------------------- resume, exactly
COSINE = ["optim.schedule=cosine", "optim.min_lr=0", "optim.warmup_steps=5"]


@pytest.mark.parametrize("schedule", ["cosine", "step", "warmup"])
def test_a_resume_with_the_same_budget_is_bit_exact_for_every_schedule(tmp_path, schedule):
    cfg = with_overrides(
        modular(tmp_path, optim="adam", batch=8, wd=0.0, steps=80),
        [f"optim.schedule={schedule}", "optim.warmup_steps=5", "optim.step_every=20"],
    )
    straight = Session(cfg)
    straight.begin()
    _advance_to(straight, 80)
    first = Session(cfg)
    first.begin()
    _advance_to(first, 33)
    checkpoint.save(first, tmp_path / "ck.npz")
    resumed = Session(checkpoint.load_config(tmp_path / "ck.npz"))
    checkpoint.load_into(resumed, tmp_path / "ck.npz")
    _advance_to(resumed, 80, chunk=11)
    np.testing.assert_array_equal(resumed.trainer.params, straight.trainer.params)
    assert [r[CSV_COLUMNS.index("lr")] for r in resumed.rows] == [
        r[CSV_COLUMNS.index("lr")] for r in straight.rows
    ]


def test_an_extended_budget_replans_the_cosine_from_the_current_step(tmp_path):
    cfg = with_overrides(modular(tmp_path, steps=100), COSINE)
    first = Session(cfg)
    first.begin()
    _advance_to(first, 100)
    assert first.current_lr() == 0.0 and first.stopped_by == STOP_STEPS
    checkpoint.save(first, tmp_path / "ck.npz")

    longer = with_overrides(checkpoint.load_config(tmp_path / "ck.npz"), ["train.steps=200"])
    resumed = Session(longer)
    checkpoint.load_into(resumed, tmp_path / "ck.npz")
    assert resumed.target_steps == 200 and resumed.stopped_by is None
    assert resumed.nothing_left() is None
    # From step 100 on, the lrs of a run started with the budget of 200.
    fresh = Session(longer).trainer.hp
    np.testing.assert_array_equal(
        lr_schedule(resumed.trainer.hp, 100, 100), lr_schedule(fresh, 100, 100)
    )
    assert resumed.current_lr() > 0
    _advance_to(resumed, 200)
    lrs = [r[CSV_COLUMNS.index("lr")] for r in resumed.rows]
    assert all(lr > 0 for lr in lrs[11:-1]) and lrs[-1] == 0.0


def test_going_on_after_the_end_replans_the_cosine_too(tmp_path):
    session = Session(with_overrides(modular(tmp_path, steps=100), COSINE))
    session.begin()
    _advance_to(session, 100)
    session.target_steps = 200  # what the runner does on resume after done
    assert session.trainer.hp.total_steps == 200 and session.current_lr() > 0


def test_a_finished_run_with_no_new_budget_has_nothing_left(tmp_path):
    cfg = linear(tmp_path, steps=30)
    session = Session(cfg)
    session.begin()
    _advance_to(session, 30)
    checkpoint.save(session, tmp_path / "ck.npz")
    again = Session(cfg)
    checkpoint.load_into(again, tmp_path / "ck.npz")
    said = again.nothing_left()
    assert said is not None and "step 30" in said and "--steps" in said


def test_a_test_result_from_before_the_resume_is_marked_stale(tmp_path):
    cfg = linear(tmp_path, steps=10_000)
    session = Session(cfg)
    session.begin()
    _advance_to(session, 20)
    session.evaluate_test()
    assert (session.test_report() or {})["stale"] is False
    checkpoint.save(session, tmp_path / "ck.npz")
    resumed = Session(cfg)
    checkpoint.load_into(resumed, tmp_path / "ck.npz")
    assert (resumed.test_report() or {})["stale"] is False  # nothing trained since
    resumed.advance(10)
    report = resumed.summary(1.0)["test"]
    assert report["stale"] is True and report["step"] == 20
    assert report["note"] == "test set scored at step 20, before the resume at step 20"
