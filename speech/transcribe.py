"""Transcribe audio files with a trained checkpoint.

    python -m speech.transcribe --checkpoint RUN/checkpoints/best.pt a.wav b.flac [--beam 16 --lexicon]

Recordings longer than ``--segment-seconds`` (a minute of several sentences, say) are cut at
their quietest moments and transcribed piece by piece (``speech.segment``), so memory stays
bounded. Prints ``FILE<TAB>TRANSCRIPT`` per file, then a real-time-factor summary (processing
seconds / audio seconds). A bad file is reported on stderr and the others go on;
the exit status is 1 when any file failed, 2 for a bad checkpoint or flag.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from core.errors import ConfigError, RnnsuiteError
from speech.audio import load_audio
from speech.predictor import SpeechPredictor, load_predictor

Transcriber = SpeechPredictor
"""The name this module used to export; ``transcriber.transcribe(wave)`` gives the text."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m speech.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="RUN/checkpoints/best.pt of a speech run")
    parser.add_argument("files", nargs="+", help="audio files (wav, flac, ogg...; any rate, mono or stereo)")
    parser.add_argument("--beam", type=int, default=0, help="beam size (0 = greedy)")
    parser.add_argument("--lexicon", action="store_true", help="restrict the beam to the training words")
    parser.add_argument("--lm", default=None, help="KenLM n-gram file (ARPA or binary) for the beam")
    parser.add_argument("--lm-weight", type=float, default=0.5)
    parser.add_argument(
        "--max-seconds", type=float, default=0.0, help="skip files longer than this (0 = none)"
    )
    parser.add_argument(
        "--segment-seconds",
        type=float,
        default=None,
        help="longer recordings are cut at their quietest moments into pieces of at most this "
        "length (default: 20 s, or the run's --max-seconds when shorter)",
    )
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
        transcriber = load_predictor(
            args.checkpoint,
            beam=args.beam,
            lexicon=args.lexicon,
            lm=args.lm,
            lm_weight=args.lm_weight,
            segment_seconds=args.segment_seconds,
        )
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    audio_seconds = busy_seconds = 0.0
    failed = 0
    for name in args.files:
        started = time.perf_counter()
        try:
            wave = load_audio(Path(name), sample_rate=transcriber.sample_rate, max_seconds=args.max_seconds)
            text = transcriber.transcribe(wave)
        except RnnsuiteError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        busy_seconds += time.perf_counter() - started
        audio_seconds += wave.numel() / transcriber.sample_rate
        print(f"{name}\t{text}", flush=True)
    done = len(args.files) - failed
    rtf = busy_seconds / audio_seconds if audio_seconds else float("nan")
    print(
        f"transcribed {done}/{len(args.files)} files, {audio_seconds:.1f} s of audio in "
        f"{busy_seconds:.2f} s: real-time factor {rtf:.4f}",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
