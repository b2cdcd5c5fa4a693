"""One script of RunControl calls, played against the test fake and the real Runner.

The UI tests trust FakeRunner to behave like engine.live.runner.Runner; this test is
what earns that trust: the same public calls, the same observations (states reached,
step counts, events, edits) from both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fakes import FakeRunner, make_config

from engine.config import load_config, with_overrides
from engine.errors import ConfigError
from engine.live.control import RunControl
from engine.live.snapshot import Snapshot
from engine.vocabulary import RunState

# The fake must satisfy the protocol for the type checker too, not only at run time.
_typed: Callable[[], RunControl] = lambda: FakeRunner(make_config())  # noqa: E731


def until(
    runner: RunControl, condition: Callable[[Snapshot], bool], what: str, timeout: float = 30.0
) -> Snapshot:
    """The first snapshot for which `condition` holds, polled every millisecond."""
    end = time.monotonic() + timeout
    while True:
        snap = runner.snapshot()
        if condition(snap):
            return snap
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what} (state {snap.state})")
        time.sleep(0.001)


def kinds(snap: Snapshot) -> set[str]:
    return {event.kind for event in snap.events}


def play(runner: RunControl) -> dict:
    """The script: start, pause, step(3), edit lr, a refused edit, reset, test, resume,
    stop. Returns what a front end could see along the way."""
    seen: dict = {}
    runner.start()
    # The first wait may include compiling the kernels on a cold cache (CI): be generous.
    snap = until(
        runner, lambda s: s.state == RunState.RUNNING and s.step > 0, "training", timeout=300
    )
    seen["started"] = RunState(snap.state)
    seen["hparams shown"] = [name for name, _ in snap.hparams]
    seen["train_size"] = snap.train_size

    runner.pause()
    snap = until(runner, lambda s: s.state == RunState.PAUSED, "the pause")
    paused_at = snap.step
    seen["paused"] = RunState(snap.state), "pause" in kinds(snap)

    runner.step(3)
    snap = until(runner, lambda s: s.step == paused_at + 3, "three steps")
    seen["after step(3)"] = RunState(snap.state), "step" in kinds(snap)

    lr = snap.hparam("lr")
    assert isinstance(lr, float)
    runner.set("lr", lr * 2)
    snap = until(runner, lambda s: "lr" in s.edited, "the edit")
    seen["edited"] = snap.edited, snap.hparam("lr") == lr * 2, "edit" in kinds(snap)
    with pytest.raises(ConfigError, match="momentum"):
        runner.set("momentum", 0.5)  # gd has none: refused at once, with the reason

    runner.reset()
    snap = until(runner, lambda s: "reset" in kinds(s) and s.step == 0, "the reset")
    seen["after reset"] = RunState(snap.state), snap.edited, snap.hparam("lr") == lr * 2

    runner.evaluate_test()
    snap = until(runner, lambda s: s.test is not None, "the test evaluation")
    seen["tested"] = "test" in kinds(snap), dict(snap.test or ()).keys() >= {"test_loss"}

    runner.resume()
    snap = until(runner, lambda s: s.state == RunState.RUNNING and s.step > 0, "the resume")
    seen["resumed"] = RunState(snap.state), "resume" in kinds(snap)

    runner.stop()
    seen["alive after stop"] = runner.is_alive
    return seen


def contract_config():
    # Long enough that it is still running whenever the script looks.
    overrides = ["train.steps=10000000", "train.stop_on_converged=false"]
    return with_overrides(load_config("linear-regression"), overrides)


def test_the_fake_is_a_run_control():
    assert isinstance(FakeRunner(make_config()), RunControl)
    assert isinstance(_typed(), RunControl)


def test_the_fake_and_the_real_runner_answer_the_script_alike():
    from engine.live.runner import Runner

    cfg = contract_config()
    fake, real = play(FakeRunner(cfg)), play(Runner(cfg))
    # The real runner publishes train_size once engine.live fills it; until then, None.
    assert real.pop("train_size") in (None, fake.pop("train_size"))
    assert fake == real
    assert fake["edited"] == (frozenset({"lr"}), True, True)
    assert fake["after reset"] == (RunState.PAUSED, frozenset({"lr"}), True)
