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
from core.engine.checkpoint import load_for_inference
from vision.data import ImageToSequence
from vision.sources import decode_image
from vision.train import DOMAIN


@dataclass
class Prediction:
    path: str
    label: str
    probability: float


class Predictor:
    """A checkpoint's model and its image -> sequence pipeline.

    Example:
        predictor = Predictor.from_checkpoint("runs/digits/checkpoints/best.pt")
        predictor.predict_files(["seven.png"])[0].label
    """

    def __init__(self, *, model: torch.nn.Module, meta: dict, mode: str | None = None):
        self.model, self.meta = model.eval(), meta
        self.encoder = ImageToSequence.from_meta(meta, mode=mode)  # CheckpointError on a mode mismatch
        self.device = next(model.parameters()).device

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, mode: str | None = None) -> "Predictor":
        model, _, meta = load_for_inference(path, DOMAIN)
        return cls(model=model, meta=meta, mode=mode)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, C, H, W) -> class probabilities (B, num_classes)."""
        inputs = self.encoder(images).to(self.device)  # (B, T, F)
        lengths = torch.full((len(images),), inputs.shape[1], dtype=torch.long, device=self.device)
        return torch.softmax(self.model(inputs, lengths).float(), dim=-1).cpu()

    def predict_files(self, paths: list[str | Path], *, batch_size: int = 256) -> list[Prediction | DataError]:
        """One Prediction per readable image, one DataError (naming the file) per bad one."""
        results: list[Prediction | DataError | None] = [None] * len(paths)
        good: list[tuple[int, torch.Tensor]] = []
        for i, path in enumerate(paths):
            try:
                good.append((i, decode_image(Path(path), height=self.meta["height"], width=self.meta["width"],
                                             channels=self.meta["channels"])))
            except DataError as err:
                results[i] = err
        for start in range(0, len(good), batch_size):
            chunk = good[start:start + batch_size]
            probs = self.probabilities(torch.stack([image for _, image in chunk]))  # (b, C)
            best, index = probs.max(dim=-1)
            for (i, _), p, k in zip(chunk, best.tolist(), index.tolist()):
                results[i] = Prediction(str(paths[i]), self.meta["classes"][k], p)
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a vision run's checkpoints/best.pt")
    parser.add_argument("--mode", default=None, help="refuse the checkpoint unless it was trained on this mode")
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor.from_checkpoint(args.checkpoint, mode=args.mode)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = 0
    for result in predictor.predict_files(args.images):
        if isinstance(result, DataError):
            failed += 1
            print(f"error: {result}", file=sys.stderr)
        else:
            print(f"{result.path}\t{result.label}\t{result.probability:.4f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
