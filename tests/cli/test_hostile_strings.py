"""Hostile strings on the command line (a preset named like markup, a path, control
characters; CSV columns likewise) and child processes that never import from the cwd."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rich.console import Console

from engine.config import load_config
from engine.launch import groklab_command, python_command
from engine.live.runner import Runner
from engine.store.files import safe_file_stem
from tests.conftest import child_env
from tui.cli.headless import run_headless
from tui.cli.main import main
from tui.format import printable

NAME = "[/bold]oops[red ../../x"

HOSTILE = """
name = "[/bold]oops[red ../../x"
title = "[bold red]T[/]itle [link=x]"
phenomenon = "[/]phen"
description = "[b]desc[/i] \\u001b[2J"
[data]
kind = "csv"
path = "data.csv"
target = "[red]price"
[model]
kind = "linear"
[optim]
kind = "gd"
lr = 0.3
[train]
steps = 30
eval_every = 10
"""


def hostile_preset(tmp_path):
    rows = "".join(f"{i % 9},{i % 5},{2 * (i % 9) - (i % 5) + 1}\n" for i in range(40))
    header = "[/bold]size,rooms \x1b[31m,[red]price\n"
    (tmp_path / "data.csv").write_text(header + rows, encoding="utf-8")
    path = tmp_path / "hostile.toml"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, stem",
    [
        (NAME, "_bold_oops_red_._._x"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("..", "run"),
        ("/abs/path", "_abs_path"),
        (".hidden", "hidden"),
        ("-rf", "rf"),
        ("a\x00b\nc\x1b", "a_b_c_"),
        ("", "run"),
        ("grokking-mod97", "grokking-mod97"),
        ("x" * 300, "x" * 64),
    ],
)
def test_safe_file_stem(name, stem):
    assert safe_file_stem(name) == stem


def test_printable_writes_control_characters_out():
    assert printable("a\x1b[31mb\x07") == "a\\x1b[31mb\\x07"
    assert printable("rtl\u202eevil") == "rtl\\u202eevil"
    assert printable("two\nlines\tx") == "two lines x"
    assert printable("two\nlines", newlines=True) == "two\nlines"
    assert printable("[/bold] é 日本 → ·") == "[/bold] é 日本 → ·"


@pytest.mark.parametrize("terminal", [False, True])
def test_headless_summary_of_a_hostile_preset(tmp_path, terminal):
    cfg = load_config(str(hostile_preset(tmp_path)))
    runner = Runner(cfg, out_dir=tmp_path / "run")
    out = Console(record=True, width=200, force_terminal=terminal)
    err = Console(record=True, width=200)
    assert run_headless(runner, out, err) == 0
    text = out.export_text()
    assert f"{NAME}: " in text  # the summary's title, as it is
    assert "fitted weights for [red]price" in text
    assert "[/bold]size" in text and "rooms \\x1b[31m" in text  # CSV columns
    assert "\x1b[31m" not in text


def test_main_runs_a_hostile_preset_headless(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = hostile_preset(tmp_path)
    assert main(["run", str(path), "--headless", "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr()
    assert f"{NAME}: " in printed.out and printed.err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "hostile.toml", "run"]


def test_runner_export_names_its_default_file_safely(tmp_path):
    runner = Runner(load_config(str(hostile_preset(tmp_path))), out_dir=tmp_path / "run")
    runner.start()
    try:
        runner.wait(30)
        path = runner.export()
    finally:
        runner.stop()
    assert path.parent == tmp_path / "run"
    assert path.name.startswith("_bold_oops_red_._._x-step")


# -- child processes import groklab from where the parent does, never from the cwd --------

MALICIOUS = "import pathlib; pathlib.Path('{marker}').write_text('ran')\n"


def plant(tmp_path):
    """A cwd whose tui/ and engine/ packages would write a marker file when imported."""
    marker = tmp_path / "MARKER"
    for package in ("tui", "engine"):
        (tmp_path / package).mkdir()
        for name in ("__init__.py", "__main__.py"):
            (tmp_path / package / name).write_text(MALICIOUS.format(marker=marker))
    return marker


def test_the_launch_commands_keep_the_cwd_off_the_import_path():
    cmd = python_command("pass", "a")
    assert cmd[:3] == [sys.executable, "-P", "-c"] and cmd[-1] == "a"
    assert "-m" not in groklab_command("--version")


@pytest.mark.slow  # subprocesses
def test_a_child_never_runs_code_from_the_working_directory(tmp_path):
    marker = plant(tmp_path)
    env = child_env({"PYTHONPATH": ""})  # only the launcher says where groklab is
    probe = "import engine, tui; print(engine.__file__); print(tui.__file__)"
    done = subprocess.run(
        python_command(probe), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) not in done.stdout
    version = subprocess.run(
        groklab_command("--version"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("groklab ")
    assert not marker.exists()
    # What the launcher replaced, for contrast: `python -m tui` runs the planted package.
    subprocess.run([sys.executable, "-m", "tui", "--version"], cwd=tmp_path, env=env, timeout=60)
    assert marker.exists()
