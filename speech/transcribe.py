"""Transcribe audio files with a trained checkpoint.

    python -m speech.transcribe --checkpoint RUN/checkpoints/best.pt a.wav b.flac [--beam 16 --lexicon]

Prints ``FILE<TAB>TRANSCRIPT`` per file, then a real-time-factor summary (processing
seconds / audio seconds). A bad file is reported on stderr and the others go on;
the exit status is 1 when any file failed, 2 for a bad checkpoint or flag.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from core.engine.checkpoint import load_for_inference
from core.errors import ConfigError, RnnsuiteError
from speech.audio import load_audio
from speech.data import check_pipeline_meta, logmel_from, utterance_mean_removed
from speech.decode import BeamDecoder, greedy_decode
from speech.text import Vocab


class Transcriber:
    """Waveform -> text with the checkpoint's own feature pipeline and vocabulary."""

    def __init__(self, *, model: nn.Module, meta: dict, beam: int = 0, lexicon: bool = False,
                 lm: str | None = None, lm_weight: float = 0.5):
        check_pipeline_meta(meta)
        self.model, self.meta = model.eval(), meta
        self.logmel = logmel_from(meta["features"])
        self.mean, self.std = meta["mean"], meta["std"]
        self.vocab = Vocab.from_meta(meta["vocab"])
        self.sample_rate = int(meta["features"]["sample_rate"])
        self.beam = (BeamDecoder(self.vocab, beam_size=beam, lexicon=meta["train_words"] if lexicon else None,
                                 lm=lm, lm_weight=lm_weight) if beam or lm or lexicon else None)

    @torch.no_grad()
    def __call__(self, wave: Tensor) -> str:
        feat = self.logmel(wave)  # (T, F)
        if self.meta["features"].get("cmn"):
            feat = utterance_mean_removed(feat)
        feat = (feat - self.mean) / self.std
        lengths = torch.tensor([feat.shape[0]])
        logits, out_lengths = self.model(feat.unsqueeze(0), lengths)  # (1, T', V)
        if self.beam is not None:
            return self.beam(logits.log_softmax(-1), out_lengths)[0]
        return greedy_decode(logits, out_lengths, self.vocab)[0]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m speech.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="RUN/checkpoints/best.pt of a speech run")
    parser.add_argument("files", nargs="+", help="audio files (wav, flac, ogg...; any rate, mono or stereo)")
    parser.add_argument("--beam", type=int, default=0, help="beam size (0 = greedy)")
    parser.add_argument("--lexicon", action="store_true", help="restrict the beam to the training words")
    parser.add_argument("--lm", default=None, help="KenLM n-gram file (ARPA or binary) for the beam")
    parser.add_argument("--lm-weight", type=float, default=0.5)
    parser.add_argument("--max-seconds", type=float, default=None, help="skip longer files (default: the run's)")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """ConfigError naming the first flag out of range (argparse only checks the types)."""
    if args.beam < 0:
        raise ConfigError(f"--beam must be 0 (greedy) or a positive beam size, got {args.beam}")
    if not math.isfinite(args.lm_weight):
        raise ConfigError(f"--lm-weight must be a finite number, got {args.lm_weight}")
    if args.max_seconds is not None and not 0 <= args.max_seconds < math.inf:
        raise ConfigError(f"--max-seconds must be a finite number >= 0, got {args.max_seconds}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_args(args)
        from speech.train import DOMAIN

        model, _, meta = load_for_inference(args.checkpoint, DOMAIN)
        transcriber = Transcriber(model=model, meta=meta, beam=args.beam, lexicon=args.lexicon,
                                  lm=args.lm, lm_weight=args.lm_weight)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    max_seconds = meta.get("max_seconds", 0.0) if args.max_seconds is None else args.max_seconds
    audio_seconds = busy_seconds = 0.0
    failed = 0
    for name in args.files:
        started = time.perf_counter()
        try:
            wave = load_audio(Path(name), sample_rate=transcriber.sample_rate, max_seconds=max_seconds)
            text = transcriber(wave)
        except RnnsuiteError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        busy_seconds += time.perf_counter() - started
        audio_seconds += wave.numel() / transcriber.sample_rate
        print(f"{name}\t{text}", flush=True)
    done = len(args.files) - failed
    rtf = busy_seconds / audio_seconds if audio_seconds else float("nan")
    print(f"transcribed {done}/{len(args.files)} files, {audio_seconds:.1f} s of audio in "
          f"{busy_seconds:.2f} s: real-time factor {rtf:.4f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
