"""Grids, cells, sweep.toml and the phase across seeds: pure and quick."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.sweep.grid import parse_axis
from engine.sweep.plan import load_plan, plan_from_args
from engine.sweep.table import majority_phase

TINY = """
name = "tiny"
[data]
kind = "modular"
p = 7
[model]
kind = "mlp"
hidden = [8]
[optim]
kind = "adamw"
lr = 0.01
[train]
steps = 50
eval_every = 10
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return str(path)


def test_values_and_ranges():
    assert parse_axis("optim.lr=1e-3, 0.01").texts == ("1e-3", "0.01")
    assert parse_axis("model.hidden=[8,8],[16]").texts == ("[8,8]", "[16]")
    assert parse_axis("optim.lr=0.001:0.1:3:log").texts == ("0.001", "0.01", "0.1")
    assert parse_axis("optim.batch_size=0:64:3").texts == ("0", "32", "64")
    assert parse_axis("optim.weight_decay=0:1:3").texts == ("0.0", "0.5", "1.0")


def test_cells_are_named_by_their_resolved_config(spec, tmp_path):
    plan = plan_from_args(spec, ["optim.lr=1e-3,0.01", "optim.weight_decay=0,1"], 2)
    assert len(plan.cells) == 8 and len({c.name for c in plan.cells}) == 8
    assert plan.axes[0] == ("optim.lr", (0.001, 0.01))
    again = plan_from_args(spec, ["optim.lr=0.001,1e-2", "optim.weight_decay=0.0,1.0"], 2)
    assert [c.name for c in again.cells] == [c.name for c in plan.cells]
    (tmp_path / "sweep.toml").write_text(plan.to_toml())
    loaded = load_plan(tmp_path)
    assert [c.name for c in loaded.cells] == [c.name for c in plan.cells]
    assert loaded.difference(plan, "x") is None


def test_a_changed_grid_is_named(spec):
    plan = plan_from_args(spec, ["optim.lr=1e-3,0.01"], 1)
    other = plan_from_args(spec, ["optim.lr=1e-3,0.02"], 1)
    problem = plan.difference(other, "DIR/sweep.toml")
    assert problem is not None
    assert (
        "optim.lr" in str(problem) and "0.02" in str(problem) and "DIR/sweep.toml" in str(problem)
    )
    seeds = plan.difference(plan_from_args(spec, ["optim.lr=1e-3,0.01"], 3), "DIR/sweep.toml")
    assert seeds is not None and "--seeds" in str(seeds)


@pytest.mark.parametrize(
    ("grid", "named"),
    [
        (["optim.nonsense=1,2"], "optim.nonsense"),
        (["optim.lr="], "optim.lr"),
        (["optim.lr=-1,0.1"], "optim.lr"),
        (["optim.lr=1:0:3:log"], "optim.lr"),
        (["optim.lr=0.1:1:0"], "optim.lr"),
        (["lr=0.1"], "lr"),
        (["optim.lr=0.1,0.10"], "same run"),
        ([], "--grid"),
    ],
)
def test_bad_grids_name_the_key(spec, grid, named):
    with pytest.raises(ConfigError) as err:
        plan_from_args(spec, grid, 1)
    assert named in str(err.value) and "--grid" in str(err.value)


def test_majority_phase_and_agreement():
    p = majority_phase(["grokking", "memorization", "grokking"])
    assert (p.phase, p.agree, p.seeds) == ("grokking", 2, 3)
    tie = majority_phase(["memorization", "comprehension"])
    assert tie.phase == "comprehension"  # ties go to the phase listed first
    assert majority_phase([None, None]).phase is None


def test_a_diagram_too_wide_for_the_terminal_uses_short_names_and_says_so(spec):
    from rich.console import Console

    from engine.sweep.table import field_text
    from tui.cli.sweep import diagram_tables

    lrs = ",".join(f"0.0{i}" for i in range(1, 10))
    plan = plan_from_args(spec, [f"optim.lr={lrs}", "optim.weight_decay=0,1"], 1)
    texts = {key: [field_text(v) for v in values] for key, values in plan.axes}
    rows = [
        {"optim.lr": lr, "optim.weight_decay": wd, "seed": "0", "phase": "memorization"}
        for lr in texts["optim.lr"]
        for wd in texts["optim.weight_decay"]
    ]

    def shown(width: int) -> str:
        console = Console(width=width, record=True, color_system=None)
        for table in diagram_tables(plan, rows, width):
            console.print(table)
        return console.export_text()

    wide, narrow = shown(250), shown(80)
    assert "memorization" in wide and "memo = memorization" not in wide
    assert "memo = memorization" in narrow and "…" not in narrow.split("memo =")[0]
    assert "memo" in narrow and "optim.lr" not in narrow  # the keys' last parts
    assert "optim.weight_decay \\ optim.lr" in wide
