"""Every attribute of a session survives a checkpoint, so a new field cannot be left out.

The comparison walks `vars()` of the Session, its Trainer (and sampler) and its
ConvergenceMonitor. Only the attributes listed below with a reason are skipped: adding
an attribute to any of these classes without saving it (or listing it here) fails.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from numbers import Number

import numpy as np
import pytest

from engine.config import with_overrides
from engine.numerics.optim import BatchSampler
from engine.store import checkpoint
from engine.training.history import MetricHistory
from engine.training.monitor import ConvergenceMonitor
from engine.training.session import Session
from engine.training.trainer import Trainer
from tests.configs import linear, modular

# Attributes that are not state, per class, and why. Everything else must round-trip.
NOT_STATE: dict[type, dict[str, str]] = {
    Session: {
        "cfg": "the config: a resumed session is built from the checkpoint's own",
        "listeners": "callbacks of this process (a run directory's writer)",
        "_t0": "a clock: event times count from this process's start",
        "_chunk_start": "a clock, set only inside advance()",
        "resumed_at": "the step this process loaded the run at: set by the load itself",
    },
    Trainer: {
        "cfg": "the config",
        "data": "made from the config (seeded)",
        "arch": "made from the config",
        "dtype": "made from the config",
        "splits": "made from the config's data",
        "impl": "chosen by the caller, not the run",
        "_meta": "made from the architecture",
        "decay_mask": "made from the architecture and optim.decay_biases",
        "_scratch": "the kernels' workspace: its contents mean nothing between calls",
        "_parallel": "this machine's timings; serial and parallel shards compute the same bits",
    },
    BatchSampler: {"n_rows": "the training split's size, from the config"},
    ConvergenceMonitor: {"settings": "from the config and the guarantee's floor"},
}


def assert_same_state(a, b) -> None:
    failures: list[str] = []
    _same(a, b, type(a).__name__, failures)
    assert not failures, "not restored by a checkpoint:\n  " + "\n  ".join(failures)


def _same(a, b, path: str, failures: list[str]) -> None:
    if type(a) in NOT_STATE:
        if type(b) is not type(a):
            failures.append(f"{path}: {type(a).__name__} became {type(b).__name__}")
            return
        skipped = NOT_STATE[type(a)]
        stale = set(skipped) - set(vars(a))
        assert not stale, f"{path}: NOT_STATE lists attributes that no longer exist: {stale}"
        if vars(a).keys() != vars(b).keys():
            failures.append(f"{path}: attributes {sorted(vars(a))} vs {sorted(vars(b))}")
        for name, value in vars(a).items():
            if name not in skipped:
                _same(value, getattr(b, name, None), f"{path}.{name}", failures)
    elif isinstance(a, MetricHistory):
        # Its buffers hold stale values past their fill marks; its state dict is exact.
        _same(a.state_dict(), b.state_dict(), f"{path}.state_dict()", failures)
    elif isinstance(a, np.random.Generator):
        _same(a.bit_generator.state, b.bit_generator.state, f"{path}.state", failures)
    elif isinstance(a, np.ndarray):
        if not (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        ):
            failures.append(f"{path}: arrays differ")
    elif is_dataclass(a) and not isinstance(a, type):
        if type(b) is not type(a):
            failures.append(f"{path}: {type(a).__name__} became {type(b).__name__}")
            return
        for f in fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", failures)
    elif isinstance(a, Mapping):
        if not isinstance(b, Mapping) or a.keys() != b.keys():
            failures.append(f"{path}: {a!r} vs {b!r}")
            return
        for key in a:
            _same(a[key], b[key], f"{path}[{key!r}]", failures)
    elif isinstance(a, (list, tuple, deque)):
        if type(b) is not type(a) or len(a) != len(b):
            failures.append(f"{path}: {type(a).__name__} of {len(a)} vs {b!r:.80}")
            return
        if isinstance(a, deque) and isinstance(b, deque) and a.maxlen != b.maxlen:
            failures.append(f"{path}: maxlen {a.maxlen} vs {b.maxlen}")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]", failures)
    elif isinstance(a, float) and math.isnan(a):
        if not (isinstance(b, float) and math.isnan(b)):
            failures.append(f"{path}: nan vs {b!r}")
    elif isinstance(a, Number) and not isinstance(a, bool):
        if not (isinstance(b, Number) and not isinstance(b, bool) and a == b):
            failures.append(f"{path}: {a!r} vs {b!r}")
    elif type(a) is not type(b) or a != b:
        failures.append(f"{path}: {a!r} vs {b!r}")


def reload(session: Session, tmp_path) -> Session:
    path = tmp_path / "ck.npz"
    checkpoint.save(session, path)
    resumed = Session(checkpoint.load_config(path))
    checkpoint.load_into(resumed, path)
    return resumed


def run(session: Session, steps: int, chunk: int = 7) -> None:
    while steps > 0:
        session.advance(min(chunk, steps))
        steps -= chunk


def minibatch_session(tmp_path) -> Session:
    """sgd on minibatches of 8: live edits, a best to restore, early stopping, a test score."""
    cfg = modular(tmp_path, optim="sgd", lr=0.5, batch=8, wd=0.0, steps=10_000)
    cfg = with_overrides(cfg, ["train.early_stopping=true", "train.patience=3"])
    session = Session(cfg)
    session.begin()
    run(session, 23)
    session.set_hparam("lr", 0.8)
    session.set_hparam("batch_size", 5)
    run(session, 18, chunk=5)
    session.evaluate_test()
    while session.early_stopped_at is None and session.step < 3000:
        run(session, 10)
    assert session.early_stopped_at is not None and session.restored_from is not None
    run(session, 3)  # and on a little, off an evaluation boundary and mid-epoch
    pos = session.trainer.sampler.pos
    assert 0 < pos < session.trainer.sampler.n_rows
    return session


def quadratic_session(tmp_path) -> Session:
    """gd on a least-squares problem: a guarantee, remade by an lr edit at step 40."""
    session = Session(linear(tmp_path, lr=0.05, steps=10_000))
    session.begin()
    run(session, 40)
    session.set_hparam("lr", 0.02)
    run(session, 25)
    session.evaluate_test()
    assert session.guarantee is not None and session.observed_contraction() > 0
    return session


def diverged_session(tmp_path) -> Session:
    """A learning rate far past 2/L: non-finite losses in the records, rows and tail."""
    session = Session(linear(tmp_path, lr=50.0, steps=10_000))
    session.begin()
    while session.monitor.status != "diverged" and session.step < 2000:
        run(session, 10)
    session.evaluate_test()
    assert session.monitor.status == "diverged"
    return session


SCENARIOS = [
    pytest.param(minibatch_session, id="sgd-minibatch-edits-early-stop"),
    pytest.param(quadratic_session, id="gd-quadratic-lr-edit"),
    pytest.param(diverged_session, id="diverged"),
]


@pytest.mark.parametrize("make", SCENARIOS)
def test_every_attribute_survives_a_checkpoint(tmp_path, make):
    session = make(tmp_path)
    assert_same_state(session, reload(session, tmp_path))


def test_the_comparison_notices_a_field_left_out(tmp_path):
    session = quadratic_session(tmp_path)
    vars(session.trainer)["new_counter"] = 3  # fields nobody taught the state dict about
    vars(session.monitor)["_new_flag"] = True
    with pytest.raises(AssertionError) as err:
        assert_same_state(session, reload(session, tmp_path))
    assert "new_counter" in str(err.value) and "_new_flag" in str(err.value)


def test_state_dict_holds_arrays_at_the_top_and_plain_values_below(tmp_path):
    state = quadratic_session(tmp_path).state_dict()

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (bool, int, float, str))

    for key, value in state.items():
        assert isinstance(value, np.ndarray) or plain(value), key


@pytest.mark.parametrize("make", [minibatch_session, quadratic_session], ids=["sgd", "gd"])
def test_continuing_after_a_load_is_bit_identical(tmp_path, make):
    session = make(tmp_path)
    resumed = reload(session, tmp_path)
    for s in (session, resumed):
        s.set_hparam("lr", 0.01)  # edits after the load behave alike too
        run(s, 37, chunk=6)
    tr, tr2 = session.trainer, resumed.trainer
    assert tr2.step == tr.step
    for name in ("params", "m", "v", "grad"):
        np.testing.assert_array_equal(getattr(tr2, name), getattr(tr, name))
    assert tr2.epoch == tr.epoch
    assert_same_state(tr, tr2)
    assert_same_state(session.monitor, resumed.monitor)
    np.testing.assert_array_equal(
        resumed.history.series("step_loss")[1], session.history.series("step_loss")[1]
    )
