"""``rnnsuite export --format onnx``: onnxruntime matches PyTorch on padded batches of mixed lengths.

Each domain's model is built tiny from a synthetic meta, saved as a real checkpoint, exported
through the CLI entry point and then run by onnxruntime at batch sizes and lengths the export
never saw, beside the PyTorch model's exact variable-length path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.engine.checkpoint import load_for_inference, save_checkpoint
from core.engine.config import config_to_dict
from core.tools import cli
from core.tools.export import TOLERANCE, example_batch, input_spec

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

META = {
    "nlp": {"vocab": {"itos": ["<pad>", "<unk>", *[f"w{i}" for i in range(30)]]}, "classes": ["neg", "pos"]},
    "vision": {"input_size": 6, "num_classes": 4, "classes": list("abcd")},
    "speech": {"features": {"n_mels": 5}, "vocab": {"tokens": ["<blank>", " ", "a", "b", "c"]}},
}


def config_for(domain: str, cell: str, bidirectional: bool, **extra):
    if domain == "nlp":
        from nlp.train import NlpConfig

        return NlpConfig(
            cell=cell, hidden=8, layers=2, embed_dim=6, bidirectional=bidirectional, pooling="max"
        )
    if domain == "vision":
        from vision.train import VisionConfig

        return VisionConfig(
            **{
                "cell": cell,
                "hidden": 8,
                "layers": 1,
                "bidirectional": bidirectional,
                "pooling": "last",
                **extra,
            }
        )
    from speech.train import SpeechConfig

    return SpeechConfig(
        cell=cell, hidden=8, layers=2, bidirectional=bidirectional, conv_channels=6, subsample=2
    )


def tiny_checkpoint(tmp_path, domain: str, cell: str, bidirectional: bool, **extra):
    from core.tools.cli import find_domain

    torch.manual_seed(0)
    cfg = config_for(domain, cell, bidirectional, **extra)
    model = find_domain(domain).build_model(cfg, META[domain])
    path = tmp_path / f"{domain}-{cell}" / "checkpoints" / "best.pt"
    save_checkpoint(
        path,
        {
            "domain": domain,
            "config": config_to_dict(cfg),
            "meta": META[domain],
            "model": model.state_dict(),
            "epoch": 0,
            "step": 0,
        },
    )
    return path


def run_onnx(session, inputs, lengths):
    return session.run(None, {"inputs": inputs.numpy(), "lengths": lengths.numpy()})


STACKED = {"layers": 3, "layer_norm": True, "residual": True}


@pytest.mark.parametrize(
    "domain,cell,bidirectional,extra",
    [
        ("nlp", "lstm", True, {}),
        ("nlp", "gru", False, {}),
        ("vision", "rnn", True, {}),
        ("vision", "mingru", False, {}),
        ("vision", "gru", True, STACKED),
        ("speech", "gru", True, {}),
        ("speech", "lstm", False, {}),
        ("speech", "minlstm", True, {}),
    ],
)
def test_onnx_matches_torch_on_padded_mixed_lengths(tmp_path, capsys, domain, cell, bidirectional, extra):
    checkpoint = tiny_checkpoint(tmp_path, domain, cell, bidirectional, **extra)
    out = tmp_path / "model.onnx"
    assert cli.main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    model, _, _ = load_for_inference(checkpoint, domain)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for seed, lengths in enumerate([[13, 2, 7, 1, 13], [4], [31, 30, 8]]):  # none is the export's example
        inputs, lengths_t = example_batch(input_spec(model), lengths, seed=100 + seed)
        with torch.inference_mode():
            expected = model(inputs, lengths_t)
        got = run_onnx(session, inputs, lengths_t)
        if domain == "speech":
            logits, out_lengths = expected
            np.testing.assert_array_equal(got[1], out_lengths.numpy())
            valid = torch.arange(logits.shape[1]) < out_lengths.unsqueeze(1)  # (B, T')
            assert np.abs(logits.numpy() - got[0])[valid.numpy()].max() <= TOLERANCE
        else:
            assert got[0].shape == tuple(expected.shape)
            assert np.abs(expected.numpy() - got[0]).max() <= TOLERANCE


def test_one_sequence_alone_equals_it_inside_a_padded_batch(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path, "nlp", "lstm", True)
    out = tmp_path / "nlp.onnx"
    assert cli.main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    ids = torch.tensor([[5, 9, 2, 0, 0, 0], [3, 4, 5, 6, 7, 8]])
    batched = run_onnx(session, ids, torch.tensor([3, 6]))[0]
    alone = run_onnx(session, ids[:1, :3], torch.tensor([3]))[0]
    assert np.abs(batched[0] - alone[0]).max() <= 1e-5


@pytest.mark.parametrize("cell", ["indrnn", "elman_ref"])
def test_a_cell_without_a_graph_form_is_refused_in_one_line(tmp_path, capsys, cell):
    checkpoint = tiny_checkpoint(tmp_path, "vision", cell, False)
    out = tmp_path / "x.onnx"
    assert cli.main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cell {cell!r} cannot be exported to ONNX" in err
    assert not out.exists() and not list(tmp_path.glob("x.onnx.*"))  # no file left behind


def test_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert cli.main(["export", "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the foreign file's own export
def test_onnx_files_not_made_by_export_are_refused_in_one_line(tmp_path):
    from core.errors import CheckpointError
    from core.tools.export import load_onnx_predictor

    foreign = tmp_path / "foreign.onnx"
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),), str(foreign), dynamo=False)
    with pytest.raises(CheckpointError, match="no rnnsuite.checkpoint"):
        load_onnx_predictor(foreign)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf at all")
    with pytest.raises(CheckpointError, match="cannot read ONNX file"):
        load_onnx_predictor(garbage)
