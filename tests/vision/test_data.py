"""Vision data pipeline: sequence modes, normalisation, splits, image folders, sources."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import CheckpointError, ConfigError, DataError
from core.nn.sequence import SequenceBatch
from vision.data import (
    ImageSequenceDataset,
    ImageToSequence,
    build_data,
    channel_stats,
    make_permutation,
    random_shift,
    split,
)
from vision.sources import ImageSet, decode_image, imagefolder, load_source
from vision.train import VisionConfig


def _encoder(mode, *, h=4, w=5, c=1, permutation=None):
    return ImageToSequence(
        mode=mode, height=h, width=w, channels=c, mean=[0.0] * c, std=[1.0] * c, permutation=permutation
    )


def _images(b=3, c=1, h=4, w=5):
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8)


@pytest.mark.parametrize(
    "mode,shape",
    [("rows", (3, 4, 10)), ("columns", (3, 5, 8)), ("pixels", (3, 20, 2)), ("permuted-pixels", (3, 20, 2))],
)
def test_mode_shapes_and_meta_sizes(mode, shape):
    perm = make_permutation(20, 0) if mode == "permuted-pixels" else None
    enc = _encoder(mode, c=2, permutation=perm)
    x = enc(_images(c=2))
    assert tuple(x.shape) == shape
    assert (enc.seq_len, enc.input_size) == shape[1:]


def test_modes_read_the_image_in_the_stated_order():
    images = _images(c=2)
    pixels = images.float() / 255.0  # (B, C, H, W), mean 0 / std 1 leaves values at x/255
    rows = _encoder("rows", c=2)(images)  # (B, H, W*C)
    assert torch.allclose(rows[1, 2].view(5, 2), pixels[1, :, 2, :].T)  # row 2: (W, C), channel fastest
    cols = _encoder("columns", c=2)(images)  # (B, W, H*C)
    assert torch.allclose(cols[0, 3].view(4, 2), pixels[0, :, :, 3].T)
    seq = _encoder("pixels", c=2)(images)  # (B, H*W, C)
    assert torch.allclose(seq[2, 1 * 5 + 4], pixels[2, :, 1, 4])
    perm = make_permutation(20, 3)
    permuted = _encoder("permuted-pixels", c=2, permutation=perm)(images)
    assert torch.equal(permuted, seq[:, perm])
    assert not torch.equal(permuted, seq)


def test_normalisation_uses_the_given_statistics():
    images = torch.randint(0, 256, (64, 3, 6, 6), dtype=torch.uint8)
    mean, std = channel_stats(images)
    expected = images.float().div(255).transpose(0, 1).reshape(3, -1)
    assert np.allclose(mean, expected.mean(1), atol=1e-5) and np.allclose(
        std, expected.std(1, unbiased=False), atol=1e-5
    )
    enc = ImageToSequence(mode="pixels", height=6, width=6, channels=3, mean=mean, std=std)
    x = enc(images).reshape(-1, 3)  # every pixel, per channel
    assert torch.allclose(x.mean(0), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(3), atol=1e-4)


def test_permutation_is_a_stable_seeded_permutation():
    perm = make_permutation(784, 0)
    assert torch.equal(torch.sort(perm).values, torch.arange(784))
    assert torch.equal(perm, make_permutation(784, 0))
    assert not torch.equal(perm, make_permutation(784, 1))
    # a fresh interpreter (another run) draws the very same order
    code = "from vision.data import make_permutation; print(make_permutation(784, 0)[:12].tolist())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(perm[:12].tolist())


def test_meta_round_trip_and_mode_mismatch():
    enc = _encoder("permuted-pixels", permutation=make_permutation(20, 5))
    rebuilt = ImageToSequence.from_meta(enc.to_meta(), mode="permuted-pixels")
    images = _images()
    assert torch.equal(rebuilt(images), enc(images))
    with pytest.raises(CheckpointError, match=r"'rows'.*T=4, F=5.*not 'columns'"):
        ImageToSequence.from_meta(_encoder("rows").to_meta(), mode="columns")


def test_bad_mode_and_missing_permutation_are_config_errors():
    with pytest.raises(ConfigError, match="mode"):
        _encoder("diagonal")
    with pytest.raises(ConfigError, match="permutation"):
        _encoder("permuted-pixels")


def test_random_shift_moves_whole_images_and_fills_zeros():
    images = torch.randint(1, 256, (16, 2, 7, 7), dtype=torch.uint8)  # no zeros inside
    shifted = random_shift(images, 2)
    padded = torch.nn.functional.pad(images, (2,) * 4)
    for b in range(16):
        windows = [padded[b, :, dy : dy + 7, dx : dx + 7] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(shifted[b], w) for w in windows)
    assert (shifted == 0).any() and not torch.equal(shifted, images)


def test_split_is_seeded_disjoint_and_stratified():
    labels = torch.arange(200) % 4
    data = ImageSet(torch.arange(200, dtype=torch.uint8).view(200, 1, 1, 1), labels, list("abcd"))
    rest, held = split(data, 0.25, seed=7)
    again, held_again = split(data, 0.25, seed=7)
    assert torch.equal(held.images, held_again.images) and len(held.labels) == 50
    seen = set(rest.images.flatten().tolist()) | set(held.images.flatten().tolist())
    assert len(seen) == 200 and not set(rest.images.flatten().tolist()) & set(held.images.flatten().tolist())
    counts = torch.bincount(held.labels)
    assert counts.min() >= 12 and counts.max() <= 13  # stratified: each class keeps its share
    with pytest.raises(ConfigError, match="fraction"):
        split(data, 1.5, seed=0)


def test_build_data_on_digits():
    cfg = VisionConfig(data="digits", mode="columns", batch_size=50, augment=True)
    bundle = build_data(cfg)
    meta = bundle.meta
    assert meta["sizes"]["train"] + meta["sizes"]["val"] + meta["sizes"]["test"] == 1797
    assert meta["sizes"]["test"] == 360 and (meta["seq_len"], meta["input_size"]) == (8, 8)
    batch = next(iter(bundle.train))
    assert isinstance(batch, SequenceBatch) and tuple(batch.inputs.shape) == (50, 8, 8)
    assert batch.lengths.tolist() == [8] * 50 and batch.lengths.dtype == torch.int64
    assert bundle.train.dataset.augment and not bundle.test.dataset.augment
    assert sum(len(b) for b in bundle.test) == 360
    # same split seed -> the same test set, whatever the training seed
    other = build_data(VisionConfig(data="digits", mode="columns", seed=3))
    assert torch.equal(other.test.dataset.images, bundle.test.dataset.images)


def test_dataset_features_flatten_without_augmentation():
    enc = _encoder("rows")
    ds = ImageSequenceDataset(images=_images(b=10), labels=torch.arange(10), encoder=enc, augment=True)
    features, labels = ds.features()
    assert features.shape == (10, 20) and np.allclose(features, enc(ds.images).flatten(1).numpy())


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_imagefolder_reads_resizes_and_skips_bad_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, level in (("cat", 30), ("dog", 220)):
        for i in range(3):
            _write_png(
                tmp_path / name / f"{i}.png",
                np.full((12, 9), level, np.uint8) + rng.integers(0, 5, (12, 9), dtype=np.uint8),
            )
    (tmp_path / "dog" / "empty.png").write_bytes(b"")
    (tmp_path / "dog" / "notes.png").write_text("not an image")
    found = imagefolder(tmp_path, size=6)
    assert found.classes == ["cat", "dog"] and tuple(found.images.shape) == (6, 1, 6, 6)
    assert found.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert found.images[:3].float().mean() < 40 < 200 < found.images[3:].float().mean()
    err = capsys.readouterr().err
    assert "empty.png: not a readable image (empty file)" in err and "notes.png" in err


def test_imagefolder_colour_and_train_test_layout(tmp_path):
    for split_name in ("train", "test"):
        for name, rgb in (("red", (200, 10, 10)), ("blue", (10, 10, 200))):
            _write_png(tmp_path / split_name / name / "a.png", np.full((5, 5, 3), rgb, np.uint8))
    train, test = load_source(str(tmp_path), size=4)
    assert tuple(train.images.shape) == (2, 3, 4, 4) and tuple(test.images.shape) == (2, 3, 4, 4)
    assert train.classes == ["blue", "red"] and train.images[1, 0, 0, 0] == 200
    grey_train, _ = load_source(str(tmp_path), size=4, channels=1)
    assert grey_train.images.shape[1] == 1


def test_decode_image_errors_name_the_file(tmp_path):
    empty, text, missing = tmp_path / "empty.jpg", tmp_path / "t.png", tmp_path / "none.png"
    empty.write_bytes(b"")
    text.write_bytes(b"\x00garbage" * 10)
    for path, reason in ((empty, "empty file"), (text, "not a readable image"), (missing, "no such file")):
        with pytest.raises(DataError, match=reason) as info:
            decode_image(path, height=8, width=8, channels=1)
        assert str(path) in str(info.value)
    _write_png(tmp_path / "ok.png", np.full((16, 16, 3), (255, 0, 0), np.uint8))
    grey = decode_image(tmp_path / "ok.png", height=8, width=8, channels=1)
    assert tuple(grey.shape) == (1, 8, 8) and int(grey[0, 0, 0]) == 76  # 0.299 * 255, as PIL's "L"


def test_unknown_data_and_missing_named_set(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="neither a dataset name"):
        load_source("no-such-set")
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path))
    with pytest.raises(DataError, match="kmnist not found.*--download"):
        load_source("kmnist")


@pytest.mark.data
def test_real_mnist_loads_as_uint8_tensors(data_dir):
    train, test = load_source("mnist")
    assert tuple(train.images.shape) == (60000, 1, 28, 28) and tuple(test.images.shape) == (10000, 1, 28, 28)
    assert train.images.dtype == torch.uint8 and sorted(test.labels.unique().tolist()) == list(range(10))
    raw = (data_dir / "images/MNIST/raw/t10k-images-idx3-ubyte").read_bytes()[16 : 16 + 784]
    assert test.images[0].flatten().tolist() == list(raw)  # exact bytes, no resampling


def _write_idx(path, array: np.ndarray) -> None:
    """An idx file (the MNIST family's raw format): magic, big-endian dims, uint8 data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_kmnist_raw_layout_loads(tmp_path, monkeypatch):
    raw = tmp_path / "images" / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    pixels = {"train": rng.integers(0, 256, (12, 28, 28)), "t10k": rng.integers(0, 256, (5, 28, 28))}
    for prefix, images in pixels.items():
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(len(images)) % 10)
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path))
    train, test = load_source("kmnist")
    assert tuple(train.images.shape) == (12, 1, 28, 28) and tuple(test.images.shape) == (5, 1, 28, 28)
    assert torch.equal(test.images[:, 0], torch.as_tensor(pixels["t10k"], dtype=torch.uint8))
    assert test.labels.tolist() == [0, 1, 2, 3, 4] and len(train.classes) == 10


def test_cifar10_batches_load_channels_first(tmp_path, monkeypatch):
    import pickle

    import torchvision.datasets.cifar as tv_cifar

    folder = tmp_path / "images" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, (4, 3 * 32 * 32), dtype=np.uint8)  # CIFAR rows: R plane, G plane, B plane
        batches[name] = rows
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": rows, "labels": [k % 10 for k in range(4)]}, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{k}" for k in range(10)]}, handle)
    monkeypatch.setattr(
        tv_cifar, "check_integrity", lambda *args, **kwargs: True
    )  # the real files' MD5s are fixed
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path))
    train, test = load_source("cifar10")
    assert tuple(train.images.shape) == (20, 3, 32, 32) and tuple(test.images.shape) == (4, 3, 32, 32)
    expected = torch.as_tensor(batches["test_batch"]).reshape(4, 3, 32, 32)
    assert torch.equal(test.images, expected)  # channel planes land in the right place
    assert train.classes == [f"class{k}" for k in range(10)]


def test_missing_cifar10_names_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path))
    with pytest.raises(DataError, match="cifar10 not found under .*images/cifar-10-batches-py"):
        load_source("cifar10")
