"""Speech data pipeline: corpus listing -> cached log-mel features -> bucketed CTC batches.

Features are computed once per (corpus recipe, feature settings) and cached under
``core.engine.domain.cache_root()/speech`` (never inside RNNSUITE_DATA), so later epochs and
later runs do no DSP. A bad file is reported on one line and left out; the rest go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from core.engine.domain import DataBundle, cache_root
from core.engine.splits import limit as seeded_sample
from core.errors import CheckpointError, DataError
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import SequenceBatch, pad_sequences
from speech.corpora import Clip, list_corpus
from speech.features import LogMel, SpecAugment, feature_stats
from speech.model import ctc_min_frames, output_lengths
from speech.normalize import normalizer_report
from speech.perturb import speed_perturbed
from speech.recombine import recombine
from speech.text import Vocab, normalize

NATIVE_RATE = {"fsdd": 8000, "fsdd-strings": 8000, "yesno": 8000, "tts-digits": 8000}
CACHE_VERSION = 3


@dataclass
class Featurized:
    features: list[Tensor]  # each (T, F) float16
    texts: list[str]
    keys: list[str]


def wave_features(wave: Tensor, logmel: LogMel) -> Tensor:
    """(N,) waveform -> (T, F) float16 log-mels: what the training cache holds and what transcription
    computes (half precision halves the cache; log-mels fit), so both see the same numbers."""
    return logmel(wave).half()


def model_inputs(feat: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Stored features (T, F) -> the model's float32 inputs, normalised by the training statistics."""
    return (feat.float() - mean) / std


def log(message: str) -> None:
    print(f"speech: {message}", file=sys.stderr)


def featurize(clips: list[Clip], logmel: LogMel, *, name: str, progress: bool = True) -> Featurized:
    """Features of every readable clip, from the cache when this exact recipe was seen before."""
    path = cache_root() / "speech" / f"{name}-{cache_key(clips, logmel)}.pt"
    cached = _load_cache(path, len(clips))
    if cached is not None:
        return cached
    out, errors = Featurized([], [], []), []
    for clip in tqdm(clips, desc=f"features {name}", leave=False, disable=not progress):
        try:
            wave = clip.make()  # (N,)
        except DataError as err:
            errors.append(str(err))
            log(f"skipped: {err}")
            continue
        out.features.append(wave_features(wave, logmel))
        out.texts.append(clip.text)
        out.keys.append(clip.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)  # own name per writer
    with os.fdopen(handle, "wb") as stream:
        torch.save({"features": out.features, "texts": out.texts, "keys": out.keys, "errors": errors}, stream)
    os.replace(tmp, path)  # atomic: a crash never leaves a truncated cache behind
    return out


def cache_key(clips: list[Clip], logmel: LogMel) -> str:
    """Digest of everything the cached value depends on: feature settings and, per clip, its recipe
    key (file path, size and mtime, or the synthesis recipe) and its raw transcript. The cache holds
    raw transcripts; normalisation happens after it, so a new normaliser never meets stale text."""
    recipe = [
        CACHE_VERSION,
        logmel.sample_rate,
        logmel.win,
        logmel.hop,
        logmel.mel.n_mels,
        [[c.key, c.text] for c in clips],
    ]
    return hashlib.sha1(json.dumps(recipe).encode()).hexdigest()[:16]


def _load_cache(path, clips: int) -> Featurized | None:
    """The cached features, or None (rebuild) when absent or when the file is not what we wrote."""
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, weights_only=True)
        parts = [cached[k] for k in ("features", "texts", "keys", "errors")]
        lengths = {len(parts[0]), len(parts[1]), len(parts[2])}
        if (
            len(lengths) != 1
            or lengths.pop() + len(parts[3]) != clips
            or not all(isinstance(t, str) for t in parts[1])
            or not all(torch.is_tensor(f) for f in parts[0])
        ):
            raise ValueError("inconsistent contents")
    except Exception as exc:  # a half-written, foreign or tampered file: recompute
        log(f"ignoring unreadable feature cache {path} ({exc.__class__.__name__}); rebuilding it")
        return None
    for message in cached["errors"]:
        log(f"skipped: {message}")
    return Featurized(cached["features"], cached["texts"], cached["keys"])


class SpeechDataset(Dataset):
    """Normalised features (T, F) and target ids; SpecAugment when ``augment`` is given."""

    def __init__(
        self,
        *,
        features: list[Tensor],
        targets: list[list[int]],
        mean: Tensor,
        std: Tensor,
        augment: SpecAugment | None = None,
    ):
        self.features, self.targets = features, targets
        self.mean, self.std, self.augment = mean, std, augment

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        feat = model_inputs(self.features[i], self.mean, self.std)  # (T, F)
        if self.augment is not None:
            feat = self.augment(feat)  # masks write 0 = the training mean
        return feat, torch.tensor(self.targets[i], dtype=torch.long)

    def frames(self) -> list[int]:
        return [int(f.shape[0]) for f in self.features]


def collate(items: list[tuple[Tensor, Tensor]]) -> SequenceBatch:
    inputs, lengths = pad_sequences([f for f, _ in items])  # (B, T, F), (B,)
    targets, target_lengths = pad_sequences([t for _, t in items], padding_value=0)  # (B, S), (B,)
    return SequenceBatch(inputs, lengths, targets.long(), target_lengths)


def encode_split(data: Featurized, vocab: Vocab, split: str) -> tuple[list[Tensor], list[list[int]]]:
    """Target ids per utterance. A training utterance with a token outside the vocabulary is
    reported and left out; a held-out one is kept and scored, its unknown tokens counting as errors."""
    features, targets = [], []
    for feat, text, key in zip(data.features, data.texts, data.keys):
        try:
            ids = vocab.encode(text, keep_unknown=split != "train")
        except DataError as err:
            log(f"{split}: {key.split(':')[0]}: {err}, skipped")
            continue
        if vocab.unknown_id in ids:
            log(
                f"{split}: {key.split(':')[0]}: {ids.count(vocab.unknown_id)} token(s) unseen in training, "
                "scored as errors"
            )
        features.append(feat)
        targets.append(ids)
    return features, targets


def drop_unalignable(
    features: list[Tensor], targets: list[list[int]], *, subsample: int, stretch: float = 0.0
) -> tuple[list, list]:
    """Leave out training utterances whose targets need more CTC frames than the model emits,
    even after the shortest time stretch (factor 1 - ``stretch``)."""
    shortest = torch.tensor([max(1, int(f.shape[0] * (1.0 - stretch))) for f in features])
    frames = output_lengths(shortest, subsample).tolist()
    keep = [i for i, t in enumerate(targets) if ctc_min_frames(t) <= frames[i] and t]
    if len(keep) < len(targets):
        log(
            f"train: left out {len(targets) - len(keep)} utterance(s) whose transcript is empty or "
            f"needs more frames than the subsampled input (x{subsample}) provides"
        )
    return [features[i] for i in keep], [targets[i] for i in keep]


def feature_settings(cfg, data: str) -> dict:
    """The feature pipeline as plain values (saved in meta: transcription rebuilds it)."""
    rate = cfg.sample_rate or NATIVE_RATE.get(data, 16000)
    return {"sample_rate": rate, "n_mels": cfg.n_mels, "win_ms": 25.0, "hop_ms": 10.0, "cmn": cfg.cmn}


def utterance_mean_removed(feat: Tensor) -> Tensor:
    """Per-utterance mean subtraction (CMN): a recording's gain and channel become irrelevant. (T, F)"""
    return feat - feat.float().mean(0, keepdim=True).to(feat.dtype)


def check_pipeline_meta(meta: dict) -> None:
    """A checkpoint's feature settings and statistics, checked before anything is built from them
    (a crafted file must not ask for a 10^9 Hz filterbank): CheckpointError naming the field."""
    features = meta.get("features")
    if not isinstance(features, dict):
        raise CheckpointError("meta 'features' must be a mapping of feature settings")
    limits = {
        "sample_rate": (1000, 192_000),
        "n_mels": (1, 1024),
        "win_ms": (1.0, 1000.0),
        "hop_ms": (1.0, 1000.0),
    }
    for key, (low, high) in limits.items():
        value = features.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise CheckpointError(f"meta 'features.{key}' must be a number in [{low}, {high}], got {value!r}")
    for key in ("mean", "std"):
        stat = meta.get(key)
        if not torch.is_tensor(stat) or tuple(stat.shape) != (int(features["n_mels"]),):
            raise CheckpointError(f"meta {key!r} must be a tensor of {features['n_mels']} values (n_mels)")
    if not isinstance(meta.get("vocab"), dict) or not isinstance(meta.get("train_words", []), list):
        raise CheckpointError("meta 'vocab' must be a mapping and 'train_words' a list")


def logmel_from(settings: dict) -> LogMel:
    return LogMel(
        sample_rate=int(settings["sample_rate"]),
        n_mels=int(settings["n_mels"]),
        win_ms=float(settings["win_ms"]),
        hop_ms=float(settings["hop_ms"]),
    )


def evenly_spread(clips: list[Clip], n: int) -> list[Clip]:
    """``n`` clips spread evenly over the listing (listings are sorted by digit/speaker/...)."""
    if not n or n >= len(clips):
        return clips
    return [clips[i * len(clips) // n] for i in range(n)]


def _limit_train(clips: list[Clip], n: int, seed: int) -> list[Clip]:
    """``--limit-train``: a seeded sample of ``n`` clips stratified by transcript (core.engine.splits)."""
    return [clips[i] for i in seeded_sample([clip.text for clip in clips], n, seed)]


def build_data(cfg) -> DataBundle:
    """``cfg.data`` -> bucketed train/val/test loaders of ``SequenceBatch`` and the meta dict."""
    settings = feature_settings(cfg, cfg.data)
    splits = list_corpus(
        cfg.data,
        sample_rate=settings["sample_rate"],
        max_seconds=cfg.max_seconds,
        num_utts=cfg.num_utts,
        seed=cfg.split_seed,
    )
    if cfg.recombine:
        splits["train"] = splits["train"] + recombine(
            splits["train"], count=cfg.recombine, seed=cfg.split_seed, sample_rate=settings["sample_rate"]
        )
    logmel = logmel_from(settings)
    limits = {"train": cfg.limit_train, "val": cfg.limit_eval, "test": cfg.limit_eval}
    name = cfg.data if cfg.data in NATIVE_RATE or cfg.data in ("librispeech", "arctic") else "custom"
    chosen = {s: evenly_spread(splits[s], limits.get(s, 0)) for s in ("val", "test")}
    chosen["train"] = _limit_train(splits["train"], limits.pop("train"), cfg.split_seed)
    report = {"normalizer": {s: normalizer_report([c.text for c in chosen[s]]) for s in chosen}}
    chosen["train"] = speed_perturbed(chosen["train"], cfg.speed_perturb, sample_rate=settings["sample_rate"])
    feats = {
        s: featurize(chosen[s], logmel, name=f"{name}-{s}", progress=cfg.progress)
        for s in ("train", "val", "test")
    }
    if cfg.cmn:
        for part in feats.values():
            part.features = [utterance_mean_removed(f) for f in part.features]
    if not feats["train"].features:
        raise DataError(f"--data {cfg.data}: no readable training utterances")
    vocab = Vocab.build(feats["train"].texts, units=cfg.units)
    mean, std = feature_stats(feats["train"].features)
    encoded = {s: encode_split(feats[s], vocab, s) for s in feats}
    encoded["train"] = drop_unalignable(*encoded["train"], subsample=cfg.subsample, stretch=cfg.time_stretch)
    # masking (--spec-augment) and stretching (--time-stretch) switch on and off independently
    masks = cfg.num_masks if cfg.spec_augment else 0
    augment = SpecAugment(
        freq_mask=cfg.freq_mask, time_mask=cfg.time_mask, num_masks=masks, stretch=cfg.time_stretch
    )
    use_augment = masks > 0 or cfg.time_stretch > 0
    loaders = {}
    for split, (features, targets) in encoded.items():
        if not features:
            raise DataError(f"--data {cfg.data}: the {split} split has no usable utterances")
        dataset = SpeechDataset(
            features=features,
            targets=targets,
            mean=mean,
            std=std,
            augment=augment if split == "train" and use_augment else None,
        )
        # a stretched utterance grows up to (1 + s): keep padded frames within --max-frames
        budget = int(cfg.max_frames / (1.0 + cfg.time_stretch)) if split == "train" else cfg.max_frames
        sampler = BucketBatchSampler(
            dataset.frames(),
            cfg.batch_size,
            shuffle=split == "train",
            seed=cfg.seed,
            max_tokens=max(1, budget),
        )
        loaders[split] = DataLoader(
            dataset, batch_sampler=sampler, collate_fn=collate, num_workers=cfg.num_workers
        )
    words = sorted({w for text in feats["train"].texts for w in normalize(text).split()})
    meta = {
        "features": settings,
        "mean": mean,
        "std": std,
        "vocab": vocab.to_meta(),
        "train_words": words,
        "subsample": cfg.subsample,
        "max_seconds": cfg.max_seconds,
        "dataset": cfg.data,
        "sizes": {s: len(encoded[s][0]) for s in encoded},
        "report": report,
    }
    return DataBundle(loaders["train"], loaders["val"], loaders["test"], meta)
