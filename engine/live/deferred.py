"""A Runner whose construction happens in the background.

Building a Runner imports numba and loads (or compiles) the kernels: most of a second
with a warm cache, far longer with a cold one. A dashboard that waited for it would show
nothing. DeferredRunner offers the Runner API at once, answers with a `compiling`
snapshot until the real runner exists, queues commands given meanwhile, and replays them
in order. This module imports nothing heavy (no numba), by design.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from engine.live.snapshot import Snapshot, starting_snapshot
from engine.training.hparams import validate_hparam


class DeferredRunner:
    def __init__(self, cfg, build: Callable[[], object]) -> None:
        self.config = cfg
        self._build = build
        self._runner = None
        self._error: str | None = None
        self._pending: list[tuple[str, tuple]] = []
        self._lock = threading.Lock()
        self._placeholder = starting_snapshot(cfg)
        self._thread = threading.Thread(
            target=self._make, name=f"groklab-build-{cfg.name}", daemon=True
        )

    def _make(self) -> None:
        try:
            runner = self._build()
            runner.start()
        except Exception as exc:
            self._error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
            self._placeholder = starting_snapshot(self.config, "error", self._error, 1)
            return
        with self._lock:
            self._runner = runner
            pending, self._pending = self._pending, []
        for name, args in pending:
            getattr(runner, name)(*args)

    def _call(self, name: str, *args) -> None:
        with self._lock:
            if self._runner is None:
                self._pending.append((name, args))
                return
        getattr(self._runner, name)(*args)

    # ------------------------------------------------------------------ Runner API
    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def snapshot(self) -> Snapshot:
        runner = self._runner
        return runner.snapshot() if runner is not None else self._placeholder

    def pause(self) -> None:
        self._call("pause")

    def resume(self) -> None:
        self._call("resume")

    def toggle_pause(self) -> None:
        self._call("toggle_pause")

    def step(self, n: int = 1) -> None:
        self._call("step", n)

    def reset(self) -> None:
        self._call("reset")

    def reseed(self, seed: int) -> None:
        self._call("reseed", seed)

    def set(self, name: str, value) -> None:
        validate_hparam(self.config.optim.kind, name, value)  # reject now, with the reason
        self._call("set", name, value)

    def evaluate_test(self) -> None:
        self._call("evaluate_test")

    def export(self, path: Path | str | None = None) -> Path:
        if self._runner is None:
            raise RuntimeError("nothing to export yet: the run is still starting")
        return self._runner.export(path)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout)
        if self._runner is not None:
            self._runner.stop(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread.ident is not None:
            self._thread.join(timeout)
        if self._runner is None:
            return True
        return self._runner.wait(timeout)

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive() or (self._runner is not None and self._runner.is_alive)

    @property
    def session(self):
        return None if self._runner is None else self._runner.session

    @property
    def out_dir(self):
        return None if self._runner is None else self._runner.out_dir
