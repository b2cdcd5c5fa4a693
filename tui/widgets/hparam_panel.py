"""The hyperparameters in force, live edits marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.widgets.content import set_content

# Order and labels of the hyperparameter panel.
HPARAM_ROWS = (
    ("optimizer", "optimizer"),
    ("lr", "lr"),
    ("lr_now", "lr now"),  # only with a schedule: where the base lr has been taken to
    ("weight_decay", "weight decay"),
    ("batch_size", "batch size"),
    ("momentum", "momentum"),
    ("beta1", "beta1"),
    ("beta2", "beta2"),
    ("schedule", "schedule"),
)


def format_hparam(name: str, value: object) -> str:
    if value is None:
        return "—"
    if name == "batch_size":
        try:
            return "full" if int(value) == 0 else f"{int(value):,}"  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return format_value(value)
    return str(value)


class HParamPanel(Static):
    """The optimizer's settings; values edited live are highlighted, pending ones arrowed."""

    def show(self, snap: Snapshot, pending: dict[str, object]) -> None:
        hp = dict(snap.hparams)
        lines = []
        for name, label in HPARAM_ROWS:
            if name not in hp and name != "momentum":
                continue
            if name == "momentum" and hp.get(name) is None and "beta1" in hp:
                continue  # adam's beta1 is its momentum
            value = format_hparam(name, hp.get(name))
            edited = name in snap.edited
            parts: list[str | tuple[str, str]] = [
                ("●" if edited else " ", "bold $text-warning" if edited else ""),
                (f"{label:<13}", "$foreground-muted"),
                (value, "bold $text-warning" if edited else "bold"),
            ]
            if name in pending:
                parts.append((f" → {format_hparam(name, pending[name])}", "italic $text-accent"))
            lines.append(Content.assemble(*parts))
        set_content(self, Content("\n").join(lines), layout=False)
