"""Snapshots before the data exists: what a compiling run already shows."""

from __future__ import annotations

import pytest

from engine.config import list_presets, load_config
from engine.live.snapshot import starting_snapshot
from engine.training.data import make_dataset
from engine.vocabulary import RunState, Status
from tests.engine.test_runner import SMALL_SPLIT


@pytest.mark.parametrize("name", list_presets())
def test_the_starting_train_size_is_the_size_the_data_will_have(name):
    cfg = load_config(name)
    assert starting_snapshot(cfg).train_size == len(make_dataset(cfg).train.y)


def test_the_starting_train_size_rounds_as_the_engine_does(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SPLIT)
    cfg = load_config(path)
    assert starting_snapshot(cfg).train_size == 6 == len(make_dataset(cfg).train.y)


def test_a_csv_run_has_no_train_size_before_it_is_read(tmp_path):
    (tmp_path / "table.csv").write_text("x,y\n1,2\n3,4\n5,6\n7,8\n9,10\n")
    path = tmp_path / "csv.toml"
    path.write_text("[data]\nkind = 'csv'\npath = 'table.csv'\n")
    assert starting_snapshot(load_config(path)).train_size is None


def test_a_starting_snapshot_shows_the_optimizer_rows_and_no_numbers():
    snap = starting_snapshot(load_config("grokking-mod97"))
    assert snap.state == RunState.COMPILING and snap.status == Status.COMPILING
    assert dict(snap.hparams)["optimizer"] == "adamw"
    assert {"beta1", "beta2"} <= set(dict(snap.hparams)) and "momentum" not in dict(snap.hparams)
    assert snap.step == 0 and snap.latest == () and snap.series == ()
