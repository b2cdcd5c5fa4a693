"""GroklabApp driven with a Pilot against FakeRunner: what a user does, what they see.

Each test plays a scenario in a headless app (real timers and polling, at the test
intervals of fakes.LabApp) and checks both sides: the calls the runner received and what
the screen shows. Scenarios wait on conditions, never on the clock.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import replace

import pytest
from fakes import (
    Factory,
    FakeRunner,
    LabApp,
    classifier_config,
    drive,
    make_config,
    polls,
    press,
    screen_text,
    wait_for,
)
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Footer, OptionList, Static

from engine.live.snapshot import Series, Snapshot
from engine.training.hparams import doubled_batch, doubled_decay, halved_batch, halved_decay
from engine.vocabulary import Event, RunState, Status
from tui.app import GroklabApp
from tui.commands import GroklabCommands
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import ErrorScreen, HelpScreen
from tui.screens.host import PresetEntry
from tui.screens.picker import PickerScreen
from tui.widgets import EventLog, HParamPanel, RunHeader
from tui.widgets.event_log import new_events


async def wait_text(pilot, *texts: str, timeout: float = 5.0) -> None:
    """Wait until every one of `texts` is on the screen (layout and paint are async)."""
    await wait_for(
        pilot,
        lambda: all(t in screen_text(pilot.app) for t in texts),
        timeout=timeout,
        what=f"{texts} on screen",
    )


def notifications(app: LabApp) -> list:
    return list(app.notes)


def dash(app) -> DashboardScreen:
    assert isinstance(app.screen, DashboardScreen), type(app.screen).__name__
    return app.screen


def shown(app) -> Snapshot:
    """The snapshot the dashboard drew last."""
    snap = dash(app).snapshot
    assert snap is not None, "nothing drawn yet"
    return snap


def shown_step(app) -> int:
    return shown(app).step


def header_text(app) -> str:
    return app.screen.query_one(RunHeader).visual.plain


def hparam_text(app) -> str:
    """The hyperparameter panel's text, single-spaced (a table or packed pairs)."""
    return " ".join(app.screen.query_one(HParamPanel).visual.plain.split())


def log_text(app) -> str:
    """The event log as one line of single-spaced words (wrapping undone)."""
    return " ".join(" ".join(line.text for line in app.screen.query_one(EventLog).lines).split())


def footer_descriptions(app) -> list[str]:
    return [key.description for key in app.screen.query_one(Footer).query("FooterKey")]


def start_on_dashboard(cfg=None, tmp_path=None, **options):
    factory = Factory(**options)
    app = LabApp(factory, cfg or make_config(), presets=[cfg or make_config()], output_dir=tmp_path)
    return app, factory


# -- picker ------------------------------------------------------------------------


def test_picker_lists_every_preset_and_starts_one(presets):
    factory = Factory()
    app = LabApp(factory, presets=presets)

    async def scenario(pilot):
        assert isinstance(app.screen, PickerScreen)
        options = app.screen.query_one(OptionList)
        assert options.option_count == len(presets)
        text = screen_text(app)
        for cfg in presets:
            for field in (cfg.name, cfg.title, cfg.phenomenon, cfg.description):
                assert field in text
        assert f"{len(presets)} of {len(presets)} presets" in text
        await press(pilot, "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        assert factory.runner.config == presets[1]
        assert factory.runner.started
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        assert presets[1].name in header_text(app)

    drive(app, scenario)


def test_picker_filters_by_typing(presets):
    factory = Factory()
    app = LabApp(factory, presets=presets)

    async def scenario(pilot):
        await press(pilot, *"grok")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert [e.name for e in picker.shown] == ["toy-grokking"]
        await wait_text(pilot, "1 of 3 presets")
        await press(pilot, *"zzz")
        assert picker.shown == []
        await wait_text(pilot, "No preset matches")
        await press(pilot, "escape")  # clears the filter
        assert len(picker.shown) == 3
        await press(pilot, *"momentum", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert factory.runner.config.name == "toy-momentum"

    drive(app, scenario)


def test_picker_refuses_a_broken_preset():
    entries = [
        PresetEntry(
            "broken",
            "broken",
            "",
            "cannot be loaded",
            None,
            "presets/broken.toml: optim.lr: expected a number, found 'x'",
        )
    ]
    factory = Factory()
    app = LabApp(factory, presets=entries)

    async def scenario(pilot):
        await press(pilot, "enter")
        await wait_for(pilot, lambda: notifications(app), what="a notification")
        assert isinstance(app.screen, PickerScreen)
        assert not factory.runners
        (note,) = notifications(app)
        assert note.severity == "error" and "optim.lr" in note.message

    drive(app, scenario)


def test_a_runner_that_cannot_start_is_reported(presets):
    def factory(cfg):
        raise RuntimeError("no compiler")

    app = LabApp(factory, presets=presets)

    async def scenario(pilot):
        await press(pilot, "enter")
        await wait_for(pilot, lambda: notifications(app), what="a notification")
        assert isinstance(app.screen, PickerScreen)
        assert any("no compiler" in n.message and n.severity == "error" for n in notifications(app))

    drive(app, scenario)


# -- pause, step, reset -------------------------------------------------------------


@pytest.mark.slow  # about 2 s of redraw timing
def test_polls_redraw_a_running_run_at_most_every_redraw_interval_keys_at_once(monkeypatch):
    """Every poll brings a new snapshot here, but drawing each one cost the training
    thread a third of a core; a key's effect is still drawn at once."""
    redraw = 0.1  # five polls per redraw interval
    factory = Factory()
    app = LabApp(factory, make_config(), presets=[make_config()], redraw_interval=redraw)

    async def scenario(pilot):
        await wait_for(
            pilot, lambda: dash(app).snapshot and shown_step(app) >= 30, what="the run to advance"
        )
        screen = dash(app)
        drawn: list[tuple[float, int, str]] = []  # (time, polls so far, state drawn)
        original_show = screen.show

        def counting_show(snap):
            drawn.append((time.monotonic(), len(screen.poll_starts), snap.state))
            original_show(snap)

        screen.show = counting_show
        started = time.monotonic()
        await polls(pilot, 25)  # each with a newer version: the fake ran a chunk
        elapsed = time.monotonic() - started
        times = [t for t, _, _ in drawn]
        assert 2 <= len(times) <= elapsed / redraw + 1
        assert min(b - a for a, b in zip(times, times[1:])) >= redraw * 0.9

        pauses: list[int] = []  # polls so far when the runner was asked to pause
        original_pause = factory.runner.pause
        monkeypatch.setattr(
            factory.runner,
            "pause",
            lambda: (pauses.append(len(screen.poll_starts)), original_pause()),
        )
        await press(pilot, "space")
        # drawn by the key's handler: right after the pause, before any further poll
        (asked_at,) = pauses
        first = next(d for d in drawn if d[1] >= asked_at and d[2] == RunState.PAUSED)
        assert first[1] == asked_at
        assert "paused" in header_text(app)

    drive(app, scenario)


def test_space_pauses_and_resumes():
    app, factory = start_on_dashboard()

    async def scenario(pilot):
        await wait_for(
            pilot, lambda: dash(app).snapshot and shown_step(app) >= 30, what="the run to advance"
        )
        assert "running" in header_text(app)
        await wait_for(pilot, lambda: "Pause" in footer_descriptions(app))
        await press(pilot, "space")
        assert factory.runner.called("pause") == [()]
        await polls(pilot)
        paused_at = shown_step(app)
        assert "paused" in header_text(app)
        # the footer recomposes asynchronously after refresh_bindings()
        await wait_for(pilot, lambda: "Resume" in footer_descriptions(app), what="Resume key")
        assert "Pause" not in footer_descriptions(app)
        await polls(pilot, 6)
        assert shown_step(app) == paused_at  # the step shown stops advancing
        await press(pilot, "space")
        assert factory.runner.called("resume") == [()]
        await wait_for(pilot, lambda: shown_step(app) > paused_at, what="resume")
        assert "running" in header_text(app)
        await wait_for(pilot, lambda: "Pause" in footer_descriptions(app), what="Pause key")
        assert "Resume" not in footer_descriptions(app)

    drive(app, scenario)


def test_n_advances_exactly_one_step_while_paused():
    app, factory = start_on_dashboard(prefill=40, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        assert shown_step(app) == 40 and "paused" in header_text(app)
        await press(pilot, "n")
        await polls(pilot)
        assert factory.runner.called("step") == [(1,)]
        assert shown_step(app) == 41
        assert "step 41/" in header_text(app)
        await press(pilot, "n", "n")
        await polls(pilot)
        assert shown_step(app) == 43
        assert "paused" in header_text(app)

    drive(app, scenario)


def test_n_on_a_running_run_pauses_it_first():
    app, factory = start_on_dashboard()

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot and shown_step(app) > 0)
        await press(pilot, "n")
        await polls(pilot)
        calls = [c for c, _ in factory.runner.calls]
        assert calls[-2:] == ["pause", "step"]
        assert "paused" in header_text(app)

    drive(app, scenario)


def test_r_resets_the_run():
    app, factory = start_on_dashboard(prefill=300, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        assert shown_step(app) == 300
        await press(pilot, "plus")
        await press(pilot, "r")
        await polls(pilot)
        assert factory.runner.called("reset") == [()]
        assert shown_step(app) == 0
        assert "reset requested" in log_text(app)
        assert "── new run ──" in log_text(app)
        assert "lr 0.1" in hparam_text(app)  # the edit outlives the reset

    drive(app, scenario)


# -- live edits ----------------------------------------------------------------------


def test_plus_doubles_lr_and_the_panel_shows_it():
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        assert "lr 0.05 " in hparam_text(app)
        await press(pilot, "plus")
        await polls(pilot)
        assert factory.runner.called("set") == [("lr", 0.1)]
        text = hparam_text(app)
        assert "lr 0.1" in text
        assert "●lr" in text.replace(" ", "").replace("\n", "")  # marked as edited
        assert "lr 0.05 -> 0.1" in log_text(app)
        await press(pilot, "minus", "minus")
        await polls(pilot)
        assert factory.runner.called("set")[1:] == [("lr", 0.05), ("lr", 0.025)]
        assert "lr 0.025" in hparam_text(app)

    drive(app, scenario)


def test_repeated_edits_build_on_the_pending_value():
    # The real runner applies edits between chunks: two quick presses must mean x4.
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        factory.runner.set = lambda name, value: factory.runner.calls.append(("set", (name, value)))
        await press(pilot, "plus", "plus")
        assert factory.runner.called("set") == [("lr", 0.1), ("lr", 0.2)]
        assert "→ 0.2" in hparam_text(app)  # pending, not yet applied

    drive(app, scenario)


def test_a_rejected_edit_notifies_and_changes_nothing():
    # Plain GD must use the full batch: the runner refuses a minibatch.
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        before = hparam_text(app)
        version = shown(app).version
        await press(pilot, "B")
        await polls(pilot)
        assert factory.runner.called("set") == [("batch_size", 32)]
        (note,) = notifications(app)
        assert note.severity == "error"
        assert "optim.batch_size" in note.message and "gd" in note.message
        assert hparam_text(app) == before
        assert dash(app).pending == {}
        assert shown(app).version == version  # the runner published nothing new
        assert "edit" not in log_text(app)

    drive(app, scenario)


def test_weight_decay_and_batch_keys():
    cfg = classifier_config()  # adamw, weight decay 0.5, batch 256 of 4705 rows
    app, factory = start_on_dashboard(cfg, prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "w", "W", "W", "b", "B")
        await polls(pilot)
        assert factory.runner.called("set") == [
            ("weight_decay", 1.0),
            ("weight_decay", 0.5),
            ("weight_decay", 0.25),
            ("batch_size", 512),
            ("batch_size", 256),
        ]
        assert "0.25" in hparam_text(app)

    drive(app, scenario)


def test_edit_transitions():
    assert doubled_decay(0.0) == 1e-4 and doubled_decay(0.01) == 0.02
    assert halved_decay(0.0) == (None, "weight decay is already 0")
    assert halved_decay(1e-4) == (5e-5, "")
    assert halved_decay(1.5e-5) == (0.0, "")  # below 1e-5: off
    assert doubled_batch(0, 100) == (None, "already full batch")
    assert doubled_batch(32, 100) == (64, "")
    assert doubled_batch(64, 100) == (0, "full batch")  # 128 >= the training set
    assert doubled_batch(64, None) == (128, "")
    assert halved_batch(0, 100) == (64, "")  # largest power of two below 100
    assert halved_batch(0, 64) == (32, "")
    assert halved_batch(0, None) == (128, "")
    assert halved_batch(1, 100) == (None, "batch size is already 1")
    assert halved_batch(7, 100) == (3, "")


def test_full_batch_halving_uses_the_snapshots_training_split_size():
    # 100 rows, 20% val, 20% test: 60 training rows, so B from full batch asks for 32.
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        assert shown(app).train_size == 60
        factory.runner.train_size = 200  # the dashboard asks the snapshot, nothing else
        factory.runner.emit("note", "train size changed")
        await polls(pilot)
        await press(pilot, "B")
        assert factory.runner.called("set") == [("batch_size", 128)]

    drive(app, scenario)


def test_full_batch_doubling_is_refused_without_asking_the_runner():
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "b")
        await wait_for(pilot, lambda: notifications(app), what="a notification")
        assert factory.runner.called("set") == []
        assert any("already full batch" in n.message for n in notifications(app))

    drive(app, scenario)


# -- test set, export, screenshot, quit ------------------------------------------------


def test_t_evaluates_the_test_set_and_the_log_says_so():
    app, factory = start_on_dashboard(prefill=200, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "t")
        await polls(pilot)
        assert factory.runner.called("evaluate_test") == [()]
        log = log_text(app)
        assert "test set evaluation requested" in log
        assert "test set evaluated once at step 200" in log
        await wait_text(pilot, "test set:")

    drive(app, scenario)


def test_s_saves_an_svg_screenshot(tmp_path):
    app, factory = start_on_dashboard(tmp_path=tmp_path, prefill=50, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "s")
        await wait_for(pilot, lambda: list(tmp_path.glob("*.svg")), what="the SVG file")
        (svg,) = tmp_path.glob("*.svg")
        assert svg.name.startswith("groklab-toy-linear-step50-")
        assert svg.read_text().lstrip().startswith("<svg")
        assert any(str(svg) in n.message for n in notifications(app))

    drive(app, scenario)


def test_e_exports_metrics_csv(tmp_path):
    app, factory = start_on_dashboard(tmp_path=tmp_path, prefill=50, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "e")
        await wait_for(
            pilot,
            lambda: any(n.title == "Metrics exported (CSV)" for n in notifications(app)),
            what="export",
        )
        (csv_file,) = tmp_path.glob("*.csv")
        assert factory.runner.called("export") == [(csv_file,)]
        assert csv_file.read_text().startswith("step,train_loss,val_loss")
        assert any(str(csv_file) in n.message for n in notifications(app))

    drive(app, scenario)


def test_exports_go_to_groklab_exports_and_names_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Every export in the same millisecond, at the same step: only the counter tells them apart.
    monkeypatch.setattr("tui.screens.dashboard._stamp", lambda: "20260101-000000-000")
    folder = tmp_path / "groklab-exports"
    folder.mkdir()
    (folder / "groklab-toy-linear-step50-20260101-000000-000.svg").write_text("older")
    app, _ = start_on_dashboard(prefill=50, start_paused=True)  # no --out

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "s", "s", "e", "e")
        await wait_for(pilot, lambda: len(list(folder.glob("*.csv"))) == 2, what="two CSVs")
        # a name is taken when it is given, before the export's worker writes the file
        screen = dash(app)
        assert screen._export_path("csv") != screen._export_path("csv")

    drive(app, scenario)
    stem = "groklab-toy-linear-step50-20260101-000000-000"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{stem}-2.csv",
        f"{stem}-2.svg",
        f"{stem}-3.svg",
        f"{stem}.csv",
        f"{stem}.svg",
    ]
    assert (folder / f"{stem}.svg").read_text() == "older"  # never written over


def test_a_failed_export_is_reported(tmp_path):
    app, factory = start_on_dashboard(tmp_path=tmp_path, prefill=50, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)

        def fail(path=None):
            raise OSError("disk full")

        factory.runner.export = fail
        await press(pilot, "e")
        await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(app)))
        assert any("disk full" in n.message for n in notifications(app))
        assert isinstance(app.screen, DashboardScreen)

    drive(app, scenario)


def test_q_quits_and_stops_the_runner():
    app, factory = start_on_dashboard()

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "q")
        await pilot.pause()
        assert len(factory.runner.called("stop")) == 1
        assert not app.is_running

    drive(app, scenario)


@pytest.mark.slow  # over a second of Pilot
def test_p_goes_back_to_the_picker_and_stops_the_run(presets):
    factory = Factory()
    app = LabApp(factory, presets[0], presets=presets)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await app.workers.wait_for_complete()
        assert factory.runners[0].stopped
        await press(pilot, "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert len(factory.runners) == 2 and factory.runner.config == presets[1]

    drive(app, scenario)


def test_preset_by_name_is_loaded_before_the_ui_starts():
    from engine.errors import ConfigError

    with pytest.raises(ConfigError):
        GroklabApp(Factory(), "no-such-preset-anywhere")


# -- divergence, errors, bad numbers ---------------------------------------------------


@pytest.mark.slow  # about 2 s
def test_a_diverged_run_shows_diverged_and_the_app_keeps_responding():
    # lr 0.05 is above what this fake model tolerates (0.04): the loss overflows.
    app, factory = start_on_dashboard(diverge_lr=0.04)

    async def scenario(pilot):
        await wait_for(
            pilot,
            lambda: dash(app).snapshot and shown(app).state == RunState.DIVERGED,
            what="divergence",
        )
        assert "diverged" in header_text(app)
        await wait_text(pilot, "DIVERGED")
        assert any(n.title == "Run diverged" for n in notifications(app))
        # neither pause nor resume: a diverged run moves again only after a reset
        await wait_for(
            pilot,
            lambda: not {"Pause", "Resume"} & set(footer_descriptions(app)),
            what="the footer without pause or resume",
        )
        assert "Step" in footer_descriptions(app)
        await press(pilot, "minus")
        await polls(pilot)
        assert factory.runner.called("set") == [("lr", 0.025)]
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        await press(pilot, "r")
        await wait_for(pilot, lambda: shown(app).state == RunState.PAUSED)
        await press(pilot, "space")
        await wait_for(pilot, lambda: shown_step(app) >= 100, what="the mended run")
        assert "running" in header_text(app)  # mended: lower lr, reset, resume

    drive(app, scenario)


@pytest.mark.slow  # over a second of Pilot
def test_a_runner_error_is_shown_once_in_a_modal(tmp_path):
    app, factory = start_on_dashboard(tmp_path=tmp_path, error_at=60)

    async def scenario(pilot):
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ErrorScreen) and "Traceback" in screen_text(app),
            what="error modal",
        )
        text = screen_text(app)
        assert "FloatingPointError: kernel returned a non-finite gradient" in text
        assert "engine/training/session.py" in text
        saved = tmp_path / "groklab-error-toy-linear.txt"
        assert saved.read_text().startswith("Traceback")
        # The modal names the file (read from its line: drawn, a long temporary path
        # wraps wherever its length puts it, inside the name too)
        shown = app.screen.query_one("#error-saved", Static).render()
        assert str(saved) in str(shown)
        await press(pilot, "escape")
        assert isinstance(app.screen, DashboardScreen)
        assert "error" in header_text(app)
        await polls(pilot)
        assert isinstance(app.screen, DashboardScreen)  # not shown a second time
        await press(pilot, "n", "plus")  # greyed out: nothing is sent to a dead runner
        assert factory.runner.called("step") == [] and factory.runner.called("set") == []
        await press(pilot, "p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))

    drive(app, scenario)


class FixedRunner(FakeRunner):
    """Serves one handmade snapshot: for values no training run would produce."""

    def __init__(self, snap: Snapshot) -> None:
        super().__init__(make_config())
        self.fixed = snap

    def snapshot(self) -> Snapshot:
        return self.fixed


def hostile_snapshot(state: RunState = RunState.RUNNING, **series) -> Snapshot:
    return Snapshot(
        preset="hostile",
        title="every bad number",
        task="classification",
        state=state,
        status=Status.DIVERGED,
        explanation="",
        step=7,
        epoch=math.nan,
        steps_per_s=math.inf,
        elapsed_s=0.0,
        target_steps=0,
        hparams=(("optimizer", "sgd"), ("lr", math.nan), ("weight_decay", None), ("batch_size", 0)),
        edited=frozenset({"lr"}),
        latest=(),
        series=tuple((k, Series(tuple(range(len(v))), tuple(v))) for k, v in series.items()),
        events=(Event(0, 0.0, "status", "diverged: nan"),),
        version=1,
    )


BAD = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e308, 1e-308]


HOSTILE = {
    "empty": hostile_snapshot(),  # no series at all
    "every-bad-value": hostile_snapshot(
        train_loss=BAD, val_loss=BAD, train_acc=BAD, val_acc=BAD, grad_norm=BAD, lr=BAD
    ),
    "all-nan": hostile_snapshot(train_loss=[math.nan] * 5, val_loss=[]),
    "single-point": hostile_snapshot(train_loss=[2.0], val_loss=[2.0], grad_norm=[0.0]),
}


@pytest.mark.parametrize("size", [(40, 12), pytest.param((120, 40), marks=pytest.mark.slow)])
def test_nan_inf_and_empty_series_never_crash(size):
    # One app per size is served each hostile snapshot in turn (a new version each, so
    # the dashboard redraws), and every view is toggled over each of them.
    runner = FixedRunner(HOSTILE["empty"])
    app = LabApp(lambda cfg: runner, make_config())

    async def scenario(pilot):
        for version, (name, snap) in enumerate(HOSTILE.items(), start=2):
            runner.fixed = replace(snap, version=version)
            await wait_for(pilot, lambda: dash(app).snapshot is runner.fixed, what=name)
            for key in ("l", "m", "c", "c", "l"):
                await press(pilot, key)
            await polls(pilot)
            assert "hostile" in header_text(app), name

    drive(app, scenario, size=size)


@pytest.mark.parametrize(
    "size", [pytest.param(size, marks=pytest.mark.slow) for size in ((40, 12), (80, 24), (200, 60))]
)
def test_sizes_render_without_error(size, presets):
    factory = Factory(prefill=400, diverge_at=430)
    app = LabApp(factory, presets=presets)

    async def scenario(pilot):
        assert screen_text(app).strip()
        await press(pilot, "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, DashboardScreen) and dash(app).snapshot is not None,
        )
        await wait_for(pilot, lambda: shown(app).state == RunState.DIVERGED)
        for key in ("c", "m", "l", "c", "t", "question_mark"):
            await press(pilot, key)
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        await polls(pilot)
        await wait_text(pilot, "diverged", "nan")  # the val loss went nan

    drive(app, scenario, size=size)


def test_layout_classes_follow_the_size():
    app, _ = start_on_dashboard(prefill=30, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        screen = dash(app)
        assert not screen.has_class("-short") and screen.chart_visible
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: screen.has_class("-short"), what="the short layout")
        assert screen.has_class("-narrow")
        assert screen.chart_visible  # 80x24 shows the chart: the sparklines shrink first
        await pilot.resize_terminal(60, 18)
        await wait_for(pilot, lambda: screen.has_class("-slim"), what="the slim layout")
        assert not screen.chart_visible  # hidden by default when it would be too small...
        await press(pilot, "c")
        assert screen.chart_visible  # ...until asked for
        await pilot.resize_terminal(40, 12)
        await wait_for(pilot, lambda: screen.has_class("-tiny"), what="the tiny layout")
        await pilot.resize_terminal(200, 60)
        await wait_for(pilot, lambda: not screen.has_class("-tiny"), what="the full layout")
        assert screen.has_class("-wide") and screen.chart_visible


# -- polling ----------------------------------------------------------------------------


def test_heap_is_frozen_while_running_and_released_after():
    # A full garbage collection over the start-up heap (numba, Textual) stalled the UI
    # ~100 ms every few seconds; the dashboard freezes that heap once the run is going.
    app, _ = start_on_dashboard(prefill=30)

    async def scenario(pilot):
        await wait_for(
            pilot, lambda: dash(app).snapshot is not None and shown(app).state == RunState.RUNNING
        )
        assert gc.get_freeze_count() > 0

    assert gc.get_freeze_count() == 0
    try:
        drive(app, scenario)
        assert gc.get_freeze_count() == 0  # unfrozen when the dashboard went away
    finally:
        gc.unfreeze()


def test_unchanged_snapshot_version_skips_the_redraw(monkeypatch):
    app, factory = start_on_dashboard(prefill=30, start_paused=True)
    shown: list[int] = []
    original = DashboardScreen.show

    def counting_show(self, snap):
        shown.append(snap.version)
        original(self, snap)

    monkeypatch.setattr(DashboardScreen, "show", counting_show)

    async def scenario(pilot):
        await wait_for(pilot, lambda: factory.runner.polls >= 8, what="polls")
        assert len(shown) == 1  # paused: every poll saw the same version
        await press(pilot, "n")
        await polls(pilot)
        assert len(shown) == 2

    drive(app, scenario)


def test_polls_never_overlap_and_rearm_themselves():
    app, factory = start_on_dashboard(prefill=30, start_paused=True)

    async def scenario(pilot):
        screen = dash(app)
        active = []

        runner = factory.runner
        original = runner.snapshot

        def watched():
            active.append(1)
            assert len(active) == 1, "two polls at once"
            try:
                return original()
            finally:
                active.pop()

        runner.snapshot = watched
        before = runner.polls
        await wait_for(pilot, lambda: runner.polls - before >= 20, what="polls to go on")
        assert screen.snapshot is not None
        assert screen.snapshot.step == 30

    drive(app, scenario)


def test_event_log_appends_only_new_events():
    events = tuple(Event(i * 10, i / 10, "status", f"e{i}") for i in range(5))
    assert new_events(events, None) == (list(events), False)
    last = events[-1]
    assert new_events(events, last) == ([], False)
    later = events[2:] + (Event(50, 0.5, "edit", "lr"), Event(60, 0.6, "test", "t"))
    assert new_events(later, last) == (list(later[-2:]), False)
    # the bounded window slid past the last event written
    slid = (Event(70, 0.7, "status", "x"), Event(80, 0.8, "status", "y"))
    assert new_events(slid, last) == (list(slid), False)
    # a reset starts the clock again
    restarted = (Event(0, 0.0, "reset", "r"),)
    assert new_events(restarted, last) == (list(restarted), True)


# -- help and the command palette -----------------------------------------------------


def dashboard_bindings() -> list[Binding]:
    """DashboardScreen.BINDINGS, checked to be Binding objects: the help screen and the
    palette skip tuple shorthands, so a key bound by a tuple would be missing from both."""
    bindings = [b for b in DashboardScreen.BINDINGS if isinstance(b, Binding)]
    assert len(bindings) == len(DashboardScreen.BINDINGS), "a tuple binding has no help entry"
    return bindings


@pytest.mark.slow  # over a second of Pilot
def test_help_lists_every_key():
    app, _ = start_on_dashboard(prefill=30, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await wait_text(pilot, "Pause / Resume")
        text = screen_text(app)
        for binding in dashboard_bindings():
            assert binding.description in text, binding.description
        assert "Pause / Resume" in text
        assert "ctrl+p" in text
        await press(pilot, "question_mark")
        assert isinstance(app.screen, DashboardScreen)

    drive(app, scenario)


def test_bindings_have_ids_and_tooltips():
    bindings = dashboard_bindings()
    ids = [b.id for b in bindings]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(b.tooltip for b in bindings)
    assert {b.key for b in bindings} >= {
        "space",
        "n",
        "r",
        "plus",
        "minus",
        "w",
        "W",
        "b",
        "B",
        "t",
        "e",
        "s",
        "c",
        "l",
        "m",
        "p",
        "question_mark",
        "q",
    }


@pytest.mark.slow  # a few seconds: each key typed in the palette runs a search
def test_command_palette_offers_every_action_and_preset(presets):
    factory = Factory(prefill=30, start_paused=True)
    app = LabApp(factory, presets[0], presets=presets)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        await press(pilot, "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await wait_text(pilot, "Resume training")  # paused: resume is offered...
        assert "Pause training" not in screen_text(app)  # ...pause is not
        await press(pilot, *"double l")  # (each key in the palette costs a search)
        await wait_text(pilot, "Double the learning rate")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await polls(pilot)
        assert factory.runner.called("set") == [("lr", 0.1)]
        await press(pilot, "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await press(pilot, *"grok")
        await wait_text(pilot, "Grokking on (a + b) mod 97")
        await press(pilot, "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, DashboardScreen) and len(factory.runners) == 2
        )
        assert factory.runner.config.name == "toy-grokking"

    drive(app, scenario)


def test_command_palette_lists_all_actions_when_discovering(presets):
    factory = Factory(prefill=30)
    app = LabApp(factory, presets[0], presets=presets)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        provider = GroklabCommands(app.screen)
        texts = [str(hit.text) async for hit in provider.discover()]
        actions = {b.action for b in dashboard_bindings()} - {"resume"}  # running
        assert len([t for t in texts if not t.startswith("Preset:")]) == len(actions)
        for cfg in presets:
            assert f"Preset: {cfg.name}" in texts

    drive(app, scenario)


def test_repeated_events_fold_into_one_counted_line():
    app, factory = start_on_dashboard(prefill=20, start_paused=True)

    async def scenario(pilot):
        await wait_for(pilot, lambda: dash(app).snapshot is not None)
        runner = factory.runner
        for step in (20, 30, 40):
            runner.emit("best_val", f"best validation at step {step}", step=step)
        runner.emit("edit", "lr 0.05 -> 0.1")
        runner.emit("best_val", "best validation at step 60", step=60)
        await polls(pilot)
        log = log_text(app)
        assert log.count("best_val") == 2  # three in a row fold into one line...
        assert "best validation at step 40 (×3)" in log  # ...the newest, counted
        assert "best validation at step 60" in log and "(×2)" not in log

    drive(app, scenario)
