"""The PyTorch CPU baseline of `groklab bench` (torch is optional: imported on use).

The same model and maths as the engine's W1-W3: index inputs gathered from the first
weight matrix (what nn.Embedding does), relu MLP, softmax cross-entropy, torch's AdamW,
float32, all CPU threads. A fair, idiomatic baseline: the code a practitioner would write.
"""

from __future__ import annotations

import numpy as np

from engine.training.trainer import Trainer


def torch_trainer(cfg):
    """A function run_steps(k) training the config's model in torch, or None if unsupported.

    Raises ImportError when torch is not installed.
    """
    import torch  # pyright: ignore[reportMissingImports] - optional, not a dependency

    trainer = Trainer(cfg, impl="reference")  # for the data and the initial parameters
    if trainer.arch.input_kind != "index" or trainer.arch.activation != "relu":
        return None
    train = trainer.splits["train"]
    xi = torch.from_numpy(train.xi)
    yi = torch.from_numpy(train.yi)
    layers = [
        (
            torch.tensor(w, dtype=torch.float32, requires_grad=True),
            torch.tensor(b, dtype=torch.float32, requires_grad=True),
        )
        for w, b in trainer.arch.views(trainer.params.astype(np.float64))
    ]
    hp = trainer.hp
    optimizer = torch.optim.AdamW(
        [
            {"params": [w for w, _ in layers], "weight_decay": hp.weight_decay},
            {"params": [b for _, b in layers], "weight_decay": 0.0},
        ],
        lr=hp.lr,
        betas=(hp.beta1, hp.beta2),
        eps=hp.eps,
    )
    n, batch = xi.shape[0], hp.batch_size
    generator = torch.Generator().manual_seed(0)
    state = {"perm": torch.randperm(n, generator=generator), "pos": 0}

    def batch_rows():
        if not batch or batch >= n:
            return None
        if state["pos"] >= n:
            state["perm"], state["pos"] = torch.randperm(n, generator=generator), 0
        rows = state["perm"][state["pos"] : state["pos"] + batch]
        state["pos"] += batch
        return rows

    def run_steps(k: int) -> None:
        for _ in range(k):
            rows = batch_rows()
            x, y = (xi, yi) if rows is None else (xi[rows], yi[rows])
            w0, b0 = layers[0]
            h = w0[x].sum(dim=1) + b0
            for w, b in layers[1:]:
                h = torch.relu(h) @ w + b
            loss = torch.nn.functional.cross_entropy(h, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return run_steps
