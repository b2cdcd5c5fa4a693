"""Small model/data cases shared by the kernel tests, built without the config layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.numerics.model import (
    ACTIVATIONS,
    LOSSES,
    Architecture,
    init_params,
    polynomial_features,
)

MODEL_KINDS = ("linear", "polynomial", "softmax", "mlp", "mlp-index", "mlp-embed")
"""mlp-index: one-hot inputs given as indices; mlp-embed: the same through a shared
embedding table of width 4."""


@dataclass
class Case:
    arch: Architecture
    params: np.ndarray
    xd: np.ndarray
    xi: np.ndarray
    yf: np.ndarray
    yi: np.ndarray
    labels: bool  # class labels in yi (cross_entropy, or mse on one-hot targets)

    @property
    def x(self):
        return self.xi if self.arch.input_kind == "index" else self.xd

    @property
    def y(self):
        return self.yi if self.labels else self.yf

    def kernel_args(self):
        fan_in, fan_out, w_off, b_off = self.arch.meta()
        return (
            fan_in,
            fan_out,
            w_off,
            b_off,
            ACTIVATIONS[self.arch.activation],
            LOSSES[self.arch.loss],
        )


def make_case(
    kind: str,
    activation: str,
    loss: str,
    bias: bool,
    n: int = 23,
    seed: int = 0,
    labels: bool | None = None,
    operands: int = 2,
) -> Case:
    """labels (default: for cross_entropy) gives the case class labels: with mse, one-hot
    targets. operands: one-hot entries per row of index inputs (a, b for modular data)."""
    labels = loss == "cross_entropy" if labels is None else labels
    rng = np.random.default_rng(seed)
    n_out = 3 if labels else 2
    p = 5
    if kind in ("mlp-index", "mlp-embed"):
        columns = [rng.integers(0, p, n) + c * p for c in range(operands)]
        xi = np.ascontiguousarray(np.stack(columns, axis=1).astype(np.int64))
        xd = np.empty((0, 0))
        n_in, input_kind = operands * p, "index"
    else:
        xd = rng.uniform(-1.0, 1.0, (n, 3))
        if kind == "polynomial":
            xd = polynomial_features(xd, 3)
        xi = np.empty((0, 0), dtype=np.int64)
        n_in, input_kind = xd.shape[1], "dense"
    hidden = (7, 5) if kind.startswith("mlp") else ()
    arch = Architecture(
        sizes=(n_in, *hidden, n_out),
        activation=activation if hidden else "linear",
        loss=loss,
        bias=bias,
        input_kind=input_kind,
        index_width=operands if input_kind == "index" else 0,
        embedding=4 if kind == "mlp-embed" else 0,
    )
    if labels:
        yi = rng.integers(0, n_out, n).astype(np.int64)
        yf = np.empty((0, 0))
    else:
        yf = rng.normal(size=(n, n_out))
        yi = np.empty(0, dtype=np.int64)
    params = init_params(arch, rng, 1.0)
    if bias:  # non-zero biases so their gradients are exercised
        for _w, b_view in arch.views(params):
            if b_view is not None:  # every dense layer has one (an embedding has none)
                b_view[:] = rng.normal(0.0, 0.1, b_view.shape)
    return Case(arch, params, xd, xi, yf, yi, labels)
