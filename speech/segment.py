"""Long recordings in pieces: cut at the quietest moment, so no piece exceeds a length.

A model trained on clips of a few seconds transcribes a minute-long recording piece by
piece: each piece is at most ``max_seconds`` long and ends at the quietest 200 ms stretch
of its second half (between sentences or words, rarely inside one). Memory and time then
grow with the piece, not the recording, and the transcripts are joined with a space.

Example:
    >>> import torch
    >>> wave = torch.cat([torch.ones(8000), torch.zeros(4000), torch.ones(8000)])  # 1 s, 0.5 s pause, 1 s
    >>> pieces = split_on_silence(wave, sample_rate=8000, max_seconds=2.0)
    >>> len(pieces), pieces[0][0], pieces[-1][1], 8000 < pieces[0][1] < 12000  # cut inside the pause
    (2, 0, 20000, True)
"""

from __future__ import annotations

import torch
from torch import Tensor

FRAME_SECONDS = 0.01
SMOOTH_SECONDS = 0.2
"""Energy is averaged over this span: a pause between words or sentences, not one quiet sample."""


def frame_energy(wave: Tensor, hop: int) -> Tensor:
    """(N,) -> (N // hop,) mean squared amplitude per hop-sized frame, smoothed over SMOOTH_SECONDS."""
    frames = wave[: len(wave) // hop * hop].view(-1, hop).pow(2).mean(dim=1)  # (F,)
    width = max(1, round(SMOOTH_SECONDS / FRAME_SECONDS))
    kernel = torch.ones(1, 1, width) / width
    return torch.nn.functional.conv1d(frames.view(1, 1, -1), kernel, padding=width // 2)[0, 0, : len(frames)]


def split_on_silence(wave: Tensor, *, sample_rate: int, max_seconds: float) -> list[tuple[int, int]]:
    """[(start, end)] sample ranges covering ``wave`` (N,) in order, each at most ``max_seconds`` long.

    A recording no longer than ``max_seconds`` is one piece. Otherwise each cut falls at the
    centre of the quietest smoothed frame in the second half of the next ``max_seconds``.
    """
    limit = max(1, int(max_seconds * sample_rate))
    if len(wave) <= limit:
        return [(0, len(wave))]
    hop = max(1, int(FRAME_SECONDS * sample_rate))
    energy = frame_energy(wave.float(), hop)  # (F,)
    pieces, start = [], 0
    while len(wave) - start > limit:
        low, high = (start + limit // 2) // hop, (start + limit) // hop  # frames of the search window
        quietest = low + _middle_of_minimum(energy[low:high]) if high > low else high
        cut = min(max(quietest * hop + hop // 2, start + 1), start + limit)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(wave)))
    return pieces


def _middle_of_minimum(energy: Tensor) -> int:
    """Index of the middle frame among those at the minimum: the centre of a silent stretch."""
    at_minimum = torch.nonzero(energy <= energy.min() + 1e-12).flatten()
    return int(at_minimum[len(at_minimum) // 2])
