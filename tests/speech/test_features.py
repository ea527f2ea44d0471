"""Log-mel shapes, normalisation statistics, SpecAugment, and the feature cache."""

from __future__ import annotations

import torch

from core.errors import DataError
from speech.corpora import Clip
from speech.feature_cache import featurize
from speech.features import LogMel, SpecAugment, feature_stats


def test_logmel_frame_count_is_exact():
    logmel = LogMel(sample_rate=8000, n_mels=40)
    for samples in (80, 159, 160, 4000, 8001):
        feat = logmel(torch.randn(samples))
        assert feat.shape == (logmel.num_frames(samples), 40) == (samples // 80 + 1, 40)
        assert torch.isfinite(feat).all()


def test_feature_stats_match_concatenated_frames():
    feats = [torch.randn(n, 4) * 3 + 1 for n in (5, 17, 9)]
    mean, std = feature_stats(feats)
    every = torch.cat(feats)
    assert torch.allclose(mean, every.mean(0), atol=1e-5)
    assert torch.allclose(std, every.std(0, unbiased=False), atol=1e-4)


def test_spec_augment_only_in_training():
    aug = SpecAugment(freq_mask=5, time_mask=5, num_masks=2)
    feat = torch.randn(50, 20) + 5.0
    assert torch.equal(aug.eval()(feat), feat)
    masked = aug.train()(feat)
    assert masked.shape == feat.shape and (masked == 0).any() and not (feat == 0).any()


def test_time_stretch_resamples_frames_within_bounds():
    torch.manual_seed(0)
    aug = SpecAugment(freq_mask=0, time_mask=0, num_masks=0, stretch=0.2)
    ramp = torch.arange(100.0)[:, None].repeat(1, 3)  # (T, F): frame index in every bin
    lengths = set()
    for _ in range(30):
        out = aug.train()(ramp)
        assert 80 <= out.shape[0] <= 120 and out.shape[1] == 3
        assert out[0, 0] == 0 and abs(float(out[-1, 0]) - 99) < 1e-3  # ends kept: a stretch, not a crop
        assert (out[1:, 0] >= out[:-1, 0]).all()  # order kept
        lengths.add(out.shape[0])
    assert len(lengths) > 5  # the factor really varies
    assert torch.equal(aug.eval()(ramp), ramp)


def test_featurize_caches_and_skips_bad_clips(isolated_cache, capsys):
    calls = []

    def make(n):
        def run():
            calls.append(n)
            if n == 1:
                raise DataError("clip-1.wav: unreadable audio (test)")
            return torch.randn(800 * (n + 1))

        return run

    clips = [Clip(f"clip-{n}", f"text {n}", make(n)) for n in range(3)]
    logmel = LogMel(sample_rate=8000, n_mels=16)
    first = featurize(clips, logmel, name="unit", progress=False)
    assert first.texts == ["text 0", "text 2"] and [f.shape[0] for f in first.features] == [11, 31]
    assert "clip-1.wav: unreadable audio" in capsys.readouterr().err
    assert list((isolated_cache / "speech").glob("unit-*.pt"))  # cached under RNNSUITE_CACHE
    calls.clear()
    second = featurize(clips, logmel, name="unit", progress=False)
    assert calls == []  # no DSP the second time
    assert all(torch.equal(a, b) for a, b in zip(first.features, second.features))


def test_utterance_mean_removal_cancels_recording_gain():
    from speech.data import utterance_mean_removed

    logmel = LogMel(sample_rate=8000, n_mels=20)
    wave = torch.randn(4000) * 0.1
    quiet, loud = logmel(wave), logmel(wave * 4.0)
    assert (loud - quiet).mean() > 2.0  # log-mels shift by log(16) with the gain...
    assert torch.allclose(
        utterance_mean_removed(quiet), utterance_mean_removed(loud), atol=1e-3
    )  # ...CMN does not


def test_unalignable_training_utterances_allow_for_the_shortest_stretch(capsys):
    from speech.data import drop_unalignable

    # subsample 4 -> (T + 3) // 4-ish frames out; 3 labels need 3 frames
    features = [torch.zeros(12, 4), torch.zeros(40, 4)]
    targets = [[1, 2, 3], [1, 2, 3]]
    kept, _ = drop_unalignable(features, targets, subsample=4)
    assert len(kept) == 2
    kept, _ = drop_unalignable(features, targets, subsample=4, stretch=0.4)  # 12 frames may shrink to 7
    assert [f.shape[0] for f in kept] == [40] and "left out 1 utterance" in capsys.readouterr().err
