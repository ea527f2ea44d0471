"""CTC task: edit distance vs torchaudio, unalignable targets, and learning a tiny alignment task."""

from __future__ import annotations

import random

import torch
import torchaudio.functional as AF

from core.nn.backbone import build_backbone
from core.nn.sequence import SequenceBatch, pad_sequences
from speech.model import ConvFrontend, SpeechModel
from speech.task import CTCTask, edit_distance, error_counts
from speech.text import Vocab


def test_edit_distance_agrees_with_torchaudio():
    rng = random.Random(0)
    for _ in range(200):
        a = [rng.randrange(4) for _ in range(rng.randrange(0, 9))]
        b = [rng.randrange(4) for _ in range(rng.randrange(0, 9))]
        assert edit_distance(a, b) == AF.edit_distance(a, b)


def test_error_counts_words_and_chars():
    assert error_counts("one two", "one three two") == (1, 3, 6, 13)
    assert error_counts("", "yes") == (1, 1, 3, 3)


def _alignment_batch(rng: random.Random, n: int) -> SequenceBatch:
    """Labels 1..4 drawn as 2-3 noisy frames on feature k, separated by 'blank' frames on feature 0."""
    feats, targets = [], []
    for _ in range(n):
        labels = [rng.randint(1, 4) for _ in range(rng.randint(1, 4))]
        frames = []
        for k in labels:
            frames += [k] * rng.randint(2, 3) + [0] * rng.randint(1, 2)
        x = torch.zeros(len(frames), 5)
        x[torch.arange(len(frames)), torch.tensor(frames)] = 1.0
        feats.append(x + 0.2 * torch.randn(x.shape))
        targets.append(torch.tensor(labels))
    inputs, lengths = pad_sequences(feats)
    padded, target_lengths = pad_sequences(targets)
    return SequenceBatch(inputs, lengths, padded, target_lengths)


def _tiny_model(vocab_size: int) -> SpeechModel:
    return SpeechModel(
        frontend=ConvFrontend(input_size=5, channels=5, subsample=1),
        backbone=build_backbone("gru", 5, 24, bidirectional=True),
        vocab_size=vocab_size,
    )


def test_ctc_learns_tiny_alignment_task_to_zero_errors():
    vocab = Vocab(tokens=["<blank>", "a", "b", "c", "d"], units="chars")
    task, model = CTCTask(vocab), _tiny_model(len(vocab))
    rng = random.Random(0)
    test = _alignment_batch(rng, 64)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(150):
        loss, items = task.loss(model, _alignment_batch(rng, 32))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    task.reset_metrics()
    task.update_metrics(model, test)
    metrics = task.compute_metrics()
    assert metrics["cer"] == 0.0, metrics["_examples"]


def test_unalignable_utterance_is_left_out_not_nan(capsys):
    vocab = Vocab(tokens=["<blank>", "a", "b", "c", "d"], units="chars")
    task, model = CTCTask(vocab), _tiny_model(len(vocab))
    batch = _alignment_batch(random.Random(1), 3)
    batch.targets[0, :] = 1  # "aaa..." needs 2 * len - 1 frames: more than the input has
    batch.target_lengths[0] = batch.lengths[0]
    loss, items = task.loss(model, batch)
    assert torch.isfinite(loss) and items == 2
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert "left 1 utterance(s) out of the CTC loss" in capsys.readouterr().err
    model.eval()  # held-out batches (diagnostics) are left out the same way, without a report
    loss, items = task.loss(model, batch)
    assert items == 2 and capsys.readouterr().err == ""
