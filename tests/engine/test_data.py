"""engine.training.data: generators, splits, label noise, modular pairs and CSV files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from engine.config import CLASSIFICATION_DATA, DATA_KINDS, load_config
from engine.errors import ConfigError
from engine.training.data import MAX_CSV_BYTES, Dataset, make_dataset

GENERATED = [kind for kind in DATA_KINDS if kind != "csv"]
POINT_CLOUDS = [kind for kind in CLASSIFICATION_DATA if kind != "modular"]


def dataset(tmp_path: Path, text: str = "", overrides=(), seed=None) -> Dataset:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return make_dataset(load_config(path, overrides, seed))


def of_kind(tmp_path: Path, kind: str, *overrides: str, seed=None) -> Dataset:
    return dataset(tmp_path, f"[data]\nkind = '{kind}'", overrides, seed)


def splits(ds: Dataset):
    return ds.train, ds.val, ds.test


def concat(ds: Dataset, attr: str) -> np.ndarray:
    return np.concatenate([getattr(s, attr) for s in splits(ds)])


# --------------------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("kind", GENERATED)
def test_arrays_are_contiguous_with_the_documented_dtypes(tmp_path, kind):
    ds = of_kind(tmp_path, kind)
    classification = kind in CLASSIFICATION_DATA
    assert ds.task == ("classification" if classification else "regression")
    for split in splits(ds):
        assert split.X.flags.c_contiguous and split.y.flags.c_contiguous
        assert split.X.ndim == 2 and split.X.shape[0] == split.y.shape[0]
        if classification:
            assert split.y.dtype == np.int64 and split.y.ndim == 1
        else:
            assert split.y.dtype == np.float64 and split.y.shape[1] == 1 == ds.n_outputs
        if kind == "modular":
            assert split.X.dtype == np.int64 and ds.input_kind == "index"
        else:
            assert split.X.dtype == np.float64 and ds.input_kind == "dense"
            assert split.X.shape[1] == ds.n_inputs == len(ds.feature_names)


@pytest.mark.parametrize(
    ("data", "key"),
    [("kind = 'spiral'", "classes"), ("kind = 'csv'\npath = 'd.csv'", "standardize")],
)
def test_a_key_its_kind_reads_left_unset_is_an_internal_error(tmp_path, data, key):
    """load_config fills every key a kind reads; a DataConfig built without one fails loudly."""
    (tmp_path / "d.csv").write_text("a,y\n1,2\n3,4\n5,6\n7,8\n", encoding="utf-8")
    path = tmp_path / "run.toml"
    path.write_text(f"[data]\n{data}", encoding="utf-8")
    cfg = load_config(path)
    broken = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **{key: None}))
    with pytest.raises(RuntimeError, match=f"data.{key} is unset"):
        make_dataset(broken)


def test_seed_example(tmp_path):
    """X 100x3 uniform on [0, 1), y = X.[3, 5, 2] + N(0, 1)."""
    ds = dataset(tmp_path)
    X, y = concat(ds, "X"), concat(ds, "y")
    assert X.shape == (100, 3) and y.shape == (100, 1)
    assert X.min() >= 0.0 and X.max() < 1.0
    assert ds.feature_names == ("x1", "x2", "x3") and ds.target_name == "y"
    residual = y[:, 0] - X @ np.array([3.0, 5.0, 2.0])
    assert 0.7 < residual.std() < 1.3 and abs(residual.mean()) < 0.35


def test_linear_without_noise_is_exact(tmp_path):
    ds = of_kind(tmp_path, "linear", "data.noise=0", "data.weights=[1, -2]", "data.intercept=0.5")
    X, y = concat(ds, "X"), concat(ds, "y")
    np.testing.assert_allclose(y[:, 0], X @ np.array([1.0, -2.0]) + 0.5)


def test_linear_noise_has_the_configured_scale(tmp_path):
    ds = of_kind(tmp_path, "linear", "data.n=20000", "data.noise=0.25")
    residual = concat(ds, "y")[:, 0] - concat(ds, "X") @ np.array([3.0, 5.0, 2.0])
    assert residual.std() == pytest.approx(0.25, rel=0.03)


def test_polynomial_and_sine_follow_their_formulas(tmp_path):
    poly = of_kind(tmp_path, "polynomial", "data.noise=0", "data.coeffs=[1, 0, -3]")
    x, y = concat(poly, "X")[:, 0], concat(poly, "y")[:, 0]
    assert x.min() >= -1.0 and x.max() < 1.0
    np.testing.assert_allclose(y, 1.0 - 3.0 * x**2)
    sine = of_kind(tmp_path, "sine", "data.noise=0", "data.frequency=2", "data.amplitude=3")
    x, y = concat(sine, "X")[:, 0], concat(sine, "y")[:, 0]
    np.testing.assert_allclose(y, 3.0 * np.sin(4.0 * math.pi * x))


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("kind", GENERATED)
def test_same_seed_same_arrays_other_seed_other_arrays(tmp_path, kind):
    a, b = of_kind(tmp_path, kind, seed=11), of_kind(tmp_path, kind, seed=11)
    c = of_kind(tmp_path, kind, seed=12)
    for sa, sb in zip(splits(a), splits(b), strict=True):
        np.testing.assert_array_equal(sa.X, sb.X)
        np.testing.assert_array_equal(sa.y, sb.y)
    assert not np.array_equal(a.train.X, c.train.X)


# --------------------------------------------------------------------------- splits


@pytest.mark.parametrize(
    ("n", "val", "test", "sizes"),
    [(200, 0.2, 0.2, (120, 40, 40)), (10, 0.25, 0.15, (6, 2, 2)), (50, 0.0, 0.3, (35, 0, 15))],
)
def test_split_sizes(tmp_path, n, val, test, sizes):
    ds = of_kind(tmp_path, "circles", f"data.n={n}", f"data.val_fraction={val}",
                 f"data.test_fraction={test}")  # fmt: skip
    assert tuple(len(s.y) for s in splits(ds)) == sizes
    assert ds.val.X.shape == (sizes[1], 2)  # an empty split keeps its column count


def test_rows_are_split_not_duplicated(tmp_path):
    X = concat(of_kind(tmp_path, "linear", "data.n=300"), "X")
    assert len(np.unique(X, axis=0)) == 300


def test_split_without_training_rows_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.n"):
        of_kind(tmp_path, "xor", "data.n=4", "data.val_fraction=0.49", "data.test_fraction=0.49")


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(("kind", "classes"), [("circles", 2), ("xor", 2), ("moons", 2),
                                               ("gaussians", 4), ("spiral", 5)])  # fmt: skip
def test_labels_cover_every_class(tmp_path, kind, classes):
    extra = [f"data.classes={classes}"] if kind in ("gaussians", "spiral") else []
    ds = of_kind(tmp_path, kind, "data.n=301", *extra)
    y = concat(ds, "y")
    assert ds.n_outputs == classes and ds.n_inputs == 2
    assert set(np.unique(y)) == set(range(classes))
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # classes balanced before any label noise


def test_generators_draw_their_shapes(tmp_path):
    circles = of_kind(tmp_path, "circles", "data.jitter=0")
    radius = np.linalg.norm(concat(circles, "X"), axis=1)
    np.testing.assert_allclose(radius, np.where(concat(circles, "y") == 0, 1.0, 0.5))
    xor = of_kind(tmp_path, "xor", "data.jitter=0")
    X = concat(xor, "X")
    np.testing.assert_array_equal(concat(xor, "y"), (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    blobs = of_kind(tmp_path, "gaussians", "data.jitter=0", "data.classes=4")
    X, y = concat(blobs, "X"), concat(blobs, "y")
    angle = np.pi / 2 * y
    np.testing.assert_allclose(X, 2.0 * np.column_stack([np.cos(angle), np.sin(angle)]), atol=1e-12)


@pytest.mark.parametrize("kind", POINT_CLOUDS)
def test_label_noise_flips_exactly_that_many_training_labels(tmp_path, kind):
    clean = of_kind(tmp_path, kind, "data.n=250")
    noisy = of_kind(tmp_path, kind, "data.n=250", "data.label_noise=0.3")
    np.testing.assert_array_equal(clean.train.X, noisy.train.X)
    flipped = int(np.sum(clean.train.y != noisy.train.y))
    assert flipped == round(0.3 * len(clean.train.y))
    assert noisy.train.y.min() >= 0 and noisy.train.y.max() < noisy.n_outputs
    for before, after in ((clean.val, noisy.val), (clean.test, noisy.test)):
        np.testing.assert_array_equal(before.y, after.y)  # val and test stay clean


# --------------------------------------------------------------------------- modular arithmetic

OPS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
    "div": lambda a, b, p: (a * pow(int(b), p - 2, p)) % p,
}


@pytest.mark.parametrize("op", list(OPS))
def test_modular_pairs_are_every_pair_with_its_answer(tmp_path, op):
    p = 11
    ds = of_kind(tmp_path, "modular", f"data.p={p}", f"data.op='{op}'")
    X, y = concat(ds, "X"), concat(ds, "y")
    a, b = X[:, 0], X[:, 1] - p  # b is stored offset by p
    assert a.min() >= 0 and a.max() < p and b.min() >= (1 if op == "div" else 0) and b.max() < p
    expected_pairs = {(i, j) for i in range(p) for j in range(p) if op != "div" or j != 0}
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    assert pairs == expected_pairs and len(pairs) == len(y)  # each pair exactly once
    for ai, bi, yi in zip(a.tolist(), b.tolist(), y.tolist(), strict=True):
        assert yi == OPS[op](ai, bi, p)
    assert (ds.n_inputs, ds.n_outputs, ds.feature_names) == (2 * p, p, ("a", "b"))


def test_modular_split_by_fraction(tmp_path):
    ds = of_kind(tmp_path, "modular", "data.p=13", "data.train_fraction=0.3",
                 "data.test_fraction=0.2")  # fmt: skip
    total = 13 * 13
    n_train, n_test = round(0.3 * total), round(0.2 * total)
    assert (len(ds.train.y), len(ds.test.y), len(ds.val.y)) == (
        n_train, n_test, total - n_train - n_test,
    )  # fmt: skip
    assert ds.target_name == "(a + b) mod 13"


def test_modular_division_by_zero_is_excluded(tmp_path):
    ds = of_kind(tmp_path, "modular", "data.p=5", "data.op='div'")
    assert len(concat(ds, "y")) == 5 * 4


# --------------------------------------------------------------------------- CSV


def csv_dataset(tmp_path: Path, text: str, *overrides: str, loss: str = "mse") -> Dataset:
    (tmp_path / "table.csv").write_text(text, encoding="utf-8")
    toml = f"[data]\nkind = 'csv'\npath = 'table.csv'\n[loss]\nkind = '{loss}'\n"
    return dataset(tmp_path, toml, overrides)


def test_csv_regression_standardized_with_training_statistics(tmp_path):
    rows = "".join(f"{i},{3 * i + 1},7,{10 * i}\n" for i in range(40))
    ds = csv_dataset(tmp_path, "u, v ,const,target\n" + rows)
    assert ds.feature_names == ("u", "v", "const") and ds.target_name == "target"
    assert ds.task == "regression" and ds.n_inputs == 3
    train_ids = ds.train.y[:, 0] / 10
    mean, std = train_ids.mean(), train_ids.std()
    np.testing.assert_allclose(ds.train.X[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.train.X[:, :2].std(axis=0), 1.0)
    for split in splits(ds):  # val and test use the training mean and std
        ids = split.y[:, 0] / 10
        np.testing.assert_allclose(split.X[:, 0], (ids - mean) / std)
        np.testing.assert_allclose(split.X[:, 2], 0.0)  # zero spread: centred, divided by 1
    assert sum(len(s.y) for s in splits(ds)) == 40


def test_csv_target_by_name_and_raw_features(tmp_path):
    ds = csv_dataset(tmp_path, "a,y,b\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n\n13,14,15\n",
                     "data.target=y", "data.standardize=false")  # fmt: skip
    X, y = concat(ds, "X"), concat(ds, "y")[:, 0]
    np.testing.assert_array_equal(np.sort(y), [2, 5, 8, 11, 14])  # the blank line is skipped
    np.testing.assert_array_equal(X[:, 0], y - 1)
    np.testing.assert_array_equal(X[:, 1], y + 1)


def test_csv_classification(tmp_path):
    rows = "".join(f"{i},{i % 3}\n" for i in range(30))
    ds = csv_dataset(tmp_path, "x,label\n" + rows, loss="cross_entropy")
    assert ds.task == "classification" and ds.n_outputs == 3
    assert ds.train.y.dtype == np.int64 and set(concat(ds, "y")) == {0, 1, 2}


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("x,y\n1,2\n2,nan\n", ["row 3", "'y'", "'nan'"]),
        ("x,y\n1,2\n,3\n", ["row 3", "'x'", "''"]),
        ("x,x\n1,2\n", ["header", "distinct"]),
        ("y\n1\n2\n", ["header", "feature column"]),
        ("x,y\n", ["rows", "at least one data row"]),
        # caps, each said plainly
        pytest.param(
            "x,y\n1," + "9" * 65 + "\n",
            ["row 2", "at most 64 characters", "'" + "9" * 40 + "...'"],
            id="long-cell",
        ),
        pytest.param(
            "a," * 10_000 + "y\n", ["header", "at most 10,000 columns", "10,001"], id="wide"
        ),
        pytest.param("x," + "n" * 201 + "\n1,2\n", ["header", "at most 200"], id="long-name"),
        pytest.param(
            "x,y\n1," + "2" * 200_000 + "\n", ["line 2", "CSV text", "field"], id="huge-field"
        ),
        pytest.param("x,y\n1," + "2" * 2_100_000 + "\n", ["line 2", "at most"], id="huge-line"),
    ],
)
def test_csv_errors_name_the_file_and_place(tmp_path, text, needles):
    with pytest.raises(ConfigError) as info:
        csv_dataset(tmp_path, text)
    assert info.value.source.endswith("table.csv")
    for needle in needles:
        assert needle in str(info.value)


def test_csv_errors_quote_a_short_snippet_never_the_lines(tmp_path):
    """data.path may name any readable file: the message must not print its lines."""
    lines = [f"user{i}:x:{i}:{i}:A Person {i},room {i},:/home/user{i}:/bin/sh" for i in range(3)]
    text = "\n".join(lines) + "\n"
    with pytest.raises(ConfigError) as info:
        csv_dataset(tmp_path, text)
    message = str(info.value)
    assert "row 2" in message and "\n" not in message
    for line in lines:
        assert line not in message
    with pytest.raises(ConfigError, match="2 columns or more") as one_column:
        csv_dataset(tmp_path, "\n".join(line.replace(",", ";") for line in lines))
    assert "user0" not in str(one_column.value)


def test_csv_class_labels_are_capped(tmp_path):
    with pytest.raises(ConfigError, match=r"in \[0, 999\]"):
        csv_dataset(tmp_path, "x,label\n1,0\n2,1000\n3,1\n", loss="cross_entropy")


def test_csv_over_the_size_cap_is_refused_unread(tmp_path):
    path = tmp_path / "table.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_CSV_BYTES + 1)  # sparse: nothing written, nothing read
    with pytest.raises(ConfigError, match="at most 64 MiB"):
        dataset(tmp_path, "[data]\nkind = 'csv'\npath = 'table.csv'\n")


def test_csv_needs_two_classes(tmp_path):
    with pytest.raises(ConfigError, match="at least two classes"):
        csv_dataset(tmp_path, "x,label\n1,0\n2,0\n3,0\n", loss="cross_entropy")


def test_csv_deleted_after_loading_is_a_config_error(tmp_path):
    (tmp_path / "table.csv").write_text("x,y\n1,2\n2,3\n3,4\n")
    cfg_path = tmp_path / "run.toml"
    cfg_path.write_text("[data]\nkind = 'csv'\npath = 'table.csv'\n")
    cfg = load_config(cfg_path)
    (tmp_path / "table.csv").unlink()
    with pytest.raises(ConfigError, match=r"data\.path"):
        make_dataset(cfg)


# --------------------------------------------------------------------------- held-out rows


def _seed_stream(seed: int = 0) -> np.random.Generator:
    """The generator make_dataset draws a seed's data from."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1]))


def test_without_n_val_the_split_takes_val_and_test_out_of_n_as_before(tmp_path):
    """Configs that do not opt in keep their data bit for bit: draw, shuffle, cut."""
    ds = of_kind(tmp_path, "linear", seed=3)
    rng = _seed_stream(3)
    X = rng.random((100, 3))
    y = X @ np.array([3.0, 5.0, 2.0]) + 0.0 + rng.standard_normal(100)
    perm = rng.permutation(100)
    np.testing.assert_array_equal(concat(ds, "X"), X[perm])
    np.testing.assert_array_equal(concat(ds, "y")[:, 0], y[perm])
    assert tuple(len(s.y) for s in splits(ds)) == (60, 20, 20)


def test_n_val_and_n_test_are_drawn_after_the_n_training_rows(tmp_path):
    ds = of_kind(tmp_path, "linear", "data.n_val=30", "data.n_test=20")
    rng = _seed_stream()
    w = np.array([3.0, 5.0, 2.0])
    X = rng.random((100, 3))
    y = X @ w + rng.standard_normal(100)
    X_held = rng.random((50, 3))
    y_held = X_held @ w + rng.standard_normal(50)
    np.testing.assert_array_equal(ds.train.X, X)  # as drawn, not shuffled
    np.testing.assert_array_equal(ds.train.y[:, 0], y)
    np.testing.assert_array_equal(ds.val.X, X_held[:30])
    np.testing.assert_array_equal(ds.test.y[:, 0], y_held[30:])


def test_a_missing_held_out_count_is_zero(tmp_path):
    ds = of_kind(tmp_path, "sine", "data.n=40", "data.n_test=7")
    assert tuple(len(s.y) for s in splits(ds)) == (40, 0, 7)
    assert ds.val.X.shape == (0, 1)


@pytest.mark.parametrize("kind", POINT_CLOUDS)
def test_held_out_classes_are_shuffled_and_only_training_labels_flipped(tmp_path, kind):
    ds = of_kind(tmp_path, kind, "data.n=90", "data.n_val=60", "data.n_test=30",
                 "data.label_noise=0.2", "data.jitter=0")  # fmt: skip
    assert tuple(len(s.y) for s in splits(ds)) == (90, 60, 30)
    assert ds.reference.label_noise == 0.2
    for split in (ds.train, ds.val):
        assert len(set(split.y[:10].tolist())) > 1  # not one class after another
    # Clean held-out rows: with no jitter a point's class is a function of where it is,
    # which only the flipped training labels break. (Spiral's centre is shared: skip it.)
    if kind != "spiral":
        clean = make_dataset(load_config(tmp_path / "run.toml", [
            "data.n=90", "data.n_val=60", "data.n_test=30", "data.jitter=0"]))  # fmt: skip
        np.testing.assert_array_equal(ds.val.y, clean.val.y)
        assert (ds.train.y != clean.train.y).sum() == 18


def test_training_rows_do_not_depend_on_how_many_are_held_out(tmp_path):
    a = of_kind(tmp_path, "polynomial", "data.n_val=10")
    b = of_kind(tmp_path, "polynomial", "data.n_val=100", "data.n_test=50")
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.train.y, b.train.y)


def test_train_split_size_knows_the_held_out_rule():
    from engine.training.data import train_split_size

    cfg = load_config("linear-regression")
    assert train_split_size(cfg) == len(make_dataset(cfg).train.y) == 100


def test_csv_scaling_is_kept_and_generated_data_has_none(tmp_path):
    rows = "".join(f"{i},{100 + 2 * i},{i % 4}\n" for i in range(20))
    ds = csv_dataset(tmp_path, "a,b,y\n" + rows, "data.val_fraction=0.25")
    assert ds.scaling is not None
    raw = ds.train.X * np.array(ds.scaling.scale) + np.array(ds.scaling.mean)
    np.testing.assert_allclose(raw[:, 1], 100 + 2 * raw[:, 0])  # the file's own values back
    assert of_kind(tmp_path, "linear").scaling is None
    assert csv_dataset(tmp_path, "a,b,y\n" + rows, "data.standardize=false").scaling is None
