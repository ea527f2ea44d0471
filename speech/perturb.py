"""Speed perturbation (Ko et al., Interspeech 2015): extra training copies of each recording
played 10% slower and faster, by resampling the waveform (tempo and pitch change together,
as with ``sox speed``).

Each copy is a ``Clip`` with its own key, so its features are computed once and cached like
any other utterance; the epoch then walks over every copy.
"""

from __future__ import annotations

from torch import Tensor

from speech.audio import resample
from speech.corpora import Clip


def speed_factors(perturb: float) -> tuple[float, ...]:
    """``--speed-perturb s`` -> the extra factors (1 - s, 1 + s); 0 gives none.

    Example:
        >>> speed_factors(0.1)
        (0.9, 1.1)
    """
    return () if perturb == 0 else (round(1.0 - perturb, 4), round(1.0 + perturb, 4))


def speed_changed(clip: Clip, factor: float, *, sample_rate: int) -> Clip:
    """``clip`` played ``factor`` times as fast: N samples become about N / factor."""
    played_as = int(round(sample_rate * factor))  # reading samples at this rate, writing at sample_rate

    def make() -> Tensor:
        return resample(clip.make(), played_as, sample_rate)  # (N / factor,)

    return Clip(f"{clip.key}|speed={factor:g}", clip.text, make)


def speed_perturbed(clips: list[Clip], perturb: float, *, sample_rate: int) -> list[Clip]:
    """The clips followed by their speed-changed copies (none when ``perturb`` is 0)."""
    copies = [
        speed_changed(clip, factor, sample_rate=sample_rate)
        for factor in speed_factors(perturb)
        for clip in clips
    ]
    return clips + copies
