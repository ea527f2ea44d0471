"""Log-mel features, train-split normalisation statistics and SpecAugment.

Frames are computed with ``center=True``: an utterance of N samples gives exactly
``N // hop + 1`` frames (``num_frames``), which the model's length arithmetic builds on.
"""

from __future__ import annotations

import torch
import torchaudio.transforms as T
from torch import Tensor, nn


class LogMel(nn.Module):
    """(N,) waveform -> (frames, n_mels) log-mel filterbank energies.

    Example:
        >>> LogMel(sample_rate=8000, n_mels=40)(torch.zeros(8000)).shape
        torch.Size([101, 40])
    """

    def __init__(self, *, sample_rate: int, n_mels: int = 40, win_ms: float = 25.0, hop_ms: float = 10.0):
        super().__init__()
        self.sample_rate = sample_rate
        self.win = int(round(sample_rate * win_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        n_fft = 1 << (self.win - 1).bit_length()  # next power of two >= window
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=self.win,
            hop_length=self.hop,
            n_mels=n_mels,
            f_min=20.0,
            power=2.0,
            pad_mode="constant",
        )  # reflect padding fails on very short clips

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop + 1

    @torch.no_grad()
    def forward(self, wave: Tensor) -> Tensor:
        spec = self.mel(wave.float())  # (n_mels, frames)
        return torch.log(spec + 1e-6).transpose(0, 1).contiguous()  # (frames, n_mels)


def feature_stats(features: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Per-bin mean and std over every frame of the training split: two (n_mels,) tensors."""
    total = torch.zeros(features[0].shape[1], dtype=torch.float64)
    square = torch.zeros_like(total)
    count = 0
    for feat in features:  # (T, F); accumulate in float64 so long corpora stay exact
        f = feat.double()
        total += f.sum(0)
        square += (f * f).sum(0)
        count += f.shape[0]
    mean = total / count
    std = (square / count - mean * mean).clamp(min=1e-8).sqrt()
    return mean.float(), std.float()


class SpecAugment(nn.Module):
    """Time stretch, then frequency and time masking, on one utterance (T, F); identity in eval mode.

    ``stretch`` s resamples the frame axis by a factor drawn from [1 - s, 1 + s]: a cheap
    feature-domain stand-in for speed perturbation (the cached features need no new DSP).
    Draws use torch's global RNG, so seeded runs are reproducible.

    Example:
        >>> aug = SpecAugment(freq_mask=0, time_mask=0, num_masks=0, stretch=0.5)
        >>> 50 <= aug(torch.randn(100, 40)).shape[0] <= 150
        True
    """

    def __init__(self, *, freq_mask: int = 8, time_mask: int = 10, num_masks: int = 2, stretch: float = 0.0):
        super().__init__()
        self.num_masks, self.stretch = num_masks, stretch
        self.freq = T.FrequencyMasking(freq_mask) if freq_mask > 0 else None
        # p caps one mask at 20% of the utterance: a short word must not vanish under it
        self.time = T.TimeMasking(time_mask, p=0.2) if time_mask > 0 else None

    def forward(self, feat: Tensor) -> Tensor:
        if not self.training:
            return feat
        spec = feat.transpose(0, 1)  # (F, T): torchaudio masks act on (..., freq, time)
        if self.stretch > 0 and spec.shape[1] > 1:
            factor = 1.0 + self.stretch * (2 * float(torch.rand(())) - 1)
            frames = max(1, round(spec.shape[1] * factor))
            spec = nn.functional.interpolate(spec[None], size=frames, mode="linear", align_corners=True)[0]
        for _ in range(self.num_masks):
            if self.freq is not None:
                spec = self.freq(spec)
            if self.time is not None and spec.shape[1] > 1:
                spec = self.time(spec)
        return spec.transpose(0, 1)
