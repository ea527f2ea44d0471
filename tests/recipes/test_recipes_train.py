"""Every recipe under recipes/ parses for its domain and trains one step on a tiny slice.

Recipes are discovered from the folder, so recipes added later are covered too; a recipe
whose dataset is absent (RNNSUITE_DATA unset or lacking it) is skipped with the reason.
"""

from __future__ import annotations

import math

import pytest
import torch

from core.engine.domain import load_domains
from core.engine.recipes import list_recipes, load_recipe
from core.engine.run import parse_run_config
from core.engine.trainer import Trainer
from core.errors import DataError

RECIPES = list_recipes()


def test_recipes_exist_for_every_domain():
    domains = {name.split("/")[0] for name in RECIPES}
    assert {"vision", "speech", "nlp"} <= domains


def test_every_named_dataset_has_its_default_recipe_and_every_preset_recipe_exists():
    from core.tools.compare import PRESETS
    from nlp.sources import NAMED as NLP
    from speech.corpora import NAMED as SPEECH
    from vision.sources import NAMED as VISION

    named = [f"nlp/{n}" for n in NLP] + [f"vision/{n}" for n in VISION] + [f"speech/{n}" for n in SPEECH]
    assert [name for name in named if name not in RECIPES] == []  # `--data X` loads recipes/DOMAIN/X.yaml
    wanted = {name for preset in PRESETS.values() for name in preset["recipes"].values()}
    assert sorted(wanted - set(RECIPES)) == []


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_parses(name):
    domain_name = name.split("/")[0]
    domains = load_domains()
    assert domain_name in domains, f"recipes/{name}.yaml sits under an unknown domain folder"
    recipe = load_recipe(name, domain=domain_name, config_cls=domains[domain_name].config_cls)
    assert recipe.name == name and recipe.values, f"{name}: empty recipe"
    cfg, _ = parse_run_config(domains[domain_name], ["--recipe", name])
    for key, value in recipe.values.items():  # every recipe value reaches the config unchanged
        assert getattr(cfg, key) == value, f"{name}: {key}"
    assert cfg.recipe == name


@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_one_step(name, tmp_path, isolated_cache):
    torch.set_num_threads(1)
    domain = load_domains()[name.split("/")[0]]
    argv = [
        "--recipe",
        name,
        "--epochs",
        "1",
        "--limit-eval",
        "8",
        "--no-progress",
        "--device",
        "cpu",
        "--num-workers",
        "0",
        "--max-minutes",
        "0",
        "--no-lr-by-time",  # it follows --max-minutes, which one step does not need
        "--cv",
        "0",  # a cross-validation recipe trains its one step on a plain held-out split
        "--out",
        str(tmp_path / "run"),
    ]
    cfg, _ = parse_run_config(domain, argv)
    cfg.limit_train = cfg.batch_size  # one batch of training data: one optimizer step
    if getattr(cfg, "recombine", 0):  # spliced extra utterances: a few are enough to exercise the path
        cfg.recombine = 4
    (tmp_path / "run").mkdir()
    try:
        data = domain.build_data(cfg)
    except DataError as err:
        pytest.skip(f"{name}: dataset absent ({err})")
    model = domain.build_model(cfg, data.meta)
    trainer = Trainer(
        model=model,
        task=domain.build_task(cfg, data.meta),
        cfg=cfg,
        train_loader=data.train,
        val_loader=data.val,
        out_dir=tmp_path / "run",
        domain=domain.name,
        meta=data.meta,
    )
    assert trainer.fit() == "completed"
    assert trainer.step >= 1
    losses = [row["train_loss"] for row in trainer.history]
    assert losses and all(math.isfinite(v) for v in losses)
