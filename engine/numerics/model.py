"""Model structure: every model is a stack of dense layers over one flat parameter vector.

Linear and polynomial regression and softmax regression are one-layer stacks; an MLP adds
hidden layers. Keeping a single representation means one compiled kernel and one reference
serve every model kind, and parameters, gradients and optimizer moments are all flat,
contiguous vectors with named per-layer views.

Layout of the flat vector, layer by layer: weight (fan_in x fan_out, row-major), then bias
(fan_out) when biases are on.

A shared embedding (index inputs only) is layer 0: a table of `vocab` rows of width D, with
no bias (its b_offset is EMBEDDING). Each row's c-th index picks a row (the index minus
c * vocab: operand c's one-hot block), and the picked rows, concatenated, are the next
layer's k * D inputs. The kernels recognise it by that b_offset and by layer 1's fan-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Integer codes shared with the compiled kernels (numba branches on ints, not strings).
ACTIVATIONS = {"linear": 0, "relu": 1, "tanh": 2, "sigmoid": 3, "square": 4}
LOSSES = {"mse": 0, "mae": 1, "cross_entropy": 2}
# Optimizer update rules (engine/numerics/optim.py maps the config's kinds onto them). Here,
# not in the kernels' module, so that choosing one does not import numba.
OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAM = 0, 1, 2, 3
# b_offset of a shared embedding table (an ordinary layer without bias has -1).
EMBEDDING = -2

# Init gain per activation: He for relu, Glorot-like for the rest.
_INIT_GAIN = {"linear": 1.0, "relu": 2.0, "tanh": 1.0, "sigmoid": 1.0, "square": 1.0}


@dataclass(frozen=True)
class Layer:
    fan_in: int
    fan_out: int
    w_offset: int
    b_offset: int  # -1 when the model has no biases, EMBEDDING for the embedding table

    @property
    def end(self) -> int:
        size = self.fan_in * self.fan_out + (self.fan_out if self.b_offset >= 0 else 0)
        return self.w_offset + size


@dataclass(frozen=True)
class Architecture:
    """Shapes and codes of a model; knows nothing about parameter values."""

    sizes: tuple[int, ...]  # n_inputs, hidden..., n_outputs
    activation: str
    loss: str
    bias: bool
    input_kind: str  # "dense" or "index" (one-hot inputs given as column indices)
    index_width: int = 0  # for index inputs: active one-hot entries per row (2 for a, b)
    embedding: int = 0  # width of a shared embedding's rows (index inputs; 0: none)

    @property
    def vocab(self) -> int:
        """Rows of the embedding table: the one-hot width of one operand."""
        return self.sizes[0] // self.index_width if self.index_width else 0

    @property
    def layers(self) -> tuple[Layer, ...]:
        layers, offset, sizes = [], 0, self.sizes
        if self.embedding:
            layers.append(Layer(self.vocab, self.embedding, 0, EMBEDDING))
            offset = layers[0].end
            sizes = (self.index_width * self.embedding, *sizes[1:])
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            b_offset = offset + fan_in * fan_out if self.bias else -1
            layer = Layer(fan_in, fan_out, offset, b_offset)
            layers.append(layer)
            offset = layer.end
        return tuple(layers)

    @property
    def n_params(self) -> int:
        return self.layers[-1].end

    @property
    def act_code(self) -> int:
        return ACTIVATIONS[self.activation]

    @property
    def loss_code(self) -> int:
        return LOSSES[self.loss]

    def meta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-layer fan_in, fan_out, weight offset, bias offset as int64 arrays for kernels."""
        layers = self.layers
        as_array = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
        return (
            as_array([lay.fan_in for lay in layers]),
            as_array([lay.fan_out for lay in layers]),
            as_array([lay.w_offset for lay in layers]),
            as_array([lay.b_offset for lay in layers]),
        )

    def weight_mask(self, decay_biases: bool = False) -> np.ndarray:
        """1.0 where penalties and weight decay apply: weights and the embedding, and the
        biases too with decay_biases."""
        if decay_biases:
            return np.ones(self.n_params)
        mask = np.zeros(self.n_params)
        for layer in self.layers:
            mask[layer.w_offset : layer.w_offset + layer.fan_in * layer.fan_out] = 1.0
        return mask

    def views(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """(weight, bias) views into a flat vector; writes through to it."""
        out = []
        for layer in self.layers:
            weight = flat[layer.w_offset : layer.w_offset + layer.fan_in * layer.fan_out]
            weight = weight.reshape(layer.fan_in, layer.fan_out)
            bias = None
            if layer.b_offset >= 0:
                bias = flat[layer.b_offset : layer.b_offset + layer.fan_out]
            out.append((weight, bias))
        return out

    def layer_slices(self) -> list[slice]:
        return [slice(layer.w_offset, layer.end) for layer in self.layers]


def init_params(
    arch: Architecture,
    rng: np.random.Generator,
    init_scale: float | tuple[float, ...],
    init: str = "auto",
) -> np.ndarray:
    """Initial parameters, layer by layer with scale s (init_scale, or its entry per layer):

    - "auto": Gaussian weights with std s * sqrt(gain / fan_in), gain 2 before a relu (He)
      and 1 otherwise; zero biases. For index inputs only `index_width` one-hot entries are
      active per row, so that count, not the one-hot width, is layer 0's fan-in.
    - "normal": Gaussian weights with std s / sqrt(fan_in); zero biases.
    - "uniform": weights and biases uniform in +-s / sqrt(fan_in): with s = 1, PyTorch's
      default for nn.Linear.
    An embedding table is always N(0, s^2), PyTorch's default for nn.Embedding.
    Scale 0 is all zeros (the seed's start for a convex one-layer model; the config refuses
    it for an MLP, whose hidden units would never differ) and draws nothing.
    """
    params = np.zeros(arch.n_params)
    layers = arch.layers
    scales = init_scale if isinstance(init_scale, tuple) else (init_scale,) * len(layers)
    for i, (layer, (weight, bias), scale) in enumerate(zip(layers, arch.views(params), scales)):
        if scale == 0:
            continue
        if layer.b_offset == EMBEDDING:
            weight[...] = rng.normal(0.0, scale, size=weight.shape)
            continue
        fan_in = weight.shape[0]
        if init == "uniform":
            bound = scale / np.sqrt(fan_in)
            weight[...] = rng.uniform(-bound, bound, size=weight.shape)
            if bias is not None:
                bias[...] = rng.uniform(-bound, bound, size=bias.shape)
            continue
        gain = 1.0
        if init == "auto":
            if i == 0 and arch.input_kind == "index":
                fan_in = arch.index_width
            hidden = i < len(layers) - 1
            gain = _INIT_GAIN[arch.activation] if hidden else 1.0
        weight[...] = rng.normal(0.0, scale * np.sqrt(gain / fan_in), size=weight.shape)
    return params


def polynomial_features(X: np.ndarray, degree: int) -> np.ndarray:
    """Each input column raised to powers 1..degree (no cross terms), column-major by input."""
    powers = [X**k for k in range(1, degree + 1)]
    return np.ascontiguousarray(np.stack(powers, axis=2).reshape(X.shape[0], -1))
