"""The vision Predictor: images -> label and class probabilities (``core.engine.predictor``).

Everything the pipeline needs (classes, mode, size, channels, normalisation, permutation)
comes from the checkpoint's meta. Images are decoded as in training: resized to the trained
size with PIL's bilinear filter, grey (ITU-R 601 luma) when the model was trained on grey
images (MNIST-style models expect a light digit on a dark background).

Example:
    predictor = load_predictor("runs/digits/checkpoints/best.pt")
    predictor.predict([PIL.Image.open("seven.png")], explain=True)[0]["row_probabilities"]
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core.engine.predictor import base_info, load_model, model_device
from vision.data import ImageToSequence
from vision.model import build_model
from vision.sources import rgb_from_image, to_channels


class VisionPredictor:
    """A row-sequential image classifier loaded once.

    ``predict(images)`` -> ``{"label", "probabilities"}`` per PIL image, plus ``row_probabilities``
    (class probabilities after each row the model has read) with ``explain=True``.
    """

    domain = "vision"
    input_kind = "image"  # the server decodes uploaded PNG/JPEG files
    explains = True  # predict(..., explain=True): probabilities after each row

    def __init__(self, *, model: nn.Module, meta: dict, info: dict | None = None, mode: str | None = None):
        self.model, self.meta = model.eval(), meta
        self.encoder = ImageToSequence.from_meta(meta, mode=mode)  # CheckpointError on a mode mismatch
        self.classes = [str(c) for c in meta["classes"]]
        self.device = model_device(model)
        self.info = {
            **(info or {}),
            "classes": self.classes,
            "height": meta["height"],
            "width": meta["width"],
            "channels": meta["channels"],
            "mode": meta["mode"],
        }

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, *, mode: str | None = None, device: str | torch.device = "cpu"
    ) -> VisionPredictor:
        model, config, meta = load_model(path, domain="vision", build_model=build_model, device=device)
        return cls(
            model=model,
            meta=meta,
            info=base_info(path, domain="vision", model=model, config=config),
            mode=mode,
        )

    def to_tensor(self, image) -> Tensor:
        """A PIL image -> uint8 (C, H, W) at the trained size and channels."""
        rgb, _ = rgb_from_image(image, self.meta["height"], self.meta["width"])
        return to_channels(rgb.unsqueeze(0), self.meta["channels"])[0]

    @torch.inference_mode()
    def probabilities(self, images: Tensor) -> Tensor:
        """uint8 images (B, C, H, W) -> class probabilities (B, num_classes)."""
        inputs = self.encoder(images).to(self.device)  # (B, T, F)
        lengths = torch.full((len(images),), inputs.shape[1], dtype=torch.long)
        return torch.softmax(self.model(inputs, lengths).float(), dim=-1).cpu()

    @torch.inference_mode()
    def row_probabilities(self, image: Tensor) -> Tensor:
        """uint8 (C, H, W) -> (rows, num_classes): probabilities after each row (column for "columns")
        in reading order; one batch of prefixes, exact because the model honours lengths."""
        inputs = self.encoder(image.unsqueeze(0)).to(self.device)  # (1, T, F)
        rows = self.meta["width"] if self.encoder.mode == "columns" else self.meta["height"]
        steps_per_row = inputs.shape[1] // rows
        lengths = torch.arange(1, rows + 1) * steps_per_row  # (rows,)
        logits = self.model(inputs.expand(rows, -1, -1), lengths)  # (rows, C)
        return torch.softmax(logits.float(), dim=-1).cpu()

    def predict_tensors(
        self, images: list[Tensor], *, explain: bool = False, batch_size: int = 256
    ) -> list[dict]:
        """uint8 (C, H, W) images -> result dicts, in order."""
        results = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            for p in self.probabilities(torch.stack(chunk)).tolist():
                best = max(range(len(p)), key=p.__getitem__)
                results.append({"label": self.classes[best], "probabilities": dict(zip(self.classes, p))})
        if explain:
            for image, result in zip(images, results):
                result["row_probabilities"] = [
                    [round(p, 6) for p in row] for row in self.row_probabilities(image).tolist()
                ]
        return results

    def predict(self, inputs: list, *, explain: bool = False) -> list[dict]:
        return self.predict_tensors([self.to_tensor(image) for image in inputs], explain=explain)


def load_predictor(checkpoint: str | Path, device: str | torch.device = "cpu") -> VisionPredictor:
    return VisionPredictor.from_checkpoint(checkpoint, device=device)
