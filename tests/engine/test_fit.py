"""A user's CSV without traps: weights in the file's units, R^2, and what the run says at start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import load_config
from engine.numerics.model import polynomial_features
from engine.training.data import Scaling
from engine.training.fit import original_units, r_squared, term_names
from engine.training.session import Session
from tests.configs import run_to_end


def run(session: Session, chunk: int = 2000) -> dict:
    run_to_end(session, chunk)
    session.evaluate_test()
    return session.summary(0.0)


def write_csv(folder: Path, centre: bool = False, name: str = "houses.csv") -> Path:
    """price = 5 + 0.3 size - 40 rate + small noise; size ~ 1000s, rate ~ 0.01s (centre:
    minus its mean)."""
    rng = np.random.default_rng(0)
    size = 1000 + 200 * rng.random(80)
    rate = 0.05 * rng.random(80)
    price = 5.0 + 0.3 * size - 40.0 * rate + 0.1 * rng.standard_normal(80)
    if centre:
        price -= price.mean()
    rows = zip(size.tolist(), rate.tolist(), price.tolist(), strict=True)
    path = folder / name
    path.write_text("size,rate,price\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in rows))
    return path


def csv_config(folder: Path, *overrides: str, bias: bool = True):
    write_csv(folder)
    text = (
        "name = 'houses'\n[data]\nkind = 'csv'\npath = 'houses.csv'\n"
        f"[model]\nkind = 'linear'\nbias = {str(bias).lower()}\n"
        "[optim]\nkind = 'gd'\nlr = 0.2\n[train]\nsteps = 20000\neval_every = 50\n"
        "[convergence]\ngrad_tol = 1e-10\n"
    )
    path = folder / "houses.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, overrides)


def raw_training_rows(session: Session) -> tuple[np.ndarray, np.ndarray]:
    data = session.trainer.data
    assert data.scaling is not None
    X = data.train.X * np.array(data.scaling.scale) + np.array(data.scaling.mean)
    return X, data.train.y[:, 0]


# --------------------------------------------------------------------------- the file's units


def test_summary_weights_are_in_the_csv_units_and_are_least_squares(tmp_path):
    session = Session(csv_config(tmp_path))
    summary = run(session)
    assert summary["stopped_by"] == "grad_tol"
    X, y = raw_training_rows(session)
    expected = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    fit = summary["fit"]
    assert fit["standardized"] is True and fit["target"] == "price"
    assert list(fit["weights"]) == ["size", "rate"]
    got = [fit["weights"]["size"], fit["weights"]["rate"], fit["intercept"]]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert fit["weights"]["size"] == pytest.approx(0.3, abs=0.01)  # the file's own scale


def test_r2_on_every_split_from_the_predictions(tmp_path):
    session = Session(csv_config(tmp_path))
    summary = run(session)
    r2 = summary["r2"]
    assert set(r2) == {"train", "val", "test"}
    for split in ("train", "val", "test"):
        arrays = session.trainer.splits[split]
        weight, bias = session.trainer.arch.views(session.trainer.params)[0]
        prediction = arrays.xd @ weight + bias
        y = arrays.yf
        expected = 1 - ((y - prediction) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        assert r2[split] == pytest.approx(expected, rel=1e-9)
    assert summary["test"]["test_r2"] == r2["test"]
    assert r2["train"] > 0.99  # the noise is small against the spread of prices


def test_classification_has_no_r2(tmp_path):
    cfg = load_config("spiral", ["train.steps=20"])
    summary = run(Session(cfg), chunk=20)
    assert "r2" not in summary and summary["fit"] is None  # an MLP's weights are no fit


def test_softmax_reports_one_column_per_class():
    cfg = load_config("spiral", ["model.kind=softmax", "train.steps=20"])
    summary = run(Session(cfg), chunk=20)
    fit = summary["fit"]
    assert list(fit["weights"]) == ["x1", "x2"]
    assert all(len(w) == 3 for w in fit["weights"].values()) and len(fit["intercept"]) == 3


@pytest.mark.parametrize(("degree", "outputs"), [(1, 1), (3, 1), (1, 3), (2, 2)])
def test_original_units_is_the_same_function_of_the_raw_features(degree, outputs):
    rng = np.random.default_rng(degree * 10 + outputs)
    n_features = 2
    scaling = Scaling(mean=(10.0, -3.0), scale=(4.0, 0.5))
    x = rng.normal(size=(50, n_features)) * scaling.scale + scaling.mean
    z = (x - scaling.mean) / scaling.scale
    weight = rng.normal(size=(n_features * degree, outputs))
    for bias in (rng.normal(size=outputs), None):
        model = polynomial_features(z, degree) @ weight + (0.0 if bias is None else bias)
        coef, intercept = original_units(weight, bias, scaling, degree)
        assert intercept is not None  # centring gives even a model without bias one
        np.testing.assert_allclose(polynomial_features(x, degree) @ coef + intercept, model)


def test_unscaled_features_keep_the_weights_and_the_missing_intercept():
    weight = np.array([[1.5], [-2.0]])
    coef, intercept = original_units(weight, None, None)
    np.testing.assert_array_equal(coef, weight)
    assert intercept is None
    assert term_names(("x",), 3) == ["x", "x^2", "x^3"]
    assert r_squared(np.ones(4), np.zeros(4)) is None  # constant targets: R^2 undefined


# --------------------------------------------------------------------------- said at start


def advice(session: Session) -> list[str]:
    session.begin()
    return [e.detail for e in session.events if e.kind == "advice"]


def test_no_intercept_with_a_far_from_zero_target_mean_is_said_at_start(tmp_path):
    (said,) = advice(Session(csv_config(tmp_path, bias=False)))
    assert "no intercept (model.bias = false)" in said
    assert "set model.bias = true" in said
    assert "cannot fall below mean²" in said  # standardized features, mse: the cost named
    assert advice(Session(csv_config(tmp_path, bias=True))) == []


def test_no_advice_when_the_mean_is_near_zero_or_the_truth_has_no_intercept(tmp_path):
    write_csv(tmp_path, centre=True, name="centred.csv")
    cfg = load_config(write_toml(tmp_path, "centred.csv"))
    assert advice(Session(cfg)) == []
    # the seed: its function has no intercept, so a model without one is right
    assert advice(Session(load_config("linear-regression"))) == []
    shifted = load_config("linear-regression", ["data.intercept=5"])
    assert any("model.bias = false" in a for a in advice(Session(shifted)))


def write_toml(folder: Path, csv_name: str) -> Path:
    path = folder / "centred.toml"
    path.write_text(
        f"[data]\nkind = 'csv'\npath = '{csv_name}'\n[model]\nkind = 'linear'\nbias = false\n",
        encoding="utf-8",
    )
    return path


def test_a_preset_switched_to_csv_says_what_it_dropped_and_kept(tmp_path, monkeypatch):
    write_csv(tmp_path)
    monkeypatch.chdir(tmp_path)
    cfg = load_config("linear-regression", ["data.kind=csv", "data.path=houses.csv"])
    said = advice(Session(cfg))
    assert said[0] == cfg.notes[0] and "expect.status" in said[0]
    assert "model.bias = false" in said[1]  # and the preset's missing intercept is a trap
    assert [e.kind for e in Session(cfg).events] == []  # said once the run begins, not before
