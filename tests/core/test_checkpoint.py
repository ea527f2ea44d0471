"""Atomic checkpoint files, safe loading, inference rebuild and backbone transfer."""

from __future__ import annotations

import pytest
import torch
from core_toy_domain import DOMAIN, META, ToyConfig, build_model, checkpoint_of

from core.engine.checkpoint import (
    init_backbone_from,
    load_checkpoint,
    load_for_inference,
    load_model_state,
    save_checkpoint,
)
from core.errors import CheckpointError


@pytest.fixture()
def model():
    return build_model(ToyConfig(), META)


def test_round_trip_under_weights_only(tmp_path, model):
    path = save_checkpoint(tmp_path / "ck" / "last.pt", checkpoint_of(model))
    state = load_checkpoint(path, domain="toy")
    assert state["epoch"] == 1 and state["meta"] == META
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state["model"].items())
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp file left behind


def test_failed_write_keeps_the_previous_file(tmp_path, model, monkeypatch):
    path = save_checkpoint(tmp_path / "last.pt", checkpoint_of(model))
    before = path.read_bytes()

    def torn_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError):
        save_checkpoint(path, checkpoint_of(model))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_non_finite_weights_are_never_written(tmp_path, model):
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="non-finite weights in head.weight"):
        save_checkpoint(tmp_path / "last.pt", checkpoint_of(model))
    assert not (tmp_path / "last.pt").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "checkpoint not found"),
        (b"not a zip at all", "cannot read checkpoint"),
    ],
)
def test_missing_or_corrupt_files(tmp_path, content, message):
    path = tmp_path / "x.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_foreign_and_unsafe_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not an rnnsuite checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    torch.save({"domain": object()}, tmp_path / "pickled.pt")  # arbitrary objects: weights_only refuses
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "pickled.pt")


def test_other_domain_is_refused(tmp_path, model):
    save_checkpoint(tmp_path / "v.pt", checkpoint_of(model, domain="vision"))
    with pytest.raises(CheckpointError, match="is a 'vision' checkpoint, not 'toy'"):
        load_for_inference(tmp_path / "v.pt", DOMAIN)


def test_load_for_inference_rebuilds_an_equal_model(tmp_path, model):
    save_checkpoint(tmp_path / "best.pt", checkpoint_of(model))
    rebuilt, cfg, meta = load_for_inference(tmp_path / "best.pt", DOMAIN)
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 2, 4])
    assert not rebuilt.training and meta == META and cfg.hidden == 16
    assert torch.equal(rebuilt(x, lengths), model.eval()(x, lengths))


def test_shape_mismatch_names_the_tensors(tmp_path):
    small = build_model(ToyConfig(hidden=8), META)
    save_checkpoint(tmp_path / "best.pt", checkpoint_of(small, hidden=16))  # config says 16, weights are 8
    with pytest.raises(
        CheckpointError, match=r"does not match the model: shape backbone.weight_ih_l0 \(32, 4\)"
    ):
        load_for_inference(tmp_path / "best.pt", DOMAIN)
    with pytest.raises(CheckpointError, match="missing head.bias"):
        load_model_state(small, {k: v for k, v in small.state_dict().items() if k != "head.bias"})


def test_init_backbone_copies_only_the_backbone(tmp_path, model):
    source = build_model(ToyConfig(), META)
    save_checkpoint(tmp_path / "src.pt", checkpoint_of(source))
    head_before = model.head.weight.clone()
    loaded = init_backbone_from(model, tmp_path / "src.pt")
    assert loaded and all(name.startswith("backbone.") for name in loaded)
    assert torch.equal(model.backbone.weight_hh_l0, source.backbone.weight_hh_l0)
    assert torch.equal(model.head.weight, head_before)


def test_init_backbone_lists_mismatches(tmp_path, model):
    save_checkpoint(tmp_path / "src.pt", checkpoint_of(build_model(ToyConfig(hidden=8), META), hidden=8))
    with pytest.raises(
        CheckpointError, match=r"backbone does not match: backbone.weight_ih_l0 \(32, 4\) vs \(64, 4\)"
    ):
        init_backbone_from(model, tmp_path / "src.pt")
