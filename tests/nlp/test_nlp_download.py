"""The archive downloader against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from core.errors import DataError
from nlp.download import download_and_unpack


def make_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {
            "aclImdb/train/pos/0_9.txt": b"great",
            "aclImdb/train/neg/1_2.txt": b"awful",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


ARCHIVE = make_archive()


class Handler(http.server.BaseHTTPRequestHandler):
    """/good.tar.gz: the archive; /cut.tar.gz: announces it all, sends half, hangs up; /bad.tar.gz: corrupt gzip."""

    extra = b""  # /imdb.tar.gz, set by the test that needs it

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = {
            "/good.tar.gz": ARCHIVE,
            "/cut.tar.gz": ARCHIVE,
            "/bad.tar.gz": ARCHIVE[:-40],
            "/imdb.tar.gz": self.extra,
        }.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(ARCHIVE) if self.path == "/cut.tar.gz" else len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path == "/cut.tar.gz" else body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_good_archive_is_verified_and_unpacked(server, tmp_path):
    dest = download_and_unpack(
        f"{server}/good.tar.gz", tmp_path, sha256=sha(ARCHIVE), member="aclImdb", progress=False
    )
    assert dest == tmp_path / "aclImdb"
    assert (dest / "train" / "pos" / "0_9.txt").read_bytes() == b"great"
    assert leftovers(tmp_path) == ["aclImdb"]  # archive and staging folder removed
    again = download_and_unpack(f"{server}/missing.tar.gz", tmp_path, sha256="0" * 64, member="aclImdb")
    assert again == dest  # present: no second download (that URL would 404)


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    with pytest.raises(DataError, match="SHA-256 .* does not match"):
        download_and_unpack(
            f"{server}/good.tar.gz", tmp_path, sha256="0" * 64, member="aclImdb", progress=False
        )
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    with pytest.raises(DataError, match="cut.tar.gz"):
        download_and_unpack(
            f"{server}/cut.tar.gz", tmp_path, sha256=sha(ARCHIVE), member="aclImdb", progress=False
        )
    assert leftovers(tmp_path) == []


def test_corrupt_archive_with_matching_checksum_is_not_half_unpacked(server, tmp_path):
    corrupt = ARCHIVE[:-40]
    with pytest.raises(DataError, match="cannot unpack"):
        download_and_unpack(
            f"{server}/bad.tar.gz", tmp_path, sha256=sha(corrupt), member="aclImdb", progress=False
        )
    assert leftovers(tmp_path) == []


def test_unreachable_server_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="download failed"):
        download_and_unpack(
            "http://127.0.0.1:9/x.tar.gz", tmp_path, sha256="0" * 64, member="x", progress=False
        )


def make_imdb_archive() -> bytes:
    """A miniature aclImdb: 12 train and 4 test reviews per polarity, HTML line breaks included."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for split, count in (("train", 12), ("test", 4)):
            for polarity, word in (("pos", "wonderful"), ("neg", "dreadful")):
                for i in range(count):
                    text = f"Review {i}: a {word} film.<br /><br />Truly {word}. " + "more words " * 300
                    info = tarfile.TarInfo(f"aclImdb/{split}/{polarity}/{i}_7.txt")
                    info.size = len(text.encode())
                    tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def test_imdb_download_then_load(server, tmp_path, monkeypatch):
    from nlp import sources
    from nlp.data import build_data
    from nlp.train import NlpConfig

    archive = make_imdb_archive()
    Handler.extra = archive
    monkeypatch.setenv("RNNSUITE_DATA", str(tmp_path / "data"))  # no imdb there
    monkeypatch.setenv("RNNSUITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "IMDB_URL", f"{server}/imdb.tar.gz")
    monkeypatch.setattr(sources, "IMDB_SHA256", sha(archive))
    with pytest.raises(DataError, match="add --download"):
        build_data(NlpConfig(data="imdb", progress=False))
    bundle = build_data(NlpConfig(data="imdb", download=True, max_tokens=50, progress=False))
    assert (tmp_path / "cache" / "nlp" / "aclImdb" / "train" / "pos").is_dir()
    assert bundle.meta["sizes"] == {
        "train": 21,
        "val": 3,
        "test": 8,
    }  # val: 10 % of 24 training texts, rounded up
    assert "<br" not in " ".join(bundle.meta["vocab"]["itos"]) and "br" not in bundle.meta["vocab"]["itos"]
    assert max(bundle.train.dataset.lengths) == 50  # cut to --max-tokens
