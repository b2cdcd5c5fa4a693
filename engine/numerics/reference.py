"""Plain-NumPy reference of the compiled kernels, written for clarity rather than speed.

It is the oracle in the tests (every kernel must agree with it) and the baseline in
`groklab bench`. `train_chunk` and `evaluate` take exactly the arguments of their compiled
twins in engine/numerics/kernels.py, so the trainer can swap one for the other.
"""

from __future__ import annotations

import numpy as np

from engine.numerics.model import EMBEDDING, OPT_ADAM, OPT_MOMENTUM, OPT_NESTEROV, OPT_SGD


def _activate(z: np.ndarray, act: int) -> np.ndarray:
    if act == 1:
        return np.maximum(z, 0.0)
    if act == 2:
        return np.tanh(z)
    if act == 3:
        return 1.0 / (1.0 + np.exp(-z))
    if act == 4:
        return z * z
    return z


def _activation_derivative(z: np.ndarray, a: np.ndarray, act: int) -> np.ndarray:
    if act == 1:
        return (z > 0.0).astype(z.dtype)
    if act == 2:
        return 1.0 - a * a
    if act == 3:
        return a * (1.0 - a)
    if act == 4:
        return 2.0 * z
    return np.ones_like(z)


def _layers(params, fan_in, fan_out, w_off, b_off):
    """(weight, bias or None) views for each layer of the flat vector."""
    out = []
    for fi, fo, wo, bo in zip(fan_in, fan_out, w_off, b_off):
        weight = params[wo : wo + fi * fo].reshape(fi, fo)
        bias = params[bo : bo + fo] if bo >= 0 else None
        out.append((weight, bias))
    return out


def _tokens(x, vocab):
    """Each operand's row of a shared embedding: index minus c * vocab in column c."""
    return x - vocab * np.arange(x.shape[1])


def forward(params, x, index_input, fan_in, fan_out, w_off, b_off, act):
    """Return the list of (pre-activation, activation) per layer; the last is linear."""
    layers = _layers(params, fan_in, fan_out, w_off, b_off)
    cache = []
    inp = x
    for i, (weight, bias) in enumerate(layers):
        if i == 0 and b_off[0] == EMBEDDING:  # the operands' rows, side by side
            z = weight[_tokens(x, weight.shape[0])].reshape(x.shape[0], -1)
            cache.append((z, z))
            inp = z
            continue
        if i == 0 and index_input:
            z = weight[x].sum(axis=1)  # sum of the rows picked by each one-hot index
        else:
            z = inp @ weight
        if bias is not None:
            z = z + bias
        a = _activate(z, act) if i < len(layers) - 1 else z
        cache.append((z, a))
        inp = a
    return cache


def data_loss(out, y, loss_code):
    """Mean loss and its gradient with respect to the outputs; class labels y (1-D
    integers) are one-hot targets for mse."""
    n = out.shape[0]
    if loss_code != 2 and y.ndim == 1:
        y = np.eye(out.shape[1])[y]
    if loss_code == 2:
        shifted = out - out.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        loss = np.mean(log_norm - shifted[np.arange(n), y])
        probs = np.exp(shifted - log_norm[:, None])
        probs[np.arange(n), y] -= 1.0
        return loss, probs / n
    err = out - y
    if loss_code == 0:
        return np.mean(err**2), 2.0 * err / err.size
    return np.mean(np.abs(err)), np.sign(err) / err.size


def loss_and_grad(params, x, y, index_input, fan_in, fan_out, w_off, b_off, act, loss_code):
    """Mean data loss and its gradient with respect to the flat parameter vector."""
    cache = forward(params, x, index_input, fan_in, fan_out, w_off, b_off, act)
    loss, delta = data_loss(cache[-1][0], y, loss_code)
    grad = np.zeros_like(params)
    grad_layers = _layers(grad, fan_in, fan_out, w_off, b_off)
    weights = _layers(params, fan_in, fan_out, w_off, b_off)
    for i in range(len(weights) - 1, -1, -1):
        z, a = cache[i]
        gw, gb = grad_layers[i]
        if i == 0 and b_off[0] == EMBEDDING:  # no activation: scatter-add each operand's part
            tokens, width = _tokens(x, gw.shape[0]), gw.shape[1]
            for c in range(x.shape[1]):
                np.add.at(gw, tokens[:, c], delta[:, c * width : (c + 1) * width])
            continue
        if i < len(weights) - 1:
            delta = delta * _activation_derivative(z, a, act)
        if gb is not None:
            gb[:] = delta.sum(axis=0)
        if i == 0 and index_input:
            for c in range(x.shape[1]):
                np.add.at(gw, x[:, c], delta)
        else:
            inp = x if i == 0 else cache[i - 1][1]
            gw[:] = inp.T @ delta
        if i > 0:
            delta = delta @ weights[i][0].T
    return loss, grad


def train_chunk(
    params,
    grad,
    m,
    v,
    xd,
    xi,
    yf,
    yi,
    fan_in,
    fan_out,
    w_off,
    b_off,
    act,
    loss_code,
    batch_rows,
    batch_ptr,
    lrs,
    opt_code,
    momentum,
    beta1,
    beta2,
    eps,
    weight_decay,
    l1,
    l2,
    clip_norm,
    weight_mask,
    adam_step0,
    grad_stop,
    out_loss,
    out_gnorm,
    out_ratio,
    stop,
    n_shards=1,
    parallel=True,
    scratch=None,
):
    """Same contract as engine.numerics.kernels.train_chunk (n_shards, parallel and scratch change
    only the speed)."""
    index_input = xi.shape[0] > 0
    x_all = xi if index_input else xd
    y_all = yi if yi.shape[0] > 0 else yf
    for k, lr in enumerate(lrs):
        if stop[0] != 0:
            out_gnorm[k] = -1.0
            return k
        if batch_rows.shape[0] == 0:
            x, y = x_all, y_all
        else:
            rows = batch_rows[batch_ptr[k] : batch_ptr[k + 1]]
            x, y = x_all[rows], y_all[rows]
        loss, g = loss_and_grad(
            params, x, y, index_input, fan_in, fan_out, w_off, b_off, act, loss_code
        )
        g += weight_mask * (l2 * params + l1 * np.sign(params))
        gnorm = np.sqrt(np.sum(g * g))
        grad[:] = g
        out_loss[k], out_gnorm[k] = loss, gnorm
        if not (np.isfinite(loss) and np.isfinite(gnorm)) or gnorm < grad_stop:
            return k
        if clip_norm > 0.0 and gnorm > clip_norm:
            g = g * (clip_norm / gnorm)
        old = params.copy()
        new = np.where(weight_mask != 0.0, old * (1.0 - lr * weight_decay), old)
        if opt_code == OPT_SGD:
            new -= lr * g
        elif opt_code == OPT_MOMENTUM:
            m[:] = momentum * m + g
            new -= lr * m
        elif opt_code == OPT_NESTEROV:
            m[:] = momentum * m + g
            new -= lr * (g + momentum * m)
        elif opt_code == OPT_ADAM:
            t = adam_step0 + k + 1
            m[:] = beta1 * m + (1.0 - beta1) * g
            v[:] = beta2 * v + (1.0 - beta2) * g * g
            m_hat = m / (1.0 - beta1**t)
            v_hat = v / (1.0 - beta2**t)
            new -= lr * m_hat / (np.sqrt(v_hat) + eps)
        params[:] = new
        w_sq = np.sum(old * old)
        out_ratio[k] = np.sqrt(np.sum((new - old) ** 2) / w_sq) if w_sq > 0.0 else np.inf
    return len(lrs)


def evaluate(params, xd, xi, yf, yi, fan_in, fan_out, w_off, b_off, act, loss_code, block):
    """As engine.numerics.kernels.evaluate (block is ignored: NumPy takes it whole)."""
    index_input = xi.shape[0] > 0
    x = xi if index_input else xd
    if x.shape[0] == 0:
        return np.nan, np.nan, np.nan
    out = forward(params, x, index_input, fan_in, fan_out, w_off, b_off, act)[-1][0]
    if yi.shape[0] > 0:  # labels: accuracy by argmax, whatever the loss
        loss, _ = data_loss(out, yi, loss_code)
        return loss, float(np.mean(out.argmax(axis=1) == yi)), np.nan
    loss, _ = data_loss(out, yf, loss_code)
    return loss, np.nan, float(np.mean(np.abs(out - yf)))


def predict(params, xd, xi, fan_in, fan_out, w_off, b_off, act, loss_code, block, out):
    """As engine.numerics.kernels.predict (block is ignored: NumPy takes it whole)."""
    index_input = xi.shape[0] > 0
    x = xi if index_input else xd
    if x.shape[0] == 0:
        return
    logits = forward(params, x, index_input, fan_in, fan_out, w_off, b_off, act)[-1][0]
    if loss_code == 2:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        logits = shifted / shifted.sum(axis=1, keepdims=True)
    out[...] = logits
