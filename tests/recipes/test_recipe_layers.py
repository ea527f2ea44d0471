"""Recipe layering: built-in defaults < recipe < --config file < flags; bad recipes fail in one line."""

from __future__ import annotations

import pytest

from core.engine.config import RunConfig, load_config, parse_config
from core.engine.recipes import describe_layers, load_recipe, recipe_name_for
from core.engine.schedule import resolve_warmup
from core.errors import ConfigError


@pytest.fixture()
def recipes(tmp_path, monkeypatch):
    """A private recipes/ folder with one 'toy' domain recipe."""
    root = tmp_path / "recipes"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "set.yaml").write_text(
        "meta:\n  expected: 0.9\ndata: set\nhidden: 32\nlr: 5.0e-3\nepochs: 7\nwarmup_fraction: 0.1\n"
    )
    monkeypatch.setenv("RNNSUITE_RECIPES", str(root))
    return root


def test_data_name_selects_its_recipe_under_flags(recipes):
    cfg = parse_config(RunConfig, ["--data", "set", "--epochs", "3"], domain="toy")
    assert (cfg.recipe, cfg.hidden, cfg.lr, cfg.epochs, cfg.warmup_fraction) == ("toy/set", 32, 5e-3, 3, 0.1)


def test_config_file_sits_between_recipe_and_flags(recipes, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("hidden: 48\nepochs: 9\n")
    cfg = parse_config(
        RunConfig, ["--recipe", "toy/set", "--config", str(config), "--epochs", "2"], domain="toy"
    )
    assert (cfg.hidden, cfg.epochs, cfg.lr) == (48, 2, 5e-3)


def test_recipe_none_and_unknown_data_keep_builtin_defaults(recipes):
    assert parse_config(RunConfig, ["--data", "set", "--recipe", "none"], domain="toy").hidden == 128
    cfg = parse_config(RunConfig, ["--data", "other"], domain="toy")
    assert cfg.recipe is None and cfg.hidden == 128
    assert recipe_name_for("toy", "./set.yaml") is None  # a path is never a recipe name


def test_no_domain_means_no_recipe(recipes):
    assert parse_config(RunConfig, ["--data", "set"]).recipe is None


def test_resumed_config_is_not_overlaid_by_the_recipe(recipes):
    cfg = parse_config(RunConfig, [], domain="toy", base={"data": "set", "hidden": 16, "recipe": "toy/set"})
    assert (cfg.hidden, cfg.lr, cfg.recipe) == (16, 2e-3, "toy/set")


@pytest.mark.parametrize(
    "text, message",
    [
        ("hiden: 3\n", "unknown field 'hiden'"),
        ("lr: fast\n", "field 'lr'"),
        ("out: runs/x\n", "field 'out' belongs to the run"),
        ("meta: 3\n", "'meta' must be a mapping"),
    ],
)
def test_bad_recipe_is_one_line_naming_file_and_field(recipes, text, message):
    (recipes / "toy" / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_recipe("toy/bad", domain="toy", config_cls=RunConfig)
    assert "bad.yaml" in str(err.value) and "\n" not in str(err.value)


def test_recipe_of_another_domain_or_missing_is_refused(recipes):
    with pytest.raises(ConfigError, match="cannot configure a other run"):
        parse_config(RunConfig, ["--recipe", "toy/set"], domain="other")
    with pytest.raises(ConfigError, match="available: toy/set"):
        parse_config(RunConfig, ["--recipe", "toy/nope"], domain="toy")


def test_meta_is_kept_apart_from_config_fields(recipes):
    recipe = load_recipe("toy/set", domain="toy", config_cls=RunConfig)
    assert recipe.meta == {"expected": 0.9} and "meta" not in recipe.values


def test_precedence_line_names_every_layer():
    line = describe_layers("speech/yesno", "c.yaml")
    assert (
        line.index("built-in defaults")
        < line.index("recipe speech/yesno")
        < line.index("--config c.yaml")
        < line.index("command-line flags")
    )


def test_warmup_fraction_and_cap():
    assert resolve_warmup(1000, warmup_steps=100) == 100
    assert resolve_warmup(40, warmup_steps=100) == 10  # a quarter of a tiny run
    assert resolve_warmup(1000, warmup_steps=100, warmup_fraction=0.05) == 50


def test_run_records_warmup_used_and_recipe(tmp_path, capsys):
    from core_toy_domain import DOMAIN, ToyConfig

    from core.engine.run import train_main

    out = tmp_path / "run"
    argv = ["--epochs", "2", "--n-train", "128", "--warmup-steps", "100", "--out", str(out), "--no-progress"]
    assert train_main(DOMAIN, argv) == 0
    saved = load_config(out / "config.yaml", ToyConfig)
    assert saved.warmup_steps == 2  # 2 epochs x 4 batches = 8 steps: a quarter, not the 100 asked
    captured = capsys.readouterr()
    assert "settings: built-in defaults < no recipe < command-line flags" in captured.out
    assert "warmup 100 steps capped to 2" in captured.out and "raise `epochs`" in captured.out
    assert captured.err == ""  # stderr carries errors only
