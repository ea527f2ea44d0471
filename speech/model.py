"""CTC acoustic model: optional conv front-end (time / 2 or / 4), the shared backbone, a linear head.

Output lengths are exact integer arithmetic on input lengths (``output_lengths``); padded
frames are zeroed after every conv layer, so an utterance gives the same emissions alone
or inside a padded batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.backbone import backbone_from_config
from core.nn.sequence import lengths_to_mask

KERNEL, STRIDE, PADDING = 3, 2, 1


def _num_convs(subsample: int) -> int:
    if subsample not in (1, 2, 4):
        raise ConfigError(f"--subsample must be 1, 2 or 4, got {subsample}")
    return {1: 0, 2: 1, 4: 2}[subsample]


def output_lengths(lengths: Tensor, subsample: int) -> Tensor:
    """Frames after the front-end: each stride-2 conv maps L to (L + 2p - k) // s + 1.

    Example:
        >>> output_lengths(torch.tensor([1, 2, 7, 8, 9]), 4).tolist()
        [1, 1, 2, 2, 3]
    """
    out = lengths.clone()
    for _ in range(_num_convs(subsample)):
        out = torch.div(out + 2 * PADDING - KERNEL, STRIDE, rounding_mode="floor") + 1
    return out


def ctc_min_frames(target: list[int]) -> int:
    """Fewest frames CTC needs: one per label plus a blank between repeated labels."""
    return len(target) + sum(1 for a, b in zip(target, target[1:]) if a == b)


class ConvFrontend(nn.Module):
    """(B, T, F) -> (B, T', C): stride-2 Conv1d + GELU layers, masked past each length."""

    def __init__(self, *, input_size: int, channels: int, subsample: int):
        super().__init__()
        self.subsample = subsample
        layers, width = [], input_size
        for _ in range(_num_convs(subsample)):
            layers.append(nn.Conv1d(width, channels, KERNEL, stride=STRIDE, padding=PADDING))
            width = channels
        self.convs = nn.ModuleList(layers)
        self.output_size = width

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        for conv in self.convs:
            y = torch.nn.functional.gelu(conv(x.transpose(1, 2))).transpose(1, 2)  # (B, T', C)
            lengths = output_lengths(lengths, 2)
            x = y * lengths_to_mask(lengths, y.shape[1]).unsqueeze(-1).to(y.dtype)
        return x, lengths


class SpeechModel(nn.Module):
    """``model(inputs (B,T,F), lengths (B,)) -> (logits (B,T',V), out_lengths (B,))``."""

    def __init__(self, *, frontend: nn.Module, backbone: nn.Module, vocab_size: int, dropout: float = 0.0):
        super().__init__()
        self.frontend = frontend
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.output_size, vocab_size)

    def forward(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x, out_lengths = self.frontend(inputs, lengths)  # (B, T', C)
        hidden, out_lengths, _ = self.backbone(x, out_lengths)  # (B, T', D), zero past lengths
        return self.head(self.dropout(hidden)), out_lengths  # (B, T', V)


def build_model(cfg, meta: dict) -> SpeechModel:
    n_mels = int(meta["features"]["n_mels"])
    if getattr(cfg, "frontend", "conv1d") == "conv2d":  # checkpoints from before the flag are conv1d
        from speech.frontend import (
            Conv2dFrontend,  # imports this module: a top-level import would be circular
        )

        frontend = Conv2dFrontend(input_size=n_mels, channels=cfg.conv_channels, subsample=cfg.subsample)
    else:
        frontend = ConvFrontend(input_size=n_mels, channels=cfg.conv_channels, subsample=cfg.subsample)
    backbone = backbone_from_config(cfg, frontend.output_size)
    return SpeechModel(
        frontend=frontend, backbone=backbone, vocab_size=len(meta["vocab"]["tokens"]), dropout=cfg.dropout
    )
