"""Checkpoints: a safe load is not trusted until its config, meta and weights are checked.

Every load path (predict/transcribe CLIs, --resume, --init-backbone) gets a malicious pickle, a
truncated file and crafted contents: each ends in one line naming the file, exit 2.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import nlp.predict
import speech.transcribe
import vision.predict
from core.engine.run import train_main
from vision.train import DOMAIN as VISION

TINY = ["--hidden", "8", "--epochs", "1", "--no-progress", "--cell", "gru"]


def use_checkpoint(domain: str, checkpoint: Path, tmp_path: Path) -> int:
    """Load ``checkpoint`` the way the domain's inference CLI does; its exit status."""
    if domain == "nlp":
        return nlp.predict.main(["--checkpoint", str(checkpoint), "a fine film"])
    if domain == "vision":
        from PIL import Image

        Image.new("L", (8, 8), 128).save(tmp_path / "x.png")
        return vision.predict.main(["--checkpoint", str(checkpoint), str(tmp_path / "x.png")])
    sf.write(tmp_path / "x.wav", np.zeros(4000, dtype=np.float32), 8000)
    return speech.transcribe.main(["--checkpoint", str(checkpoint), str(tmp_path / "x.wav")])


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def damaged(kind: str, source: Path, target: Path) -> tuple[Path, str]:
    """Write a damaged copy of ``source`` to ``target``; (path, fragment the error must name)."""
    raw = source.read_bytes()
    if kind == "malicious-pickle":
        torch.save({"domain": "nlp", "payload": Evil()}, target)
        return target, "arbitrary code"
    if kind == "truncated":
        target.write_bytes(raw[: len(raw) - 20])
        return target, "truncated or not a checkpoint"
    if kind == "half":
        target.write_bytes(raw[: len(raw) // 2])
        return target, "truncated or not a checkpoint"
    if kind == "empty":
        target.write_bytes(b"")
        return target, "truncated or not a checkpoint"
    state = torch.load(source, weights_only=True)
    fragment = CRAFTED[kind](state)
    torch.save(state, target)  # crafted by hand, not by save_checkpoint
    return target, fragment


def _set_config(key, value, fragment):
    def craft(state):
        state["config"][key] = value
        return fragment

    return craft


def _set(key, value, fragment):
    def craft(state):
        state[key] = value
        return fragment

    return craft


def _grow_meta(state):
    meta = state["meta"]
    if "classes" in meta:
        meta["classes"] = [f"c{i}" for i in range(100_000)]  # a head of 100 000 classes
        meta["num_classes"] = 100_000
    else:
        meta["vocab"]["tokens"] = meta["vocab"]["tokens"] + [f"t{i}" for i in range(100_000)]
    return "does not match the model"


CRAFTED = {
    "config-hidden-string": _set_config("hidden", "big", "field 'hidden'"),
    "config-hidden-huge": _set_config("hidden", 10**12, "--hidden must be at most"),
    "config-layers-huge": _set_config("layers", 10**6, "--layers must be at most"),
    "config-lr-list": _set_config("lr", [1], "field 'lr'"),
    "config-unknown-cell": _set_config("cell", "transformer", "unknown cell"),
    "config-not-a-dict": _set("config", ["hidden", 8], "field 'config'"),
    "meta-not-a-dict": _set("meta", 7, "field 'meta'"),
    "model-not-a-dict": _set("model", "weights", "field 'model'"),
    "model-entry-not-tensor": lambda s: s["model"].update({"extra": 5}) or "bad entry 'extra'",
    "epoch-text": _set("epoch", "one", "field 'epoch'"),
    "meta-grown": _grow_meta,
}
KINDS = ["malicious-pickle", "truncated", "half", "empty", *CRAFTED]


@pytest.mark.parametrize("domain", ["nlp", "vision", "speech"])
@pytest.mark.parametrize("kind", KINDS)
def test_damaged_checkpoint_is_one_line_in_every_inference_cli(runs, tmp_path, refused, domain, kind):
    path, fragment = damaged(kind, runs[domain], tmp_path / "bad.pt")
    refused(use_checkpoint(domain, path, tmp_path), "bad.pt", fragment)


@pytest.mark.parametrize(
    "kind", ["malicious-pickle", "truncated", "config-hidden-huge", "model-entry-not-tensor"]
)
def test_damaged_checkpoint_in_resume_and_init_backbone(runs, tmp_path, refused, kind):
    run = Path(shutil.copytree(runs["vision"].parent.parent, tmp_path / "run"))
    before = (run / "final.json").read_bytes()
    path, _ = damaged(kind, runs["vision"], run / "checkpoints" / "last.pt")
    flags = [*TINY, "--data", "digits", "--limit-train", "200", "--limit-eval", "40"]
    refused(train_main(VISION, [*flags, "--out", str(run), "--resume"]), "last.pt")
    refused(train_main(VISION, ["--no-progress", "--out", str(run), "--resume"]), "last.pt")  # its own config
    if not kind.startswith("config"):  # --init-backbone reads only the weights
        refused(
            train_main(VISION, [*flags, "--out", str(tmp_path / "new"), "--init-backbone", str(path)]),
            "last.pt",
        )
    assert (run / "final.json").read_bytes() == before and not (tmp_path / "new").exists()


def test_a_good_checkpoint_still_loads_everywhere(runs, tmp_path, capsys):
    for domain in ("nlp", "vision", "speech"):
        assert use_checkpoint(domain, runs[domain], tmp_path) == 0, capsys.readouterr().err


PIPELINE_META = {
    "speech-rate-text": ("speech", lambda m: m["features"].update(sample_rate="abc"), "features.sample_rate"),
    "speech-rate-huge": ("speech", lambda m: m["features"].update(sample_rate=10**9), "features.sample_rate"),
    "speech-mean-text": ("speech", lambda m: m.update(mean="x"), "meta 'mean'"),
    "speech-vocab-number": ("speech", lambda m: m.update(vocab=5), "bad.pt"),
    "speech-no-features": ("speech", lambda m: m.pop("features"), "bad.pt"),
    "vision-height-text": ("vision", lambda m: m.update(height="x"), "meta 'height'"),
    "vision-size-huge": ("vision", lambda m: m.update(height=10**6, width=10**6), "meta 'height'"),
    "vision-mode-unknown": ("vision", lambda m: m.update(mode="spiral"), "meta 'mode'"),
    "vision-mean-empty": ("vision", lambda m: m.update(mean=[]), "meta 'mean'"),
    "vision-classes-number": ("vision", lambda m: m.update(classes=3), "meta 'classes'"),
    "vision-classes-short": ("vision", lambda m: m.update(classes=["0"]), "meta 'classes'"),
    "vision-permutation-short": (
        "vision",
        lambda m: m.update(mode="permuted-pixels", permutation=torch.arange(3)),
        "permutation",
    ),
    "nlp-vocab-number": ("nlp", lambda m: m.update(vocab=5), "vocab"),
    "nlp-vocab-altered": ("nlp", lambda m: m["vocab"]["itos"].reverse(), "vocab"),
}


@pytest.mark.parametrize("case", sorted(PIPELINE_META))
def test_crafted_pipeline_meta_is_one_line(runs, tmp_path, refused, case):
    domain, craft, fragment = PIPELINE_META[case]
    state = torch.load(runs[domain], weights_only=True)
    craft(state["meta"])
    torch.save(state, tmp_path / "bad.pt")
    refused(use_checkpoint(domain, tmp_path / "bad.pt", tmp_path), fragment)
