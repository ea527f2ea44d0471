"""``rnnsuite eval``: the one scoring path agrees with training's test figure; ensembles average."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from core.engine.run import train_main
from core.tools.eval import Ensemble
from core.tools.eval import main as eval_main
from vision.train import DOMAIN as VISION


def _train_digits(out, seed: int) -> dict:
    argv = [
        "--data",
        "digits",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--limit-train",
        "300",
        "--seed",
        str(seed),
        "--no-progress",
        "--out",
        str(out),
    ]
    assert train_main(VISION, argv) == 0
    return json.loads((out / "final.json").read_text())


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("eval")
    return [(root / f"s{seed}", _train_digits(root / f"s{seed}", seed)) for seed in (0, 1)]


def test_eval_matches_the_runs_own_test_figure(digits_runs, tmp_path, capsys):
    run, final = digits_runs[0]
    out = tmp_path / "e.json"
    assert (
        eval_main(
            ["--checkpoint", str(run / "checkpoints" / "best.pt"), "--split", "test", "--out", str(out)]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["metrics"]["accuracy"] == pytest.approx(final["test"]["accuracy"])
    assert result["items"] == 360 and result["recipe"] == "vision/digits"  # every test image of the split
    assert json.loads(capsys.readouterr().out) == result


def test_ensemble_of_two_runs_and_of_one_run_twice(digits_runs, tmp_path):
    (a, final_a), (b, _) = digits_runs
    ckpt_a, ckpt_b = (str(r / "checkpoints" / "best.pt") for r in (a, b))
    assert (
        eval_main(["--checkpoint", ckpt_a, "--checkpoint", ckpt_a, "--out", str(tmp_path / "same.json")]) == 0
    )
    same = json.loads((tmp_path / "same.json").read_text())
    assert same["metrics"]["accuracy"] == pytest.approx(final_a["test"]["accuracy"])
    assert (
        eval_main(["--checkpoint", ckpt_a, "--checkpoint", ckpt_b, "--out", str(tmp_path / "two.json")]) == 0
    )
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["checkpoints"] == [ckpt_a, ckpt_b] and 0.0 <= two["metrics"]["accuracy"] <= 1.0


def test_bad_eval_input_is_one_line(digits_runs, tmp_path, capsys):
    run, _ = digits_runs[0]
    assert eval_main(["--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert eval_main(["--checkpoint", str(run / "checkpoints" / "best.pt"), "--beam", "4"]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert "no such file" in lines[0] and "no decoder options" in lines[1]


class _Fixed(nn.Module):
    def __init__(self, logits: torch.Tensor, sequences: bool):
        super().__init__()
        self.logits, self.sequences = logits, sequences

    def forward(self, inputs, lengths):
        return (self.logits, lengths) if self.sequences else self.logits


@pytest.mark.parametrize("sequences", [False, True])
def test_ensemble_averages_probabilities(sequences):
    first, second = torch.randn(2, 3, 5), torch.randn(2, 3, 5)  # (B, T, V)
    ensemble = Ensemble(members=[_Fixed(first, sequences), _Fixed(second, sequences)])
    output = ensemble(torch.zeros(2, 3, 1), torch.tensor([3, 2]))
    log_probs = output[0] if sequences else output
    expected = (first.softmax(-1) + second.softmax(-1)) / 2
    assert torch.allclose(log_probs.exp(), expected, atol=1e-6)
    assert math.isclose(float(log_probs.exp().sum(-1).mean()), 1.0, rel_tol=1e-5)


@pytest.mark.slow
def test_speech_eval_with_beam_and_lexicon(tmp_path, isolated_cache):
    from speech.train import DOMAIN as SPEECH

    torch.set_num_threads(1)
    argv = [
        "--num-utts",
        "100",
        "--limit-train",
        "32",
        "--hidden",
        "16",
        "--conv-channels",
        "16",
        "--epochs",
        "1",
        "--no-progress",
        "--out",
        str(tmp_path / "run"),
    ]
    assert train_main(SPEECH, argv) == 0
    ckpt = str(tmp_path / "run" / "checkpoints" / "best.pt")
    assert (
        eval_main(["--checkpoint", ckpt, "--beam", "4", "--lexicon", "--out", str(tmp_path / "e.json")]) == 0
    )
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["decoding"] == {"beam": 4, "lexicon": True, "lm": None}
    assert result["items"] >= 90 and {"wer", "cer"} <= set(result["metrics"])
