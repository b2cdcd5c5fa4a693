"""The memory estimate: every preset fits easily, a config too big is refused by its key."""

from __future__ import annotations

import tracemalloc

import pytest

from engine.config import list_presets, load_config
from engine.errors import ConfigError
from engine.training.budget import available_memory, check_memory, needs
from engine.training.session import Session

GIB = 1 << 30


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_fits_in_a_small_machine(name):
    assert check_memory(load_config(name), available=GIB) < 256 << 20


@pytest.mark.parametrize(
    ("preset", "overrides", "key"),
    [
        ("mlp-128", ["model.hidden=[30000, 30000]"], "model.hidden"),
        ("mlp-128", ["model.hidden=[1000000000]"], "model.hidden"),
        ("linear-regression", ["data.n=100000000"], "data.n"),
        ("linear-regression", ["data.n_test=100000000"], "data.n_test"),
        ("grokking-mod97", ["data.p=30000"], "data.p"),
        ("spiral", ["data.classes=1000000"], "data.classes"),
        ("overfitting-polynomial", ["model.degree=10000000"], "model.degree"),
        ("sgd-vs-gd", ["data.n=100000000", "optim.batch_size=50000000"], "optim.batch_size"),
    ],
)
def test_a_config_too_big_is_refused_naming_its_key(preset, overrides, key):
    cfg = load_config(preset, overrides)
    with pytest.raises(ConfigError) as info:
        check_memory(cfg, available=GIB)
    assert info.value.key == key and info.value.source == preset
    assert "fits in memory" in str(info.value) and "512.0 MiB" in str(info.value)
    assert "an estimated" in str(info.value)


def test_many_features_are_charged_to_n_features(tmp_path):
    path = tmp_path / "wide.toml"
    path.write_text("[data]\nkind = 'linear'\nn = 10000\nn_features = 100000\n")
    with pytest.raises(ConfigError) as info:
        check_memory(load_config(path), available=GIB)
    assert info.value.key == "data.n_features"


def _peak_building(cfg) -> int:
    tracemalloc.start()
    try:
        Session(cfg)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_estimate_bounds_what_building_a_session_allocates(tmp_path):
    """Beyond what every run pays alike (a tiny run's peak), the estimate is an upper bound."""
    path = tmp_path / "mid.toml"
    path.write_text("[data]\nkind = 'linear'\nn = 4000\nn_features = 100\n[model]\nkind = 'mlp'\n")
    cfg = load_config(path)
    baseline = _peak_building(load_config(path, ["data.n=4", "data.n_features=1"]))
    extra = _peak_building(cfg) - baseline
    assert 0 < extra < sum(need.bytes for need in needs(cfg))


def test_available_memory_is_read_from_the_system():
    available = available_memory()
    assert available is None or available > 0
