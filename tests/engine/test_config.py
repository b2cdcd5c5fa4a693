"""engine.config: strict validation, defaults, overrides and lossless round trips."""

from __future__ import annotations

import dataclasses
import json
import sys
import tomllib
from pathlib import Path

import pytest

from engine.config import (
    DATA_KINDS,
    MAX_PRESET_BYTES,
    MODEL_KINDS,
    OPTIM_KINDS,
    REGRESSION_DATA,
    SECTIONS,
    config_from_dict,
    config_to_dict,
    config_to_toml,
    list_presets,
    load_config,
    with_overrides,
)
from engine.errors import ConfigError
from engine.training.data import make_dataset

MODULAR = """
name = "grok"
[data]
kind = "modular"
p = 7
[model]
kind = "mlp"
hidden = [16]
[optim]
kind = "adam"
lr = 0.5
"""


def write(folder: Path, text: str, name: str = "run.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(folder: Path, text: str, overrides=(), seed=None):
    return load_config(write(folder, text), overrides, seed)


# --------------------------------------------------------------------------- bad configurations


def bad(case_id: str, text: str, needles: list[str], overrides=(), files=None):
    """One bad configuration: TOML text, --set overrides, extra files, message substrings."""
    return pytest.param(text, overrides, files or {}, needles, id=case_id)


CSV_CFG = "[data]\nkind = 'csv'\npath = '{}'\n"
CLASSES_CSV = CSV_CFG.format("c.csv") + "[loss]\nkind = 'cross_entropy'"

BAD = [
    bad("toml-syntax", "[data\nkind = 1", ["<toml>", "line 1"]),
    bad("unknown-top-level-key", 'colour = "red"', ["colour", "'red'"]),
    bad("unknown-section", "[dataa]\nkind = 'linear'", ["dataa", "'linear'"]),
    bad("section-not-a-table", "data = 5", ["data", "a table", "5"]),
    bad("name-not-a-string", "name = 3", ["name", "a string", "3"]),
    bad("unknown-key", "[optim]\nlrr = 0.1", ["optim.lrr", "0.1"]),
    bad("key-not-allowed-for-kind", "[data]\nkind = 'linear'\np = 7",
        ["data.p", "data.kind='linear'", "7"]),
    bad("unknown-data-kind", "[data]\nkind = 'images'", ["data.kind", "'images'"]),
    bad("wrong-type", "[train]\nsteps = 'many'", ["train.steps", "'many'"]),
    bad("float-for-int", "[train]\nsteps = 10.0", ["train.steps", "10.0"]),
    bad("bool-for-int", "[train]\nsteps = true", ["train.steps", "True"]),
    bad("bool-for-float", "[optim]\nlr = true", ["optim.lr", "True"]),
    bad("lr-zero", "[optim]\nlr = 0", ["optim.lr", "> 0", "found 0"]),
    bad("lr-negative", "[optim]\nlr = -0.1", ["optim.lr", "-0.1"]),
    bad("lr-nan", "[optim]\nlr = nan", ["optim.lr", "nan"]),
    bad("lr-inf", "[optim]\nlr = inf", ["optim.lr", "inf"]),
    bad("fraction-one", "[data]\nval_fraction = 1.0", ["data.val_fraction", "1.0"]),
    bad("fractions-sum-to-one", "[data]\nval_fraction = 0.6\ntest_fraction = 0.5",
        ["data.test_fraction", "0.5"]),
    bad("batch-negative", "[optim]\nkind = 'sgd'\nbatch_size = -1", ["optim.batch_size", "-1"]),
    bad("gd-with-minibatch", "[optim]\nkind = 'gd'\nbatch_size = 32",
        ["optim.batch_size", "gd", "32"]),
    bad("hidden-empty", "[model]\nkind = 'mlp'\nhidden = []", ["model.hidden", "[]"]),
    bad("hidden-zero", "[model]\nkind = 'mlp'\nhidden = [8, 0]", ["model.hidden", "[8, 0]"]),
    bad("unknown-activation", "[model]\nkind = 'mlp'\nactivation = 'gelu'",
        ["model.activation", "'gelu'"]),
    bad("unknown-optimizer", "[optim]\nkind = 'rmsprop'", ["optim.kind", "'rmsprop'"]),
    bad("unknown-loss", "[loss]\nkind = 'hinge'", ["loss.kind", "'hinge'"]),
    bad("cross-entropy-on-regression", "[data]\nkind = 'linear'\n[loss]\nkind = 'cross_entropy'",
        ["loss.kind", "'cross_entropy'"]),
    bad("mae-on-classification", "[data]\nkind = 'circles'\n[loss]\nkind = 'mae'",
        ["loss.kind", "'mse' (on one-hot targets)", "'mae'"]),
    bad("embedding-on-dense-inputs",
        "[data]\nkind = 'spiral'\n[model]\nkind = 'mlp'\nembedding = 8",
        ["model.embedding", "modular", "found 8"]),
    bad("embedding-on-linear", "[model]\nkind = 'linear'\nembedding = 8",
        ["model.embedding", "model.kind='linear'"]),
    bad("unknown-init", "[model]\ninit = 'xavier'", ["model.init", "'uniform'", "'xavier'"]),
    bad("init-scales-per-layer-count",
        "[data]\nkind = 'modular'\n[model]\nkind = 'mlp'\nhidden = [8]\nembedding = 4\n"
        "init_scale = [1, 1]", ["model.init_scale", "a list of 3", "embedding first"]),
    bad("init-scales-not-numbers", "[model]\ninit_scale = ['a']", ["model.init_scale", "list"]),
    bad("init-scales-zero-mlp", "[model]\nkind = 'mlp'\nhidden = [8]\ninit_scale = [1, 0]",
        ["model.init_scale", "> 0 for model.kind='mlp'"]),
    bad("decay-biases-not-bool", "[optim]\ndecay_biases = 1",
        ["optim.decay_biases", "true or false"]),
    bad("softmax-without-cross-entropy", "[model]\nkind = 'softmax'\n[loss]\nkind = 'mse'",
        ["loss.kind", "softmax", "'mse'"]),
    bad("p-one", "[data]\nkind = 'modular'\np = 1", ["data.p", "found 1"]),
    bad("div-non-prime", "[data]\nkind = 'modular'\np = 12\nop = 'div'",
        ["data.p", "prime", "12"]),
    bad("modular-fractions-over-one",
        "[data]\nkind = 'modular'\ntrain_fraction = 0.8\ntest_fraction = 0.3",
        ["data.test_fraction", "0.3"]),
    bad("weights-length-mismatch", "[data]\nkind = 'linear'\nn_features = 2\nweights = [1, 2, 3]",
        ["data.weights", "[1, 2, 3]"]),
    bad("chance-range", "[convergence]\nchance = 1.5", ["convergence.chance", "1.5"]),
    # keys that counted evaluations are gone, and the error names what replaced them
    bad("window-removed", "[convergence]\nwindow = 10", ["convergence.window", "window_fraction"]),
    bad("patience-removed", "[convergence]\npatience = 5", ["convergence.patience", "dwell"]),
    bad("unknown-status", "[expect]\nstatus = 'great'", ["expect.status", "'great'"]),
    bad("kind-in-kindless-section", "[train]\nkind = 'x'", ["train.kind", "'x'"]),
    bad("csv-without-path", "[data]\nkind = 'csv'", ["data.path", "nothing"]),
    bad("csv-missing", CSV_CFG.format("nope.csv"), ["data.path", "nope.csv"]),
    bad("csv-non-numeric-cell", CSV_CFG.format("bad.csv"), ["bad.csv", "row 3", "'x2'", "'abc'"],
        files={"bad.csv": "x1,x2,y\n1,2,0\n2,abc,1\n3,4,0\n4,5,1\n"}),
    bad("csv-missing-target", CSV_CFG.format("ok.csv") + "target = 'price'",
        ["ok.csv", "data.target", "'price'"], files={"ok.csv": "x,y\n1,2\n3,4\n5,6\n"}),
    bad("csv-empty", CSV_CFG.format("empty.csv"), ["empty.csv", "header", "empty file"],
        files={"empty.csv": ""}),
    bad("csv-fractional-class", CLASSES_CSV, ["c.csv", "row 3", "'label'", "1.5"],
        files={"c.csv": "x,label\n1,0\n2,1.5\n3,1\n4,0\n"}),
    bad("csv-negative-class", CLASSES_CSV, ["c.csv", "row 3", "-1.0"],
        files={"c.csv": "x,label\n1,0\n2,-1\n3,1\n4,0\n"}),
    bad("csv-ragged-row", CSV_CFG.format("r.csv"), ["r.csv", "row 3", "2 columns"],
        files={"r.csv": "a,b\n1,2\n3\n"}),
    bad("held-out-with-fraction", "[data]\nkind = 'linear'\nn_val = 50\nval_fraction = 0.1",
        ["data.val_fraction", "n_val", "0.1"]),
    bad("held-out-fraction-by-set", "[data]\nkind = 'linear'\nn_test = 5",
        ["--set", "data.test_fraction", "in addition"], overrides=["data.test_fraction=0.2"]),
    bad("held-out-negative", "[data]\nkind = 'linear'\nn_val = -1", ["data.n_val", ">= 0"]),
    bad("held-out-not-for-csv", CSV_CFG.format("ok.csv") + "n_val = 5", ["data.n_val", "csv"],
        files={"ok.csv": "x,y\n1,2\n3,4\n5,6\n"}),
    bad("held-out-not-for-modular", "[data]\nkind = 'modular'\nn_test = 5",
        ["data.n_test", "modular"]),
    bad("zero-init-mlp", "[model]\nkind = 'mlp'\ninit_scale = 0",
        ["model.init_scale", "> 0 for model.kind='mlp'", "hidden unit"]),
    bad("negative-init", "[model]\ninit_scale = -1", ["model.init_scale", ">= 0"]),
    # caps: sizes resolved before any memory estimate, and nesting that would recurse away
    bad("steps-beyond-2-53", "[train]\nsteps = 9007199254740993",
        ["train.steps", "[1, 9007199254740992]"]),
    bad("n-features-cap", "[data]\nkind = 'linear'\nn_features = 1000001",
        ["data.n_features", "[1, 1000000]"]),
    bad("p-cap", "[data]\nkind = 'modular'\np = 1000003\nop = 'div'", ["data.p", "1000000"]),
    bad("too-many-layers", "[model]\nkind = 'mlp'\nhidden = [" + "2, " * 101 + "]",
        ["model.hidden", "at most 100 integers"]),
    bad("name-too-long", "name = '" + "n" * 201 + "'", ["name", "at most 200 characters", "..."]),
    bad("toml-nested-deep", "[data]\nkind = " + "[" * 2000 + "]" * 2000,
        ["<toml>", "nested", "deeper"]),
    bad("override-nested-deep", "", ["--set", "data.n", "nested"],
        overrides=["data.n=" + "[" * 2000 + "]" * 2000]),
    bad("override-huge-list-is-cut-short", "", ["model.hidden", "..."],
        overrides=["model.kind=mlp", "model.hidden=[" + "0, " * 2_000 + "]"]),
    bad("override-no-equals", "", ["--set", "'foo'"], overrides=["foo"]),
    bad("override-too-many-dots", "", ["--set", "a.b.c", "'a.b.c=1'"], overrides=["a.b.c=1"]),
    bad("override-unknown-key", "", ["--set", "optim.lrr", "found 1"], overrides=["optim.lrr=1"]),
    bad("override-unknown-section", "", ["--set", "foo", "'foo.bar=1'"], overrides=["foo.bar=1"]),
    bad("override-bad-value", "", ["--set", "optim.lr", "nan"], overrides=["optim.lr=nan"]),
    bad("override-kind-needs-a-key", "", ["--set", "data.path", "nothing"],
        overrides=["data.kind=csv"]),
    bad("override-key-not-allowed-for-new-kind", "", ["--set", "optim.momentum", "0.5"],
        overrides=["optim.kind=adam", "optim.momentum=0.5"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "overrides", "extra", "needles"), BAD)
def test_bad_configuration_is_a_config_error(tmp_path, text, overrides, extra, needles):
    for name, content in extra.items():
        write(tmp_path, content, name)
    with pytest.raises(ConfigError) as info:
        make_dataset(load(tmp_path, text, overrides))  # CSV content is checked when read
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_preset_file_over_1_mib_is_refused_unread(tmp_path):
    path = write(tmp_path, "# " + "x" * MAX_PRESET_BYTES + "\n")
    with pytest.raises(ConfigError, match="at most 1 MiB") as info:
        load_config(path)
    assert info.value.source == str(path) and len(str(info.value)) < 300


def test_a_message_quotes_a_value_shortly(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "[train]\nsteps = '" + "x" * 10_000 + "'")
    assert len(str(info.value)) < 300 and str(info.value).endswith("...")


def test_file_errors_name_the_file(tmp_path):
    path = write(tmp_path, "[optim]\nlr = -1")
    with pytest.raises(ConfigError, match=r"optim\.lr") as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.key == "optim.lr"
    assert info.value.found == -1


def test_toml_syntax_error_carries_line_and_column(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, '[data]\nkind = "linear"\nn = = 3\n')
    assert info.value.key == "<toml>"
    assert "line 3" in str(info.value) and "column" in str(info.value)


def test_missing_file_or_preset(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.key == "file" and "nope.toml" in str(info.value)
    with pytest.raises(ConfigError, match="bundled preset name"):
        load_config("no-such-preset-anywhere")


def test_bad_seed_argument(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "", seed=-1)
    assert info.value.source == "--seed" and info.value.key == "train.seed"


# --------------------------------------------------------------------------- defaults


def test_empty_file_is_the_seed_example_with_every_default(tmp_path):
    cfg = load_config(write(tmp_path, "", "my-run.toml"))
    assert (cfg.name, cfg.title, cfg.description, cfg.phenomenon) == ("my-run", "my-run", "", "")
    d = cfg.data
    assert (d.kind, d.n, d.n_features, d.weights, d.intercept, d.noise) == (
        "linear", 100, 3, (3.0, 5.0, 2.0), 0.0, 1.0,
    )  # fmt: skip
    assert (d.val_fraction, d.test_fraction) == (0.2, 0.2)
    assert d.p is None and d.path is None and d.label_noise is None  # not keys of linear
    assert (cfg.model.kind, cfg.model.bias, cfg.model.init_scale) == ("linear", True, 1.0)
    assert cfg.model.hidden is None
    assert cfg.loss.kind == "mse"
    o = cfg.optim
    assert (o.kind, o.lr, o.weight_decay, o.batch_size) == ("gd", 0.01, 0.0, 0)
    assert o.schedule == "constant"
    assert (o.step_every, o.step_gamma, o.min_lr, o.warmup_steps) == (1000, 0.5, 0.0, 0)
    assert o.momentum is None and o.beta1 is None
    t = cfg.train
    assert (t.seed, t.steps, t.eval_every, t.early_stopping, t.patience, t.stop_on_converged) == (
        0, 1000, 10, False, 10, True,
    )  # fmt: skip
    c = cfg.convergence
    assert (c.grad_tol, c.plateau_rel_tol, c.window_fraction, c.dwell_fraction) == (
        1e-6, 1e-3, 0.25, 0.1,
    )  # fmt: skip
    assert (c.chance, c.memorize_acc, c.grok_acc, c.overfit_rel) == (None, 0.99, 0.95, 0.1)
    assert all(v is None for v in dataclasses.asdict(cfg.expect).values())


def test_kind_defaults(tmp_path):
    cfg = load(tmp_path, MODULAR)
    d = cfg.data
    assert (d.p, d.op, d.train_fraction, d.test_fraction) == (7, "add", 0.5, 0.1)
    assert cfg.data.n is None and cfg.data.val_fraction is None  # modular has no n / val_fraction
    assert cfg.loss.kind == "cross_entropy"  # follows the data when not given
    assert (cfg.optim.beta1, cfg.optim.beta2, cfg.optim.eps) == (0.9, 0.999, 1e-8)
    assert (cfg.model.hidden, cfg.model.activation) == ((16,), "relu")
    assert load(tmp_path, "[optim]\nkind = 'adamw'").optim.weight_decay == 0.01
    assert load(tmp_path, "[optim]\nkind = 'nesterov'").optim.momentum == 0.9
    spiral = load(tmp_path, "[data]\nkind = 'spiral'").data
    assert (spiral.classes, spiral.n, spiral.label_noise) == (3, 200, 0.0)
    assert load(tmp_path, "[data]\nkind = 'gaussians'").data.classes == 2
    assert load(tmp_path, "[data]\nkind = 'xor'").data.classes is None


def test_values_are_normalized(tmp_path):
    cfg = load(tmp_path, "[optim]\nlr = 1\n[data]\nweights = [1, 2]\n[convergence]\nchance = 0.5")
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.data.weights == (1.0, 2.0) and cfg.data.n_features == 2  # follows the weights
    assert cfg.convergence.chance == 0.5
    assert load(tmp_path, "[convergence]\nchance = -1").convergence.chance is None
    five = load(tmp_path, "[data]\nn_features = 5").data
    assert five.weights == (3.0, 5.0, 2.0, 3.0, 5.0)


def test_config_is_frozen_and_source_is_not_compared(tmp_path):
    a = load_config(write(tmp_path, 'name = "x"', "a.toml"))
    b = load_config(write(tmp_path, 'name = "x"', "b.toml"))
    assert a == b and a.source != b.source
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.optim.lr = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- overrides


def test_overrides_and_seed(tmp_path):
    cfg = load(tmp_path, MODULAR, ["optim.lr=0.1", "train.steps=50", "model.hidden=[8, 8]"], seed=7)
    assert (cfg.optim.lr, cfg.train.steps, cfg.model.hidden, cfg.train.seed) == (0.1, 50, (8, 8), 7)
    assert cfg.optim.kind == "adam" and cfg.data.p == 7  # untouched keys stay


def test_override_value_falls_back_to_a_bare_string(tmp_path):
    cfg = load(tmp_path, "", ["model.kind=mlp", "model.activation=tanh", "optim.schedule = cosine"])
    assert (cfg.model.activation, cfg.optim.schedule) == ("tanh", "cosine")


def test_override_kind_starts_the_section_afresh(tmp_path):
    fresh_sgd = load(tmp_path, "[optim]\nkind = 'sgd'").optim
    assert load(tmp_path, MODULAR, ["optim.kind=sgd"]).optim == fresh_sgd
    with_lr = load(tmp_path, MODULAR, ["optim.kind=sgd", "optim.lr=0.3"]).optim
    assert (with_lr.kind, with_lr.lr, with_lr.beta1) == ("sgd", 0.3, None)
    same_kind = load(tmp_path, MODULAR, ["optim.kind=adam"]).optim
    assert same_kind.lr == 0.5  # not a new kind: the file's keys stay
    # The file's data keys (p) would be invalid for linear: the reset drops them.
    linear = load(tmp_path, MODULAR, ["data.kind=linear", "loss.kind=mse"]).data
    assert (linear.kind, linear.n, linear.p) == ("linear", 100, None)


def test_override_data_kind_to_csv_on_a_modular_config(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    write(tmp_path / "work", "a,b,label\n" + rows, "mine.csv")
    monkeypatch.chdir(tmp_path / "work")  # --set paths resolve against the working directory
    explicit_loss = MODULAR + "[loss]\nkind = 'cross_entropy'\n"
    cfg = load(tmp_path, explicit_loss, ["data.kind=csv", "data.path=mine.csv"])
    assert cfg.data.kind == "csv"
    assert cfg.data.path == str((tmp_path / "work" / "mine.csv").resolve())
    assert (cfg.data.p, cfg.data.val_fraction, cfg.data.standardize) == (None, 0.2, True)
    ds = make_dataset(cfg)
    assert ds.task == "classification"  # the preset's explicit cross_entropy stays
    assert ds.feature_names == ("a", "b") and ds.target_name == "label" and ds.n_outputs == 2
    # Without an explicit [loss] the default follows the data: a CSV is regression.
    implicit = load(tmp_path, MODULAR, ["data.kind=csv", "data.path=mine.csv"])
    assert implicit.loss.kind == "mse" and make_dataset(implicit).task == "regression"


def test_csv_path_in_a_file_resolves_against_its_folder(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    write(tmp_path / "cfg", "x,y\n1,2\n2,3\n3,4\n4,5\n5,6\n", "d.csv")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path / "cfg", "[data]\nkind = 'csv'\npath = 'd.csv'"))
    assert cfg.data.path == str((tmp_path / "cfg" / "d.csv").resolve())


def test_with_overrides_returns_a_new_validated_config(tmp_path):
    cfg = load(tmp_path, MODULAR)
    live = with_overrides(cfg, ["optim.lr=0.02", "optim.weight_decay=1.0"])
    assert (live.optim.lr, live.optim.weight_decay) == (0.02, 1.0)
    assert cfg.optim.lr == 0.5 and live.source == cfg.source
    assert with_overrides(cfg, seed=3).train.seed == 3
    with pytest.raises(ConfigError, match=r"--set: optim\.lr"):
        with_overrides(cfg, ["optim.lr=-1"])


# --------------------------------------------------------------------------- round trips

ROUND_TRIP = [
    pytest.param("", id="defaults"),
    pytest.param(MODULAR + "[convergence]\nchance = 0.25\n", id="modular"),
    pytest.param(
        'title = "Say \\"hi\\"\\n\\ttabs \\\\ and ünïcode ✓"\ndescription = "bell \\u0007"\n'
        "[data]\nkind = 'modular'\nop = 'div'\np = 13\n"
        "[expect]\nstatus = 'grokked'\nwithin_steps = 500\nmax_final_val_loss = 0.1\n"
        "best_restored = true\n",
        id="strings-and-expect",
    ),
    *[pytest.param(f"[data]\nkind = '{k}'", id=f"data-{k}") for k in DATA_KINDS if k != "csv"],
    *[
        pytest.param(f"[model]\nkind = '{k}'\n[data]\nkind = 'xor'", id=f"model-{k}")
        for k in MODEL_KINDS
    ],
    *[pytest.param(f"[optim]\nkind = '{k}'\nlr = 3e-7", id=f"optim-{k}") for k in OPTIM_KINDS],
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_toml_round_trip(tmp_path, text):
    cfg = load(tmp_path, text)
    again = load_config(write(tmp_path, config_to_toml(cfg), "resolved.toml"))
    assert again == cfg
    assert config_to_toml(again) == config_to_toml(cfg)


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_dict_round_trip_through_json(tmp_path, text):
    cfg = load(tmp_path, text)
    d = json.loads(json.dumps(config_to_dict(cfg)))
    assert config_from_dict(d, "checkpoint.npz") == cfg


def test_csv_config_round_trips(tmp_path):
    write(tmp_path, "x,y\n1,2\n2,3\n3,4\n4,5\n", "d.csv")
    cfg = load(tmp_path, "[data]\nkind = 'csv'\npath = 'd.csv'\ntarget = 'x'")
    assert load_config(write(tmp_path, config_to_toml(cfg), "other.toml")) == cfg
    assert config_from_dict(config_to_dict(cfg), "ckpt") == cfg


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_round_trips_through_its_shown_toml(tmp_path, capsys, name):
    from tui.cli.main import main

    assert main(["show", name]) == 0
    text = capsys.readouterr().out
    assert text == config_to_toml(load_config(name))  # `show` prints exactly this
    assert load_config(write(tmp_path, text, f"{name}.toml")) == load_config(name)


def test_toml_omits_none_and_writes_auto_chance(tmp_path):
    cfg = load(tmp_path, "")  # linear: no p, no hidden, no expectations
    doc = tomllib.loads(config_to_toml(cfg))
    assert "p" not in doc["data"] and "hidden" not in doc["model"]
    assert doc["expect"] == {}  # every section is written, even when all of it is unset
    assert doc["convergence"]["chance"] == -1.0  # None means auto, which TOML spells -1
    assert all(v is not None for section in SECTIONS for v in doc[section].values())


HOSTILE = [
    "quote \" and ' backslash \\ end\\",
    "new\nline, tab\t, carriage\rreturn, form\ffeed",
    "triple \"\"\" and ''' quotes",
    "unicode: naïve café 数学 🧠 \u2028 \x7f \x01 \x1f",
    "[section] = 'looks like TOML'\nkey = 1\n# comment",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_round_trip(tmp_path, text):
    cfg = dataclasses.replace(load(tmp_path, ""), title=text, description=text, phenomenon=text)
    again = load_config(write(tmp_path, config_to_toml(cfg), "hostile.toml"))
    assert (again.title, again.description, again.phenomenon) == (text, text, text)
    assert again == cfg


def test_toml_writes_every_key_in_use(tmp_path):
    text = config_to_toml(load(tmp_path, "[data]\nkind = 'sine'"))
    for line in ("frequency = 1.0", "amplitude = 1.0", "n = 200", "lr = 0.01", "chance = -1.0"):
        assert line in text.splitlines()
    assert "p = " not in text and "weights" not in text  # keys of other kinds are not written


def test_from_dict_validates(tmp_path):
    d = config_to_dict(load(tmp_path, ""))
    optim = d["optim"]
    assert isinstance(optim, dict)
    optim["lr"] = float("inf")
    with pytest.raises(ConfigError, match=r"ckpt: optim\.lr"):
        config_from_dict(d, "ckpt")


def test_regression_kinds_are_regression(tmp_path):
    for kind in REGRESSION_DATA:
        assert load(tmp_path, f"[data]\nkind = '{kind}'").loss.kind == "mse"


# --------------------------------------------------------------------------- bundled presets


@pytest.fixture
def fake_presets(tmp_path, monkeypatch):
    """A stand-in `presets` package holding two TOML files and a CSV."""
    package = tmp_path / "site" / "presets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    write(package, MODULAR, "grok-demo.toml")
    write(package, "[data]\nkind = 'csv'\npath = 'table.csv'\n", "from-table.toml")
    write(package, "x,y\n1,2\n2,3\n3,4\n4,5\n", "table.csv")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "presets", raising=False)
    return package


def test_presets_are_found_by_name(fake_presets):
    assert list_presets() == ["from-table", "grok-demo"]
    cfg = load_config("grok-demo")
    assert cfg.source == "grok-demo" and cfg.name == "grok" and cfg.data.p == 7
    table = load_config("from-table")
    assert table.name == "from-table"
    assert table.data.path == str((fake_presets / "table.csv").resolve())


def test_bundled_presets_list_is_sorted_names():
    names = list_presets()
    assert names == sorted(names) and all(not n.endswith(".toml") for n in names)


# ------------------------------------------------------------------- held-out rows, zero init


def test_held_out_counts_replace_the_fractions(tmp_path):
    data = load(tmp_path, "[data]\nkind = 'spiral'\nn_val = 30").data
    assert (data.n, data.n_val, data.n_test) == (200, 30, 0)
    assert (data.val_fraction, data.test_fraction) == (None, None)
    plain = load(tmp_path, "[data]\nkind = 'spiral'").data
    assert (plain.n_val, plain.n_test, plain.val_fraction) == (None, None, 0.2)
    # and round trip: the fractions are not written back
    cfg = load(tmp_path, "[data]\nkind = 'linear'\nn_test = 9")
    assert "val_fraction" not in config_to_toml(cfg)
    assert load(tmp_path, config_to_toml(cfg)) == cfg


@pytest.mark.parametrize("kind", ["linear", "polynomial", "softmax"])
def test_zero_init_is_allowed_for_one_layer_models(tmp_path, kind):
    data = "[data]\nkind = 'moons'\n" if kind == "softmax" else ""
    assert load(tmp_path, f"{data}[model]\nkind = '{kind}'\ninit_scale = 0").model.init_scale == 0


# ------------------------------------------------------------------- a preset switched to CSV

TABLE = "a,b,y\n" + "".join(f"{i},{i % 5},{2 * i + 40}\n" for i in range(30))


def test_switching_a_preset_to_csv_drops_its_claims_about_the_generated_data(tmp_path, monkeypatch):
    write(tmp_path, TABLE, "mine.csv")
    monkeypatch.chdir(tmp_path)
    cfg = load_config("linear-regression", ["data.kind=csv", "data.path=mine.csv"])
    preset = load_config("linear-regression")
    assert preset.expect.status == "converged" and preset.expect.params_close_to_lstsq
    assert all(getattr(cfg.expect, f.name) is None for f in dataclasses.fields(cfg.expect))
    (note,) = cfg.notes
    assert "replaces the preset's linear data" in note
    for dropped in ("expect.status", "expect.within_steps", "expect.params_close_to_lstsq"):
        assert dropped in note
    # what stays is said too: the procedure, and the missing intercept
    assert "without intercept (model.bias = false)" in note and "every 100 steps" in note
    assert (cfg.train.eval_every, cfg.model.bias) == (100, False)
    assert load_config("linear-regression").notes == ()  # the preset itself: nothing to say


def test_a_claim_given_with_set_is_the_users_own_and_stays(tmp_path, monkeypatch):
    write(tmp_path, TABLE, "mine.csv")
    text = "[data]\nkind = 'moons'\n[convergence]\nchance = 0.5\n[expect]\nstatus = 'converged'\n"
    monkeypatch.chdir(tmp_path)
    sets = ["data.kind=csv", "data.path=mine.csv", "expect.min_final_val_acc=0.9"]
    cfg = load(tmp_path, text, [*sets, "loss.kind=mse"])
    assert cfg.convergence.chance is None  # auto again: the preset's was about its classes
    assert (cfg.expect.status, cfg.expect.min_final_val_acc) == (None, 0.9)
    assert "convergence.chance" in cfg.notes[0] and "expect.status" in cfg.notes[0]
    assert "expect.min_final_val_acc" not in cfg.notes[0]


def test_a_csv_config_of_its_own_keeps_its_claims_and_its_note_survives_overrides(
    tmp_path, monkeypatch
):
    write(tmp_path, TABLE, "mine.csv")
    own = load(tmp_path, "[data]\nkind = 'csv'\npath = 'mine.csv'\n[expect]\nstatus = 'converged'")
    assert own.expect.status == "converged" and own.notes == ()
    monkeypatch.chdir(tmp_path)
    switched = load_config("linear-regression", ["data.kind=csv", "data.path=mine.csv"])
    again = with_overrides(switched, ["optim.lr=0.1"])
    assert again.notes == switched.notes and again.optim.lr == 0.1
    assert load(tmp_path, config_to_toml(switched)) == switched  # notes are not config
