"""The grokking-gromov preset against an independent NumPy implementation of the paper's
setup (Gromov 2023): a 2-layer MLP with x^2 activations and no biases on one-hot (a, b),
MSE on one-hot targets averaged over every pair and class, full-batch AdamW as PyTorch
writes it. Only the data split and the initial weights come from the engine; every step's
arithmetic here is written out from the paper's definitions, not the engine's code."""

from __future__ import annotations

import numpy as np

from engine.config import load_config
from engine.training.trainer import Trainer

EPOCHS = 20


def _gromov_numpy(w1, w2, pairs, labels, p, lr, betas, eps, weight_decay, epochs):
    """Full-batch AdamW on f(x) = (x W1)^2 W2; returns the final weights and each epoch's
    loss (before its update)."""
    n, classes = len(labels), w2.shape[1]
    x = np.zeros((n, 2 * p))
    x[np.arange(n), pairs[:, 0]] = 1.0
    x[np.arange(n), pairs[:, 1]] = 1.0  # b's block starts at p (pairs hold b + p)
    target = np.eye(classes)[labels]
    weights = [w1.copy(), w2.copy()]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    losses = []
    for t in range(1, epochs + 1):
        h = x @ weights[0]
        a = h * h
        out = a @ weights[1]
        err = out - target
        losses.append(np.mean(err * err))
        d_out = 2.0 * err / err.size
        grads = [x.T @ ((d_out @ weights[1].T) * 2.0 * h), a.T @ d_out]
        for w, g, mi, vi in zip(weights, grads, m, v):
            w *= 1.0 - lr * weight_decay  # decoupled decay first, as torch.optim.AdamW
            mi[...] = betas[0] * mi + (1.0 - betas[0]) * g
            vi[...] = betas[1] * vi + (1.0 - betas[1]) * g * g
            m_hat = mi / (1.0 - betas[0] ** t)
            v_hat = vi / (1.0 - betas[1] ** t)
            w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return weights, np.array(losses)


def test_the_engine_follows_an_independent_numpy_gromov_for_20_epochs():
    cfg = load_config("grokking-gromov")
    assert cfg.train.precision == "float64" and cfg.optim.batch_size == 0
    trainer = Trainer(cfg)
    (w1, b1), (w2, b2) = trainer.arch.views(trainer.params)
    assert b1 is None and b2 is None  # no biases, as in the paper
    w1, w2 = w1.copy(), w2.copy()  # views: the engine's run would move them
    train = trainer.data.train
    o = cfg.optim
    weights, losses = _gromov_numpy(
        w1, w2, train.X, train.y, cfg.data.p, o.lr, (o.beta1, o.beta2), o.eps,
        o.weight_decay, EPOCHS,
    )  # fmt: skip
    result = trainer.run(EPOCHS)
    assert result.steps_done == EPOCHS
    np.testing.assert_allclose(result.losses, losses, rtol=1e-9)
    (e1, _), (e2, _) = trainer.arch.views(trainer.params)
    for mine, theirs in ((e1, weights[0]), (e2, weights[1])):
        scale = np.abs(theirs).max()
        assert np.abs(mine - theirs).max() <= 1e-9 * scale
    # The updates really ran: 20 epochs moved the weights far from where they began.
    assert np.abs(e2 - w2).max() > 100 * 1e-9 * np.abs(w2).max()
