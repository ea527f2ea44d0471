"""CTC speech-to-text: ``python -m speech.train --data fsdd-strings --cell lstm``.

Log-mel features -> optional conv front-end (time / 2 or / 4) -> the shared backbone
(bidirectional by default) -> characters (or words, ``--units words``) with CTC.

Example:
    python -m speech.train --data tts-digits --epochs 10 --out runs/speech-tts
    python -m speech.transcribe --checkpoint runs/speech-tts/checkpoints/best.pt a.wav
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from core.engine.config import MAX_HIDDEN, RunConfig
from core.engine.domain import Domain
from core.engine.run import train_main
from core.errors import ConfigError
from speech.data import build_data
from speech.model import build_model
from speech.predictor import load_predictor
from speech.task import build_eval_task, build_task


@dataclass
class SpeechConfig(RunConfig):
    """Flags of ``python -m speech.train`` (the shared ones plus the audio pipeline)."""

    data: str = "tts-digits"
    """tts-digits (embedded, eSpeak NG) | arctic | fsdd | fsdd-strings | yesno | librispeech | a LibriSpeech-layout folder | a .tsv/.jsonl manifest."""
    bidirectional: bool = True
    batch_size: int = 32
    """Most utterances per batch; --max-frames bounds a batch too."""
    epochs: int = 20
    units: Literal["chars", "words"] = "chars"
    """CTC output units: characters (letters, apostrophe, space) or whole words (yesno)."""
    sample_rate: int = 0
    """Model sample rate in Hz; 0 = the dataset's own (8000 for FSDD/yesno/tts-digits, else 16000)."""
    n_mels: int = 40
    """Log-mel filterbank channels (25 ms windows, 10 ms hop)."""
    cmn: bool = False
    """Subtract each utterance's own mean log-mel (recording gain/channel invariance)."""
    max_seconds: float = 30.0
    """Longer audio files are reported and skipped (0 = no limit)."""
    num_utts: int = 2000
    """tts-digits / fsdd-strings: training utterances to make (val 1/10, test 1/6 of it)."""
    data_seed: Optional[int] = None
    """Deprecated alias of --split-seed (which also seeds the generated corpora tts-digits and fsdd-strings)."""
    subsample: int = 2
    """Time subsampling of the conv front-end: 1 (none), 2 or 4."""
    conv_channels: int = 128
    """Channels of the conv front-end."""
    max_frames: int = 12000
    """Padded feature frames per batch at most (longest x count)."""
    spec_augment: bool = True
    """SpecAugment (frequency and time masks) on training features."""
    freq_mask: int = 6
    """SpecAugment: widest frequency mask in mel channels."""
    time_mask: int = 8
    """SpecAugment: widest time mask in frames (and at most 20% of the utterance)."""
    num_masks: int = 2
    """SpecAugment: frequency and time masks per utterance."""
    recombine: int = 0
    """Extra training utterances spliced from the words of training recordings (speech.recombine); 0 = off."""
    time_stretch: float = 0.0
    """Training features are stretched in time by a random factor in [1 - s, 1 + s] (0 = off)."""
    speed_perturb: float = 0.0
    """Speed perturbation: add copies of every training recording resampled to speed 1 - s and 1 + s
    (features cached; an epoch covers all copies); 0 = off."""
    mix_train: Optional[str] = None
    """Another corpus (a --data value) whose training utterances join this one's every epoch, e.g.
    tts-sentences: synthetic speech beside the real; its validation and test splits are not used."""
    mix_utts: int = 0
    """--mix-train: how many of its training utterances, from the start of its listing (0 = all)."""
    frontend: Literal["conv1d", "conv2d"] = "conv1d"
    """Subsampling front-end: conv1d (stride-2 Conv1d over mel channels) or conv2d (stride-2 Conv2d over
    time x mel with 32 maps, then a linear layer, as ESPnet's Conv2dSubsampling)."""

    def validate(self) -> None:
        super().validate()
        if self.data_seed is not None:  # configs written before --split-seed existed say data_seed
            self.split_seed, self.data_seed = self.data_seed, None
        if self.subsample not in (1, 2, 4):
            raise ConfigError(f"--subsample must be 1, 2 or 4, got {self.subsample}")
        self.require_positive("n_mels", "num_utts", "max_frames", "conv_channels")
        self.require_at_most(1024, "n_mels")
        self.require_at_most(192_000, "sample_rate")
        self.require_at_most(MAX_HIDDEN, "conv_channels")
        self.require_non_negative(
            "sample_rate", "max_seconds", "freq_mask", "time_mask", "num_masks", "recombine", "mix_utts"
        )
        if not 0.0 <= self.time_stretch < 1.0:
            raise ConfigError(f"--time-stretch must be in [0, 1), got {self.time_stretch}")
        if not 0.0 <= self.speed_perturb < 0.5:
            raise ConfigError(f"--speed-perturb must be in [0, 0.5), got {self.speed_perturb}")
        if self.freq_mask >= self.n_mels:
            raise ConfigError(f"--freq-mask must be below --n-mels ({self.n_mels}), got {self.freq_mask}")


def transferred_prefixes(meta: dict, source_domain: str, source_meta: dict) -> tuple[str, ...]:
    """What ``--init-backbone`` copies: from a speech run, the front-end too (its features and shapes
    must match), and the output layer when both runs have the same units in the same order; from
    another domain only the backbone."""
    if source_domain != "speech":
        return ("backbone.",)
    same_units = source_meta.get("vocab") == meta.get("vocab")
    return ("frontend.", "backbone.", "head.") if same_units else ("frontend.", "backbone.")


DOMAIN = Domain(
    load_predictor=load_predictor,
    init_prefixes=transferred_prefixes,
    name="speech",
    config_cls=SpeechConfig,
    build_data=build_data,
    build_model=build_model,
    build_task=build_task,
    build_eval_task=build_eval_task,
    description="speech-to-text with CTC over log-mel features",
    # compare's quick preset caps epochs (4) and minutes; small batches give enough steps to learn
)

if __name__ == "__main__":
    raise SystemExit(train_main(DOMAIN))
