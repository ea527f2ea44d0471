"""Where images come from: named torchvision sets, a folder of the user's own files, or
scikit-learn's embedded 8x8 digits. Everything is decoded once into a uint8 tensor.

Example:
    >>> train, test = load_source("digits")
    >>> tuple(train.images.shape[1:]), test is None, len(train.classes)
    ((1, 8, 8), True, 10)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from core.engine.domain import data_root
from core.errors import DataError

# name on the command line -> torchvision class name (also its folder under images/)
TORCHVISION_SETS = {
    "mnist": "MNIST",
    "fashion-mnist": "FashionMNIST",
    "kmnist": "KMNIST",
    "cifar10": "CIFAR10",
}
# where torchvision looks for each under the images/ root (CIFAR keeps its archive's folder name)
FOLDERS = {**TORCHVISION_SETS, "cifar10": "cifar-10-batches-py"}
NAMED = ("digits", *TORCHVISION_SETS)
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


@dataclass
class ImageSet:
    """Decoded images ``images`` uint8 (N, C, H, W), labels int64 (N,), class names."""

    images: Tensor
    labels: Tensor
    classes: list[str]


def load_source(
    data: str, *, size: int = 28, channels: int = 0, download: bool = False
) -> tuple[ImageSet, ImageSet | None]:
    """(train, test) for a dataset name or an image folder; test is None when the
    source has no official test split (the caller carves one, seeded)."""
    if data == "digits":
        return _digits(), None
    if data in TORCHVISION_SETS:
        return (
            _torchvision(data, train=True, download=download),
            _torchvision(data, train=False, download=download),
        )
    folder = Path(data).expanduser()
    if folder.is_dir():
        return _imagefolder_splits(folder, size=size, channels=channels)
    raise DataError(f"data: {data!r} is neither a dataset name ({', '.join(NAMED)}) nor an image folder")


def _digits() -> ImageSet:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # pixel values are 0..16; spread them over 0..255 so every source shares one scale
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    images = torch.from_numpy(pixels).unsqueeze(1)  # (N, 1, 8, 8)
    return ImageSet(images, torch.as_tensor(bunch.target, dtype=torch.long), [str(c) for c in range(10)])


def _torchvision(name: str, *, train: bool, download: bool) -> ImageSet:
    import torchvision.datasets as tvd

    cls = getattr(tvd, TORCHVISION_SETS[name])
    root = data_root() / "images"
    try:
        ds = cls(root=str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision's "Dataset not found or corrupted"
        hint = "" if download else " (pass --download to fetch it)"
        raise DataError(f"data: {name} not found under {root / FOLDERS[name]}{hint}: {err}") from None
    images = torch.as_tensor(np.asarray(ds.data), dtype=torch.uint8)
    # MNIST-like sets hold (N, H, W); CIFAR holds (N, H, W, 3)
    images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
    return ImageSet(images.contiguous(), labels, list(ds.classes))


def _imagefolder_splits(folder: Path, *, size: int, channels: int) -> tuple[ImageSet, ImageSet | None]:
    """``folder/train/<class>/*`` and ``folder/test/<class>/*`` when both exist,
    else ``folder/<class>/*`` with no official test split."""
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        train = imagefolder(folder / "train", size=size, channels=channels)
        test = imagefolder(folder / "test", size=size, channels=len(train.images[0]), classes=train.classes)
        return train, test
    return imagefolder(folder, size=size, channels=channels), None


def imagefolder(folder: Path, *, size: int, channels: int = 0, classes: list[str] | None = None) -> ImageSet:
    """Every readable image under ``folder/<class>/``, resized to size x size.

    channels 0 = automatic: 1 when every image is grey, else 3. An unreadable file is
    reported on stderr (one line naming it) and skipped.
    """
    training = classes is None  # the folder defines the classes: it must hold two or more
    classes = classes or sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"data: image folder {folder} has no class subfolders")
    decoded, labels, grey = [], [], []
    for label, name in enumerate(classes):
        for path in sorted(
            p for p in (folder / name).rglob("*") if p.is_file() and not p.name.startswith(".")
        ):
            try:
                rgb, is_grey = decode_rgb(path, size, size)
            except DataError as err:
                print(f"skipping {err}", file=sys.stderr)
                continue
            decoded.append(rgb), labels.append(label), grey.append(is_grey)
    if not decoded:
        raise DataError(f"data: no readable images under {folder}")
    present = sorted({classes[label] for label in labels})
    if training and len(present) < 2:
        raise DataError(
            f"data: {folder} has readable images of one class only ({present[0]!r}); "
            "a classifier needs two or more class subfolders"
        )
    images = torch.stack(decoded)  # (N, 3, size, size)
    channels = channels or (1 if all(grey) else 3)
    return ImageSet(
        to_channels(images, channels).contiguous(), torch.tensor(labels, dtype=torch.long), classes
    )


def decode_rgb(path: Path, height: int, width: int) -> tuple[Tensor, bool]:
    """One image file -> uint8 (3, height, width) and whether it is grey; DataError naming the file."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with Image.open(path) as img:
            img.load()
            return rgb_from_image(img, height, width)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as err:
        reason = (
            "empty file" if path.stat().st_size == 0 else (str(err).splitlines() or [type(err).__name__])[0]
        )
        raise DataError(f"{path}: not a readable image ({reason})") from None


def rgb_from_image(img, height: int, width: int) -> tuple[Tensor, bool]:
    """A loaded PIL image -> uint8 (3, height, width) and whether it is grey (as training resizes)."""
    from PIL import Image

    is_grey = img.mode in GRAY_MODES
    rgb = img.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(rgb, dtype=np.uint8)  # (H, W, 3)
    return torch.from_numpy(array.copy()).permute(2, 0, 1), is_grey


def decode_image(path: Path, *, height: int, width: int, channels: int) -> Tensor:
    """One image file -> uint8 (channels, height, width), decoded the way training decoded it."""
    rgb, _ = decode_rgb(Path(path), height, width)
    return to_channels(rgb.unsqueeze(0), channels)[0]


def to_channels(rgb: Tensor, channels: int) -> Tensor:
    """uint8 (N, 3, H, W) -> (N, channels, H, W); grey is ITU-R 601 luma (as PIL's "L"),
    which leaves an already-grey image exactly unchanged."""
    if channels == 3:
        return rgb
    weights = torch.tensor([299, 587, 114], dtype=torch.int32).view(1, 3, 1, 1)
    return ((rgb.to(torch.int32) * weights).sum(1, keepdim=True) // 1000).to(torch.uint8)
