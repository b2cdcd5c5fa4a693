"""The dashboard fits every size from 40x12 to 300x80: nothing overlaps, nothing shown is
squashed to nothing, the footer and header fit their line, and the sparklines' scales
and glyphs say what they should."""

from __future__ import annotations

import pytest
from fakes import (
    Factory,
    LabApp,
    classifier_config,
    drive,
    make_config,
    polls,
    screen_text,
    wait_for,
)
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.widget import Widget

from engine.vocabulary import RunState
from tui.screens.dashboard import DashboardScreen
from tui.widgets import MainChart, RunHeader, StatusPanel
from tui.widgets.header import fit_parts
from tui.widgets.key_footer import KeyFooter
from tui.widgets.metric_row import FIXED_SCALES, MetricRow, series_role, spark_bars
from tui.widgets.palette import SERIES_GLYPHS

SIZES = [(40, 12), (60, 18), (80, 24), (100, 32), (120, 40), (200, 50), (300, 80)]
# At 80 columns and up the footer keeps at least these (pause or resume, step, reset,
# the lr, the chart view, help, quit), whatever other keys the screen binds.
ESSENTIAL_ACTIONS = {"step", "reset", "lr_up", "lr_down", "cycle_view", "help", "quit"}


def shown_children(widget: Widget) -> list[Widget]:
    return [child for child in widget.children if child.display]


def layout_problems(screen) -> list[str]:
    """Every displayed widget of the screen (not its overlays) has a nonzero size, no two
    displayed siblings overlap, and a child of a container that does not scroll lies
    within it."""
    problems = []

    def visit(parent: Widget) -> None:
        kids = [k for k in shown_children(parent) if k.styles.layer in ("default", "")]
        for kid in kids:
            region = kid.region
            name = f"{kid.__class__.__name__}#{kid.id}" if kid.id else repr(kid)
            if region.width <= 0 or region.height <= 0:
                problems.append(f"{name} is displayed with size {region.size}")
            elif not isinstance(parent, ScrollableContainer) and parent is not screen:
                if not parent.region.contains_region(region):
                    problems.append(f"{name} {region} leaves its parent {parent.region}")
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                if a.region.overlaps(b.region):
                    problems.append(f"{a!r} {a.region} overlaps {b!r} {b.region}")
        for kid in kids:
            if not isinstance(kid, ScrollableContainer) or isinstance(kid, StatusPanel):
                visit(kid)

    visit(screen)
    return problems


def on_dashboard(cfg, size, check) -> None:
    factory = Factory(auto_advance=False, prefill=600, state_after_prefill=RunState.RUNNING)
    app = LabApp(factory, cfg, presets=[cfg])

    async def scenario(pilot):
        await wait_for(
            pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.snapshot
        )
        await polls(pilot, 3)
        check(app.screen)

    drive(app, scenario, size=size)


def check_fits(screen) -> None:
    width, height = screen.size
    assert layout_problems(screen) == []
    footer = screen.query_one(KeyFooter)
    keys = list(footer.query("FooterKey"))
    assert keys and max(key.region.right for key in keys) <= width
    assert sum(key.region.width for key in keys) <= width
    actions = {key.action for key in keys}
    if width >= 80:
        assert ESSENTIAL_ACTIONS <= actions and {"pause", "resume"} & actions
    assert {"help", "quit"} <= actions  # ? lists the keys that did not fit
    header = screen.query_one(RunHeader)
    assert header.visual.cell_length <= width  # whole parts only: nothing cut mid-word
    if width >= 80 and height >= 24:
        assert screen.query_one(MainChart).display  # the sparklines shrank, not the chart


@pytest.mark.slow  # a Pilot per size, about half a second each
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("task", ["regression", "classifier"])
def test_nothing_overlaps_or_vanishes(size, task):
    cfg = make_config() if task == "regression" else classifier_config()
    on_dashboard(cfg, size, check_fits)


@pytest.mark.slow
def test_the_guarantee_fits_at_120x40_without_scrolling():
    def check(screen):
        status = screen.query_one(StatusPanel)
        text = screen_text(screen.app)
        assert "predicted contraction" in text and "observed contraction" in text
        assert status.max_scroll_y == 0  # all of it above the fold
        assert status.region.bottom <= screen.size.height - 1

    on_dashboard(make_config(), (120, 40), check)


def test_accuracy_bars_use_a_fixed_zero_to_one_scale():
    glyphs = SERIES_GLYPHS["train"]
    # an accuracy of 1.1% next to 2%: two low bars, not a full one over its own range
    assert spark_bars([0.011, 0.02], glyphs, FIXED_SCALES["val_acc"]) == glyphs[0] * 2
    assert spark_bars([0.0, 0.5, 1.0], glyphs, (0.0, 1.0)) == glyphs[0] + glyphs[4] + glyphs[-1]
    assert spark_bars([0.011, 0.02], glyphs, None) == glyphs[0] + glyphs[-1]  # own range
    assert spark_bars([2.0, -1.0], glyphs, (0.0, 1.0)) == glyphs[-1] + glyphs[0]  # clipped
    assert spark_bars([3.0, 3.0], glyphs, None) == glyphs[0] * 2


def test_train_and_val_bars_differ_without_colour():
    assert series_role("train_acc") == "train" and series_role("val_loss") == "val"
    assert series_role("grad_norm") == "other"
    train, val = SERIES_GLYPHS["train"], SERIES_GLYPHS["val"]
    assert len(train) == len(val) and not set(train) & set(val)
    for role in ("train", "val", "other"):  # each role has its colour, the chart's
        assert f"metric-row--{role}" in MetricRow.COMPONENT_CLASSES


def test_header_leaves_out_whole_parts_least_important_first():
    parts = [(0, Content("running toy")), (2, Content("epoch 1.00")), (1, Content("step 9"))]
    assert fit_parts(parts, 80).plain == "running toy · epoch 1.00 · step 9"
    assert fit_parts(parts, 25).plain == "running toy · step 9"
    assert fit_parts(parts, 5).plain == "running toy"  # the first part is always there
    titled = [*parts, (3, Content("Grokking on (a + b) mod 97"))]
    line = fit_parts(titled, 60).plain  # the title shortened to whole words
    assert line == "running toy · epoch 1.00 · step 9 · Grokking on (a + b) mod…"
    assert len(line) == 60
