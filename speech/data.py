"""Speech data pipeline: corpus listing -> cached log-mel features (``speech.feature_cache``) ->
bucketed CTC batches. A bad file is reported on one line and left out; the rest go on.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from core.engine.domain import DataBundle
from core.engine.splits import limit as seeded_sample
from core.errors import CheckpointError, DataError
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import SequenceBatch, pad_sequences
from speech.corpora import NAMED, Clip, list_corpus
from speech.feature_cache import Featurized, featurize, log
from speech.features import LogMel, SpecAugment, feature_stats
from speech.model import ctc_min_frames, output_lengths
from speech.normalize import normalizer_report
from speech.perturb import speed_perturbed
from speech.recombine import recombine
from speech.text import Vocab, normalize

NATIVE_RATE = {"fsdd": 8000, "fsdd-strings": 8000, "yesno": 8000, "tts-digits": 8000}


def model_inputs(feat: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Stored features (T, F) -> the model's float32 inputs, normalised by the training statistics."""
    return (feat.float() - mean) / std


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
    chosen = chosen_clips(cfg, settings["sample_rate"])
    report = {"normalizer": {s: normalizer_report([c.text for c in chosen[s]]) for s in chosen}}
    chosen["train"] = speed_perturbed(chosen["train"], cfg.speed_perturb, sample_rate=settings["sample_rate"])
    chosen["train"] += mixed_in_clips(cfg, settings["sample_rate"])
    feats = split_features(cfg, chosen, logmel_from(settings))
    vocab = Vocab.build(feats["train"].texts, units=cfg.units)
    mean, std = feature_stats(feats["train"].features)
    encoded = {s: encode_split(feats[s], vocab, s) for s in feats}
    encoded["train"] = drop_unalignable(*encoded["train"], subsample=cfg.subsample, stretch=cfg.time_stretch)
    loaders = split_loaders(cfg, encoded, mean, std)
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


def chosen_clips(cfg, sample_rate: int) -> dict[str, list[Clip]]:
    """The clips of each split this run uses: the listing (plus spliced ones with --recombine), cut
    by --limit-train (a seeded stratified sample) and --limit-eval (spread over the listing)."""
    splits = _listing(cfg, cfg.data, sample_rate, num_utts=cfg.num_utts)
    if cfg.recombine:
        splits["train"] = splits["train"] + recombine(
            splits["train"], count=cfg.recombine, seed=cfg.split_seed, sample_rate=sample_rate
        )
    chosen = {s: evenly_spread(splits[s], cfg.limit_eval) for s in ("val", "test")}
    chosen["train"] = _limit_train(splits["train"], cfg.limit_train, cfg.split_seed)
    return chosen


def _listing(cfg, data: str, sample_rate: int, *, num_utts: int) -> dict[str, list[Clip]]:
    return list_corpus(
        data, sample_rate=sample_rate, max_seconds=cfg.max_seconds, num_utts=num_utts, seed=cfg.split_seed
    )


def mixed_in_clips(cfg, sample_rate: int) -> list[Clip]:
    """--mix-train: the first --mix-utts training clips of another corpus (all when 0), joined to this
    run's training split after speed perturbation (synthetic voices vary their own rate)."""
    if not cfg.mix_train:
        return []
    listed = _listing(cfg, cfg.mix_train, sample_rate, num_utts=max(cfg.num_utts, cfg.mix_utts))["train"]
    return listed[: cfg.mix_utts] if cfg.mix_utts else listed


def split_features(cfg, chosen: dict[str, list[Clip]], logmel: LogMel) -> dict[str, Featurized]:
    """Cached float16 log-mels and raw transcripts per split (utterance mean removed with --cmn)."""
    name = cfg.data if cfg.data in NAMED else "custom"
    feats = {
        s: featurize(chosen[s], logmel, name=f"{name}-{s}", progress=cfg.progress)
        for s in ("train", "val", "test")
    }
    if cfg.cmn:
        for part in feats.values():
            part.features = [utterance_mean_removed(f) for f in part.features]
    if not feats["train"].features:
        raise DataError(f"--data {cfg.data}: no readable training utterances")
    return feats


def split_loaders(cfg, encoded: dict, mean: Tensor, std: Tensor) -> dict[str, DataLoader]:
    """Length-bucketed loaders; training alone gets SpecAugment / time stretch when asked for."""
    masks = cfg.num_masks if cfg.spec_augment else 0  # masking and stretching switch on independently
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
    return loaders
