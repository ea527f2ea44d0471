"""A word n-gram language model for the beam decoder, estimated here and written as ARPA (KenLM reads it).

    python -m speech.lm --out runs/lm/arctic-3gram.arpa --reviews 5000

Text: the training transcripts of the speech corpus plus sentences of unlabelled IMDB reviews
(``sentiment/imdb/aclImdb.tar.xz``, ``train/unsup``), all through ``speech.normalize``. Sentences equal
to a validation or test transcript are left out, so decoding scores stay honest (val tunes the LM weight).

Smoothing: absolute discounting with back-off (Ney, Essen & Kneser 1994), every order's leftover mass
going to the next lower order, whose weights are normalised exactly over the words not seen after the
history; unigrams interpolate with a uniform distribution so ``<unk>`` gets a probability. Hand-written:
KenLM's ``lmplz`` is a C++ build, not a pip package, and the whole estimator is ~60 lines.
"""

from __future__ import annotations

import argparse
import math
import re
import tarfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.errors import ConfigError, DataError
from speech.normalize import normalize

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>")


def review_sentences(archive: Path, *, limit: int, member_part: str = "/train/unsup/") -> Iterator[str]:
    """Normalised sentences of the first ``limit`` reviews under ``member_part`` of an aclImdb tarball."""
    if not archive.is_file():
        raise DataError(f"{archive}: no such IMDB archive")
    read = 0
    try:
        with tarfile.open(archive, "r|*") as tar:  # streamed: the reviews come in archive order
            for member in tar:
                if read >= limit:
                    break
                if not (member.isfile() and member_part in member.name and member.name.endswith(".txt")):
                    continue
                text = tar.extractfile(member).read().decode("utf-8", errors="replace")
                read += 1
                for sentence in _SENTENCE_END.split(text):
                    words = normalize(sentence)
                    if words:
                        yield words
    except (OSError, tarfile.TarError) as exc:
        raise DataError(f"{archive}: cannot read ({exc})") from None


def count_ngrams(sentences: Iterable[str], order: int) -> list[Counter]:
    """counts[n - 1][(w1, ..., wn)] over sentences padded with <s> ... </s>."""
    counts = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = [BOS, *sentence.split(), EOS]
        for n in range(1, order + 1):
            first = 1 if n == 1 else 0  # <s> is a history, never a predicted word
            for i in range(first, len(words) - n + 1):
                counts[n - 1][tuple(words[i : i + n])] += 1
    return counts


def estimate(counts: list[Counter], *, discount: float = 0.7, min_top_count: int = 2) -> list[dict]:
    """{ngram: (log10 prob, log10 back-off or None)} per order, back-off normalised exactly."""
    unigrams = counts[0]
    vocab = sorted(set(w for (w,) in unigrams) | {UNK})
    total = sum(unigrams.values())
    leftover = discount * len(unigrams) / total
    probs: list[dict] = [
        {(w,): (max(unigrams[(w,)] - discount, 0) / total + leftover / len(vocab)) for w in vocab}
    ]
    probs[0][(BOS,)] = 0.0  # never predicted; ARPA writes -99
    for n in range(2, len(counts) + 1):
        floor = min_top_count if n == len(counts) and n > 2 else 1
        kept = {g: c for g, c in counts[n - 1].items() if c >= floor}
        history_totals: dict[tuple, int] = defaultdict(int)
        for gram, c in counts[n - 1].items():
            history_totals[gram[:-1]] += c
        probs.append({g: (c - discount) / history_totals[g[:-1]] for g, c in kept.items()})
    return [_with_backoffs(probs, n) for n in range(len(probs))]


def _with_backoffs(probs: list[dict], level: int) -> dict:
    """Order ``level + 1``'s entries as (log10 p, log10 back-off); back-off only where a longer n-gram exists."""
    out = {g: [math.log10(p) if p > 0 else -99.0, None] for g, p in probs[level].items()}
    if level + 1 < len(probs):
        seen_mass: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for gram, p in probs[level + 1].items():
            history = gram[:-1]
            seen_mass[history][0] += p
            seen_mass[history][1] += probs[level][gram[1:]]  # the suffix is always counted too
        for history, (high, low) in seen_mass.items():
            if history in out:
                out[history][1] = math.log10(max(1.0 - high, 1e-12) / max(1.0 - low, 1e-12))
    return out


def write_arpa(tables: list[dict], path: Path) -> Path:
    """ARPA text: counts header, then one section per order (atomic write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as handle:
        handle.write("\\data\\\n")
        for n, table in enumerate(tables, 1):
            handle.write(f"ngram {n}={len(table)}\n")
        for n, table in enumerate(tables, 1):
            handle.write(f"\n\\{n}-grams:\n")
            for gram, (logp, backoff) in table.items():
                logp = -99.0 if gram == (BOS,) else logp
                tail = f"\t{backoff:.6f}" if backoff is not None else ""
                handle.write(f"{logp:.6f}\t{' '.join(gram)}{tail}\n")
        handle.write("\n\\end\\\n")
    tmp.replace(path)
    return path


def build_lm(
    sentences: Iterable[str],
    path: Path,
    *,
    order: int = 3,
    excluded: set[str] = frozenset(),
    discount: float = 0.7,
) -> dict:
    """Count, estimate and write; returns a summary (sentences used and left out, n-gram counts)."""
    if order < 1:
        raise ConfigError(f"--order must be at least 1, got {order}")
    stats = Counter()

    def kept() -> Iterator[str]:
        for sentence in sentences:
            left_out = sentence in excluded
            stats["excluded" if left_out else "sentences"] += 1
            if not left_out:
                yield sentence

    tables = estimate(count_ngrams(kept(), order), discount=discount)
    write_arpa(tables, path)
    return {
        "path": str(path),
        "order": order,
        "sentences": stats["sentences"],
        "excluded": stats["excluded"],
        "ngrams": [len(t) for t in tables],
    }


def arctic_texts(manifest: Path) -> tuple[list[str], set[str]]:
    """(normalised distinct training transcripts, normalised val + test transcripts) of a split manifest."""
    import csv

    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or not {"transcript", "split"} <= set(rows[0]):
        raise DataError(f"{manifest}: needs 'transcript' and 'split' columns")
    train = sorted({normalize(r["transcript"]) for r in rows if r["split"] == "train"})
    held_out = {normalize(r["transcript"]) for r in rows if r["split"] in ("val", "test")}
    return train, held_out


def main(argv: list[str] | None = None) -> int:
    from core.engine.domain import data_root

    parser = argparse.ArgumentParser(prog="python -m speech.lm", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="ARPA file to write")
    parser.add_argument("--manifest", default=None, help="speech manifest (default: arctic-cathy's)")
    parser.add_argument(
        "--reviews", type=int, default=5000, help="unlabelled IMDB reviews to read (0 = none)"
    )
    parser.add_argument("--order", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        manifest = Path(args.manifest) if args.manifest else data_root() / "speech/arctic-cathy/manifest.tsv"
        train, held_out = arctic_texts(manifest)
        imdb = data_root() / "sentiment/imdb/aclImdb.tar.xz"
        reviews = review_sentences(imdb, limit=args.reviews) if args.reviews else iter(())
        summary = build_lm(_chain(train, reviews), Path(args.out), order=args.order, excluded=held_out)
    except (ConfigError, DataError) as err:
        print(f"speech.lm: {err}")
        return 2
    print(summary)
    return 0


def _chain(*parts: Iterable[str]) -> Iterator[str]:
    for part in parts:
        yield from part


if __name__ == "__main__":
    raise SystemExit(main())
