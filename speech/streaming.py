"""Streaming transcription: audio arrives in chunks, partial transcripts go out as it goes.

- ``StatefulStream`` (unidirectional model, no per-utterance CMN): every stage carries its state
  from chunk to chunk, so each chunk costs O(chunk) and the result equals offline decoding
  whatever the chunk sizes. Log-mel frames are computed once their whole window has arrived
  (``center=True`` framing is ``center=False`` framing of the signal padded by n_fft/2 zeros at
  both ends); each stride-2 conv keeps the input frames its next output needs; the backbone
  continues from its final state; greedy CTC merges repeats across chunk boundaries.
- ``WindowedStream`` (bidirectional model, or CMN): a bidirectional layer needs the future, so
  audio is buffered; the buffer is re-decoded for each partial, and once it exceeds the
  predictor's ``segment_seconds`` it is cut at its quietest moment (``speech.segment``) and the
  finished piece is committed. Per chunk the cost is bounded by the window, not the recording.

Both give ``push(samples) -> partial transcript`` and ``finish() -> final transcript``.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch.nn import functional as F

from speech.data import model_inputs
from speech.model import KERNEL, STRIDE
from speech.segment import split_on_silence


class StreamingLogMel:
    """Log-mel frames (k, F) float16 of each chunk, identical to ``wave_features`` of the whole signal."""

    def __init__(self, logmel):
        self.mel = copy.deepcopy(logmel.mel)
        self.mel.spectrogram.center = False  # we pad ourselves, at the true start and end only
        self.n_fft, self.hop = self.mel.spectrogram.n_fft, logmel.hop
        self.buffer = torch.zeros(self.n_fft // 2)  # the left padding of center=True framing

    def push(self, samples: Tensor) -> Tensor:
        self.buffer = torch.cat([self.buffer, samples.float()])
        if len(self.buffer) < self.n_fft:
            return torch.zeros(0, self.mel.n_mels, dtype=torch.float16)
        frames = 1 + (len(self.buffer) - self.n_fft) // self.hop
        spec = self.mel(self.buffer[: (frames - 1) * self.hop + self.n_fft])  # (n_mels, frames)
        self.buffer = self.buffer[frames * self.hop :]
        return torch.log(spec + 1e-6).transpose(0, 1).half()  # as LogMel.forward, then wave_features

    def finish(self) -> Tensor:
        return self.push(torch.zeros(self.n_fft // 2))  # the right padding


class StreamingConv:
    """One stride-2 conv + GELU of ``speech.model.ConvFrontend`` over frames arriving in chunks."""

    def __init__(self, conv: torch.nn.Conv1d, channels: int):
        self.conv = conv
        self.pending = torch.zeros(1, channels)  # (T_p, C): starts with the conv's left zero padding

    def push(self, frames: Tensor) -> Tensor:
        self.pending = torch.cat([self.pending, frames])
        if len(self.pending) < KERNEL:
            return frames.new_zeros(0, self.conv.out_channels)
        outputs = 1 + (len(self.pending) - KERNEL) // STRIDE
        used = self.pending[: (outputs - 1) * STRIDE + KERNEL]  # (T_u, C)
        y = F.conv1d(
            used.t().unsqueeze(0), self.conv.weight, self.conv.bias, stride=STRIDE
        )  # (1, C', outputs)
        self.pending = self.pending[outputs * STRIDE :]
        return F.gelu(y[0].t())  # (outputs, C')

    def finish(self) -> Tensor:
        return self.push(torch.zeros(1, self.pending.shape[1]))  # the right zero padding


class StatefulStream:
    """Exact chunk-by-chunk greedy transcription for a unidirectional model (O(chunk) per chunk)."""

    mode = "stateful"

    def __init__(self, predictor):
        self.predictor, self.model = predictor, predictor.model
        self.features = StreamingLogMel(predictor.logmel)
        channels = predictor.logmel.mel.n_mels
        self.convs = []
        for conv in self.model.frontend.convs:
            self.convs.append(StreamingConv(conv, channels))
            channels = conv.out_channels
        self.state = None
        self.ids: list[int] = []
        self.last_id = 0  # the previous frame's best id: CTC repeats merge across chunks
        self.emissions: list[Tensor] = []  # (k, V) per chunk; their concatenation equals offline

    @torch.inference_mode()
    def _advance(self, feats: Tensor, *, final: bool) -> str:
        x = model_inputs(feats, self.predictor.mean, self.predictor.std)  # (k, F)
        for conv in self.convs:
            x = conv.push(x)
            if final:
                x = torch.cat([x, conv.finish()])
        if len(x):
            hidden, _, self.state = self.model.backbone(x.unsqueeze(0), torch.tensor([len(x)]), self.state)
            logits = self.model.head(hidden)[0].float()  # (k, V)
            self.emissions.append(logits)
            for best in logits.argmax(dim=-1).tolist():
                if best != 0 and best != self.last_id:
                    self.ids.append(best)
                self.last_id = best
        return self.predictor.vocab.decode(self.ids)

    def push(self, samples: Tensor) -> str:
        return self._advance(self.features.push(samples), final=False)

    def finish(self) -> str:
        return self._advance(self.features.finish(), final=True)


class WindowedStream:
    """Windowed decoding for models that read the future (bidirectional) or need the whole utterance (CMN)."""

    mode = "windowed"

    def __init__(self, predictor):
        self.predictor = predictor
        self.buffer = torch.zeros(0)
        self.committed: list[str] = []

    def _text(self, tail: str) -> str:
        return " ".join(t for t in [*self.committed, tail.strip()] if t)

    def push(self, samples: Tensor) -> str:
        self.buffer = torch.cat([self.buffer, samples.float()])
        rate = self.predictor.sample_rate
        pieces = split_on_silence(self.buffer, sample_rate=rate, max_seconds=self.predictor.segment_seconds)
        for start, end in pieces[:-1]:  # finished pieces are decoded once and kept
            self.committed.append(self.predictor.transcribe(self.buffer[start:end]).strip())
        self.buffer = self.buffer[pieces[-1][0] :]
        if len(self.buffer) * 100 < rate:  # under 10 ms: nothing to decode yet
            return self._text("")
        return self._text(self.predictor.transcribe(self.buffer))

    def finish(self) -> str:
        enough = len(self.buffer) * 100 >= self.predictor.sample_rate
        return self._text(self.predictor.transcribe(self.buffer) if enough else "")
