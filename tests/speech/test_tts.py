"""The embedded tts-digits corpus: eSpeak NG through ctypes."""

from __future__ import annotations

import torch

from speech.tts import Spec, digit_string_specs, sentence_specs, synthesize


def test_synthesised_audio_has_expected_rate_and_length():
    spec = Spec("one two three four", rate=175)
    at8k, at16k = synthesize(spec, sample_rate=8000), synthesize(spec, sample_rate=16000)
    seconds = at8k.numel() / 8000
    assert 1.0 < seconds < 3.5  # four words at ~175 words per minute
    # same speech, twice the samples (eSpeak NG's own length varies by a few percent per call)
    assert abs(at16k.numel() / (2 * at8k.numel()) - 1) < 0.06
    assert at8k.dtype == torch.float32 and 0.05 < float(at8k.abs().max()) <= 1.0


def test_faster_rate_gives_shorter_audio_and_noise_follows_snr():
    slow = synthesize(Spec("seven eight nine", rate=120), sample_rate=8000)
    fast = synthesize(Spec("seven eight nine", rate=260), sample_rate=8000)
    assert fast.numel() < 0.75 * slow.numel()
    # eSpeak NG itself is not bit-reproducible (lengths vary ~3% between calls), so compare
    # powers: at 0 dB SNR the added noise carries as much power as the speech
    clean = synthesize(Spec("five"), sample_rate=8000).pow(2).mean()
    noisy = synthesize(Spec("five", snr_db=0.0, noise_seed=3), sample_rate=8000).pow(2).mean()
    assert 1.6 < float(noisy / clean) < 2.5


def test_digit_string_specs_are_seeded_and_varied():
    a, b = digit_string_specs(40, seed=5), digit_string_specs(40, seed=5)
    assert a == b and a != digit_string_specs(40, seed=6)
    assert all(1 <= len(s.text.split()) <= 7 for s in a)
    assert len({s.voice for s in a}) > 5 and len({s.rate for s in a}) > 10


def test_sentence_specs_keep_each_sentence_and_vary_the_voice_within_slower_rates():
    sentences = [f"sentence number {i} is here" for i in range(40)]
    specs = sentence_specs(sentences, seed=2)
    assert specs == sentence_specs(sentences, seed=2) and specs != sentence_specs(sentences, seed=3)
    assert [s.text for s in specs] == sentences
    assert all(130 <= s.rate <= 210 and 20.0 <= s.snr_db <= 45.0 for s in specs)
    assert len({s.voice for s in specs}) > 5
