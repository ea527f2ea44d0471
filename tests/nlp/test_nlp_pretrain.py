"""Language-model pretraining of embedding + backbone, and a classifier that starts from it."""

from __future__ import annotations

import json
import math

import pytest
import torch

from core.engine.checkpoint import init_backbone_from, load_checkpoint
from core.engine.config import parse_config
from core.errors import ConfigError
from core.nn.backbone import build_backbone
from nlp import toy
from nlp.data import build_data
from nlp.lm import LanguageModel
from nlp.model import build_model
from nlp.pretrain import PretrainConfig, main
from nlp.train import NlpConfig
from nlp.train import main as train_main

BACKBONE = ["--cell", "lstm", "--hidden", "16"]


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A pretrained LM on 400 toy sentences (one document a line)."""
    folder = tmp_path_factory.mktemp("lm")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(text for text, _ in toy.generate(400, seed=3)) + "\n")
    torch.set_num_threads(1)
    code = main(
        [
            "--data",
            str(corpus),
            *BACKBONE,
            "--embed-dim",
            "12",
            "--bptt",
            "12",
            "--batch-size",
            "8",
            "--epochs",
            "6",
            "--lr",
            "1e-2",
            "--heldout-fraction",
            "0.1",
            "--no-progress",
            "--out",
            str(folder / "run"),
        ]
    )
    assert code == 0
    return folder / "run"


def test_pretraining_lowers_heldout_perplexity(lm_run):
    final = json.loads((lm_run / "final.json").read_text())
    for direction in ("forward", "backward"):
        after, before = final["heldout_perplexity"][direction], final["initial_perplexity"][direction]
        assert math.isfinite(after) and after < 0.5 * before
    assert final["stopped"] == "completed" and final["steps"] == final["planned_steps"]


def test_finetuning_starts_from_the_pretrained_embedding_vocabulary_and_backbone(lm_run):
    checkpoint = lm_run / "checkpoints" / "lm.pt"
    state = load_checkpoint(checkpoint)
    cfg = parse_config(
        NlpConfig,
        [
            "--data",
            "toy",
            *BACKBONE,
            "--init-backbone",
            str(checkpoint),
            "--limit-train",
            "200",
            "--limit-eval",
            "50",
            "--no-progress",
        ],
    )
    bundle = build_data(cfg)
    assert bundle.meta["vocab"]["itos"] == state["meta"]["vocab"]["itos"]
    model = build_model(cfg, bundle.meta)  # embed dim 12 from the checkpoint, not the default 128
    loaded = init_backbone_from(model, checkpoint)  # what train_main does next
    assert torch.equal(model.front.embedding.weight, state["model"]["embedding.weight"])
    assert loaded and all(torch.equal(model.state_dict()[k], state["model"][k]) for k in loaded)
    assert len(loaded) == sum(k.startswith("backbone.") for k in state["model"])


def test_finetune_cli_and_conflicting_flags(lm_run, tmp_path, capsys):
    checkpoint = str(lm_run / "checkpoints" / "lm.pt")
    common = [
        "--data",
        "toy",
        *BACKBONE,
        "--init-backbone",
        checkpoint,
        "--epochs",
        "1",
        "--limit-train",
        "200",
        "--limit-eval",
        "50",
        "--batch-size",
        "32",
        "--no-progress",
        "--out",
        str(tmp_path / "ft"),
    ]
    assert train_main(common) == 0
    assert "init-backbone: " in capsys.readouterr().err
    conflicting = [*common, "--vectors", "glove-6b-50d", "--out", str(tmp_path / "ft-vectors")]
    assert train_main(conflicting) == 2
    assert "drop --vectors" in capsys.readouterr().err
    assert not (tmp_path / "ft-vectors").exists()  # refused before the run folder was made
    with pytest.raises(ConfigError, match="--layers 1"):
        parse_config(PretrainConfig, ["--layers", "2"])


def test_each_direction_predicts_only_what_it_has_not_read():
    torch.manual_seed(0)
    model = LanguageModel(
        vocab_size=30, embed_dim=6, backbone=build_backbone("gru", 6, 8, bidirectional=True)
    )
    window = torch.randint(2, 30, (1, 10))
    outputs = {}
    for position in (2, 7):  # change one input token; inputs are window[:, 1:-1]
        changed = window.clone()
        changed[0, position] = (changed[0, position] + 1) % 28 + 2
        feats = [model.backbone(model.embedding(w[:, 1:-1]), torch.tensor([8]))[0] for w in (window, changed)]
        outputs[position] = (feats[1] - feats[0]).abs().squeeze(0)  # (8, 16)
    # input index i = window position i + 1; forward half (first 8) at i must not see inputs after i
    assert outputs[7][:6, :8].max() == 0 and outputs[7][6:, :8].max() > 0
    assert outputs[2][2:, 8:].max() == 0 and outputs[2][:2, 8:].max() > 0
