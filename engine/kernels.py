"""Compiled training and evaluation kernels.

`train_chunk` runs K optimisation steps in one call: forward, backward, penalties, clipping
and the optimizer update are fused, and each step's loss, gradient norm and update-to-weight
ratio go into output buffers. Looping over steps inside the kernel keeps Python out of the
per-step path; the caller sizes K so one call is 20-50 ms of work, which keeps pause and quit
responsive (see engine/runner.py).

The same maths, written for clarity, is in engine/reference.py: it is the oracle in tests and
the baseline in benchmarks. Fast-math flags stay off here: with `nnan`/`ninf` the finiteness
checks below would be optimised away and a diverging run would go unnoticed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Every kernel is @njit(cache=True, nogil=True), written out on each so it can be seen at
# a glance: nogil lets the UI thread run while a kernel does (tests/engine/test_kernels.py
# checks every dispatcher in this module for both flags).

OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAM = 0, 1, 2, 3

# Multiply-adds below which a matrix product runs as a loop instead of a BLAS call.
SMALL_GEMM = 32768


@njit(cache=True, nogil=True)
def _gemm(a, b, out):
    """out = a @ b. Small products run as a plain loop: a BLAS call costs about a
    microsecond before it multiplies anything, which dominates tiny models."""
    m, k = a.shape
    n = b.shape[1]
    if m * k * n >= SMALL_GEMM:
        np.dot(a, b, out)
        return
    for i in range(m):
        for j in range(n):
            acc = 0.0  # a register accumulator: no store to out inside the loop
            for p in range(k):
                acc += a[i, p] * b[p, j]
            out[i, j] = acc


@njit(cache=True, nogil=True)
def _activate(z, out, act):
    """out = act(z), elementwise; z and out are 2-D of the same shape (may alias)."""
    rows, cols = z.shape
    for i in range(rows):
        for j in range(cols):
            x = z[i, j]
            if act == 1:
                out[i, j] = x if x > 0.0 else 0.0
            elif act == 2:
                out[i, j] = math.tanh(x)
            elif act == 3:
                out[i, j] = 1.0 / (1.0 + math.exp(-x))
            elif act == 4:
                out[i, j] = x * x
            else:
                out[i, j] = x


@njit(cache=True, nogil=True)
def _activation_backward(z, a, grad, act):
    """grad *= act'(z) in place, using the stored activation a where that is cheaper."""
    rows, cols = z.shape
    for i in range(rows):
        for j in range(cols):
            if act == 1:
                if z[i, j] <= 0.0:
                    grad[i, j] = 0.0
            elif act == 2:
                grad[i, j] *= 1.0 - a[i, j] * a[i, j]
            elif act == 3:
                grad[i, j] *= a[i, j] * (1.0 - a[i, j])
            elif act == 4:
                grad[i, j] *= 2.0 * z[i, j]


@njit(cache=True, nogil=True)
def _layer_views(flat, fan_in, fan_out, w_off, b_off):
    """Per-layer (fan_in x fan_out) weight views and bias views (empty when no bias) into a
    flat vector. Built once per kernel call, so the step loop creates no array views."""
    weights = [flat[w_off[i] : w_off[i] + fan_in[i] * fan_out[i]].reshape((fan_in[i], fan_out[i]))
               for i in range(fan_in.shape[0])]
    biases = [flat[b_off[i] : b_off[i] + fan_out[i]] if b_off[i] >= 0 else flat[0:0]
              for i in range(fan_in.shape[0])]
    return weights, biases


@njit(cache=True, nogil=True)
def _workspace(params, xd, fan_out, max_rows, dense_minibatch):
    """Per-layer pre-activation, activation and delta buffers (max_rows x fan_out) in the
    parameters' precision, plus the gathered-input buffer for dense minibatches."""
    dtype = params.dtype
    zs = [np.empty((max_rows, fo), dtype) for fo in fan_out]
    acts = [np.empty((max_rows, fo), dtype) for fo in fan_out]
    deltas = [np.empty((max_rows, fo), dtype) for fo in fan_out]
    xbuf = np.empty((max_rows if dense_minibatch else 0, xd.shape[1]), xd.dtype)
    return zs, acts, deltas, xbuf


@njit(cache=True, nogil=True)
def _first_layer_index(xi, rows, n_rows, weight, bias, z):
    """Layer 0 for one-hot inputs given as indices: a sum of gathered weight rows."""
    fan_out = weight.shape[1]
    has_bias = bias.shape[0] > 0
    for r in range(n_rows):
        src = rows[r] if rows.shape[0] > 0 else r
        for j in range(fan_out):
            z[r, j] = bias[j] if has_bias else 0.0
        for c in range(xi.shape[1]):
            w_row = xi[src, c]
            for j in range(fan_out):
                z[r, j] += weight[w_row, j]


@njit(cache=True, nogil=True)
def _forward(weights, biases, xd, xi, rows, n_rows, act, zs, acts, xbuf):
    """Forward pass for n_rows rows (rows = their indices, or empty for rows 0..n_rows-1).

    zs[l] / acts[l] receive layer l's pre-activation and activation in their first n_rows
    rows; the last layer is linear, so its output is zs[-1].
    """
    n_layers = len(weights)
    for layer in range(n_layers):
        weight, bias = weights[layer], biases[layer]
        z = zs[layer][:n_rows]
        if layer == 0 and xi.shape[0] > 0:
            _first_layer_index(xi, rows, n_rows, weight, bias, z)
        else:
            if layer > 0:
                inp = acts[layer - 1][:n_rows]
            elif rows.shape[0] > 0:
                inp = xbuf[:n_rows]
                for r in range(n_rows):
                    inp[r, :] = xd[rows[r], :]
            else:
                inp = xd[:n_rows]
            _gemm(inp, weight, z)
            if bias.shape[0] > 0:
                for r in range(n_rows):
                    for j in range(bias.shape[0]):
                        z[r, j] += bias[j]
        if layer < n_layers - 1:
            _activate(z, acts[layer][:n_rows], act)


@njit(cache=True, nogil=True)
def _loss_and_output_grad(out, yf, yi, rows, n_rows, loss_code, dout, want_grad):
    """Mean data loss over the rows, and d(loss)/d(output) into dout when want_grad."""
    n_out = out.shape[1]
    total = 0.0
    if loss_code == 2:  # softmax cross-entropy, computed stably via log-sum-exp
        for r in range(n_rows):
            src = rows[r] if rows.shape[0] > 0 else r
            top = out[r, 0]
            for j in range(1, n_out):
                if out[r, j] > top:
                    top = out[r, j]
            norm = 0.0
            if want_grad:  # one exp per logit: keep them in dout, normalise after
                for j in range(n_out):
                    e = math.exp(out[r, j] - top)
                    dout[r, j] = e
                    norm += e
            else:
                for j in range(n_out):
                    norm += math.exp(out[r, j] - top)
            label = yi[src]
            total += math.log(norm) + top - out[r, label]
            if want_grad:
                scale = 1.0 / (norm * n_rows)
                for j in range(n_out):
                    dout[r, j] *= scale
                dout[r, label] -= 1.0 / n_rows
        return total / n_rows
    scale = 1.0 / (n_rows * n_out)
    gathered = rows.shape[0] > 0
    if loss_code == 0:  # mse; one loop per loss keeps the branch out of the inner loop
        for r in range(n_rows):
            src = rows[r] if gathered else r
            for j in range(n_out):
                err = out[r, j] - yf[src, j]
                total += err * err
                if want_grad:
                    dout[r, j] = 2.0 * err * scale
        return total * scale
    for r in range(n_rows):  # mae
        src = rows[r] if gathered else r
        for j in range(n_out):
            err = out[r, j] - yf[src, j]
            total += abs(err)
            if want_grad:
                dout[r, j] = (1.0 if err > 0.0 else (-1.0 if err < 0.0 else 0.0)) * scale
    return total * scale


@njit(cache=True, nogil=True)
def _backward(weights, grad_weights, grad_biases, xd, xi, rows, n_rows, act, zs, acts, xbuf,
              deltas):
    """Backpropagate deltas[-1] (d loss / d output) into the gradient views."""
    n_layers = len(weights)
    for layer in range(n_layers - 1, -1, -1):
        dz = deltas[layer][:n_rows]
        if layer < n_layers - 1:
            _activation_backward(zs[layer][:n_rows], acts[layer][:n_rows], dz, act)
        gw, gb = grad_weights[layer], grad_biases[layer]
        if gb.shape[0] > 0:
            gb[:] = 0.0
            for r in range(n_rows):
                for j in range(gb.shape[0]):
                    gb[j] += dz[r, j]
        if layer == 0 and xi.shape[0] > 0:
            gw[:, :] = 0.0  # scatter-add into the gathered rows only
            for r in range(n_rows):
                src = rows[r] if rows.shape[0] > 0 else r
                for c in range(xi.shape[1]):
                    w_row = xi[src, c]
                    for j in range(gw.shape[1]):
                        gw[w_row, j] += dz[r, j]
            continue
        if layer == 0:
            inp = xbuf[:n_rows] if rows.shape[0] > 0 else xd[:n_rows]
        else:
            inp = acts[layer - 1][:n_rows]
        _gemm(inp.T, dz, gw)
        if layer > 0:
            _gemm(dz, weights[layer].T, deltas[layer - 1][:n_rows])


@njit(cache=True, nogil=True)
def train_chunk(params, grad, m, v, xd, xi, yf, yi, fan_in, fan_out, w_off, b_off, act,
                loss_code, batch_rows, batch_ptr, lrs, opt_code, momentum, beta1, beta2, eps,
                weight_decay, l1, l2, clip_norm, weight_mask, adam_step0, grad_stop, out_loss,
                out_gnorm, out_ratio):
    """Run len(lrs) steps in place on params / m / v; return how many updates were applied.

    batch_rows / batch_ptr: step k trains on rows batch_rows[batch_ptr[k]:batch_ptr[k+1]];
    an empty batch_rows means full batch. Either xd (dense, float64 n x d) or xi (one-hot
    indices, int64 n x c) is non-empty; yf (regression) or yi (class labels) likewise.

    Per step: data-loss gradient, plus L2 (l2 * w) and L1 (l1 * sign w) on weights; the norm
    of that gradient is recorded, then it is clipped to clip_norm (if > 0); decoupled weight
    decay multiplies weights by (1 - lr * weight_decay); then the optimizer update.
    If a step's loss or gradient norm is not finite, or the gradient norm is below
    grad_stop (the convergence criterion; 0 disables it), it is recorded and the chunk stops
    before updating: the return value is then < len(lrs) and out_loss/out_gnorm[returned]
    hold that step's values.
    """
    n_steps = lrs.shape[0]
    full_batch = batch_rows.shape[0] == 0
    n_total = xi.shape[0] if xi.shape[0] > 0 else xd.shape[0]
    max_rows = n_total
    if not full_batch:
        max_rows = 1
        for k in range(n_steps):
            max_rows = max(max_rows, batch_ptr[k + 1] - batch_ptr[k])
    dense_minibatch = (not full_batch) and xi.shape[0] == 0
    zs, acts, deltas, xbuf = _workspace(params, xd, fan_out, max_rows, dense_minibatch)
    weights, biases = _layer_views(params, fan_in, fan_out, w_off, b_off)
    grad_weights, grad_biases = _layer_views(grad, fan_in, fan_out, w_off, b_off)
    n_params = params.shape[0]
    last = fan_in.shape[0] - 1
    for k in range(n_steps):
        if full_batch:
            rows = batch_rows
            n_rows = n_total
        else:
            rows = batch_rows[batch_ptr[k] : batch_ptr[k + 1]]
            n_rows = rows.shape[0]
        _forward(weights, biases, xd, xi, rows, n_rows, act, zs, acts, xbuf)
        loss = _loss_and_output_grad(zs[last][:n_rows], yf, yi, rows, n_rows, loss_code,
                                     deltas[last][:n_rows], True)
        _backward(weights, grad_weights, grad_biases, xd, xi, rows, n_rows, act, zs, acts, xbuf,
                  deltas)
        sq = 0.0
        for i in range(n_params):
            if weight_mask[i] != 0.0:
                w = params[i]
                if l2 != 0.0:
                    grad[i] += l2 * w
                if l1 != 0.0:
                    grad[i] += l1 * (1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0))
            sq += grad[i] * grad[i]
        gnorm = math.sqrt(sq)
        out_loss[k] = loss
        out_gnorm[k] = gnorm
        if not (math.isfinite(loss) and math.isfinite(gnorm)) or gnorm < grad_stop:
            return k
        scale = 1.0
        if clip_norm > 0.0 and gnorm > clip_norm:
            scale = clip_norm / gnorm
        lr = lrs[k]
        decay = 1.0 - lr * weight_decay
        t = adam_step0 + k + 1
        bias1 = 1.0 - beta1**t
        bias2 = 1.0 - beta2**t
        upd_sq = 0.0
        w_sq = 0.0
        for i in range(n_params):
            g = grad[i] * scale
            old = params[i]
            w = old * decay if weight_mask[i] != 0.0 else old
            if opt_code == OPT_SGD:
                w -= lr * g
            elif opt_code == OPT_MOMENTUM:
                m[i] = momentum * m[i] + g
                w -= lr * m[i]
            elif opt_code == OPT_NESTEROV:
                m[i] = momentum * m[i] + g
                w -= lr * (g + momentum * m[i])
            else:
                m[i] = beta1 * m[i] + (1.0 - beta1) * g
                v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
                w -= lr * (m[i] / bias1) / (math.sqrt(v[i] / bias2) + eps)
            params[i] = w
            upd_sq += (w - old) * (w - old)
            w_sq += old * old
        out_ratio[k] = math.sqrt(upd_sq / w_sq) if w_sq > 0.0 else math.inf
    return n_steps


@njit(cache=True, nogil=True)
def evaluate(params, xd, xi, yf, yi, fan_in, fan_out, w_off, b_off, act, loss_code, block):
    """(mean loss, accuracy, mean absolute deviation) over a whole split, in row blocks.

    Accuracy is NaN for regression; MAD (mean |prediction - target|) is NaN for
    classification. Blocks bound the workspace for large splits.
    """
    n_total = xi.shape[0] if xi.shape[0] > 0 else xd.shape[0]
    if n_total == 0:
        return math.nan, math.nan, math.nan
    n_block = min(block, n_total)
    zs, acts, deltas, xbuf = _workspace(params, xd, fan_out, n_block, True)
    weights, biases = _layer_views(params, fan_in, fan_out, w_off, b_off)
    last = fan_in.shape[0] - 1
    n_out = fan_out[last]
    loss_sum = 0.0
    hits = 0
    abs_sum = 0.0
    for start in range(0, n_total, n_block):
        stop = min(start + n_block, n_total)
        rows = np.arange(start, stop)
        n_rows = stop - start
        _forward(weights, biases, xd, xi, rows, n_rows, act, zs, acts, xbuf)
        out = zs[last][:n_rows]
        loss_sum += n_rows * _loss_and_output_grad(out, yf, yi, rows, n_rows, loss_code,
                                                   deltas[last][:0], False)
        for r in range(n_rows):
            src = rows[r]
            if loss_code == 2:
                best = 0
                for j in range(1, n_out):
                    if out[r, j] > out[r, best]:
                        best = j
                if best == yi[src]:
                    hits += 1
            else:
                for j in range(n_out):
                    abs_sum += abs(out[r, j] - yf[src, j])
    if loss_code == 2:
        return loss_sum / n_total, hits / n_total, math.nan
    return loss_sum / n_total, math.nan, abs_sum / (n_total * n_out)
