"""Sources, splits, encoding and length-bucketed batches."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from core.errors import ConfigError, DataError
from nlp import toy
from nlp.data import build_data, collate, split_rows
from nlp.sources import read_sst2
from nlp.train import NlpConfig


def cfg_for(data, **overrides) -> NlpConfig:
    return NlpConfig(data=str(data), batch_size=4, progress=False, **overrides)


def test_collate_pads_with_zero_and_keeps_absolute_lengths():
    items = [(torch.tensor([5, 6, 7]), 1), (torch.tensor([8]), 0), (torch.tensor([9, 4]), 1)]
    batch = collate(items)
    assert batch.inputs.dtype == torch.long and batch.lengths.dtype == torch.long
    assert batch.lengths.tolist() == [3, 1, 2]
    assert batch.inputs.tolist() == [[5, 6, 7], [8, 0, 0], [9, 4, 0]]
    assert batch.targets.tolist() == [1, 0, 1]


def test_loader_batches_are_bucketed_and_lengths_match_tokens():
    bundle = build_data(NlpConfig(data="toy", batch_size=16, progress=False))
    spreads = []
    for batch in bundle.train:
        nonpad = (batch.inputs != 0).sum(dim=1)  # (B,) every real token is non-pad
        assert torch.equal(nonpad, batch.lengths)
        assert batch.inputs.shape[1] == int(batch.lengths.max())
        spreads.append(int(batch.lengths.max() - batch.lengths.min()))
    assert sum(spreads) / len(spreads) < 2.0  # toy lengths span 4..13: bucketing keeps batches tight


def _write_csv(path, rows, sep=","):
    path.write_text(
        "id"
        + sep
        + "review"
        + sep
        + "stars\n"
        + "".join(f"{i}{sep}{t}{sep}{y}\n" for i, (t, y) in enumerate(rows))
    )


def test_csv_with_three_string_classes_and_train_only_vocabulary(tmp_path):
    rows = [(f"uniq{i} common text", ["bad", "meh", "great"][i % 3]) for i in range(60)]
    path = tmp_path / "reviews.csv"
    _write_csv(path, rows)
    bundle = build_data(cfg_for(path, text_column="review", label_column="stars", split_seed=3))
    assert bundle.meta["classes"] == ["bad", "great", "meh"]
    itos = set(bundle.meta["vocab"]["itos"])
    train_texts = set(bundle.train.dataset.texts)
    for text, _ in rows:  # each row's unique word is in the vocabulary iff the row is in the training split
        assert (text.split()[0] in itos) == (text in train_texts)
    assert bundle.meta["sizes"] == {
        "train": 48,
        "val": 6,
        "test": 6,
    }  # test 10 %, then val 10 % of the rest, rounded up
    batch = next(iter(bundle.test))
    assert batch.targets.max() < 3 and unk_share(batch) > 0.2  # unseen test words are <unk> (id 1)


def unk_share(batch) -> float:
    return float((batch.inputs == 1).sum() / batch.lengths.sum())


def test_tsv_and_jsonl_sources_with_bad_records_reported(tmp_path, caplog):
    tsv = tmp_path / "a.tsv"
    _write_csv(tsv, [(f"text {i}", "x" if i % 2 else "y") for i in range(30)], sep="\t")
    assert build_data(cfg_for(tsv, text_column="review", label_column="stars")).meta["classes"] == ["x", "y"]
    jsonl = tmp_path / "b.jsonl"
    good = [json.dumps({"text": f"t {i}", "label": i % 2}) for i in range(30)]
    jsonl.write_text("\n".join(good[:5] + ["{not json", json.dumps({"text": "no label"})] + good[5:]) + "\n")
    with caplog.at_level(logging.WARNING, logger="rnnsuite.nlp"):
        bundle = build_data(cfg_for(jsonl))
    assert sum(bundle.meta["sizes"].values()) == 30
    assert "skipped 2 records" in caplog.text and "first at line 6" in caplog.text


def test_missing_column_names_file_and_columns(tmp_path):
    path = tmp_path / "r.csv"
    _write_csv(path, [("a", "b")] * 10)
    with pytest.raises(
        DataError, match=r"r.csv: no column 'text' \(--text-column\); columns are id, review, stars"
    ):
        build_data(cfg_for(path))


def test_seeded_split_is_reproducible_and_cv_folds_partition():
    source = {"all": [(f"t{i}", str(i % 2)) for i in range(50)]}
    a = split_rows(source, cfg_for("x.csv", split_seed=1))
    assert a == split_rows(source, cfg_for("x.csv", split_seed=1))
    assert a != split_rows(source, cfg_for("x.csv", split_seed=2))
    tests = [split_rows(source, cfg_for("x.csv", cv=5, fold=k))["test"] for k in range(5)]
    flat = [row for fold in tests for row in fold]
    assert sorted(flat) == sorted(source["all"])  # every row is tested exactly once
    fold0 = split_rows(source, cfg_for("x.csv", cv=5, fold=0))
    assert not set(fold0["test"]) & (set(fold0["train"]) | set(fold0["val"]))
    with pytest.raises(ConfigError, match="--fold"):
        split_rows(source, cfg_for("x.csv", cv=5, fold=-1))


def test_sst2_reader_skips_malformed_lines(tmp_path, caplog):
    for name in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        (tmp_path / name).write_bytes(b"1 a fine film\nx no label here\n0 a dull one\r\n\n2 bad label\n")
    with caplog.at_level(logging.WARNING, logger="rnnsuite.nlp"):
        splits = read_sst2(tmp_path)
    assert splits["train"] == [("a fine film", "positive"), ("a dull one", "negative")]
    assert "skipped 2 lines" in caplog.text and "first at line 2" in caplog.text


def test_empty_texts_are_skipped_and_single_class_is_an_error(tmp_path):
    path = tmp_path / "one.csv"
    _write_csv(path, [("...", "a")] * 3 + [("fine", "a")] * 30)
    with pytest.raises(DataError, match="only the label"):
        build_data(cfg_for(path, text_column="review", label_column="stars"))


def test_toy_defeats_bag_of_bigrams_on_contrast_only():
    """The toy docstring's claim: TF-IDF 1-2 grams solve negation but sit near chance on contrast."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    data = toy.splits()
    assert toy.splits()["train"][:50] == data["train"][:50]  # fixed seeds, same corpus
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+")
    clf = LogisticRegression(C=10, max_iter=2000).fit(
        vectorizer.fit_transform([t for t, _ in data["train"]]), [y for _, y in data["train"]]
    )
    predicted = clf.predict(vectorizer.transform([t for t, _ in data["test"]]))
    by_family: dict[str, list[bool]] = {}
    for (text, label), guess in zip(data["test"], predicted):
        by_family.setdefault(toy.family(text), []).append(guess == label)
    accuracy = {name: sum(hits) / len(hits) for name, hits in by_family.items()}
    assert accuracy["negation"] > 0.95
    assert abs(accuracy["contrast"] - 0.5) < 0.08
