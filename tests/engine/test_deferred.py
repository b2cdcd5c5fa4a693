"""DeferredRunner: the Runner API at once, the runner itself built in the background."""

from __future__ import annotations

import threading

import pytest

from engine.errors import ConfigError
from engine.live.deferred import DeferredRunner
from engine.live.runner import Runner
from tests.configs import modular
from tests.engine.test_runner import wait_for


def test_commands_given_while_building_are_replayed_in_order(tmp_path):
    cfg = modular(tmp_path, steps=10_000_000)
    gate = threading.Event()

    def build():
        gate.wait(5)
        return Runner(cfg, start_paused=True)

    runner = DeferredRunner(cfg, build)
    runner.start()
    try:
        assert runner.snapshot().state == "compiling"
        runner.set("lr", 0.02)
        runner.step(3)
        with pytest.raises(ConfigError):
            runner.set("lr", -1.0)  # rejected at once, even before the engine exists
        gate.set()
        assert wait_for(lambda: runner.snapshot().step == 3)
        snap = runner.snapshot()
        assert snap.state == "paused" and snap.hparam("lr") == 0.02
    finally:
        runner.stop()
    assert not runner.is_alive


def test_a_failed_build_is_an_error_snapshot(tmp_path):
    cfg = modular(tmp_path)

    def build():
        raise ConfigError("data.csv", "row 3, column 'x'", "a number", "abc")

    runner = DeferredRunner(cfg, build)
    runner.start()
    assert wait_for(lambda: runner.snapshot().state == "error")
    assert "row 3" in runner.snapshot().error
    runner.stop()
