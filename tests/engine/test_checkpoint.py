"""Checkpoints: documented layout, no pickles, and bit-exact resume."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from engine.config import with_overrides
from engine.errors import ConfigError
from engine.store import checkpoint
from engine.training.session import Session
from tests.configs import linear, modular


def run_steps(session, n, chunk=7):
    """Advance in odd-sized chunks so resume cannot rely on chunk boundaries."""
    while n > 0:
        k = min(chunk, n)
        session.advance(k)
        n -= k


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: linear(p, lr=0.05, steps=10_000), id="gd"),
        pytest.param(
            lambda p: modular(p, optim="sgd", batch=8, wd=0.0, steps=10_000), id="sgd-minibatch"
        ),
        pytest.param(
            lambda p: modular(p, optim="adamw", batch=16, wd=0.5, steps=10_000), id="adamw"
        ),
        pytest.param(
            lambda p: modular(p, optim="momentum", batch=0, wd=0.0, steps=10_000), id="momentum"
        ),
    ],
)
def test_resume_is_bit_exact(tmp_path, make):
    cfg = make(tmp_path)
    straight = Session(cfg)
    straight.begin()
    run_steps(straight, 60)

    first = Session(cfg)
    first.begin()
    run_steps(first, 25, chunk=5)
    path = tmp_path / "ck.npz"
    checkpoint.save(first, path)

    resumed = Session(checkpoint.load_config(path))
    checkpoint.load_into(resumed, path)
    assert resumed.step == 25
    run_steps(resumed, 35, chunk=11)

    assert resumed.step == straight.step == 60
    np.testing.assert_array_equal(resumed.trainer.params, straight.trainer.params)
    np.testing.assert_array_equal(resumed.trainer.m, straight.trainer.m)
    np.testing.assert_array_equal(resumed.trainer.v, straight.trainer.v)
    assert resumed.trainer.epoch == straight.trainer.epoch  # counted in rows: exact


def test_layout_is_documented_and_loads_without_pickle(tmp_path):
    cfg = modular(tmp_path)
    session = Session(cfg)
    session.begin()
    session.advance(20)
    path = tmp_path / "ck.npz"
    checkpoint.save(session, path)
    with np.load(path, allow_pickle=False) as data:
        w0, b0 = data["param.0.weight"], data["param.0.bias"]
        w1 = data["param.1.weight"]
        assert w0.shape == (22, 16) and b0.shape == (16,)  # fan_in x fan_out
        assert w1.shape == (16, 11)
        config = json.loads(str(data["config"]))
        assert config["name"] == "test-modular"
        state = json.loads(str(data["state"]))
        assert state["step"] == 20
        assert "bit_generator" in state["sampler"]
        assert state["events"][0]["kind"] == "start"
        assert data["optim.m"].shape == data["optim.v"].shape == (22 * 16 + 16 + 16 * 11 + 11,)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file


def test_resume_keeps_history_and_monitor(tmp_path):
    cfg = modular(tmp_path)
    session = Session(cfg)
    session.begin()
    session.advance(50)
    path = tmp_path / "ck.npz"
    checkpoint.save(session, path)
    resumed = Session(cfg)
    checkpoint.load_into(resumed, path)
    steps, values = resumed.history.series("train_loss")
    np.testing.assert_array_equal(values, session.history.series("train_loss")[1])
    assert resumed.monitor.state_dict() == session.monitor.state_dict()
    assert len(resumed.events) == len(session.events)


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    from engine.errors import ConfigError

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ConfigError) as err:
        checkpoint.load_config(bad)
    assert "bad.npz" in str(err.value)
    with pytest.raises(ConfigError):
        checkpoint.load_config(tmp_path / "missing.npz")


def test_a_checkpoint_of_another_format_is_refused_by_name(tmp_path):
    from engine.errors import ConfigError

    session = Session(modular(tmp_path))
    path = tmp_path / "old.npz"
    checkpoint.save(session, path)
    with np.load(path, allow_pickle=False) as data:
        members = {k: data[k] for k in data.files}
    state = json.loads(str(members["state"]))
    members["state"] = np.array(json.dumps({**state, "format": 1}))
    np.savez(path, **members)
    assert checkpoint.load_config(path) == session.cfg  # the config is still readable
    with pytest.raises(ConfigError, match=f"format {checkpoint.FORMAT}.*format 1"):
        checkpoint.load_into(Session(session.cfg), path)


def test_same_seed_same_parameters_after_n_steps_other_seed_different(tmp_path):
    def params_after(seed, steps=40):
        cfg = modular(tmp_path, optim="sgd", batch=8, wd=0.0)
        session = Session(with_overrides(cfg, [], seed=seed))
        session.begin()
        run_steps(session, steps)
        return session.trainer.params.copy()

    np.testing.assert_array_equal(params_after(3), params_after(3))
    assert not np.array_equal(params_after(3), params_after(4))


# --------------------------------------------------------------------------- validation


def _members(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _tampered(path, out, **changes):
    members = _members(path)
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            members.pop(key)
        else:
            members[key] = value
    np.savez(out, **members)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint after some steps (best parameters, events, rows and history set)."""
    tmp_path = tmp_path_factory.mktemp("trained")
    cfg = modular(tmp_path, optim="adamw", batch=16, wd=0.5, steps=10_000)
    session = Session(cfg)
    session.begin()
    run_steps(session, 30)
    path = tmp_path / "ck.npz"
    checkpoint.save(session, path)
    return cfg, path


def test_a_trained_checkpoint_passes_its_checks(trained):
    cfg, path = trained
    assert "best_params" in _members(path)  # the optional member is there
    checkpoint.check(Session(cfg), path)


def _state(path):
    return json.loads(str(_members(path)["state"]))


@pytest.mark.parametrize(
    ("change", "member"),
    [
        (lambda m, s: {"param__1__weight": np.zeros((3, 3))}, "param.1.weight"),
        (lambda m, s: {"optim__v": m["optim.v"].astype(np.float32)}, "optim.v"),
        (lambda m, s: {"best_params": np.zeros(2)}, "best_params"),
        (lambda m, s: {"optim__grad": None}, "optim.grad"),
        (lambda m, s: {"mystery": np.zeros(1)}, "mystery"),
        (lambda m, s: {"history__meta": np.array([1, 8, 8])}, "history.meta"),
        (lambda m, s: {"state": np.array(json.dumps({**s, "step": s["target_steps"] + 1}))},
         "state.step"),
        (lambda m, s: {"state": np.array(json.dumps({**s, "rows_seen": -1}))}, "state.rows_seen"),
        (lambda m, s: {"state": np.array(json.dumps({**s, "events": [{"step": 0}]}))},
         "state.events[0]"),
        (lambda m, s: {"state": np.array(json.dumps({**s, "monitor": {**s["monitor"], "x": 1}}))},
         "state.monitor.x"),
        (lambda m, s: {"state": np.array(json.dumps({**s, "last_ratio": "fast"}))},
         "state.last_ratio"),
    ],
)  # fmt: skip
def test_a_tampered_checkpoint_is_refused_naming_the_member(trained, tmp_path, change, member):
    cfg, path = trained
    changes = change(_members(path), _state(path))
    bad = _tampered(path, tmp_path / "bad.npz", **changes)
    with pytest.raises(ConfigError) as info:
        checkpoint.check(Session(cfg), bad)
    assert info.value.key == member and info.value.source == str(bad)


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "ck.npz"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="a FIFO"):
        checkpoint.load_config(fifo)  # opening it would wait for a writer forever


def test_resume_refuses_changes_to_what_the_arrays_were_made_for(trained):
    cfg, path = trained
    assert checkpoint.resume_config(path, ["train.steps=20000", "optim.lr=0.5"]).optim.lr == 0.5
    for overrides, seed, key in [
        (["model.kind=linear"], None, "model.kind"),
        (["model.hidden=[8]"], None, "model.hidden"),
        (["data.p=13"], None, "data.p"),
        (["train.precision=float32"], None, "train.precision"),
        ([], 7, "train.seed"),
    ]:
        with pytest.raises(ConfigError) as info:
            checkpoint.resume_config(path, overrides, seed=seed)
        assert info.value.key == key
        assert info.value.source == ("--seed" if seed is not None else "--set")
