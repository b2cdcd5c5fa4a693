"""The command line's basics: version, help, exit statuses, cheap import, packaging."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import engine
from tests.conftest import child_env
from tui.cli.main import build_parser, main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_version_prints_the_package_version(run_cli):
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"groklab {engine.__version__}"
    assert engine.__version__ == "0.1.0"


def test_help_names_the_program(run_cli):
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert "groklab" in proc.stdout
    assert "usage:" in proc.stdout


def test_unknown_option_is_bad_input(run_cli):
    proc = run_cli("--no-such-option")
    assert proc.returncode == 2
    assert "--no-such-option" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_main_returns_status_instead_of_exiting(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"groklab {engine.__version__}"
    assert main(["--bogus"]) == 2
    assert build_parser().prog == "groklab"


def test_cli_import_is_cheap(run_python):
    # `groklab --version` must not pay for the UI or the compiled engine.
    code = (
        "import json, sys\n"
        "import tui.cli.main\n"
        "heavy = ('textual', 'rich', 'numba', 'numpy', 'scipy')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


# The entry point with the parser's import held up, as a loaded machine holds it up.
SLOW_PARSER_IMPORT = """
import importlib.abc, sys, time
class Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "tui.cli.main":
            print("importing", flush=True)
            time.sleep(30)
sys.meta_path.insert(0, Slow())
from tui.cli import entry
raise SystemExit(entry(["--version"]))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_parser_imports_is_one_line_not_a_traceback(signum):
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_PARSER_IMPORT], cwd=REPO_ROOT, env=child_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline() == "importing\n"
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 128 + signum, stderr
    assert stderr.splitlines() == [
        "groklab: interrupted before training began: no checkpoint or summary written"
    ]


def test_presets_are_found_through_importlib_resources():
    root = importlib.resources.files("presets")
    found = sorted(p.name for p in root.iterdir() if p.name.endswith(".toml"))
    on_disk = sorted(p.name for p in (REPO_ROOT / "presets").glob("*.toml"))
    assert found == on_disk
    for name in found:
        assert (root / name).read_text(encoding="utf-8").strip()


def test_installed_distribution_declares_the_groklab_script():
    try:
        dist = importlib.metadata.distribution("groklab")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("groklab is not installed (pip install -e '.[dev]')")
    assert dist.version == engine.__version__
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"groklab": "tui.cli:entry"}


def test_wheel_ships_presets_styles_and_the_script(tmp_path):
    hatchling_wheel = pytest.importorskip("hatchling.builders.wheel")
    builder = hatchling_wheel.WheelBuilder(str(REPO_ROOT))
    (wheel,) = list(builder.build(directory=str(tmp_path), versions=["standard"]))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()
    assert Path(wheel).name == f"groklab-{engine.__version__}-py3-none-any.whl"

    expected = {
        "presets/__init__.py",
        "engine/__init__.py",
        "tui/__init__.py",
        "tui/cli/main.py",
        "engine/numerics/kernels.py",
    }
    for pattern in (
        "presets/*.toml",
        "tui/*.tcss",
        "tui/**/*.tcss",
        "engine/**/*.py",
        "tui/**/*.py",
    ):
        expected |= {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob(pattern)}
    missing = sorted(expected - names)
    assert not missing, f"wheel lacks {missing}"
    assert "groklab = tui.cli:entry" in scripts
    # Only the three packages, and no bytecode or Numba cache files.
    top = {n.split("/")[0] for n in names if not n.startswith("groklab-")}
    assert top == {"engine", "tui", "presets"}
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]
