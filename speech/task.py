"""CTC loss and WER/CER metrics for the speech domain (monitor: wer, lower is better).

The loss runs in float32 outside any autocast. An utterance whose target needs more
frames than the model emitted is left out of the loss (and counted), never turned into
NaN/inf; ``zero_infinity`` is a second guard.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

import torch
from torch import Tensor, nn

from core.nn.sequence import SequenceBatch
from speech.decode import greedy_ids
from speech.text import UNKNOWN_MARK, Vocab


def edit_distance(a: list, b: list) -> int:
    """Levenshtein distance between two sequences (substitution, insertion, deletion cost 1).

    Example:
        >>> edit_distance("kitten", "sitting")
        3
    """
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_counts(hypothesis: str, reference: str) -> tuple[int, int, int, int]:
    """(word errors, reference words, char errors, reference chars)."""
    return (
        edit_distance(hypothesis.split(), reference.split()),
        len(reference.split()),
        edit_distance(list(hypothesis), list(reference)),
        len(reference),
    )


class ErrorRates:
    """Accumulates WER and CER over (hypothesis, reference) pairs."""

    def __init__(self):
        self.word_errors = self.words = self.char_errors = self.chars = 0
        self.utterances = self.unknown_chars = 0
        self.examples: list[dict] = []

    def add(self, hypothesis: str, reference: str) -> None:
        self.utterances += 1
        self.unknown_chars += reference.count(UNKNOWN_MARK)
        we, w, ce, c = error_counts(hypothesis, reference)
        self.word_errors, self.words = self.word_errors + we, self.words + w
        self.char_errors, self.chars = self.char_errors + ce, self.chars + c
        if len(self.examples) < 5:
            self.examples.append({"ref": reference, "hyp": hypothesis})

    def result(self) -> dict:
        return {
            "wer": self.word_errors / max(self.words, 1),
            "cer": self.char_errors / max(self.chars, 1),
            "utterances": self.utterances,
            "unknown_tokens": self.unknown_chars,
        }


class CTCTask:
    """``model(inputs, lengths) -> (logits (B,T',V), out_lengths (B,))``; CTC loss; greedy WER/CER."""

    monitor = "wer"
    mode = "min"
    tiebreak = "loss"  # equal WER: the epoch with the lower validation CTC loss is the better checkpoint

    def __init__(self, vocab: Vocab, *, decoder: Optional[Callable[[Tensor, Tensor], list[str]]] = None):
        self.vocab = vocab
        self.decoder = decoder  # (log-probs (B,T',V), lengths) -> transcripts; None = greedy
        self.ctc = nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
        self.left_out = 0
        self.reset_metrics()

    def loss(self, model: nn.Module, batch: SequenceBatch) -> tuple[Tensor, int]:
        logits, out_lengths = model(batch.inputs, batch.lengths)  # (B, T', V), (B,)
        # only training batches are reported: diagnostics also call loss() on held-out batches
        return self._ctc_mean(logits, out_lengths, batch, report=model.training)

    def _ctc_mean(
        self, logits: Tensor, out_lengths: Tensor, batch: SequenceBatch, *, report: bool
    ) -> tuple[Tensor, int]:
        """Mean CTC loss over the alignable utterances and their count."""
        needed = self._min_frames(batch.targets, batch.target_lengths)  # (B,)
        # a held-out reference with a token the model cannot emit is scored, but has no CTC loss
        emittable = (batch.targets < logits.shape[-1]).all(1)  # (B,)
        keep = (needed <= out_lengths) & (batch.target_lengths > 0) & emittable
        if report and not bool(keep.all()):
            self._report(int((~keep).sum()))
        if not bool(keep.any()):  # nothing alignable: a zero loss that still touches the graph
            return logits.float().sum() * 0.0, 0
        device_type = logits.device.type
        with torch.autocast(device_type, enabled=False):
            log_probs = logits[keep].float().log_softmax(-1).transpose(0, 1)  # (T', B', V)
            total = self.ctc(log_probs, batch.targets[keep], out_lengths[keep], batch.target_lengths[keep])
        items = int(keep.sum())
        return total / items, items

    @staticmethod
    def _min_frames(targets: Tensor, target_lengths: Tensor) -> Tensor:
        """Per utterance: labels + blanks forced between repeated labels (B,)."""
        repeats = (targets[:, 1:] == targets[:, :-1]) & (targets[:, 1:] != 0)  # (B, S-1); padding is 0
        steps = torch.arange(targets.shape[1] - 1, device=targets.device).unsqueeze(0)
        repeats &= steps < (target_lengths.unsqueeze(1) - 1)
        return target_lengths + repeats.sum(1)

    def _report(self, count: int) -> None:
        self.left_out += count
        print(
            f"speech: left {count} utterance(s) out of the CTC loss: target longer than the "
            f"subsampled input ({self.left_out} so far)",
            file=sys.stderr,
        )

    def reset_metrics(self) -> None:
        self.rates = ErrorRates()
        self.loss_sum, self.loss_items = 0.0, 0

    @torch.no_grad()
    def update_metrics(self, model: nn.Module, batch: SequenceBatch) -> None:
        logits, out_lengths = model(batch.inputs, batch.lengths)  # (B, T', V)
        mean, items = self._ctc_mean(logits, out_lengths, batch, report=False)
        self.loss_sum, self.loss_items = self.loss_sum + float(mean) * items, self.loss_items + items
        if self.decoder is None:
            hypotheses = [self.vocab.decode(ids) for ids in greedy_ids(logits, out_lengths)]
        else:
            hypotheses = self.decoder(logits.float().log_softmax(-1), out_lengths)
        for hypothesis, target, n in zip(hypotheses, batch.targets.tolist(), batch.target_lengths.tolist()):
            self.rates.add(hypothesis, self.vocab.decode(target[:n]))

    def compute_metrics(self) -> dict:
        loss = self.loss_sum / self.loss_items if self.loss_items else float("nan")
        return {**self.rates.result(), "loss": loss, "_examples": self.rates.examples}


def build_task(cfg, meta: dict) -> CTCTask:
    return CTCTask(Vocab.from_meta(meta["vocab"]))


def build_eval_task(
    cfg, meta: dict, *, beam: int = 0, lexicon: bool = False, lm: Optional[str] = None
) -> CTCTask:
    """``rnnsuite eval``'s task: beam search (16 wide unless ``beam`` says), optionally restricted to
    the training words (``lexicon``) and scored with a KenLM/ARPA language model (``lm``)."""
    from speech.decode import BeamDecoder

    vocab = Vocab.from_meta(meta["vocab"])
    words = meta.get("train_words") if lexicon else None
    return CTCTask(vocab, decoder=BeamDecoder(vocab, beam_size=beam or 16, lexicon=words, lm=lm))
