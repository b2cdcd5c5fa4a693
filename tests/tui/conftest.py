"""Fixtures for the TUI tests; the fake runner and the app driver live in fakes.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import fakes` in test files

from fakes import classifier_config, make_config


@pytest.fixture
def presets():
    return [
        make_config(),
        classifier_config(),
        make_config(
            "toy-momentum",
            title="Momentum on an ill-conditioned quadratic",
            phenomenon="momentum",
            description="Heavy-ball momentum against plain GD.",
            optim={"kind": "momentum", "lr": 0.05, "batch_size": 16},
        ),
    ]
