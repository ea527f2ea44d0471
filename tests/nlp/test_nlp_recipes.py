"""Every nlp recipe is a valid NlpConfig (its fields) plus an optional meta mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.engine.config import config_from_dict
from nlp.train import NlpConfig

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes" / "nlp").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_fields_are_config_fields(path):
    fields = yaml.safe_load(path.read_text())
    meta = fields.pop("meta", {})
    assert isinstance(meta, dict) and meta.get("description")
    cfg = config_from_dict(NlpConfig, fields, source=str(path))
    cfg.validate()
    assert cfg.data == fields["data"]
