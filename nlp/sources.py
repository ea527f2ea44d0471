"""Readers for every text source: each returns (text, label) rows per split.

- ``sst2``: ``stsa.binary.{train,dev,test}``, ``<0|1> <tokenised sentence>`` a line;
- ``mr``: ``rt-polarity.{pos,neg}``, one sentence a line, Latin-1, no official split ("all");
- ``imdb``: ``aclImdb/{train,test}/{pos,neg}/*.txt``, one review a file (no official val);
- ``sst5`` / ``sst2-phrases``: the treebank's PTB trees (``nlp.trees``);
- ``csv`` / ``tsv`` / ``jsonl``: any file with a text and a label column ("all");
- ``toy``: the generated corpus of ``nlp.toy``.

Files are read as bytes and split on ``\\n`` only (Latin-1 files hold byte 0x85,
which ``str.splitlines`` would treat as a line break). A malformed line is reported
(count and first line number, on the ``rnnsuite.nlp`` logger) and skipped.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path

from core.engine.domain import cache_root, data_root
from core.errors import ConfigError, DataError
from nlp import toy
from nlp.download import IMDB_SHA256, IMDB_URL, download_and_unpack
from nlp.imdb import unpacked_archive
from nlp.trees import read_sst_trees
from nlp.vocab import decode_bytes

log = logging.getLogger("rnnsuite.nlp")
Rows = list[tuple[str, str]]
BINARY = {"0": "negative", "1": "positive"}
NAMED = ("toy", "sst2", "sst2-phrases", "sst5", "mr", "imdb")
TREE_DATASETS = ("sst2-phrases", "sst5")
TABLE_FORMATS = ("csv", "tsv", "jsonl")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _report(path: object, what: str, bad: list[int]) -> None:
    if bad:
        log.warning("%s: skipped %d %s (first at line %d)", path, len(bad), what, bad[0])


def read_lines(path: Path, *, encoding: str = "utf-8", errors: str = "replace") -> list[tuple[int, str]]:
    """(line number, text) for every non-blank line; DataError naming the file if unreadable."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    lines, replaced = [], 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        text = decode_bytes(line, encoding=encoding, errors=errors, where=f"{path}:{number}")
        replaced += "\ufffd" in text
        lines.append((number, text))
    if replaced:
        log.warning(
            "%s: %d lines held bytes that are not valid %s; they were replaced by U+FFFD",
            path,
            replaced,
            encoding,
        )
    return lines


def read_sst2(folder: Path, *, errors: str = "replace") -> dict[str, Rows]:
    files = {"train": "stsa.binary.train", "val": "stsa.binary.dev", "test": "stsa.binary.test"}
    splits = {}
    for split, name in files.items():
        rows, bad = [], []
        for number, line in read_lines(folder / name, errors=errors):
            label, _, text = line.partition(" ")
            if label in BINARY and text.strip():
                rows.append((text, BINARY[label]))
            else:
                bad.append(number)
        _report(folder / name, "lines without a '0 ' or '1 ' label", bad)
        splits[split] = rows
    return splits


def read_mr(folder: Path, *, encoding: str = "latin-1", errors: str = "replace") -> dict[str, Rows]:
    rows = []
    for suffix, label in (("neg", "negative"), ("pos", "positive")):
        rows += [
            (text, label)
            for _, text in read_lines(folder / f"rt-polarity.{suffix}", encoding=encoding, errors=errors)
        ]
    return {"all": rows}


def read_imdb(folder: Path, *, errors: str = "replace") -> dict[str, Rows]:
    """aclImdb reviews; ``<br />`` line breaks become spaces."""
    splits = {}
    for split in ("train", "test"):
        rows = []
        for polarity, label in (("neg", "negative"), ("pos", "positive")):
            files = sorted((folder / split / polarity).glob("*.txt"))
            if not files:
                raise DataError(
                    f"{folder / split / polarity}: no *.txt reviews (expected the aclImdb layout)"
                )
            for file in files:
                try:
                    text = decode_bytes(file.read_bytes(), errors=errors, where=str(file))
                except OSError as err:
                    raise DataError(f"{file}: cannot read ({err.strerror or err})") from None
                rows.append((_HTML_BREAK.sub(" ", text), label))
        splits[split] = rows
    return splits


def _jsonl_records(path: Path, encoding: str, errors: str) -> list[tuple[int, object]]:
    records = []
    for number, line in read_lines(path, encoding=encoding, errors=errors):
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError:
            records.append((number, None))  # reported below with the other bad records
    return records


def decode_table(path: Path, *, encoding: str, errors: str) -> str:
    """A table file's text, decoded line by line so that a bad byte is reported with its line
    number: ``strict`` stops there, ``replace`` counts the lines it changed (one warning)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        return decode_bytes(raw, encoding=encoding, errors="strict", where=str(path))
    except DataError:
        pass  # find the line(s) below
    lines, replaced = [], []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            lines.append(decode_bytes(line, encoding=encoding, errors="strict", where=f"{path}:{number}"))
        except DataError:
            if errors == "strict":
                raise
            lines.append(decode_bytes(line, encoding=encoding, errors="replace"))
            replaced.append(number)
    if replaced:
        log.warning(
            "%s: %d lines held bytes that are not valid %s; they were replaced by U+FFFD (first at line %d)",
            path,
            len(replaced),
            encoding,
            replaced[0],
        )
    return "\n".join(lines)


def _csv_records(
    path: Path, fmt: str, columns: dict[str, str], encoding: str, errors: str
) -> list[tuple[int, object]]:
    text = decode_table(path, encoding=encoding, errors=errors)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    header = reader.fieldnames or []
    for flag, column in columns.items():
        if column not in header:
            raise DataError(
                f"{path}: no column {column!r} ({flag}); columns are {', '.join(header) or 'none'}"
            )
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: malformed {fmt} ({err})") from None


def read_table(
    path: Path,
    *,
    fmt: str,
    text_column: str,
    label_column: str,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> dict[str, Rows]:
    """csv/tsv (header row names the columns) or jsonl (one object a line); labels as strings."""
    if fmt == "jsonl":
        records = _jsonl_records(path, encoding, errors)
    else:
        columns = {"--text-column": text_column, "--label-column": label_column}
        records = _csv_records(path, fmt, columns, encoding, errors)
    rows, bad = [], []
    for number, record in records:
        text = record.get(text_column) if isinstance(record, dict) else None
        label = record.get(label_column) if isinstance(record, dict) else None
        if isinstance(text, str) and text.strip() and label is not None and str(label).strip():
            rows.append((text, str(label).strip()))
        else:
            bad.append(number)
    _report(path, f"records without text {text_column!r} and label {label_column!r}", bad)
    if not rows:
        raise DataError(f"{path}: no usable records")
    return {"all": rows}


def _imdb_folder(download: bool, progress: bool) -> Path:
    candidates = [
        data_root() / "sentiment" / "imdb" / "aclImdb",
        data_root() / "sentiment" / "aclImdb",
        cache_root() / "nlp" / "aclImdb",
    ]
    for folder in candidates:
        if (folder / "train").is_dir():
            return folder
    unpacked = unpacked_archive()  # the shared aclImdb.tar.xz, checked and unpacked once into the cache
    if unpacked is not None:
        return unpacked
    if not download:
        raise DataError(
            f"imdb: no aclImdb folder in {', '.join(map(str, candidates))} (add --download to fetch it)"
        )
    return download_and_unpack(
        IMDB_URL, cache_root() / "nlp", sha256=IMDB_SHA256, member="aclImdb", progress=progress
    )


def detect(path: Path, fmt: str) -> str:
    """The reader for a path: a dataset folder layout, or a table format from ``fmt``/the suffix."""
    if path.is_dir():
        for marker, kind in (
            ("stsa.binary.train", "sst2"),
            ("rt-polarity.pos", "mr"),
            ("train/pos", "imdb"),
            ("aclImdb/train/pos", "imdb-root"),
        ):
            if (path / marker).exists():
                return kind
        raise DataError(f"{path}: folder is neither SST-2, MR nor aclImdb")
    kind = fmt if fmt != "auto" else path.suffix.lstrip(".").lower()
    if kind not in TABLE_FORMATS:
        raise ConfigError(f"--format: cannot tell the format of {path} (use --format csv, tsv or jsonl)")
    return kind


def read_source(cfg) -> dict[str, Rows]:
    """Rows per split for ``cfg.data`` (a name from NAMED or a path)."""
    name, errors = cfg.data, cfg.encoding_errors
    if name == "toy":
        return toy.splits()
    if name in TREE_DATASETS:
        folder = data_root() / "sentiment" / "sst-trees"
        if not folder.is_dir():
            raise DataError(f"{name}: no folder {folder} (set RNNSUITE_DATA to the shared data folder)")
        return read_sst_trees(folder, name)
    if name in ("sst2", "mr"):
        path, kind = data_root() / "sentiment" / name, name
        if not path.is_dir():
            raise DataError(f"{name}: no folder {path} (set RNNSUITE_DATA to the shared data folder)")
    elif name == "imdb":
        path, kind = _imdb_folder(cfg.download, cfg.progress), "imdb"
    elif "/" in name or "." in name or Path(name).expanduser().exists():
        path = Path(name).expanduser()
        if not path.exists():
            raise DataError(f"--data: no such file or directory: {path}")
        kind = detect(path, cfg.format)
    else:
        raise ConfigError(
            f"--data: unknown dataset {name!r} (one of {', '.join(NAMED)}, or a folder/file path)"
        )
    if kind == "sst2":
        return read_sst2(path, errors=errors)
    if kind == "mr":
        return read_mr(path, encoding="latin-1" if cfg.encoding == "auto" else cfg.encoding, errors=errors)
    if kind in ("imdb", "imdb-root"):
        return read_imdb(path / "aclImdb" if kind == "imdb-root" else path, errors=errors)
    return read_table(
        path,
        fmt=kind,
        text_column=cfg.text_column,
        label_column=cfg.label_column,
        encoding="utf-8" if cfg.encoding == "auto" else cfg.encoding,
        errors=errors,
    )
