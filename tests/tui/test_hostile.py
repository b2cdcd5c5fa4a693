"""A preset whose name, title and texts are markup, paths and control characters: the
dashboard shows them as they are, and e / s / the error report write inside output_dir."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fakes import Factory, LabApp, drive, make_config, polls, press, screen_text, wait_for
from textual.widgets import Input
from textual.widgets._toast import Toast

from engine.vocabulary import RunState
from tui.commands import GroklabCommands
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import ErrorScreen
from tui.screens.picker import PickerScreen
from tui.widgets import EventLog, RunHeader

NAME = "[/bold]oops[red ../../x"
TITLE = "[bold red]T[/]itle [link=x] $text-error \x1b[31m"


def hostile_config():
    return make_config(
        NAME,
        title=TITLE,
        phenomenon="[/]phen",
        description="[b]desc[/i] \\[",
    )


def on_dashboard(tmp_path, **options):
    cfg = hostile_config()
    factory = Factory(**options)
    app = LabApp(factory, cfg, presets=[cfg, make_config()], output_dir=tmp_path / "out")
    return app, factory


@pytest.mark.slow  # a Pilot run of about a second
def test_hostile_names_are_shown_as_text_and_exports_stay_in_the_folder(tmp_path):
    app, factory = on_dashboard(tmp_path, prefill=40, start_paused=True)
    out = tmp_path / "out"

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(pilot, lambda: screen.snapshot is not None)
        header = plain(screen.query_one(RunHeader).visual)
        assert NAME in header
        assert "[bold red]T[/]itle [link=x] $text-error \\x1b[31m" in header  # ESC escaped
        factory.runner.emit("note", f"from {NAME} \x07")
        await polls(pilot)
        log = " ".join(line.text for line in app.screen.query_one(EventLog).lines)
        assert f"from {NAME} \\x07" in " ".join(log.split())  # (wrapping undone)
        await press(pilot, "e")
        await wait_for(pilot, lambda: list(out.glob("*.csv")), what="the CSV")
        await press(pilot, "s")
        await wait_for(pilot, lambda: list(out.glob("*.svg")), what="the SVG")
        for path in [*out.glob("*.csv"), *out.glob("*.svg")]:
            assert path.name.startswith("groklab-_bold_oops_red_._._x-step40-"), path.name
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing outside
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 2, what="two toasts")
        titles = sorted(t.render().plain.split("\n")[0] for t in app.screen.query(Toast))
        assert titles == ["Metrics exported (CSV)", "Screenshot saved"]

    drive_with_toasts(app, scenario, size=(160, 40))  # wide enough for the whole title


async def wait_text(pilot, *texts):
    await wait_for(pilot, lambda: all(t in screen_text(pilot.app) for t in texts), what=str(texts))


def plain(visual: Any) -> str:
    return visual.plain


@pytest.mark.slow  # a Pilot run of about a second
def test_an_error_report_of_a_hostile_preset_is_saved_in_the_folder(tmp_path):
    app, factory = on_dashboard(tmp_path, prefill=5, error_at=20)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), what="the error")
        await pilot.pause()

    drive(app, scenario)
    (saved,) = (tmp_path / "out").glob("groklab-error-*.txt")
    assert saved.name == "groklab-error-_bold_oops_red_._._x.txt"


@pytest.mark.slow  # a Pilot run of about a second
def test_the_picker_shows_hostile_presets_and_a_hostile_filter_as_text(tmp_path):
    cfg = hostile_config()
    app = LabApp(Factory(), presets=[cfg, make_config()])

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await wait_text(pilot, NAME, "[/]phen")
        app.screen.query_one(Input).value = "[/bold] zzz"  # matches nothing
        await wait_text(pilot, "No preset matches '[/bold] zzz'")
        app.screen.query_one(Input).value = "oops"
        await wait_text(pilot, "1 of 2 presets")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.runner is not None and app.runner.config.name == NAME

    drive(app, scenario)


@pytest.mark.slow  # a Pilot run of about a second
def test_the_palette_lists_and_highlights_hostile_presets_as_text():
    cfg = hostile_config()
    app = LabApp(Factory(prefill=10, start_paused=True), cfg, presets=[cfg])

    async def scenario(pilot):
        await wait_for(pilot, lambda: getattr(app.screen, "snapshot", None) is not None)
        provider = GroklabCommands(app.screen)
        hits: list[Any] = [hit async for hit in provider.discover()]
        preset = next(h for h in hits if h.text == f"Preset: {NAME}")
        assert preset.prompt.plain == f"Preset: {NAME}"
        assert "\\x1b" in preset.help.plain  # the title's ESC, written out
        found: list[Any] = [hit async for hit in provider.search("oops")]
        (hit,) = [h for h in found if h.text == f"Preset: {NAME}"]
        assert hit.match_display.plain == f"Preset: {NAME}"
        assert hit.match_display.spans  # the matched letters are highlighted

    drive(app, scenario)


def drive_with_toasts(app, scenario, size=(120, 40)) -> None:
    """fakes.drive, with the toasts drawn (run_test leaves them out by default)."""

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await scenario(pilot)

    asyncio.run(main())


@pytest.mark.slow  # a Pilot run of about a second
def test_notifications_are_plain_text(tmp_path):
    app, _ = on_dashboard(tmp_path, prefill=10, state_after_prefill=RunState.RUNNING)

    async def scenario(pilot):
        await wait_for(pilot, lambda: getattr(app.screen, "snapshot", None) is not None)
        app.notify("[/bold]not markup[red \x1b[2J", title="[b]title")
        await wait_for(pilot, lambda: app.screen.query(Toast), what="the toast")
        (toast,) = app.screen.query(Toast)
        assert toast.render().plain == "[b]title\n[/bold]not markup[red \\x1b[2J"

    drive_with_toasts(app, scenario)
