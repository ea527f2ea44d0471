"""A 2-D convolutional subsampling front-end (time x mel), as in DeepSpeech 2 (Amodei et al., 2016)
and ESPnet's ``Conv2dSubsampling``: local time-frequency patterns are learnt before the recurrent
backbone, which then runs on a quarter (or half) of the frames.

Padding invariance: each conv sees zeros past an utterance's length (collate pads with zeros and
every layer's output is masked again), so an utterance gives the same output alone or in a batch.
"""

from __future__ import annotations

from torch import Tensor, nn

from core.nn.sequence import lengths_to_mask
from speech.model import KERNEL, PADDING, STRIDE, _num_convs, output_lengths


class Conv2dFrontend(nn.Module):
    """(B, T, F) -> (B, T', C): stride-2 Conv2d + GELU layers over (time, mel), then Linear to ``channels``.

    Example:
        >>> import torch
        >>> front = Conv2dFrontend(input_size=80, channels=64, subsample=4)
        >>> out, lengths = front(torch.randn(2, 17, 80), torch.tensor([17, 9]))
        >>> tuple(out.shape), lengths.tolist()
        ((2, 5, 64), [5, 3])
    """

    def __init__(self, *, input_size: int, channels: int, subsample: int, maps: int = 32):
        super().__init__()
        self.subsample = subsample
        layers, in_maps, freq = [], 1, input_size
        for _ in range(_num_convs(subsample)):
            layers.append(nn.Conv2d(in_maps, maps, KERNEL, stride=STRIDE, padding=PADDING))
            in_maps, freq = maps, (freq + 2 * PADDING - KERNEL) // STRIDE + 1
        self.convs = nn.ModuleList(layers)
        self.project = nn.Linear(in_maps * freq, channels)
        self.output_size = channels

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        maps = x.unsqueeze(1)  # (B, 1, T, F)
        for conv in self.convs:
            maps = nn.functional.gelu(conv(maps))  # (B, M, T', F')
            lengths = output_lengths(lengths, 2)
            maps = maps * lengths_to_mask(lengths, maps.shape[2])[:, None, :, None].to(maps.dtype)
        batch, num_maps, frames, freq = maps.shape
        flat = maps.permute(0, 2, 1, 3).reshape(batch, frames, num_maps * freq)  # (B, T', M * F')
        out = self.project(flat)  # (B, T', C)
        return out * lengths_to_mask(lengths, frames).unsqueeze(-1).to(out.dtype), lengths
