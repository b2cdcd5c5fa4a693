"""Which hyperparameter rows a run shows, and what a live edit accepts."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.numerics.optim import HParams
from engine.training.hparams import shown_hparams, validate_hparam
from engine.training.session import Session
from tests.configs import modular


def rows(tmp_path, lr_now=0.5, **changes):
    hp = HParams.from_config(modular(tmp_path, optim=changes.pop("optim", "adamw")))
    return shown_hparams(hp.with_(**changes), lr_now)


def test_adam_shows_its_betas_and_no_momentum(tmp_path):
    shown = rows(tmp_path, optim="adam")
    assert [name for name, _ in shown] == [
        "optimizer", "lr", "weight_decay", "batch_size", "beta1", "beta2", "schedule",
    ]  # fmt: skip
    assert dict(shown)["beta2"] == 0.999


def test_momentum_shows_momentum_and_plain_sgd_neither(tmp_path):
    assert "momentum" in dict(rows(tmp_path, optim="nesterov"))
    sgd = dict(rows(tmp_path, optim="sgd"))
    assert not {"momentum", "beta1", "beta2"} & set(sgd)


def test_lr_now_only_when_a_schedule_moves_the_lr(tmp_path):
    assert "lr_now" not in dict(rows(tmp_path))
    cosine = rows(tmp_path, schedule="cosine")
    assert [name for name, _ in cosine][:3] == ["optimizer", "lr", "lr_now"]
    assert dict(cosine)["lr_now"] == 0.5
    assert "lr_now" in dict(rows(tmp_path, warmup_steps=10))


def test_penalties_and_clipping_only_when_on(tmp_path):
    assert not {"l1", "l2", "clip_norm"} & set(dict(rows(tmp_path)))
    shown = rows(tmp_path, l2=0.1, clip_norm=1.0)
    assert [name for name, _ in shown][-2:] == ["l2", "clip_norm"]


@pytest.mark.parametrize(
    ("optimizer", "name", "value", "expected"),
    [
        ("adamw", "lr", 1, 1.0),
        ("sgd", "batch_size", 32.0, 32),
        ("momentum", "momentum", 0.5, 0.5),
    ],
)
def test_a_valid_edit_comes_back_as_its_proper_type(optimizer, name, value, expected):
    got = validate_hparam(optimizer, name, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("optimizer", "name", "value"),
    [
        ("gd", "batch_size", 8),  # gd is full batch
        ("adam", "momentum", 0.5),  # adam has no momentum setting
        ("sgd", "weight_decay", -1.0),
        ("sgd", "lr", True),
        ("sgd", "eps", 1e-8),  # not live
    ],
)
def test_an_invalid_edit_says_why(optimizer, name, value):
    with pytest.raises(ConfigError) as err:
        validate_hparam(optimizer, name, value)
    assert name in str(err.value)


def test_a_script_editing_a_session_is_validated_too(tmp_path):
    session = Session(modular(tmp_path, optim="adamw", lr=0.01))
    with pytest.raises(ConfigError):
        session.set_hparam("lr", 0.0)
    assert session.trainer.hp.lr == 0.01 and not session.events
    session.set_hparam("lr", 1)
    assert session.trainer.hp.lr == 1.0 and session.edited == {"lr"}
    (edit,) = session.events
    assert edit.kind == "edit" and dict(edit.data) == {"name": "lr", "from": 0.01, "to": 1.0}
