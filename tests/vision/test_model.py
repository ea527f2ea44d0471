"""Vision model and task: shapes per mode/cell/pooling, lengths respected, it learns."""

from __future__ import annotations

import pytest
import torch

from core.engine.checkpoint import init_backbone_from, save_checkpoint
from core.engine.classification import ClassificationTask, SequenceClassifier, build_task
from core.nn.sequence import SequenceBatch
from vision.data import ImageToSequence, make_permutation
from vision.model import build_model
from vision.train import VisionConfig


def _meta(mode, *, h=6, w=5, c=1):
    perm = make_permutation(h * w, 0) if mode == "permuted-pixels" else None
    enc = ImageToSequence(
        mode=mode, height=h, width=w, channels=c, mean=[0.5] * c, std=[0.25] * c, permutation=perm
    )
    return {"classes": ["a", "b", "c"], "num_classes": 3, **enc.to_meta()}, enc


@pytest.mark.parametrize("mode", ["rows", "columns", "pixels", "permuted-pixels"])
@pytest.mark.parametrize(
    "cell,pooling,bidirectional",
    [("lstm", "last", False), ("gru", "mean", True), ("mingru", "attention", False), ("indrnn", "max", True)],
)
def test_logits_shape_for_every_mode(mode, cell, pooling, bidirectional):
    meta, enc = _meta(mode, c=3)
    cfg = VisionConfig(mode=mode, cell=cell, pooling=pooling, bidirectional=bidirectional, hidden=8)
    model = build_model(cfg, meta)
    inputs = enc(torch.randint(0, 256, (4, 3, 6, 5), dtype=torch.uint8))  # (B, T, F)
    logits = model(inputs, torch.full((4,), inputs.shape[1]))
    assert tuple(logits.shape) == (4, 3) and torch.isfinite(logits).all()
    assert isinstance(model.backbone, torch.nn.Module) and model.backbone.output_size == 8 * (
        1 + bidirectional
    )


def test_last_pooling_reads_each_sequence_at_its_own_length():
    meta, _ = _meta("pixels")
    model = build_model(VisionConfig(cell="lstm", hidden=8), meta).eval()
    x = torch.randn(2, 30, 1)
    short = model(x[:1, :12], torch.tensor([12]))
    padded = x.clone()
    padded[0, 12:] = 100.0  # junk after the end must not matter
    both = model(padded, torch.tensor([12, 30]))
    assert torch.allclose(both[0], short[0], atol=1e-5)
    assert not torch.allclose(both[0], model(padded[:1], torch.tensor([30]))[0], atol=1e-3)


def test_gradients_reach_every_parameter():
    meta, enc = _meta("rows")
    model = build_model(VisionConfig(cell="gru", hidden=8, pooling="attention"), meta)
    task = build_task(VisionConfig(label_smoothing=0.1), meta)
    assert isinstance(task, ClassificationTask) and task.label_smoothing == 0.1
    inputs = enc(torch.randint(0, 256, (5, 1, 6, 5), dtype=torch.uint8))
    loss, n = task.loss(model, SequenceBatch(inputs, torch.full((5,), 6), torch.tensor([0, 1, 2, 0, 1])))
    loss.backward()
    assert n == 5 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_learns_where_the_bright_rows_are():
    # class 0: bright top half; class 1: bright bottom half -- the top rows come first, so a
    # "last"-pooled model must carry them through the sequence
    torch.manual_seed(0)
    images = torch.randint(0, 60, (64, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(64) % 2
    images[labels == 0, :, :4] += 150
    images[labels == 1, :, 4:] += 150
    meta, enc = _meta("rows", h=8, w=8)
    meta.update(classes=["top", "bottom"], num_classes=2)
    model = build_model(VisionConfig(cell="lstm", hidden=16), meta)
    task = build_task(VisionConfig(), meta)
    batch = SequenceBatch(enc(images), torch.full((64,), 8), labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        task.loss(model, batch)[0].backward()
        optimizer.step()
    task.reset_metrics()
    task.update_metrics(model.eval(), batch)
    assert task.compute_metrics()["accuracy"] == 1.0


def test_init_backbone_copies_only_the_backbone(tmp_path):
    meta, _ = _meta("rows")
    source = build_model(VisionConfig(hidden=8), meta)
    save_checkpoint(
        tmp_path / "s.pt",
        {
            "domain": "vision",
            "config": {},
            "meta": meta,
            "model": source.state_dict(),
            "optimizer": {},
            "scheduler": {},
            "epoch": 0,
            "step": 0,
            "rng": {},
            "history": [],
            "best": {},
        },
    )
    target = build_model(
        VisionConfig(hidden=8, seed=1), {**meta, "classes": list("abcdefg"), "num_classes": 7}
    )
    names = init_backbone_from(target, tmp_path / "s.pt")
    assert names and all(n.startswith("backbone.") for n in names)
    for name in names:
        assert torch.equal(target.state_dict()[name], source.state_dict()[name])
    assert isinstance(target, SequenceClassifier) and target.head.linear.out_features == 7
