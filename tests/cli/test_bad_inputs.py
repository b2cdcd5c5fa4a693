"""A catalogue of bad inputs, each given to `groklab run ... --headless` in its own process.

Every one must end the same way: exit status 2, one stderr line `groklab: error: ...` that
names the file or key at fault, no traceback, within seconds (nothing is compiled, nothing
hangs, nothing is allocated first). The cases cover preset names, preset files, --set,
--seed and --steps, CSV files, checkpoints given to --resume, and sizes too big for the
machine's memory. They run 4 at a time in one test, which reports every failure at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from engine.config import load_config
from engine.store import checkpoint
from engine.training.session import Session
from tests.conftest import REPO_ROOT, child_env

TIMEOUT_S = 20.0
WORKERS = 4
MEMORY_WORDS = "fits in memory"


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # after `run`; --headless is added
    needle: str  # the file or key the error line must name
    memory: bool = False  # a refusal by the memory estimate


@dataclass
class Outcome:
    case: Case
    returncode: int | None
    stderr: str
    seconds: float
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the files


def _toml_cases(d: Path) -> list[Case]:
    """Preset files, each written into d, run by path."""
    texts = {
        "syntax": "[data\nkind = 1",
        "unknown-top-key": 'colour = "red"',
        "unknown-section": "[dataa]\nkind = 'linear'",
        "section-not-table": "data = 5",
        "name-not-string": "name = 3",
        "name-too-long": "name = '" + "n" * 201 + "'",
        "description-too-long": "description = '" + "d" * 10_001 + "'",
        "unknown-key": "[optim]\nlrr = 0.1",
        "key-not-for-kind": "[data]\nkind = 'linear'\np = 7",
        "unknown-data-kind": "[data]\nkind = 'images'",
        "steps-string": "[train]\nsteps = 'many'",
        "steps-float": "[train]\nsteps = 10.0",
        "steps-bool": "[train]\nsteps = true",
        "steps-beyond-2-53": "[train]\nsteps = 1152921504606846976",
        "seed-negative": "[train]\nseed = -1",
        "lr-zero": "[optim]\nlr = 0",
        "lr-negative": "[optim]\nlr = -0.1",
        "lr-nan": "[optim]\nlr = nan",
        "lr-inf": "[optim]\nlr = inf",
        "val-fraction-one": "[data]\nval_fraction = 1.0",
        "fractions-over-one": "[data]\nval_fraction = 0.6\ntest_fraction = 0.5",
        "batch-negative": "[optim]\nkind = 'sgd'\nbatch_size = -1",
        "gd-minibatch": "[optim]\nkind = 'gd'\nbatch_size = 32",
        "hidden-empty": "[model]\nkind = 'mlp'\nhidden = []",
        "hidden-zero": "[model]\nkind = 'mlp'\nhidden = [8, 0]",
        "hidden-101-layers": "[model]\nkind = 'mlp'\nhidden = [" + "2, " * 101 + "]",
        "activation": "[model]\nkind = 'mlp'\nactivation = 'gelu'",
        "optimizer": "[optim]\nkind = 'rmsprop'",
        "loss": "[loss]\nkind = 'hinge'",
        "ce-on-regression": "[data]\nkind = 'linear'\n[loss]\nkind = 'cross_entropy'",
        "mae-on-classes": "[data]\nkind = 'circles'\n[loss]\nkind = 'mae'",
        "p-one": "[data]\nkind = 'modular'\np = 1",
        "div-non-prime": "[data]\nkind = 'modular'\np = 12\nop = 'div'",
        "p-over-cap": "[data]\nkind = 'modular'\np = 1000003\nop = 'div'",
        "weights-mismatch": "[data]\nkind = 'linear'\nn_features = 2\nweights = [1, 2, 3]",
        "n-features-over-cap": "[data]\nkind = 'linear'\nn_features = 10000000",
        "chance": "[convergence]\nchance = 1.5",
        "removed-window": "[convergence]\nwindow = 10",
        "expect-status": "[expect]\nstatus = 'great'",
        "kind-in-train": "[train]\nkind = 'x'",
        "csv-no-path": "[data]\nkind = 'csv'",
        "mlp-zero-init": "[model]\nkind = 'mlp'\ninit_scale = 0",
        "nested-arrays": "[data]\nkind = " + "[" * 5000 + "]" * 5000,
        "nested-tables": "x = " + "{a = " * 3000 + "1" + "}" * 3000,
        "nested-400-parses": "[data]\nn = " + "[" * 400 + "]" * 400,
        "over-1-mib": "# " + "x" * (1 << 20),
    }
    cases = []
    for name, text in texts.items():
        path = d / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        cases.append(Case(f"toml-{name}", (str(path),), path.name))
    (d / "binary.toml").write_bytes(bytes(range(256)) * 8)
    cases.append(Case("toml-binary", (str(d / "binary.toml"),), "binary.toml"))
    (d / "folder.toml").mkdir()
    cases.append(Case("toml-directory", (str(d / "folder.toml"),), "folder.toml"))
    os.mkfifo(d / "fifo.toml")
    cases.append(Case("toml-fifo", (str(d / "fifo.toml"),), "fifo.toml"))
    return cases


def _preset_name_cases() -> list[Case]:
    return [
        Case("preset-unknown", ("no-such-preset",), "no-such-preset"),
        Case("preset-empty-name", ("",), "file"),
        Case("preset-markup", ("[/bold]oops[red",), "oops"),
        Case("preset-toml-missing", ("linear-regression.toml",), "linear-regression.toml"),
        Case("preset-traversal", ("../../no/such/preset",), "preset"),
        Case("preset-name-too-long", ("x" * 5000,), "file"),
        Case("preset-newline", ("two\nlines",), "two\\nlines"),
        Case("preset-dev-null", ("/dev/null",), "/dev/null"),
        Case("preset-etc-passwd", ("/etc/passwd",), "<toml>"),
    ]


def _set_cases() -> list[Case]:
    lin, mlp, spiral = "linear-regression", "mlp-128", "spiral"
    sets = [
        ("no-equals", lin, ["foo"], "foo"),
        ("empty-key", lin, ["=1"], "--set"),
        ("section-only", lin, ["data.=1"], "--set"),
        ("too-many-dots", lin, ["a.b.c=1"], "a.b.c"),
        ("unknown-key", lin, ["optim.lrr=1"], "optim.lrr"),
        ("unknown-section", lin, ["foo.bar=1"], "foo"),
        ("not-section-key", lin, ["name=x"], "name"),
        ("lr-nan", lin, ["optim.lr=nan"], "optim.lr"),
        ("lr-inf", lin, ["optim.lr=inf"], "optim.lr"),
        ("lr-minus-inf", lin, ["optim.lr=-inf"], "optim.lr"),
        ("lr-text", lin, ["optim.lr=abc"], "optim.lr"),
        ("lr-zero", lin, ["optim.lr=0"], "optim.lr"),
        ("steps-zero", lin, ["train.steps=0"], "train.steps"),
        ("steps-negative", lin, ["train.steps=-5"], "train.steps"),
        ("steps-float", lin, ["train.steps=1e9"], "train.steps"),
        ("steps-beyond-int64", lin, ["train.steps=99999999999999999999"], "train.steps"),
        ("eval-every-zero", lin, ["train.eval_every=0"], "train.eval_every"),
        ("n-zero", lin, ["data.n=0"], "data.n"),
        ("n-negative", lin, ["data.n=-1"], "data.n"),
        ("n-three", lin, ["data.n=3"], "data.n"),
        ("n-float", lin, ["data.n=1e9"], "data.n"),
        ("n-nested", lin, ["data.n=" + "[" * 5000 + "]" * 5000], "data.n"),
        ("hidden-huge-list", mlp, ["model.hidden=[" + "1," * 20_000 + "]"], "model.hidden"),
        ("hidden-negative", mlp, ["model.hidden=[-3]"], "model.hidden"),
        ("hidden-not-list", mlp, ["model.hidden=64"], "model.hidden"),
        ("batch-negative", mlp, ["optim.batch_size=-1"], "optim.batch_size"),
        ("batch-float", mlp, ["optim.batch_size=1.5"], "optim.batch_size"),
        ("csv-no-path", lin, ["data.kind=csv"], "data.path"),
        ("precision", lin, ["train.precision=float16"], "train.precision"),
        ("seed-negative", lin, ["train.seed=-1"], "train.seed"),
        ("momentum-one", lin, ["optim.kind=momentum", "optim.momentum=1.0"], "optim.momentum"),
        ("beta2-one", mlp, ["optim.beta2=1"], "optim.beta2"),
        ("window-zero", lin, ["convergence.window_fraction=0"], "convergence.window_fraction"),
        ("noise-negative", lin, ["data.noise=-1"], "data.noise"),
        ("model-kind", lin, ["model.kind=transformer"], "model.kind"),
        ("schedule", lin, ["optim.schedule=linear"], "optim.schedule"),
        ("step-gamma-zero", lin, ["optim.step_gamma=0"], "optim.step_gamma"),
        ("op", "grokking-mod97", ["data.op=pow"], "data.op"),
        ("within-steps-zero", lin, ["expect.within_steps=0"], "expect.within_steps"),
        ("fractions", spiral, ["data.val_fraction=0.6", "data.test_fraction=0.5"], "data."),
        ("escape-in-key", lin, ["optim.\x1b[31mlr=1"], "--set"),
        ("activation", mlp, ["model.activation=gelu"], "model.activation"),
    ]
    cases = [Case(f"set-{name}", (spec, *[f"--set={s}" for s in over]), needle)
             for name, spec, over, needle in sets]  # fmt: skip
    cases += [
        Case("seed-flag-negative", (lin, "--seed", "-1"), "train.seed"),
        Case("steps-flag-zero", (lin, "--steps", "0"), "--steps"),
        Case("steps-flag-negative", (lin, "--steps", "-3"), "--steps"),
    ]
    return cases


def _size_cases(d: Path) -> list[Case]:
    """Configs within the parser's caps that no machine here has the memory for."""
    wide = d / "wide.toml"
    wide.write_text("[data]\nkind = 'linear'\nn_features = 1000000\n", encoding="utf-8")
    sizes = [
        ("hidden-1e9", "mlp-128", ["model.hidden=[1000000000]"], "model.hidden"),
        ("hidden-30000x30000", "mlp-128", ["model.hidden=[30000,30000]"], "model.hidden"),
        ("n-1e9", "linear-regression", ["data.n=1000000000"], "data.n"),
        ("n-val-1e10", "linear-regression", ["data.n_val=10000000000"], "data.n_val"),
        ("features-x-rows", str(wide), ["data.n=100000"], "data.n_features"),
        ("p-1e5", "grokking-mod97", ["data.p=100000"], "data.p"),
        ("classes-1e8", "spiral", ["data.classes=100000000"], "data.classes"),
        ("degree-1e8", "overfitting-polynomial", ["model.degree=100000000"], "model.degree"),
        ("batch-rows", "mlp-128", ["optim.kind=sgd", "data.n=200000000",
                                   "optim.batch_size=100000000"], "optim.batch_size"),
        ("hidden-deep-wide", "spiral", ["model.hidden=[" + "20000," * 50 + "]"], "model.hidden"),
    ]  # fmt: skip
    return [
        Case(f"size-{name}", (spec, *[f"--set={s}" for s in over]), needle, memory=True)
        for name, spec, over, needle in sizes
    ]


def _csv_cases(d: Path) -> list[Case]:
    files: dict[str, str | bytes] = {
        "empty": "",
        "header-only": "x,y\n",
        "one-column": "y\n1\n2\n3\n",
        "non-numeric": "x1,x2,y\n1,2,0\n2,abc,1\n3,4,0\n",
        "nan-cell": "x,y\n1,2\n2,nan\n3,4\n",
        "inf-cell": "x,y\n1,2\n2,inf\n3,4\n",
        "empty-cell": "x,y\n1,2\n,3\n3,4\n",
        "ragged": "a,b\n1,2\n3\n4,5\n",
        "duplicate-header": "x,x\n1,2\n3,4\n",
        "long-cell": "x,y\n1," + "9" * 500 + "\n",
        "long-name": "x," + "n" * 500 + "\n1,2\n",
        "wide": "a," * 20_000 + "y\n",
        "long-line": "x,y\n1," + "2" * 3_000_000 + "\n",
        "nul": "x,y\n1,\x002\n",
        "latin1": b"x,y\n1,2\n" + b"\xe9,3\n",
        "binary": bytes(range(256)) * 64,
    }
    cases = []
    for name, content in files.items():
        path = d / f"{name}.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        cases.append(_csv_case(name, path, path.name))
    (d / "ok.csv").write_text("x,y\n1,2\n2,3\n3,5\n4,4\n", encoding="utf-8")
    cases.append(_csv_case("target-missing", d / "ok.csv", "data.target", "data.target=price"))
    cases.append(_csv_case("target-empty", d / "ok.csv", "data.target", "data.target=''"))
    with (d / "huge.csv").open("wb") as handle:
        handle.truncate(65 << 20)  # sparse: over the 64 MiB cap, nothing written
    cases.append(_csv_case("huge", d / "huge.csv", "huge.csv"))
    cases.append(_csv_case("missing", d / "nope.csv", "data.path"))
    cases.append(_csv_case("etc-passwd", Path("/etc/passwd"), "/etc/passwd"))
    cases.append(_csv_case("dev-null", Path("/dev/null"), "data.path"))
    (d / "folder.csv").mkdir()
    cases.append(_csv_case("directory", d / "folder.csv", "data.path"))
    os.mkfifo(d / "fifo.csv")
    cases.append(_csv_case("fifo", d / "fifo.csv", "data.path"))
    labels = {
        "label-fraction": "x,label\n1,0\n2,1.5\n3,1\n",
        "label-negative": "x,label\n1,0\n2,-1\n3,1\n",
        "label-over-cap": "x,label\n1,0\n2,5000\n3,1\n",
        "label-one-class": "x,label\n1,0\n2,0\n3,0\n",
    }
    for name, content in labels.items():
        path = d / f"{name}.csv"
        path.write_text(content, encoding="utf-8")
        cases.append(_csv_case(name, path, path.name, preset="spiral"))
    return cases


def _csv_case(name: str, path: Path, needle: str, *more: str, preset="linear-regression"):
    sets = ["data.kind=csv", f"data.path='{path}'", *more]
    return Case(f"csv-{name}", (preset, *[f"--set={s}" for s in sets]), needle)


def _checkpoint_cases(d: Path) -> list[Case]:
    good = d / "good.npz"
    session = Session(load_config("linear-regression"))
    checkpoint.save(session, good)
    data = good.read_bytes()
    with np.load(good, allow_pickle=False) as archive:
        members = {k: archive[k] for k in archive.files}
    state = json.loads(str(members["state"]))

    def variant(name: str, **changes) -> Path:
        out = dict(members)
        for key, value in changes.items():
            key = key.replace("__", ".")
            if value is None:
                out.pop(key)
            else:
                out[key] = value
        path = d / f"{name}.npz"
        np.savez(path, **out)
        return path

    def with_state(name: str, **changes) -> Path:
        new = {**state, **changes}
        return variant(name, state=np.array(json.dumps(new)))

    paths: dict[str, tuple[Path, str]] = {}
    (d / "truncated.npz").write_bytes(data[: len(data) // 2])
    paths["truncated"] = (d / "truncated.npz", "truncated.npz")
    # Inside a member's bytes (its CRC no longer matches), wherever the layout puts it: a
    # fixed offset could land in a local header's date, which nothing reads.
    header = zipfile.ZipFile(good).getinfo("state.npy").header_offset
    names, extra = (int.from_bytes(data[header + i : header + i + 2], "little") for i in (26, 28))
    middle = header + 30 + names + extra + 64
    corrupt = bytearray(data)
    corrupt[middle : middle + 4] = b"\xff\x00\xff\x00"
    (d / "corrupt.npz").write_bytes(bytes(corrupt))
    paths["corrupted-bytes"] = (d / "corrupt.npz", "corrupt.npz")
    np.save(d / "plain.npy", np.zeros(3))
    paths["plain-npy"] = (d / "plain.npy", "plain.npy")
    zipfile.ZipFile(d / "no-members.npz", "w").close()
    paths["no-members"] = (d / "no-members.npz", "no-members.npz")
    np.savez(d / "unrelated.npz", a=np.zeros(2))
    paths["unrelated-members"] = (d / "unrelated.npz", "state")
    (d / "empty.npz").write_bytes(b"")
    paths["empty-file"] = (d / "empty.npz", "empty.npz")
    (d / "text.npz").write_text("hello\n", encoding="utf-8")
    paths["text-file"] = (d / "text.npz", "text.npz")
    with zipfile.ZipFile(d / "not-npy.npz", "w") as archive:
        archive.writestr("state.txt", "{}")
    paths["non-npy-member"] = (d / "not-npy.npz", "state.txt")
    huge_header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    huge_header["shape"] = (10**12,)
    with zipfile.ZipFile(d / "huge-header.npz", "w") as archive:
        with archive.open("param.0.weight.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(handle, huge_header)
            handle.write(b"\x00" * 64)
    paths["huge-declared-shape"] = (d / "huge-header.npz", "param.0.weight")
    arrays = {
        "wrong-shape": variant("shape", param__0__weight=np.zeros((4, 1))),
        "wrong-dtype": variant("dtype", param__0__weight=np.zeros((3, 1), np.float32)),
        "object-dtype": variant("object", param__0__weight=np.array([None], dtype=object)),
        "missing-member": variant("missing", optim__m=None),
        "extra-member": variant("extra", surprise=np.zeros(1)),
        "perm-not-permutation": variant("perm", sampler__perm=np.zeros(100, np.int64)),
        "history-meta": variant("meta", history__meta=np.array([1, 10**12, 10**12])),
        "history-inconsistent": variant(
            "hist", history__metric__lr__recent_steps=np.arange(5, dtype=np.int64)
        ),
        "state-not-text": variant("state-number", state=np.array(3.0)),
        "state-garbled": variant("garbled", state=np.array('{"step": 3,, ')),
        "state-a-list": variant("state-list", state=np.array("[1, 2]")),
        "state-nested-deep": variant("deep", state=np.array("[" * 100_000 + "]" * 100_000)),
        "config-garbled": variant("config-garbled", config=np.array("{nope")),
        "config-bad-value": variant(
            "config-value",
            config=np.array(json.dumps({**json.loads(str(members["config"])), "name": 5})),
        ),
        "no-state": variant("no-state", state=None),
        "wrong-format": with_state("format", format=1),
        "no-format": variant(
            "no-format",
            state=np.array(json.dumps({k: v for k, v in state.items() if k != "format"})),
        ),
        "step-negative": with_state("step-neg", step=-1),
        "step-past-target": with_state("step-big", step=10**6),
        "step-text": with_state("step-text", step="ten"),
        "state-missing-key": variant(
            "no-step", state=np.array(json.dumps({k: v for k, v in state.items() if k != "step"}))
        ),
        "state-extra-key": with_state("extra-key", surprise=1),
        "events-malformed": with_state("events", events=[{"step": 0}]),
        "rows-malformed": with_state("rows", rows=[[1, 2]]),
        "hparams-kind": with_state("hp-kind", hparams={**state["hparams"], "kind": "warp"}),
        "hparams-step-every": with_state("hp-step", hparams={**state["hparams"], "step_every": 0}),
        "sampler-garbage": with_state(
            "sampler", sampler={**state["sampler"], "bit_generator": {"bit_generator": "PCG64"}}
        ),
        "monitor-version": with_state("monitor", monitor={**state["monitor"], "version": 99}),
        "monitor-status": with_state("status", monitor={**state["monitor"], "status": "bliss"}),
        "guarantee-null": with_state("guarantee", guarantee=None),
    }
    cases = [
        Case(f"ckpt-{name}", ("linear-regression", "--resume", str(p)), needle)
        for name, (p, needle) in paths.items()
    ]
    cases += [
        Case(f"ckpt-{name}", ("linear-regression", "--resume", str(p)), p.name)
        for name, p in arrays.items()
    ]
    os.mkfifo(d / "fifo.npz")
    (d / "folder.npz").mkdir()
    cases += [
        Case("ckpt-missing", ("x", "--resume", str(d / "nope.npz")), "nope.npz"),
        Case("ckpt-directory", ("x", "--resume", str(d / "folder.npz")), "folder.npz"),
        Case("ckpt-dev-null", ("x", "--resume", "/dev/null"), "/dev/null"),
        Case("ckpt-fifo", ("x", "--resume", str(d / "fifo.npz")), "fifo.npz"),
        Case("ckpt-set-model-kind", ("x", "--resume", str(good), "--set", "model.kind=mlp"),
             "model.kind"),
        Case("ckpt-set-data-n", ("x", "--resume", str(good), "--set", "data.n=500"), "data.n"),
        Case("ckpt-set-features", ("x", "--resume", str(good), "--set", "data.n_features=4",
                                   "--set", "data.weights=[1,2,3,4]"), "data.n_features"),
        Case("ckpt-seed", ("x", "--resume", str(good), "--seed", "5"), "train.seed"),
        Case("ckpt-precision", ("x", "--resume", str(good), "--set", "train.precision=float32"),
             "train.precision"),
        Case("ckpt-optimizer", ("x", "--resume", str(good), "--set", "optim.kind=adam"),
             "optim.kind"),
    ]  # fmt: skip
    return cases


# --------------------------------------------------------------------------- running


def _run(case: Case, cwd: Path) -> Outcome:
    env = child_env({"PYTHONPATH": str(REPO_ROOT)})
    argv = [sys.executable, "-m", "tui", "run", *case.args, "--headless"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, errors="replace", timeout=TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        outcome = Outcome(case, None, err, time.perf_counter() - started)
        outcome.problems.append(f"no exit within {TIMEOUT_S:.0f} s")
        return outcome
    outcome = Outcome(case, proc.returncode, proc.stderr, time.perf_counter() - started)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 2:
        outcome.problems.append(f"exit {proc.returncode}")
    if "Traceback" in proc.stderr:
        outcome.problems.append("a traceback")
    if len(lines) != 1 or not lines[0].startswith("groklab: error: "):
        outcome.problems.append(f"{len(lines)} stderr lines, not one 'groklab: error:' line")
    elif case.needle not in lines[0]:
        outcome.problems.append(f"the line does not name {case.needle!r}")
    if case.memory and MEMORY_WORDS not in proc.stderr:
        outcome.problems.append("not a memory refusal")
    return outcome


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> tuple[list[Case], Path]:
    d = tmp_path_factory.mktemp("bad-inputs")
    cases = (
        _preset_name_cases()
        + _toml_cases(d)
        + _set_cases()
        + _size_cases(d)
        + _csv_cases(d)
        + _checkpoint_cases(d)
    )
    return cases, d


@pytest.mark.slow
def test_every_bad_input_is_one_clean_line_and_exit_2(catalogue):
    cases, cwd = catalogue
    assert len({c.id for c in cases}) == len(cases) >= 120
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(lambda case: _run(case, cwd), cases))
    failed = [o for o in outcomes if o.problems]
    tracebacks = sum("Traceback" in o.stderr for o in outcomes)
    hangs = sum(o.returncode is None for o in outcomes)
    figures = (
        f"{len(outcomes)} inputs tried, {sum(not o.problems for o in outcomes)} clean exit 2, "
        f"{tracebacks} tracebacks, {hangs} hangs, "
        f"{sum(MEMORY_WORDS in o.stderr for o in outcomes)} memory refusals, "
        f"slowest {max(o.seconds for o in outcomes):.1f} s"
    )
    print(figures)
    report = "\n".join(
        f"{o.case.id}: {'; '.join(o.problems)}\n    {o.stderr.strip()[-400:]!r}" for o in failed
    )
    assert not failed, f"{figures}\n{report}"


def test_a_memory_error_the_estimate_missed_is_one_line_too(monkeypatch, capsys):
    from engine.training import budget
    from tui.cli.main import main

    def exhausted(cfg):
        raise MemoryError

    monkeypatch.setattr(budget, "check_memory", exhausted)
    assert main(["run", "linear-regression", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["groklab: error: out of memory: try smaller sizes"]
