"""Shared test fixtures: run the CLI, or Python code, in a fresh process as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Plain, deterministic output: no colour codes, a fixed width for tables.
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "100"
    env.pop("FORCE_COLOR", None)
    if extra:
        env.update(extra)
    return env


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def on_an_empty_cache(tmp_path: Path) -> Callable[[str, float], Any]:
    """Run a Python script from the checkout in a fresh process with an empty Numba cache;
    returns the JSON its last line of output prints (the script failing fails the test)."""

    def run(script: str, timeout: float) -> Any:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m tui ARGS...` in a subprocess with no stdin; returns the CompletedProcess.

    The working directory defaults to a fresh temporary folder, so nothing a
    test runs can depend on (or litter) the repository checkout.
    """

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tui", *args],
            cwd=cwd or tmp_path,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def run_python() -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -c CODE` in a fresh interpreter (fresh sys.modules) from the repo root."""

    def run(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
