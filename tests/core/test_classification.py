"""core.engine.classification: the shared classifier model, head, task and metrics."""

from __future__ import annotations

import torch

from core.engine.classification import ClassificationTask, SequenceClassifier, classification_metrics
from core.nn.backbone import build_backbone
from core.nn.sequence import SequenceBatch


def _model(pooling: str = "mean") -> SequenceClassifier:
    torch.manual_seed(0)
    return SequenceClassifier(
        backbone=build_backbone("gru", 3, 8, bidirectional=True), num_classes=4, pooling=pooling
    )


def test_padding_never_changes_the_logits():
    model = _model().eval()
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 3])  # (B, T, F)
    padded = torch.cat([x, torch.randn(2, 4, 3)], dim=1)  # the extra steps are padding for both
    torch.testing.assert_close(model(padded, lengths), model(x, lengths))
    torch.testing.assert_close(model(x[1:, :3], lengths[1:]), model(x, lengths)[1:])


def test_checkpoints_of_the_former_per_domain_models_still_load(tmp_path):
    from core.engine.checkpoint import load_for_inference, save_checkpoint
    from vision.train import DOMAIN, VisionConfig

    meta = {"input_size": 3, "num_classes": 4, "classes": list("abcd")}
    model = DOMAIN.build_model(VisionConfig(hidden=8, pooling="attention"), meta)
    # vision named the linear layer `head` and kept `pooling` beside it; nlp called it `classifier`
    legacy = {
        key.replace("head.pooling.", "pooling.").replace("head.linear.", "head."): value + 1.0
        for key, value in model.state_dict().items()
    }
    save_checkpoint(
        tmp_path / "old.pt",
        {
            "domain": "vision",
            "config": {"hidden": 8, "pooling": "attention"},
            "meta": meta,
            "model": legacy,
            "optimizer": {},
            "scheduler": {},
            "epoch": 1,
            "step": 1,
            "rng": {},
            "history": [],
            "best": {},
        },
    )
    loaded, _, _ = load_for_inference(tmp_path / "old.pt", DOMAIN)
    assert torch.equal(loaded.head.linear.weight, model.head.linear.weight + 1.0)
    assert torch.equal(loaded.head.pooling.score[0].weight, model.head.pooling.score[0].weight + 1.0)
    nlp_style = {
        k.replace("head.", "classifier.", 1) if k.startswith("head.") else k: v for k, v in legacy.items()
    }
    assert set(SequenceClassifier.upgrade_state_dict(nlp_style)) == set(model.state_dict())


def test_two_channel_text_checkpoints_of_the_former_nlp_model_map_onto_the_front():
    from nlp.model import build_model
    from nlp.train import NlpConfig

    meta = {
        "vocab": {"itos": ["<pad>", "<unk>", "a", "b"]},
        "classes": ["neg", "pos"],
        "vectors": {"name": "a-file.txt", "dim": 4},  # rows come from the checkpoint, not the file
    }
    model = build_model(NlpConfig(hidden=8, vectors="a-file.txt", vectors_mode="both"), meta)
    own = model.state_dict()
    assert "front.static_embedding.weight" in own
    legacy = {key.removeprefix("front."): value for key, value in own.items()}  # nlp held both tables itself
    assert set(SequenceClassifier.upgrade_state_dict(legacy)) == set(own)


def test_metrics_of_predictions_equal_the_task_metrics_of_the_same_predictions():
    predicted, expected = [0, 2, 2, 1, 0, 3], [0, 2, 1, 1, 3, 3]
    direct = classification_metrics(predicted, expected, 4)
    assert direct["accuracy"] == 4 / 6 and direct["_confusion"][1] == [0, 1, 1, 0]
    task = ClassificationTask(list("abcd"))
    logits = torch.nn.functional.one_hot(torch.tensor(predicted), 4).float().unsqueeze(1)  # (N, 1, C)
    task.update_metrics(
        lambda inputs, lengths: inputs[:, 0], SequenceBatch(logits, torch.ones(6), torch.tensor(expected))
    )
    assert task.compute_metrics() == direct
    assert classification_metrics([], [], 4) == {"accuracy": 0.0, "macro_f1": 0.0}
