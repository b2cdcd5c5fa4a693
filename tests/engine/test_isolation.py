"""The engine runs without the terminal UI's libraries; a runner starts without numba."""

from __future__ import annotations

import json

# Imported explicitly; every other module under engine/ is found and imported
# too, so a new module cannot slip a textual/rich import past this test.
ENGINE_MODULES = ["engine", "engine.errors", "engine.training.history"]
UI_LIBRARIES = ("textual", "rich")

_PROBE = """
import importlib, json, pkgutil, sys
names = {names!r}
for name in names:
    importlib.import_module(name)
import engine
for info in pkgutil.iter_modules(engine.__path__, "engine."):
    importlib.import_module(info.name)
    names.append(info.name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in {ui!r})
print(json.dumps({{"imported": sorted(set(names)), "ui": ui}}))
"""


def test_engine_imports_no_ui_library(run_python):
    proc = run_python(_PROBE.format(names=ENGINE_MODULES, ui=UI_LIBRARIES))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(ENGINE_MODULES) <= set(result["imported"])
    assert result["ui"] == [], f"engine pulled in UI modules: {result['ui']}"


def test_engine_runs_with_ui_libraries_unimportable(run_python):
    # Stronger than checking sys.modules: even a guarded import would fail.
    code = (
        "import sys\n"
        f"for lib in {UI_LIBRARIES!r}: sys.modules[lib] = None\n"
        "import numpy as np\n"
        "from engine.training.history import MetricHistory\n"
        "h = MetricHistory(['loss'], recent=8, buckets=4)\n"
        "h.extend(np.arange(100), {'loss': np.linspace(1, 0, 100)})\n"
        "print(h.count('loss'), h.last('loss'))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["100", "0.0"]


def test_building_a_runner_imports_no_numba(run_python):
    # Runner(cfg) reads the data in the caller's thread; the kernels (numba) are the
    # runner thread's first job, while its snapshot says compiling.
    code = (
        "import sys\n"
        "import engine.live.runner\n"
        "from engine.config import load_config\n"
        "runner = engine.live.runner.Runner(load_config('linear-regression'))\n"
        "print(runner.snapshot().state, runner.snapshot().train_size)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["compiling 100", "[]"]  # the seed's 100 training points
