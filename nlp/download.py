"""Fetch a tar.gz archive, verify its SHA-256 and unpack it atomically.

Nothing half-done is ever left at the destination: the archive is streamed to
``<dest>.part`` (removed on any failure), its size and SHA-256 are checked, and it
is unpacked into a temporary sibling folder that is renamed onto ``dest`` only
once extraction finished. An interrupted transfer, a wrong checksum or a
corrupt archive raise ``DataError`` naming the URL or file.

Example (needs network):
    >>> download_and_unpack(IMDB_URL, cache_root() / "nlp", sha256=IMDB_SHA256, member="aclImdb")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from tqdm import tqdm

from core.errors import DataError

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c9f9f1afaaff9e47e8e6e0a9f6"
"""SHA-256 of aclImdb_v1.tar.gz (84,125,825 bytes) as listed by TensorFlow Datasets' checksum file."""
CHUNK = 1 << 16


def fetch(url: str, target: Path, *, sha256: str, timeout: float = 60.0, progress: bool = True) -> Path:
    """Stream ``url`` to ``target``; DataError (and no file) on short read or checksum mismatch."""
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as sink:
            expected = int(response.headers.get("Content-Length") or 0)
            with tqdm(
                total=expected or None, unit="B", unit_scale=True, desc=target.name, disable=not progress
            ) as bar:
                while chunk := response.read(CHUNK):
                    sink.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected and received != expected:
            raise DataError(f"{url}: transfer interrupted after {received} of {expected} bytes")
        if digest.hexdigest() != sha256.lower():
            raise DataError(f"{url}: SHA-256 {digest.hexdigest()} does not match the expected {sha256}")
        os.replace(part, target)
        return target
    except (urllib.error.URLError, HTTPException, OSError, TimeoutError) as err:
        raise DataError(
            f"{url}: download failed after {received} bytes ({type(err).__name__}: {err})"
        ) from None
    finally:
        part.unlink(missing_ok=True)


def _refusing_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "data" filter (refuses ``..``, links out of the folder, devices), and an absolute
    name refused too rather than re-rooted: an archive that holds one is not what it claims to be."""
    if member.name.startswith(("/", os.sep)):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, path)


def unpack(archive: Path, dest: Path, *, member: str) -> Path:
    """Extract ``member`` (a top-level folder of the archive) to ``dest``, all or nothing."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(staging, filter=_refusing_filter)
        source = staging / member
        if not source.is_dir():
            raise DataError(f"{archive}: archive has no top-level folder {member!r}")
        os.replace(source, dest)
        return dest
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{archive}: cannot unpack ({type(err).__name__}: {err})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_and_unpack(url: str, root: Path, *, sha256: str, member: str, progress: bool = True) -> Path:
    """``root/member`` after fetching and unpacking ``url`` (a no-op when it already exists)."""
    root = Path(root)
    dest = root / member
    if dest.is_dir():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    archive = root / Path(url).name
    try:
        fetch(url, archive, sha256=sha256, progress=progress)
        return unpack(archive, dest, member=member)
    finally:
        archive.unlink(missing_ok=True)  # the unpacked folder is what is kept
