"""Compiled training and evaluation kernels.

`train_chunk` runs K optimisation steps in one call: forward, backward, penalties, clipping
and the optimizer update are fused, and each step's loss, gradient norm and update-to-weight
ratio go into output buffers. Looping over steps inside the kernel keeps Python out of the
per-step path; the caller sizes K so one call is 20-50 ms of work, which keeps pause and quit
responsive (see engine/live/runner.py).

The same maths, written for clarity, is in engine/numerics/reference.py: it is the oracle in
tests and the baseline in benchmarks. Of the fast-math flags only reassociation and
contraction are used (REDUCE, on the loops that sum): with `nnan`/`ninf` the finiteness
checks below would be optimised away and a diverging run would go unnoticed.

Large steps can be split into row shards (see train_chunk and engine/numerics/parallel.py),
computed on Numba's thread pool or one after another with the same arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.core import config as numba_config

from engine.numerics.blas import import_cython_blas
from engine.numerics.kernel_cache import make_kernel_cache_crash_safe
from engine.numerics.model import ACTIVATIONS, EMBEDDING, OPT_ADAM, OPT_MOMENTUM, OPT_SGD

# numba.core.config sets its settings through globals(), so no stub declares them: hence
# the two pyright ignores below.
if numba_config.THREADING_LAYER == "default":  # pyright: ignore[reportAttributeAccessIssue]
    # Never Numba's workqueue layer for the parallel kernel: it aborts the process when two
    # threads launch parallel kernels at once (two runners can train at the same time).
    # Without OpenMP or TBB, engine/numerics/parallel.py never asks for parallel shards.
    numba_config.THREADING_LAYER = "threadsafe"  # pyright: ignore[reportAttributeAccessIssue]

# Whoever compiles these kernels (a test included, without warm_up_kernels) saves into the
# cache safely beside a process compiling the parallel variant out of the way.
make_kernel_cache_crash_safe()
# Before a kernel loads (numba looks for its BLAS then): see engine/numerics/blas.py.
import_cython_blas()

# Every kernel is @njit(cache=True, nogil=True), written out on each so it can be seen at
# a glance: nogil lets the UI thread run while a kernel does (tests/engine/test_kernels.py
# checks every dispatcher in this module for both flags).

# The one activation whose derivative needs its input: square's (2z) cannot be read back
# from z * z. For every other, a layer's activation overwrites its pre-activation in place
# (relu's derivative reads a > 0, which is z > 0): one array per layer instead of two to
# write and read back, which is memory traffic a step of W3 spent a tenth of its time on.
SQUARE = ACTIVATIONS["square"]
# No activation at all (the output layer): not even a copy.
NO_ACTIVATION = -1

# Multiply-adds below which a matrix product runs as a loop instead of a BLAS call.
SMALL_GEMM = 32768

# Fast-math flags for loops that reduce a sum: reassociation lets the sum vectorise, and
# contraction allows FMA. No nnan/ninf, so the finiteness checks keep their meaning.
REDUCE = {"reassoc", "contract"}


@njit(cache=True, nogil=True, error_model="numpy")
def _gemm(a, b, out):
    """out = a @ b. Small products run as a plain loop: a BLAS call has a fixed cost before
    it multiplies anything, which dominates tiny models."""
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


# The elementwise work runs one row at a time, fused with whatever else touches that row
# (a bias, a gather, a scatter), while the row is in the L1 cache: as separate passes over
# W3's 4,704 x 512 activations, each pass read and wrote memory and together they took a
# quarter of a step.


@njit(cache=True, nogil=True, error_model="numpy")
def _activate_row(z, a, act):
    """The activation of one row z: into a for SQUARE, in place for the others (whose a is
    z itself, see SQUARE). Each loop writes the one array it reads, or two distinct ones:
    a loop reading and writing two views of the same row fails the vectoriser's overlap
    check and runs scalar. One loop per activation, each branch-free inside."""
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    cols = z.shape[0]
    if act == SQUARE:
        for j in range(cols):
            a[j] = z[j] * z[j]
    elif act == 1:
        for j in range(cols):
            z[j] = max(z[j], zero)
    elif act == 2:
        for j in range(cols):
            z[j] = math.tanh(z[j])
    elif act == 3:
        for j in range(cols):
            z[j] = one / (one + math.exp(-z[j]))


@njit(cache=True, nogil=True, error_model="numpy")
def _activation_backward_row(z, a, grad, act):
    """grad *= act'(z) in place for one row, using the stored activation a where that is
    cheaper. Branch-free inner loops (relu is a select, not a conditional store)."""
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    two = z.dtype.type(2.0)
    cols = z.shape[0]
    if act == 1:
        for j in range(cols):
            grad[j] = grad[j] if z[j] > zero else zero
    elif act == 2:
        for j in range(cols):
            grad[j] *= one - a[j] * a[j]
    elif act == 3:
        for j in range(cols):
            grad[j] *= a[j] * (one - a[j])
    elif act == SQUARE:
        for j in range(cols):
            grad[j] *= two * z[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _layer_views(flat, fan_in, fan_out, w_off, b_off):
    """Per-layer (fan_in x fan_out) weight views and bias views (empty when no bias) into a
    flat vector. Built once per kernel call, so the step loop creates no array views."""
    weights = [
        flat[w_off[i] : w_off[i] + fan_in[i] * fan_out[i]].reshape((fan_in[i], fan_out[i]))
        for i in range(fan_in.shape[0])
    ]
    biases = [
        flat[b_off[i] : b_off[i] + fan_out[i]] if b_off[i] >= 0 else flat[0:0]
        for i in range(fan_in.shape[0])
    ]
    return weights, biases


@njit(cache=True, nogil=True, error_model="numpy")
def _widths(fan_in, fan_out):
    """Each layer's output width: the next layer's fan-in (an embedding's k rows side by
    side are k times its fan-out), the last layer's fan-out."""
    widths = fan_out.copy()
    for i in range(fan_out.shape[0] - 1):  # a loop: see _forward on slice assignments
        widths[i] = fan_in[i + 1]
    return widths


@njit(cache=True, nogil=True, error_model="numpy")
def _workspace_size(fan_in, fan_out, max_rows, x_cols):
    """Elements of one flat workspace (see _carve_workspace)."""
    return max_rows * (3 * _widths(fan_in, fan_out).sum() + x_cols)


@njit(cache=True, nogil=True, error_model="numpy")
def scratch_size(fan_in, fan_out, shard_rows, x_cols, n_shards, n_params):
    """Elements of train_chunk's scratch: a workspace per shard, and a gradient per shard
    when there are several."""
    grads = n_shards * n_params if n_shards > 1 else 0
    return n_shards * _workspace_size(fan_in, fan_out, shard_rows, x_cols) + grads


@njit(cache=True, nogil=True, error_model="numpy")
def _carve_workspace(ws, fan_in, fan_out, max_rows, x_cols, act):
    """Per-layer pre-activation, activation and delta buffers (max_rows x the layer's
    output width) and the gathered-input buffer (max_rows x x_cols; x_cols = 0 unless
    dense minibatches), as views into one flat buffer: one allocation, and one per shard
    when sharded. Activations are the pre-activations' own views unless act is SQUARE
    (their part of the buffer is then never touched, so its pages are never mapped)."""
    widths = _widths(fan_in, fan_out)
    n_layers = fan_out.shape[0]
    offsets = np.zeros(3 * n_layers + 1, np.int64)
    for i in range(3 * n_layers):
        offsets[i + 1] = offsets[i] + max_rows * widths[i % n_layers]
    views = [
        ws[offsets[i] : offsets[i + 1]].reshape((max_rows, widths[i % n_layers]))
        for i in range(3 * n_layers)
    ]
    top = offsets[3 * n_layers]
    xbuf = ws[top : top + max_rows * x_cols].reshape((max_rows, x_cols))
    zs = views[:n_layers]
    acts = views[n_layers : 2 * n_layers] if act == SQUARE else zs
    return zs, acts, views[2 * n_layers :], xbuf


@njit(cache=True, nogil=True, error_model="numpy")
def _first_layer_index(xi, rows, n_rows, weight, bias, z, a, act):
    """Layer 0 for one-hot inputs given as indices: a sum of gathered weight rows into z,
    and its activation into a (none for NO_ACTIVATION). The bias and the first row go in
    together, the same sum as adding each to the row in turn, in one pass fewer."""
    has_bias = bias.shape[0] > 0
    for r in range(n_rows):
        src = rows[r] if rows.shape[0] > 0 else r
        z_row = z[r]
        first = weight[xi[src, 0]]
        if has_bias:
            for j in range(z_row.shape[0]):
                z_row[j] = bias[j] + first[j]
        else:
            for j in range(z_row.shape[0]):
                z_row[j] = first[j]
        for c in range(1, xi.shape[1]):
            w_row = weight[xi[src, c]]
            for j in range(z_row.shape[0]):
                z_row[j] += w_row[j]
        if act != NO_ACTIVATION:
            _activate_row(z_row, a[r], act)


@njit(cache=True, nogil=True, error_model="numpy")
def _embed(xi, rows, n_rows, table, z, a, act):
    """A shared embedding: operand c's row of the table (its index minus c * vocab) into
    columns c * D to (c + 1) * D of z, copied to a when a is not z's view (act SQUARE):
    an embedding has no activation."""
    vocab, width = table.shape
    for r in range(n_rows):
        src = rows[r] if rows.shape[0] > 0 else r
        for c in range(xi.shape[1]):
            token = xi[src, c] - c * vocab
            for j in range(width):
                z[r, c * width + j] = table[token, j]
        if act == SQUARE:
            for j in range(z.shape[1]):
                a[r, j] = z[r, j]


@njit(cache=True, nogil=True, error_model="numpy")
def _forward(weights, biases, embedded, xd, xi, rows, n_rows, act, zs, acts, xbuf, output_bias):
    """Forward pass for n_rows rows (rows = their indices, or empty for rows 0..n_rows-1).

    zs[l] / acts[l] receive layer l's pre-activation and activation in their first n_rows
    rows; the last layer is linear, so its output is zs[-1]. With `embedded`, layer 0 is a
    shared embedding table, whose output is its picked rows (no activation). Without
    output_bias the output layer's bias is left to the loss, which adds it row by row as it
    reads the outputs: for W3, a pass less over 4,704 x 97 outputs in memory.
    """
    n_layers = len(weights)
    for layer in range(n_layers):
        weight, bias = weights[layer], biases[layer]
        z = zs[layer][:n_rows]
        a = acts[layer][:n_rows]
        hidden = layer < n_layers - 1
        if layer == 0 and embedded:
            _embed(xi, rows, n_rows, weight, z, a, act)
            continue
        with_bias = hidden or output_bias
        if layer == 0 and xi.shape[0] > 0:
            layer_act = act if hidden else NO_ACTIVATION
            used_bias = bias if with_bias else bias[:0]
            _first_layer_index(xi, rows, n_rows, weight, used_bias, z, a, layer_act)
        else:
            if layer > 0:
                inp = acts[layer - 1][:n_rows]
            elif rows.shape[0] > 0:
                inp = xbuf[:n_rows]
                # Element by element: a slice assignment compiles numba's shape-mismatch
                # message formatting, which took a third of the kernels' compile time.
                for r in range(n_rows):
                    src = rows[r]
                    for c in range(inp.shape[1]):
                        inp[r, c] = xd[src, c]
            else:
                inp = xd[:n_rows]
            _gemm(inp, weight, z)
            if with_bias or hidden:
                for r in range(n_rows):
                    z_row = z[r]
                    if with_bias:
                        _add_bias(z_row, bias)
                    if hidden:
                        _activate_row(z_row, a[r], act)


@njit(cache=True, nogil=True, fastmath=REDUCE, error_model="numpy")
def _exp_nonpositive_row(x, top, out, exp_bits):
    """out[j] = exp(x[j] - top) in float32 for x[j] <= top; returns sum(out) in float64.

    libm's expf is a scalar call per element, and softmax over W1's 4,704 x 97 logits spent
    most of its time there. This is Cephes' expf (Cody-Waite reduction, degree-5
    polynomial; within 4 ulp of exp in float64, which a test checks), written so the loop
    vectorises: 2^n is built from its exponent bits in exp_bits (an int32 scratch row) and
    read back as float32. Arguments below -87 give exp(-87) ~ 1.6e-38 instead of a
    subnormal or 0; NaN stays NaN.
    """
    n = x.shape[0]
    scale_bits = exp_bits[:n]
    scale = scale_bits.view(np.float32)
    for j in range(n):
        a = np.float32(x[j] - top)
        a = np.float32(-87.0) if a < np.float32(-87.0) else a
        k = np.floor(a * np.float32(1.44269504088896341) + np.float32(0.5))
        r = a - k * np.float32(0.693359375) + k * np.float32(2.12194440e-4)
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        out[j] = p * r * r + r + np.float32(1.0)
        scale_bits[j] = (np.int32(k) + np.int32(127)) << np.int32(23)
    total = 0.0
    for j in range(n):
        e = out[j] * scale[j]
        out[j] = e
        total += e
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _add_bias(row, bias):
    """row += bias (an empty bias: nothing)."""
    for j in range(bias.shape[0]):
        row[j] += bias[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _loss_and_output_grad(
    out, bias, yf, yi, rows, n_rows, loss_code, dout, want_grad, grad_rows
):  # fmt: skip
    """Mean data loss over the rows; when want_grad, d(loss)/d(output) into dout for a loss
    that is a mean over grad_rows rows (n_rows, or the whole batch when this is a shard).
    The output layer's bias (empty: none) is added to each row of out, in place, as the row
    is first read."""
    n_out = out.shape[1]
    total = 0.0
    if loss_code == 2:  # softmax cross-entropy, computed stably via log-sum-exp
        fast_exp = out.itemsize == 4  # a compile-time constant: float32 takes exp_nonpositive
        exp_bits = np.empty(n_out if fast_exp else 0, np.int32)
        scratch = np.empty(n_out, out.dtype)  # the exponentials when no gradient is wanted
        for r in range(n_rows):
            src = rows[r] if rows.shape[0] > 0 else r
            logits = out[r]
            _add_bias(logits, bias)
            top = logits[0]
            for j in range(1, n_out):
                top = max(top, logits[j])
            # exp(logit - top) for the whole row; kept in dout when a gradient is wanted
            row = dout[r] if want_grad else scratch
            if fast_exp:
                norm = _exp_nonpositive_row(logits, top, row, exp_bits)
            else:
                norm = 0.0
                for j in range(n_out):
                    e = math.exp(logits[j] - top)
                    row[j] = e
                    norm += e
            label = yi[src]
            total += math.log(norm) + top - logits[label]
            if want_grad:
                scale = row.dtype.type(1.0 / (norm * grad_rows))
                for j in range(n_out):
                    row[j] *= scale
                row[label] -= 1.0 / grad_rows
        return total / n_rows
    scale = 1.0 / (n_rows * n_out)
    grad_scale = 1.0 / (grad_rows * n_out)
    gathered = rows.shape[0] > 0
    if loss_code == 0 and yi.shape[0] > 0:  # mse on one-hot targets: labels are classes
        for r in range(n_rows):
            label = yi[rows[r] if gathered else r]
            _add_bias(out[r], bias)
            for j in range(n_out):
                err = out[r, j] - (1.0 if j == label else 0.0)
                total += err * err
                if want_grad:
                    dout[r, j] = 2.0 * err * grad_scale
        return total * scale
    if loss_code == 0:  # mse; one loop per loss keeps the branch out of the inner loop
        for r in range(n_rows):
            src = rows[r] if gathered else r
            _add_bias(out[r], bias)
            for j in range(n_out):
                err = out[r, j] - yf[src, j]
                total += err * err
                if want_grad:
                    dout[r, j] = 2.0 * err * grad_scale
        return total * scale
    for r in range(n_rows):  # mae
        src = rows[r] if gathered else r
        _add_bias(out[r], bias)
        for j in range(n_out):
            err = out[r, j] - yf[src, j]
            total += abs(err)
            if want_grad:
                dout[r, j] = (1.0 if err > 0.0 else (-1.0 if err < 0.0 else 0.0)) * grad_scale
    return total * scale


@njit(cache=True, nogil=True, error_model="numpy")
def _backward(
    weights, grad_weights, grad_biases, embedded, xd, xi, rows, n_rows, act, zs, acts, xbuf,
    deltas,
):  # fmt: skip
    """Backpropagate deltas[-1] (d loss / d output) into the gradient views."""
    n_layers = len(weights)
    for layer in range(n_layers - 1, -1, -1):
        dz = deltas[layer][:n_rows]
        gw, gb = grad_weights[layer], grad_biases[layer]
        if layer == 0 and embedded:  # scatter-add each operand's columns into its row
            vocab, width = gw.shape
            gw[:, :] = 0.0
            for r in range(n_rows):
                src = rows[r] if rows.shape[0] > 0 else r
                for c in range(xi.shape[1]):
                    token = xi[src, c] - c * vocab
                    for j in range(width):
                        gw[token, j] += dz[r, c * width + j]
            continue
        z, a = zs[layer][:n_rows], acts[layer][:n_rows]
        hidden = layer < n_layers - 1
        scatter = layer == 0 and xi.shape[0] > 0  # add into the gathered rows only
        gb[:] = 0.0
        if scatter:
            gw[:, :] = 0.0
        for r in range(n_rows):  # per row: the activation's derivative, bias, scatter
            dz_row = dz[r]
            if hidden:
                _activation_backward_row(z[r], a[r], dz_row, act)
            for j in range(gb.shape[0]):
                gb[j] += dz_row[j]
            if scatter:
                src = rows[r] if rows.shape[0] > 0 else r
                for c in range(xi.shape[1]):
                    gw_row = gw[xi[src, c]]
                    for j in range(gw_row.shape[0]):
                        gw_row[j] += dz_row[j]
        if scatter:
            continue
        if layer == 0:
            inp = xbuf[:n_rows] if rows.shape[0] > 0 else xd[:n_rows]
        else:
            inp = acts[layer - 1][:n_rows]
        _gemm(inp.T, dz, gw)
        if layer > 0:
            _gemm(dz, weights[layer].T, deltas[layer - 1][:n_rows])


@njit(cache=True, nogil=True, fastmath=REDUCE, error_model="numpy")
def _penalise_and_norm(params, grad, weight_mask, l1, l2):
    """Add L2 (l2 * w) and L1 (l1 * sign w) on weights to grad; return its global norm."""
    if l1 != 0.0 or l2 != 0.0:
        for i in range(params.shape[0]):
            if weight_mask[i] != 0.0:
                w = params[i]
                grad[i] += l2 * w + l1 * (1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0))
    sq = 0.0
    for i in range(grad.shape[0]):
        g = grad[i]
        sq += g * g
    return math.sqrt(sq)


@njit(cache=True, nogil=True, fastmath=REDUCE, error_model="numpy")
def _update(
    params,
    grad,
    m,
    v,
    weight_mask,
    opt_code,
    lr,
    scale,
    weight_decay,
    momentum,
    beta1,
    beta2,
    eps,
    t,
):
    """One optimizer step on params (and its moments m, v) from grad * scale, with decoupled
    weight decay on weights; returns (|update|^2, |params before|^2).

    The arithmetic runs in the parameters' own precision (scalars are cast once) and each
    optimizer has its own loop with no branch inside, so the loop vectorises: float64
    scalars mixed into float32 arrays would force scalar conversions and a float64 sqrt.
    """
    real = params.dtype.type
    one = real(1.0)
    decay = real(1.0 - lr * weight_decay)
    g_scale = real(scale)
    upd_sq = 0.0
    w_sq = 0.0
    if opt_code == OPT_ADAM:
        b1, b2 = real(beta1), real(beta2)
        c1, c2 = real(1.0 - beta1), real(1.0 - beta2)
        step = real(lr / (1.0 - beta1**t))  # bias corrections folded into two scalars
        inv_bias2 = real(1.0 / (1.0 - beta2**t))
        eps_ = real(eps)
        for i in range(params.shape[0]):
            g = grad[i] * g_scale
            old = params[i]
            mi = b1 * m[i] + c1 * g
            vi = b2 * v[i] + c2 * g * g
            m[i] = mi
            v[i] = vi
            w = old * (decay if weight_mask[i] != 0.0 else one)
            w -= step * mi / (math.sqrt(vi * inv_bias2) + eps_)
            params[i] = w
            upd_sq += (w - old) * (w - old)
            w_sq += old * old
        return upd_sq, w_sq
    lr_, mom = real(lr), real(momentum)
    for i in range(params.shape[0]):
        g = grad[i] * g_scale
        old = params[i]
        w = old * (decay if weight_mask[i] != 0.0 else one)
        if opt_code == OPT_SGD:
            w -= lr_ * g
        else:
            mi = mom * m[i] + g
            m[i] = mi
            w -= lr_ * (mi if opt_code == OPT_MOMENTUM else g + mom * mi)
        params[i] = w
        upd_sq += (w - old) * (w - old)
        w_sq += old * old
    return upd_sq, w_sq


@njit(cache=True, nogil=True, error_model="numpy")
def _shard_gradient(
    t,
    params,
    grads,
    ws,
    shard_loss,
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
    rows,
    n_rows,
    shard_rows,
    x_cols,
):
    """Shard t of the step's n_rows rows, forward and backward: its part of the data-loss
    gradient (of the mean over all n_rows) into grads[t], and into shard_loss[t] the mean
    loss when it is the only shard, else its summed loss (the caller adds the shards)."""
    n_shards = grads.shape[0]
    lo = (n_rows * t) // n_shards  # at most shard_rows rows each
    hi = (n_rows * (t + 1)) // n_shards
    if hi == lo:  # fewer rows than shards
        grads[t, :] = 0.0
        shard_loss[t] = 0.0
        return
    weights, biases = _layer_views(params, fan_in, fan_out, w_off, b_off)
    grad_weights, grad_biases = _layer_views(grads[t], fan_in, fan_out, w_off, b_off)
    zs, acts, deltas, xbuf = _carve_workspace(ws[t], fan_in, fan_out, shard_rows, x_cols, act)
    embedded = b_off[0] == EMBEDDING
    if rows.shape[0] > 0:  # a minibatch: its shard is a slice of the row indices
        rows = rows[lo:hi]
    else:  # the full batch: its shard is a slice of the data
        xd, xi, yf, yi = xd[lo:hi], xi[lo:hi], yf[lo:hi], yi[lo:hi]
    count = hi - lo
    last = len(weights) - 1
    _forward(weights, biases, embedded, xd, xi, rows, count, act, zs, acts, xbuf, False)
    loss = _loss_and_output_grad(
        zs[last][:count], biases[last], yf, yi, rows, count, loss_code, deltas[last][:count],
        True, n_rows,
    )  # fmt: skip
    _backward(
        weights, grad_weights, grad_biases, embedded, xd, xi, rows, count, act, zs, acts, xbuf,
        deltas,
    )  # fmt: skip
    shard_loss[t] = loss if n_shards == 1 else loss * count


@njit(cache=True, nogil=True, error_model="numpy")
def compile_ahead(params, xd, xi, yf, yi, rows, act, loss_code, n):
    """Compiles the loss and _backward (and what they call) for the argument types
    _shard_gradient gives them, literal True included, and runs no step: a child process
    calls this on a cold start, beside the run compiling train_chunk, which then loads
    them from the cache instead of compiling them (engine/numerics/warmup.py, HEAD_START).
    Its lists are built here, not by _layer_views and _carve_workspace, so it need not
    wait for those to compile."""
    matrices = [params[:0].reshape((0, 0)) for _ in range(1)]  # their types, not values
    vectors = [params[:0] for _ in range(1)]
    if n > 0:  # never: the arguments' types are what counts
        out = matrices[0]
        _loss_and_output_grad(out, vectors[0], yf, yi, rows, n, loss_code, out, True, n)
        _backward(
            matrices, matrices, vectors, n > 1, xd, xi, rows, n, act, matrices, matrices,
            out, matrices,
        )  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def _shard_gradients_parallel(
    params,
    shard_grads,
    ws,
    shard_loss,
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
    rows,
    n_rows,
    shard_rows,
    x_cols,
):
    """Every shard at once on Numba's thread pool. Only this loop is parallel, so a kernel
    that does not shard in parallel never starts the pool."""
    for t in prange(shard_grads.shape[0]):
        _shard_gradient(
            t,
            params,
            shard_grads,
            ws,
            shard_loss,
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
            rows,
            n_rows,
            shard_rows,
            x_cols,
        )


@njit(cache=True, nogil=True, error_model="numpy")
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
    parallel=None,
    scratch=None,
):
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

    stop: a 1-element int64 array read before each step, so another thread can end a chunk
    whose steps are slow: when stop[0] is nonzero as step k begins, the chunk returns k
    (0 if it was set before the call) and out_gnorm[k] = -1 says that step never began (a
    norm is never negative).

    n_shards > 1 splits each step's rows into that many shards whose gradients are computed
    (in parallel, one thread each with single-threaded BLAS inside, when `parallel` is True,
    or one after another when it is None) and then summed in shard order: the result depends
    on n_shards, never on `parallel` or on timing. The caller chooses both
    (engine/numerics/parallel.py). None and True are two compiled variants: only True's
    contains the parallel loop, whose compile is the slowest, so serial training can start
    before it exists.

    scratch: a flat buffer of the parameters' dtype holding the workspaces when it has at
    least scratch_size(...) elements; otherwise they are allocated for this call. Passing
    the same one every call spares an allocation per call that, for large models, costs
    page faults on every byte (for W3, more than a step takes).
    """
    n_steps = lrs.shape[0]
    full_batch = batch_rows.shape[0] == 0
    n_total = xi.shape[0] if xi.shape[0] > 0 else xd.shape[0]
    max_rows = n_total
    if not full_batch:
        max_rows = 1
        for k in range(n_steps):
            max_rows = max(max_rows, batch_ptr[k + 1] - batch_ptr[k])
    x_cols = xd.shape[1] if (not full_batch) and xi.shape[0] == 0 else 0
    n_params = params.shape[0]
    shard_rows = (max_rows + n_shards - 1) // n_shards
    need = scratch_size(fan_in, fan_out, shard_rows, x_cols, n_shards, n_params)
    if scratch is None or scratch.shape[0] < need:
        scratch = np.empty(need, params.dtype)
    per_shard = _workspace_size(fan_in, fan_out, shard_rows, x_cols)
    ws = scratch[: n_shards * per_shard].reshape((n_shards, per_shard))
    shard_grads = scratch[n_shards * per_shard : need].reshape(
        (n_shards if n_shards > 1 else 0, n_params)
    )
    shard_loss = np.empty(n_shards)
    # One shard computes straight into grad (as a 1 x n_params view).
    grads = shard_grads if n_shards > 1 else grad.reshape((1, n_params))
    for k in range(n_steps):
        if stop[0] != 0:
            out_gnorm[k] = -1.0
            return k
        rows = batch_rows if full_batch else batch_rows[batch_ptr[k] : batch_ptr[k + 1]]
        n_rows = n_total if full_batch else rows.shape[0]
        shard_args = (
            params,
            grads,
            ws,
            shard_loss,
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
            rows,
            n_rows,
            shard_rows,
            x_cols,
        )
        # Decided when the kernel compiles (numba prunes `is None` on an argument).
        if parallel is None or n_shards == 1:
            for t in range(n_shards):
                _shard_gradient(t, *shard_args)
        else:
            _shard_gradients_parallel(*shard_args)
        if n_shards == 1:
            loss = shard_loss[0]
        else:
            loss = shard_loss.sum() / n_rows
            # In shard order, whatever the timing: ((g0 + g1) + g2) ... for every parameter,
            # one shard at a time over all of them, so the loop vectorises.
            first = shard_grads[0]
            for i in range(n_params):
                grad[i] = first[i]
            for t in range(1, n_shards):
                shard = shard_grads[t]
                for i in range(n_params):
                    grad[i] += shard[i]
        gnorm = _penalise_and_norm(params, grad, weight_mask, l1, l2)
        out_loss[k] = loss
        out_gnorm[k] = gnorm
        if not (math.isfinite(loss) and math.isfinite(gnorm)) or gnorm < grad_stop:
            return k
        scale = 1.0
        if clip_norm > 0.0 and gnorm > clip_norm:
            scale = clip_norm / gnorm
        upd_sq, w_sq = _update(
            params,
            grad,
            m,
            v,
            weight_mask,
            opt_code,
            lrs[k],
            scale,
            weight_decay,
            momentum,
            beta1,
            beta2,
            eps,
            adam_step0 + k + 1,
        )
        out_ratio[k] = math.sqrt(upd_sq / w_sq) if w_sq > 0.0 else math.inf
    return n_steps


@njit(cache=True, nogil=True, error_model="numpy")
def evaluate(params, xd, xi, yf, yi, fan_in, fan_out, w_off, b_off, act, loss_code, block):
    """(mean loss, accuracy, mean absolute deviation) over a whole split, in row blocks.

    Accuracy is NaN for regression; MAD (mean |prediction - target|) is NaN for
    classification. Blocks bound the workspace for large splits.
    """
    n_total = xi.shape[0] if xi.shape[0] > 0 else xd.shape[0]
    if n_total == 0:
        return math.nan, math.nan, math.nan
    n_block = min(block, n_total)
    x_cols = xd.shape[1] if xd.shape[0] > 0 else 0
    ws = np.empty(_workspace_size(fan_in, fan_out, n_block, x_cols), params.dtype)
    zs, acts, deltas, xbuf = _carve_workspace(ws, fan_in, fan_out, n_block, x_cols, act)
    weights, biases = _layer_views(params, fan_in, fan_out, w_off, b_off)
    embedded = b_off[0] == EMBEDDING
    classify = yi.shape[0] > 0  # labels: accuracy by argmax, whatever the loss
    last = fan_in.shape[0] - 1
    n_out = fan_out[last]
    loss_sum = 0.0
    hits = 0
    abs_sum = 0.0
    for start in range(0, n_total, n_block):
        stop = min(start + n_block, n_total)
        rows = np.arange(start, stop)
        n_rows = stop - start
        _forward(weights, biases, embedded, xd, xi, rows, n_rows, act, zs, acts, xbuf, False)
        out = zs[last][:n_rows]  # the loss adds the output bias: accuracy reads it after
        loss_sum += n_rows * _loss_and_output_grad(
            out, biases[last], yf, yi, rows, n_rows, loss_code, deltas[last][:0], False, n_rows
        )
        for r in range(n_rows):
            src = rows[r]
            if classify:
                best = 0
                for j in range(1, n_out):
                    if out[r, j] > out[r, best]:
                        best = j
                if best == yi[src]:
                    hits += 1
            else:
                for j in range(n_out):
                    abs_sum += abs(out[r, j] - yf[src, j])
    if classify:
        return loss_sum / n_total, hits / n_total, math.nan
    return loss_sum / n_total, math.nan, abs_sum / (n_total * n_out)


@njit(cache=True, nogil=True, error_model="numpy")
def predict(params, xd, xi, fan_in, fan_out, w_off, b_off, act, loss_code, block, out):
    """The model's outputs on arbitrary rows (xd dense or xi index inputs, as in evaluate)
    into out (n x outputs): class probabilities (a softmax) for cross-entropy, the raw
    outputs otherwise. The data view's grid goes through this; blocks bound the workspace.
    """
    n_total = xi.shape[0] if xi.shape[0] > 0 else xd.shape[0]
    if n_total == 0:
        return
    n_block = min(block, n_total)
    x_cols = xd.shape[1] if xd.shape[0] > 0 else 0
    ws = np.empty(_workspace_size(fan_in, fan_out, n_block, x_cols), params.dtype)
    zs, acts, _, xbuf = _carve_workspace(ws, fan_in, fan_out, n_block, x_cols, act)
    weights, biases = _layer_views(params, fan_in, fan_out, w_off, b_off)
    embedded = b_off[0] == EMBEDDING
    last = fan_in.shape[0] - 1
    n_out = fan_out[last]
    for start in range(0, n_total, n_block):
        stop = min(start + n_block, n_total)
        rows = np.arange(start, stop)
        n_rows = stop - start
        _forward(weights, biases, embedded, xd, xi, rows, n_rows, act, zs, acts, xbuf, True)
        logits = zs[last][:n_rows]
        for r in range(n_rows):
            dest = out[start + r]
            if loss_code != 2:
                for j in range(n_out):
                    dest[j] = logits[r, j]
                continue
            top = logits[r, 0]
            for j in range(1, n_out):
                top = max(top, logits[r, j])
            norm = 0.0
            for j in range(n_out):
                e = math.exp(logits[r, j] - top)
                dest[j] = e
                norm += e
            for j in range(n_out):
                dest[j] /= norm
