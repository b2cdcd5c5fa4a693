"""Gradients against finite differences; compiled kernels against the NumPy reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.numerics import kernels, reference
from engine.numerics.chunk import PLAIN_SGD, train_chunk_args
from engine.numerics.kernel_cache import compile_lock
from engine.numerics.model import ACTIVATIONS, LOSSES
from engine.numerics.optim import OPTIMIZER_CODES
from engine.numerics.parallel import parallel_available
from tests.engine.kernel_cases import MODEL_KINDS, make_case

LOSS_NAMES = tuple(LOSSES)
ACT_NAMES = tuple(ACTIVATIONS)


@pytest.fixture(autouse=True)
def _compile_under_the_lock():
    """These tests call the kernels with signatures no warm-up knows, so they compile here:
    under the compile lock, as every compile must (engine/numerics/warmup.py)."""
    with compile_lock():
        yield


def _grad_cases():
    for kind, loss, bias in itertools.product(MODEL_KINDS, LOSS_NAMES, (True, False)):
        acts = ACT_NAMES if kind.startswith("mlp") else ("linear",)
        for act in acts:
            yield kind, act, loss, bias, loss == "cross_entropy"
    # mse on one-hot targets: class labels, a squared error on every output
    for kind, act, bias in itertools.product(
        ("softmax", "mlp", "mlp-index", "mlp-embed"), ("square", "relu", "tanh"), (True, False)
    ):
        if kind != "softmax" or act == "tanh":
            yield kind, act if kind != "softmax" else "linear", "mse", bias, True


def _loss(case, params):
    fan_in, fan_out, w_off, b_off, act, loss_code = case.kernel_args()
    loss, _ = reference.loss_and_grad(
        params,
        case.x,
        case.y,
        case.arch.input_kind == "index",
        fan_in,
        fan_out,
        w_off,
        b_off,
        act,
        loss_code,
    )
    return loss


def _compiled_grad(case):
    """Gradient from the compiled kernel: one step at lr 0 leaves it in the grad buffer."""
    fan_in, fan_out, w_off, b_off, act, loss_code = case.kernel_args()
    params, grad = case.params.copy(), np.zeros_like(case.params)
    m, v = np.zeros_like(params), np.zeros_like(params)
    out = np.empty(1), np.empty(1), np.empty(1)
    done = kernels.train_chunk(
        *train_chunk_args(
            state=(params, grad, m, v),
            data=(case.xd, case.xi, case.yf, case.yi),
            layout=(fan_in, fan_out, w_off, b_off, act, loss_code),
            batches=(np.empty(0, dtype=np.int64), np.zeros(2, dtype=np.int64)),
            lrs=np.zeros(1),
            **PLAIN_SGD,
            weight_mask=case.arch.weight_mask(),
            step0=0,
            grad_stop=0.0,
            outputs=out,
        )
    )
    assert done == 1
    return out[0][0], grad


@pytest.mark.parametrize("kind,act,loss,bias,labels", list(_grad_cases()))
def test_gradient_matches_central_differences(kind, act, loss, bias, labels):
    case = make_case(kind, act, loss, bias, labels=labels)
    fan_in, fan_out, w_off, b_off, act_code, loss_code = case.kernel_args()
    ref_loss, ref_grad = reference.loss_and_grad(
        case.params,
        case.x,
        case.y,
        case.arch.input_kind == "index",
        fan_in,
        fan_out,
        w_off,
        b_off,
        act_code,
        loss_code,
    )
    eps = 1e-6
    numeric = np.empty_like(case.params)
    for i in range(case.params.size):
        plus, minus = case.params.copy(), case.params.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = (_loss(case, plus) - _loss(case, minus)) / (2 * eps)
    scale = max(np.linalg.norm(numeric), np.linalg.norm(ref_grad), 1e-12)
    assert np.linalg.norm(numeric - ref_grad) / scale < 1e-6

    kernel_loss, kernel_grad = _compiled_grad(case)
    assert kernel_loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(kernel_grad, ref_grad, rtol=1e-10, atol=1e-13)


def _run_both(
    case,
    steps,
    opt,
    lr=0.05,
    batch=0,
    dtype: type[np.floating] = np.float64,
    shards=1,
    parallel=True,
    stop=None,
    **hp,
):
    """Run the compiled kernel (in `dtype`, over `shards` row shards) and the float64
    reference for `steps` steps; return both states."""
    fan_in, fan_out, w_off, b_off, act, loss_code = case.kernel_args()
    n = case.x.shape[0]
    rng = np.random.default_rng(1)
    if batch:
        rows = np.concatenate([rng.permutation(n)[:batch] for _ in range(steps)]).astype(np.int64)
        ptr = np.arange(0, steps * batch + 1, batch, dtype=np.int64)
    else:
        rows, ptr = np.empty(0, dtype=np.int64), np.zeros(steps + 1, dtype=np.int64)
    lrs = hp.pop("lrs", np.full(steps, lr))
    settings = dict(
        momentum=0.9,
        beta1=0.9,
        beta2=0.98,
        eps=1e-8,
        weight_decay=0.0,
        l1=0.0,
        l2=0.0,
        clip_norm=0.0,
        grad_stop=0.0,
    )
    settings.update(hp)
    results = []
    for impl, real in ((kernels, dtype), (reference, np.float64)):
        params = case.params.astype(real)
        grad, m, v = np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
        losses, gnorms, ratios = np.empty(steps), np.empty(steps), np.empty(steps)
        done = impl.train_chunk(
            *train_chunk_args(
                state=(params, grad, m, v),
                data=(case.xd.astype(real), case.xi, case.yf.astype(real), case.yi),
                layout=(fan_in, fan_out, w_off, b_off, act, loss_code),
                batches=(rows, ptr),
                lrs=lrs,
                opt_code=OPTIMIZER_CODES[opt],
                momentum=settings["momentum"],
                beta1=settings["beta1"],
                beta2=settings["beta2"],
                eps=settings["eps"],
                weight_decay=settings["weight_decay"],
                l1=settings["l1"],
                l2=settings["l2"],
                clip_norm=settings["clip_norm"],
                weight_mask=case.arch.weight_mask().astype(real),
                step0=0,
                grad_stop=settings["grad_stop"],
                outputs=(losses, gnorms, ratios),
                stop=None if stop is None else stop.copy(),
                shards=shards,
                parallel=parallel,
            )
        )
        results.append((done, params, m, v, losses, gnorms, ratios))
    return results


def test_a_stop_flag_set_before_the_call_ends_the_chunk_before_its_first_step():
    case = make_case("mlp", "tanh", "mse", bias=True, n=20)
    for done, params, m, v, _losses, gnorms, _ratios in _run_both(
        case, 5, "adam", stop=np.ones(1, dtype=np.int64)
    ):
        assert done == 0
        assert gnorms[0] == -1.0  # the mark of a step that never began
        np.testing.assert_array_equal(params, case.params)
        assert not m.any() and not v.any()


REGULARIZERS = {
    "none": {},
    "l2": {"l2": 0.01},
    "l1": {"l1": 0.001},
    "decay": {"weight_decay": 0.05},
    "clip": {"clip_norm": 0.05},
}


@pytest.mark.parametrize("opt", list(OPTIMIZER_CODES))
@pytest.mark.parametrize("reg", list(REGULARIZERS))
@pytest.mark.parametrize("kind", ["mlp", "mlp-index", "softmax", "mlp-embed", "mse-labels"])
def test_compiled_matches_reference_after_50_steps(opt, reg, kind):
    if kind == "mse-labels":  # mse on one-hot targets, through a shared embedding
        case = make_case("mlp-embed", "tanh", "mse", bias=True, n=40, labels=True)
    else:
        loss = "cross_entropy" if kind != "mlp" else "mse"
        case = make_case(kind, "tanh", loss, bias=True, n=40)
    batch = 8 if opt != "gd" else 0
    fast, slow = _run_both(case, 50, opt, batch=batch, **REGULARIZERS[reg])
    assert fast[0] == slow[0] == 50
    for a, b in zip(fast[1:], slow[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("operands", [1, 2, 3])
@pytest.mark.parametrize("kind", ["mlp-index", "mlp-embed"])
@pytest.mark.parametrize("act", ["relu", "square"])
def test_index_inputs_of_any_width_match_the_reference(operands, kind, act):
    """The gather sums two operands in one pass and any others after: every width trains
    as the reference does (and square, whose activation is stored apart from its input)."""
    case = make_case(kind, act, "cross_entropy", bias=True, n=40, operands=operands)
    fast, slow = _run_both(case, 30, "adamw", batch=9, weight_decay=0.05)
    assert fast[0] == slow[0] == 30
    for a, b in zip(fast[1:], slow[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shards", [2, 3])
@pytest.mark.parametrize(
    ("kind", "batch"),
    [("mlp-index", 0), ("mlp-index", 9), ("mlp", 0), ("mlp", 9), ("softmax", 2), ("mlp-embed", 9)],
)
def test_sharded_steps_match_the_reference(kind, batch, shards):
    """Row shards computed in parallel sum to the same gradient (batch 2 leaves a shard of
    three empty)."""
    loss = "mse" if kind == "mlp" else "cross_entropy"
    case = make_case(kind, "relu", loss, bias=True, n=40)
    opt = "adamw" if batch else "gd"
    fast, slow = _run_both(
        case, 30, opt, batch=batch, shards=shards, weight_decay=0.05, parallel=parallel_available()
    )
    assert fast[0] == slow[0] == 30
    for a, b in zip(fast[1:], slow[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(not parallel_available(), reason="no thread-safe threading layer")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shards_give_the_same_numbers_in_parallel_and_serially(dtype):
    """Whether shards run in parallel is chosen by timing (engine/numerics/parallel.py), so it must
    not change a single bit."""
    case = make_case("mlp-index", "relu", "cross_entropy", bias=True, n=40)
    runs = [
        _run_both(case, 30, "adamw", batch=9, shards=3, parallel=parallel, dtype=dtype)[0]
        for parallel in (True, False)
    ]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("opt", list(OPTIMIZER_CODES))
@pytest.mark.parametrize("kind", ["mlp-index", "softmax", "mlp-embed", "mse-labels"])
def test_float32_kernel_tracks_the_float64_reference(opt, kind):
    """The float32 path (its own exp, optimizer arithmetic in float32) stays on the
    reference's trajectory to float32 accuracy."""
    if kind == "mse-labels":
        case = make_case("mlp-embed", "relu", "mse", bias=True, n=40, labels=True)
    else:
        case = make_case(kind, "relu", "cross_entropy", bias=True, n=40)
    batch = 8 if opt != "gd" else 0
    fast, slow = _run_both(case, 50, opt, batch=batch, weight_decay=0.05, dtype=np.float32)
    assert fast[1].dtype == np.float32 and fast[0] == slow[0] == 50
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-3, atol=1e-4)  # parameters
    np.testing.assert_allclose(fast[4], slow[4], rtol=1e-4)  # losses


def test_float32_exp_is_within_a_few_ulp_and_keeps_nan():
    x = np.concatenate([np.linspace(-87.0, 0.0, 200_001), [-1e-30, -0.0, np.nan, -200.0]])
    x = x.astype(np.float32)
    out = np.empty_like(x)
    total = kernels._exp_nonpositive_row(x, np.float32(0.0), out, np.empty(x.size, np.int32))
    exact = np.exp(x[:-2].astype(np.float64))
    assert np.abs(out[:-2] / exact - 1.0).max() < 4 * 2.0**-23
    assert np.isnan(out[-2]) and np.isnan(total)
    assert 0.0 < out[-1] < 1e-37  # far below the range: the smallest value it returns


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine", "warmup"])
def test_compiled_matches_reference_with_schedules(schedule):
    from engine.numerics.optim import HParams, lr_schedule

    hp = HParams(
        kind="adamw",
        lr=0.05,
        weight_decay=0.1,
        batch_size=0,
        momentum=0.0,
        beta1=0.9,
        beta2=0.98,
        eps=1e-8,
        l1=0.0,
        l2=0.0,
        clip_norm=0.0,
        schedule=schedule,
        warmup_steps=10 if schedule == "warmup" else 0,
        step_every=10,
        step_gamma=0.5,
        min_lr=0.001,
        total_steps=50,
    )
    lrs = lr_schedule(hp, 0, 50)
    case = make_case("mlp", "relu", "mse", bias=True, n=30)
    fast, slow = _run_both(case, 50, "adamw", lrs=lrs, weight_decay=0.1)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("act", ACT_NAMES)
@pytest.mark.parametrize("loss", [*LOSS_NAMES, "mse-labels"])
def test_evaluate_matches_reference(act, loss):
    if loss == "mse-labels":  # accuracy by argmax, the loss on one-hot targets
        case = make_case("mlp-embed", act, "mse", bias=True, n=50, labels=True)
    else:
        case = make_case("mlp", act, loss, bias=True, n=50)
    fan_in, fan_out, w_off, b_off, act_code, loss_code = case.kernel_args()
    args = (
        case.params,
        case.xd,
        case.xi,
        case.yf,
        case.yi,
        fan_in,
        fan_out,
        w_off,
        b_off,
        act_code,
        loss_code,
    )
    fast = kernels.evaluate(*args, 16)  # a block smaller than the split exercises blocking
    slow = reference.evaluate(*args, 16)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("kind", ["mlp", "mlp-index", "polynomial", "mlp-embed"])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_predict_matches_the_reference_forward_pass(kind, loss):
    case = make_case(kind, "tanh" if kind.startswith("mlp") else "linear", loss, True, n=50)
    args = (case.params, case.xd, case.xi, *case.kernel_args(), 16)
    n_out = case.arch.sizes[-1]
    fast, slow = np.full((50, n_out), np.nan), np.full((50, n_out), np.nan)
    kernels.predict(*args, fast)  # a block smaller than the rows exercises blocking
    reference.predict(*args, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)
    if loss == "cross_entropy":  # probabilities
        np.testing.assert_allclose(fast.sum(axis=1), 1.0, rtol=1e-12)


def test_nonfinite_loss_stops_the_chunk_before_updating():
    case = make_case("linear", "linear", "mse", bias=True)
    with np.errstate(over="ignore", invalid="ignore"):  # the reference overflows on purpose
        fast, slow = _run_both(case, 200, "sgd", lr=1e3)
    assert fast[0] == slow[0] < 200
    for done, *_state, losses, gnorms, _ratios in (fast, slow):
        assert not (np.isfinite(losses[done]) and np.isfinite(gnorms[done]))


def test_gradient_below_grad_stop_stops_the_chunk():
    case = make_case("linear", "linear", "mse", bias=True)
    fast, slow = _run_both(case, 5000, "sgd", lr=0.3, grad_stop=1e-6)
    assert fast[0] == slow[0] < 5000
    done, _p, _m, _v, _losses, gnorms, _r = fast
    assert gnorms[done] < 1e-6 <= gnorms[done - 1]


def test_every_kernel_releases_the_gil_and_is_cached():
    """nogil lets the dashboard's thread run while a kernel trains; cache skips recompiles."""
    from numba.core.registry import CPUDispatcher

    dispatchers = [obj for obj in vars(kernels).values() if isinstance(obj, CPUDispatcher)]
    assert len(dispatchers) >= 10
    for kernel in dispatchers:
        assert kernel.targetoptions.get("nogil") is True, kernel.__name__
        assert kernel.stats.cache_path is not None, kernel.__name__  # None: not cached


def test_a_call_without_a_scratch_compiles_the_signature_runs_use():
    """train_chunk_args gives an empty scratch of the parameters' dtype, never None: None
    compiled a signature no run uses beside the runs' own, and a cache holding both (the
    test suite's, on two workers) made a later load of the runs' kernels crash."""
    case = make_case("mlp", "tanh", "mse", bias=True, n=20)
    for dtype in (np.float64, np.float32):
        params = case.params.astype(dtype)
        args = train_chunk_args(
            state=(params, params.copy(), params.copy(), params.copy()),
            data=(case.xd.astype(dtype), case.xi, case.yf.astype(dtype), case.yi),
            layout=(*case.arch.meta(), 0, 0),
            batches=(np.empty(0, dtype=np.int64), np.zeros(2, dtype=np.int64)),
            lrs=np.zeros(1),
            **PLAIN_SGD,
            weight_mask=case.arch.weight_mask().astype(dtype),
            step0=0,
            grad_stop=0.0,
            outputs=(np.empty(1), np.empty(1), np.empty(1)),
        )
        scratch = args[-1]
        assert isinstance(scratch, np.ndarray) and scratch.dtype == dtype and scratch.size == 0
