"""Small run configs for tests, written as TOML so they go through the real loader."""

from __future__ import annotations

from pathlib import Path

from engine.config import load_config

MLP_MODULAR = """
name = "test-modular"
[data]
kind = "modular"
p = 11
train_fraction = 0.5
[model]
kind = "mlp"
hidden = [16]
activation = "relu"
[optim]
kind = "{optim}"
lr = {lr}
batch_size = {batch}
weight_decay = {wd}
[train]
steps = {steps}
eval_every = 10
stop_on_converged = false
"""

LINEAR = """
name = "test-linear"
[data]
kind = "linear"
[model]
kind = "linear"
bias = false
[optim]
kind = "gd"
lr = {lr}
[train]
steps = {steps}
eval_every = 10
"""


def write_config(tmp_path: Path, template: str, **values):
    path = tmp_path / f"cfg-{abs(hash((template, tuple(sorted(values.items())))))}.toml"
    path.write_text(template.format(**values))
    return load_config(path)


def modular(tmp_path: Path, optim="adamw", lr=0.01, batch=0, wd=0.1, steps=200):
    return write_config(tmp_path, MLP_MODULAR, optim=optim, lr=lr, batch=batch, wd=wd, steps=steps)


def linear(tmp_path: Path, lr=0.01, steps=200):
    return write_config(tmp_path, LINEAR, lr=lr, steps=steps)


def run_to_end(session, chunk: int = 1000) -> None:
    """Begin a Session and advance it until it says it is finished (budget, stop, divergence)."""
    session.begin()
    finished = False
    while not finished:
        finished = session.advance(chunk).finished
