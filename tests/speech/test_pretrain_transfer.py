"""Pretraining on eSpeak sentences and carrying it into a real-speech run (``--init-backbone``)."""

from __future__ import annotations

import pytest
import torch

from core.engine.checkpoint import init_backbone_from, save_checkpoint
from core.engine.config import config_to_dict
from core.engine.seeding import rng_state
from speech.model import build_model
from speech.text import Vocab
from speech.train import SpeechConfig, transferred_prefixes

CFG = SpeechConfig(hidden=16, layers=1, conv_channels=8, n_mels=20, subsample=4, frontend="conv2d")


def _meta(chars: str) -> dict:
    features = {"sample_rate": 16000, "n_mels": 20, "win_ms": 25.0, "hop_ms": 10.0, "cmn": True}
    return {"features": features, "vocab": Vocab.build([chars]).to_meta()}


def _saved(tmp_path, model, meta, *, domain="speech"):
    state = {"domain": domain, "config": config_to_dict(CFG), "meta": meta, "model": model.state_dict()}
    state |= {"optimizer": {}, "scheduler": {}, "epoch": 1, "step": 1, "rng": rng_state()}
    return save_checkpoint(tmp_path / "pre.pt", state)


def _fresh(meta, seed):
    torch.manual_seed(seed)
    return build_model(CFG, meta)


def test_a_speech_run_with_the_same_units_brings_front_end_backbone_and_output_layer(tmp_path):
    meta = _meta("the cat's hat")
    source, target = _fresh(meta, 0), _fresh(meta, 1)
    path = _saved(tmp_path, source, meta)
    loaded = init_backbone_from(target, path, prefixes=lambda d, m: transferred_prefixes(meta, d, m))
    assert {name.split(".")[0] for name in loaded} == {"frontend", "backbone", "head"}
    for name, tensor in target.state_dict().items():
        assert torch.equal(tensor, source.state_dict()[name]), name


def test_other_units_keep_the_fresh_output_layer(tmp_path):
    source_meta, meta = _meta("the cat"), _meta("the cat's hat")
    source, target = _fresh(source_meta, 0), _fresh(meta, 1)
    head_before = target.head.weight.clone()
    path = _saved(tmp_path, source, source_meta)
    loaded = init_backbone_from(target, path, prefixes=lambda d, m: transferred_prefixes(meta, d, m))
    assert {name.split(".")[0] for name in loaded} == {"frontend", "backbone"}
    assert torch.equal(target.head.weight, head_before)
    assert torch.equal(
        target.frontend.state_dict()["convs.0.weight"], source.frontend.state_dict()["convs.0.weight"]
    )


def test_another_domain_brings_only_the_backbone():
    meta = _meta("abc")
    assert transferred_prefixes(meta, "nlp", {"vocab": {"itos": ["a"]}}) == ("backbone.",)
    assert transferred_prefixes(meta, "speech", meta) == ("frontend.", "backbone.", "head.")


@pytest.mark.data
def test_tts_sentences_are_seeded_disjoint_and_never_a_held_out_arctic_prompt(data_dir):
    from speech.corpora import list_corpus
    from speech.lm import arctic_texts

    splits = list_corpus("tts-sentences", sample_rate=16000, num_utts=60, seed=3, max_seconds=30)
    again = list_corpus("tts-sentences", sample_rate=16000, num_utts=60, seed=3, max_seconds=30)
    assert {s: len(v) for s, v in splits.items()} == {"train": 60, "val": 50, "test": 50}
    texts = {s: [c.text for c in v] for s, v in splits.items()}
    assert texts == {s: [c.text for c in v] for s, v in again.items()}
    assert [c.key for c in splits["train"]] == [c.key for c in again["train"]]  # cache keys are stable
    everything = [t for v in texts.values() for t in v]
    assert len(set(everything)) == len(everything)  # no sentence in two splits
    assert all(4 <= len(t.split()) <= 20 for t in everything)
    held_out = arctic_texts(data_dir / "speech/arctic-cathy/manifest.tsv")[1]
    assert not held_out & set(everything)
    wave = splits["test"][0].make()
    assert wave.dtype == torch.float32 and wave.numel() > 16000 * 0.2 * len(texts["test"][0].split())


def test_mix_train_adds_the_first_utterances_of_another_corpus_after_speed_perturbation(
    tmp_path, isolated_cache
):
    from speech_files import tone_manifest

    from speech.data import build_data

    (tmp_path / "own").mkdir()
    (tmp_path / "other").mkdir()
    own = tone_manifest(tmp_path / "own", [("a cab", "train")] * 3 + [("a cab", "val"), ("cab", "test")])
    other = tone_manifest(tmp_path / "other", [("bad", "train")] * 4 + [("x", "val"), ("y", "test")])
    flags = dict(data=str(own), n_mels=20, progress=False, num_workers=0, speed_perturb=0.1)
    plain = build_data(SpeechConfig(**flags))
    mixed = build_data(SpeechConfig(**flags, mix_train=str(other), mix_utts=2))
    assert plain.meta["sizes"]["train"] == 3 * 3  # three recordings at speeds 0.9, 1.0, 1.1
    assert mixed.meta["sizes"]["train"] == 3 * 3 + 2  # two of the other corpus, not perturbed
    assert mixed.meta["sizes"]["test"] == plain.meta["sizes"]["test"] == 1  # its val/test unused
    assert "d" in mixed.meta["vocab"]["tokens"] and "d" not in plain.meta["vocab"]["tokens"]
