"""The options that let a preset follow a paper: mse on one-hot targets, a shared
embedding, weight decay on every parameter and the initializations (engine side)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.config import load_config, with_overrides
from engine.numerics.model import EMBEDDING
from engine.training.budget import needs
from engine.training.session import Session
from engine.training.trainer import Trainer

SMALL_MODULAR = [
    "data.p=11", "model.hidden=[16]", "train.steps=40", "train.eval_every=10",
]  # fmt: skip


def _modular(*overrides: str):
    return load_config("grokking-mod97", [*SMALL_MODULAR, *overrides])


def test_mse_on_class_labels_is_classification_scored_by_argmax():
    cfg = load_config("spiral", ["loss.kind=mse", "train.steps=200"])
    assert cfg.is_classification
    session = Session(cfg)
    session.begin()
    session.advance(200)
    record = session.last_record
    assert record is not None
    assert session.task == "classification"
    assert 0.0 <= record["val_acc"] <= 1.0 and record["val_mad"] is None
    # the loss is the mean squared error over every row and class of the one-hot targets
    trainer = session.trainer
    out = trainer.predict(trainer.data.train.X)
    onehot = np.eye(out.shape[1])[trainer.data.train.y]
    assert record["train_loss"] == pytest.approx(np.mean((out - onehot) ** 2), rel=1e-9)
    accuracy = np.mean(out.argmax(axis=1) == trainer.data.train.y)
    assert record["train_acc"] == pytest.approx(accuracy)


def test_a_csv_trained_with_mse_stays_regression(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    cfg = load_config("linear-regression", ["data.kind=csv", f"data.path={path}"])
    assert cfg.loss.kind == "mse" and not cfg.is_classification


def test_the_shared_embedding_is_one_table_for_both_operands():
    cfg = _modular("model.embedding=6")
    trainer = Trainer(cfg)
    first = trainer.arch.layers[0]
    assert first.b_offset == EMBEDDING and (first.fan_in, first.fan_out) == (11, 6)
    assert trainer.arch.layers[1].fan_in == 12  # two rows of 6 side by side
    # an operand's row is the same whether it is a or b: swap them and the hidden layer's
    # input swaps halves
    (table, _), (w1, _), _ = trainer.arch.views(trainer.params)
    a, b = 3, 7
    row_ab = np.concatenate([table[a], table[b]])
    row_ba = np.concatenate([table[b], table[a]])
    assert np.array_equal(row_ab[:6], row_ba[6:])
    x = np.array([[a, b + 11], [b, a + 11]])
    h = trainer.predict(x, probabilities=False)
    expected = (
        np.stack([(row_ab @ w1) ** 2, (row_ba @ w1) ** 2])
        @ trainer.arch.views(trainer.params)[2][0]
    )
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_the_budget_counts_the_embedding_table():
    cfg = _modular("model.embedding=6")
    trainer = Trainer(cfg)
    params = next(n for n in needs(cfg) if "parameters" in n.what)
    assert params.what.startswith(f"{trainer.arch.n_params:,} parameters")
    huge = _modular("model.embedding=100000", "model.hidden=[4]")
    assert next(n for n in needs(huge) if "parameters" in n.what).key == "model.embedding"


def test_decay_biases_decays_every_parameter():
    base = load_config("spiral", ["optim.kind=adamw", "optim.lr=0.1", "optim.weight_decay=0.5"])
    for decay_biases, expect_all in ((False, False), (True, True)):
        cfg = with_overrides(base, [f"optim.decay_biases={str(decay_biases).lower()}"])
        trainer = Trainer(cfg)
        mask = trainer.decay_mask  # what the kernels decay
        assert bool(mask.all()) == expect_all
        assert mask.any()


def test_initializations_follow_their_definitions():
    cfg = _modular("model.embedding=64", "model.hidden=[400]", "model.bias=true",
                   "model.init=uniform", "model.init_scale=[2, 1, 0.5]")  # fmt: skip
    trainer = Trainer(cfg)
    (table, _), (w1, b1), (w2, b2) = trainer.arch.views(trainer.params)
    assert table.std() == pytest.approx(2.0, rel=0.05)  # an embedding is N(0, s^2)
    for w, b, scale in ((w1, b1, 1.0), (w2, b2, 0.5)):
        bound = scale / math.sqrt(w.shape[0])  # uniform in +- s / sqrt(fan_in), biases too
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
        assert b is not None and np.abs(b).max() <= bound and b.any()
    normal = Trainer(_modular("model.init=normal", "model.hidden=[400]"))
    (w1, _), (w2, _) = normal.arch.views(normal.params)
    assert w1.std() == pytest.approx(1 / math.sqrt(22), rel=0.05)  # the true fan-in: 2p
    assert w2.std() == pytest.approx(1 / math.sqrt(400), rel=0.05)
