"""arctic: FLAC loading, every held-out utterance scored, speed perturbation, the conv2d front-end."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from speech_files import tone_manifest

from core.engine.run import train_main
from core.nn.backbone import build_backbone
from speech.audio import load_audio
from speech.corpora import Clip
from speech.frontend import Conv2dFrontend
from speech.model import SpeechModel, output_lengths
from speech.perturb import speed_perturbed
from speech.train import DOMAIN


@pytest.mark.data
def test_arctic_flac_loads_at_16k_with_its_manifest_duration(data_dir):
    root = data_dir / "speech/arctic-cathy"
    with (root / "manifest.tsv").open(newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    wave = load_audio(root / row["path"], sample_rate=16000)
    assert wave.dtype == torch.float32 and wave.dim() == 1
    assert abs(wave.numel() / 16000 - float(row["duration"])) < 0.002
    assert 0 < float(wave.abs().max()) <= 1.0


@pytest.mark.slow
def test_held_out_utterances_with_unseen_characters_are_scored_as_errors(tmp_path, isolated_cache):
    rows = [("a bad cab", "train")] * 6 + [("a cab", "val"), ("Zebra-cab!", "test"), ("bad", "test")]
    manifest = tone_manifest(tmp_path, rows)
    out = tmp_path / "run"
    argv = [
        "--data",
        str(manifest),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--conv-channels",
        "8",
        "--n-mels",
        "20",
        "--subsample",
        "4",
        "--frontend",
        "conv2d",
        "--speed-perturb",
        "0.1",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert train_main(DOMAIN, argv) == 0
    final = json.loads((out / "final.json").read_text())
    assert final["test"]["utterances"] == 2  # nothing left out
    assert final["test"]["unknown_tokens"] == 3  # z, e and r never occur in training
    assert final["test"]["cer"] >= 3 / len("zebra cab bad")
    assert final["data"]["normalizer"]["test"] == {
        "version": 1,
        "references": 2,
        "changed": 1,
        "with_digits": 0,
        "with_hyphens": 1,
        "with_non_ascii": 0,
    }


def test_speed_perturbation_resamples_and_keys_each_copy():
    clip = Clip("k", "hi", lambda: torch.sin(torch.arange(16000) * 0.1))
    clips = speed_perturbed([clip], 0.1, sample_rate=16000)
    assert [c.key for c in clips] == ["k", "k|speed=0.9", "k|speed=1.1"]
    lengths = [c.make().numel() for c in clips]
    assert lengths[0] == 16000 and abs(lengths[1] - 16000 / 0.9) <= 2 and abs(lengths[2] - 16000 / 1.1) <= 2
    assert speed_perturbed([clip], 0.0, sample_rate=16000) == [clip]


@pytest.mark.parametrize("subsample", [1, 2, 4])
def test_conv2d_frontend_lengths_and_padding_invariance(subsample):
    front = Conv2dFrontend(input_size=10, channels=6, subsample=subsample)
    model = SpeechModel(
        frontend=front, backbone=build_backbone("gru", 6, 5, bidirectional=True), vocab_size=4
    ).eval()
    x = torch.randn(2, 21, 10)
    lengths = torch.tensor([21, 9])
    x[1, 9:] = 0  # padding as collate writes it
    logits, out_lengths = model(x, lengths)
    assert out_lengths.tolist() == output_lengths(lengths, subsample).tolist()
    alone, alone_lengths = model(x[1:2, :9], lengths[1:2])
    n = int(alone_lengths[0])
    assert n == int(out_lengths[1]) and torch.allclose(alone[0], logits[1, :n], atol=1e-5)


def test_arctic_recipe_is_a_valid_flat_config():
    import dataclasses
    from pathlib import Path

    import yaml

    from core.engine.config import config_from_dict

    recipe = yaml.safe_load((Path(__file__).parents[2] / "recipes/speech/arctic.yaml").read_text())
    meta = recipe.pop("meta")
    assert {"description", "metric", "expected"} <= set(meta)
    assert set(recipe) <= {f.name for f in dataclasses.fields(DOMAIN.config_cls)}
    cfg = config_from_dict(DOMAIN.config_cls, recipe, source="arctic.yaml")
    cfg.validate()
    assert cfg.frontend == "conv2d" and cfg.speed_perturb > 0
