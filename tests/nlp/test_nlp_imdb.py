"""IMDB from the shared archive: SHA-256 check, one unpacking into the cache, counts, truncation."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections import Counter

import pytest

from core.errors import DataError
from nlp.data import truncate
from nlp.imdb import unpacked_archive
from nlp.sources import read_source
from nlp.train import NlpConfig

REMOVED = [
    "train/pos/0_9.txt",
    "train/pos/7_7.txt",
    "train/neg/2_1.txt",
    "train/neg/9_1.txt",
    "test/pos/0_10.txt",
    "test/pos/2_7.txt",
    "test/pos/7_9.txt",
    "test/pos/9_7.txt",
]


def write_archive(root, readme_hash=None) -> bytes:
    """A miniature aclImdb.tar.xz (3 reviews per folder) and its README under root/sentiment/imdb."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for folder in ("train/pos", "train/neg", "test/pos", "test/neg", "train/unsup"):
            for i in range(3):
                data = f"review {i} in {folder}<br />the end".encode()
                info = tarfile.TarInfo(f"aclImdb/{folder}/{i}_7.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    folder = root / "sentiment" / "imdb"
    folder.mkdir(parents=True)
    (folder / "aclImdb.tar.xz").write_bytes(raw)
    (folder / "README.md").write_text(
        f"## Archive\nsha256 `{readme_hash or hashlib.sha256(raw).hexdigest()}`\n"
    )
    return raw


def test_archive_is_checked_and_unpacked_once(tmp_path, monkeypatch, isolated_cache):
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path / "data"))
    raw = write_archive(tmp_path / "data")
    folder = unpacked_archive()
    assert folder == isolated_cache / "nlp" / f"aclImdb-{hashlib.sha256(raw).hexdigest()[:12]}"
    splits = read_source(NlpConfig(data="imdb", progress=False))
    assert {k: Counter(label for _, label in v) for k, v in splits.items()} == {
        "train": {"negative": 3, "positive": 3},
        "test": {"negative": 3, "positive": 3},
    }
    assert splits["train"][0][0] == "review 0 in train/neg the end"
    (tmp_path / "data" / "sentiment" / "imdb" / "aclImdb.tar.xz").write_bytes(b"not read again")
    assert unpacked_archive() == folder  # the cache is reused, the archive is not unpacked twice


def test_archive_with_a_wrong_hash_is_refused(tmp_path, monkeypatch, isolated_cache):
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path / "data"))
    write_archive(tmp_path / "data", readme_hash="ab" * 32)
    with pytest.raises(DataError, match="does not match .* from its README.md"):
        unpacked_archive()
    assert not list((isolated_cache / "nlp").glob("aclImdb*"))


def test_head_tail_truncation():
    tokens = [str(i) for i in range(100)]
    assert truncate(tokens, 8, "head+tail") == ["0", "1", "94", "95", "96", "97", "98", "99"]
    assert truncate(tokens, 8) == tokens[:8] and truncate(tokens, 0, "head+tail") == tokens
    assert truncate(tokens[:5], 8, "head+tail") == tokens[:5]


@pytest.mark.data
@pytest.mark.slow
def test_real_archive_counts_without_the_removed_reviews(data_dir, isolated_cache):
    folder = unpacked_archive(data_dir)
    assert all(not (folder / name).exists() for name in REMOVED)
    splits = read_source(NlpConfig(data="imdb", progress=False))
    counts = {k: Counter(label for _, label in v) for k, v in splits.items()}
    assert counts == {
        "train": {"positive": 12498, "negative": 12498},
        "test": {"positive": 12496, "negative": 12500},
    }
    assert len(list((folder / "train" / "unsup").glob("*.txt"))) == 50000
