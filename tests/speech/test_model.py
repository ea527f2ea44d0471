"""Front-end length arithmetic, batch invariance and the model's public shape."""

from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError
from core.nn.backbone import build_backbone
from speech.model import ConvFrontend, SpeechModel, ctc_min_frames, output_lengths


@pytest.mark.parametrize("subsample", [1, 2, 4])
def test_output_lengths_match_the_convolutions(subsample):
    frontend = ConvFrontend(input_size=6, channels=5, subsample=subsample)
    for frames in range(1, 30):
        out, lengths = frontend(torch.randn(1, frames, 6), torch.tensor([frames]))
        assert out.shape[1] == int(lengths) == int(output_lengths(torch.tensor([frames]), subsample))
        assert int(lengths) == -(-frames // subsample)  # stride-2 'same' convs: ceil(T / s)


def test_bad_subsample_is_a_config_error():
    with pytest.raises(ConfigError, match="subsample"):
        ConvFrontend(input_size=6, channels=5, subsample=3)


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames([1, 2, 3]) == 3
    assert ctc_min_frames([1, 1, 2, 2, 2]) == 8


def test_utterance_alone_equals_utterance_in_padded_batch():
    model = SpeechModel(
        frontend=ConvFrontend(input_size=8, channels=12, subsample=4),
        backbone=build_backbone("lstm", 12, 10, bidirectional=True),
        vocab_size=7,
    ).eval()
    x = torch.randn(3, 23, 8)
    lengths = torch.tensor([23, 13, 6])
    x[1, 13:] = 0  # padding as collate writes it
    x[2, 6:] = 0
    logits, out_lengths = model(x, lengths)
    assert logits.shape == (3, 6, 7) and out_lengths.tolist() == [6, 4, 2]
    alone, alone_lengths = model(x[1:2, :13], lengths[1:2])
    assert alone_lengths.tolist() == [4]
    assert torch.allclose(alone[0], logits[1, :4], atol=1e-5)
    assert hasattr(model, "backbone") and model.backbone.num_directions == 2
