"""Classify image files with a trained vision checkpoint.

    python -m vision.predict --checkpoint runs/digits/checkpoints/best.pt a.png b.jpg

prints ``path<TAB>class<TAB>probability`` per image. A file that is missing, empty or
not an image gets one line on stderr naming it; the others are still classified (exit
status 1 when any file failed, 2 when the checkpoint itself is unusable). Everything
the pipeline needs (classes, mode, size, channels, normalisation, permutation) comes
from the checkpoint's meta. Images are decoded as in training: resized to the trained
size, grey when the model was trained on grey images (MNIST-style models expect a
light digit on a dark background).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from core.errors import DataError, RnnsuiteError
from vision.predictor import VisionPredictor
from vision.sources import decode_image

Predictor = VisionPredictor
"""The name this module has always exported; the class lives in ``vision.predictor``."""


@dataclass
class Prediction:
    path: str
    label: str
    probability: float


def predict_files(predictor: VisionPredictor, paths: list[str | Path]) -> list[Prediction | DataError]:
    """One Prediction per readable image, one DataError (naming the file) per bad one, in order."""
    results: list[Prediction | DataError | None] = [None] * len(paths)
    good: list[tuple[int, torch.Tensor]] = []
    meta = predictor.meta
    for i, path in enumerate(paths):
        try:
            good.append(
                (
                    i,
                    decode_image(
                        Path(path), height=meta["height"], width=meta["width"], channels=meta["channels"]
                    ),
                )
            )
        except DataError as err:
            results[i] = err
    answers = predictor.predict_tensors([image for _, image in good])
    for (i, _), answer in zip(good, answers):
        results[i] = Prediction(str(paths[i]), answer["label"], answer["probabilities"][answer["label"]])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a vision run's checkpoints/best.pt")
    parser.add_argument(
        "--mode", default=None, help="refuse the checkpoint unless it was trained on this mode"
    )
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor.from_checkpoint(args.checkpoint, mode=args.mode)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = 0
    for result in predict_files(predictor, args.images):
        if isinstance(result, DataError):
            failed += 1
            print(f"error: {result}", file=sys.stderr)
        else:
            print(f"{result.path}\t{result.label}\t{result.probability:.4f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
