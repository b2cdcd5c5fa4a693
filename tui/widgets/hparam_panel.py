"""The hyperparameters in force, live edits marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.widgets.content import set_content


def hparam_label(name: str) -> str:
    return name.replace("_", " ")  # weight_decay -> weight decay, lr_now -> lr now


def format_hparam(name: str, value: object) -> str:
    if name == "batch_size" and value == 0:
        return "full"  # the engine's word for a batch of the whole training set
    return format_value(value)


class HParamPanel(Static):
    """The snapshot's hyperparameters, in its order (the engine chooses which ones an
    optimizer shows); values edited live are highlighted, pending ones arrowed."""

    def show(self, snap: Snapshot, pending: dict[str, object]) -> None:
        lines = []
        for name, value in snap.hparams:
            edited = name in snap.edited
            parts: list[str | tuple[str, str]] = [
                ("●" if edited else " ", "bold $text-warning" if edited else ""),
                (f"{hparam_label(name):<13}", "$foreground-muted"),
                (format_hparam(name, value), "bold $text-warning" if edited else "bold"),
            ]
            if name in pending:
                parts.append((f" → {format_hparam(name, pending[name])}", "italic $text-accent"))
            lines.append(Content.assemble(*parts))
        set_content(self, Content("\n").join(lines), layout=False)
