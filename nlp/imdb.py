"""The Large Movie Review Dataset (Maas et al. 2011) from the shared ``aclImdb.tar.xz``.

``$RNNSUITE_DATA/sentiment/imdb/aclImdb.tar.xz`` is checked against the SHA-256 its README
lists, then unpacked once into ``$RNNSUITE_CACHE/nlp/aclImdb-<first 12 hex of the hash>/``
(the cache is keyed by the archive's hash, and unpacking is all-or-nothing, ``nlp.download.unpack``).
Later runs read the unpacked folder directly. An ``aclImdb`` folder given as ``--data PATH``
is read as it is.

The shared copy lacks 8 reviews (they had been overwritten with app reviews upstream; the README
lists them), so its labelled counts are train 12,498 + 12,498 and test 12,496 + 12,500: every
count comes from the files present, never from the nominal 12,500.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from core.engine.domain import cache_root, data_root
from core.errors import DataError
from nlp.download import unpack

ARCHIVE = Path("sentiment") / "imdb" / "aclImdb.tar.xz"
_SHA_LINE = re.compile(r"sha256\W+([0-9a-f]{64})", re.IGNORECASE)


def readme_sha256(readme: Path) -> str:
    """The SHA-256 the README beside the archive lists; DataError naming the README if none."""
    try:
        match = _SHA_LINE.search(readme.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"{readme}: cannot read ({err.strerror or err})") from None
    if not match:
        raise DataError(f"{readme}: no 'sha256 <64 hex digits>' line")
    return match.group(1).lower()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def unpacked_archive(root: Path | None = None) -> Path | None:
    """The aclImdb folder unpacked from the shared archive (unpacking it first if needed), or None."""
    archive = (root or data_root()) / ARCHIVE
    if not archive.is_file():
        return None
    expected = readme_sha256(archive.parent / "README.md")
    dest = cache_root() / "nlp" / f"aclImdb-{expected[:12]}"
    if (dest / "train").is_dir():
        return dest
    actual = file_sha256(archive)
    if actual != expected:
        raise DataError(f"{archive}: SHA-256 {actual} does not match {expected} from its README.md")
    print(f"nlp: unpacking {archive} into {dest} (once)", file=sys.stderr)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return unpack(archive, dest, member="aclImdb")


def unsup_files(folder: Path) -> list[Path]:
    """``train/unsup``'s 50,000 unlabelled reviews (language-model pretraining text), sorted."""
    files = sorted((folder / "train" / "unsup").glob("*.txt"))
    if not files:
        raise DataError(f"{folder / 'train' / 'unsup'}: no *.txt reviews")
    return files
