"""core.engine.splits (held-out shares, CV folds, --limit-train) and core.engine.cv through a domain."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.engine import splits
from core.errors import DataError

LABELS = ["a"] * 30 + ["b"] * 20 + ["c"] * 10


def test_holdout_is_seeded_stratified_and_disjoint():
    rest, carved = splits.holdout(LABELS, 0.2, seed=3)
    assert np.array_equal(carved, splits.holdout(LABELS, 0.2, seed=3)[1])
    assert not np.array_equal(carved, splits.holdout(LABELS, 0.2, seed=4)[1])
    assert sorted([*rest, *carved]) == list(range(60)) and list(carved) == sorted(carved)
    assert [LABELS[i] for i in carved].count("c") == 2  # each class keeps its 20 % share


def test_kfold_partitions_the_data_and_every_test_fold_is_stratified():
    tests = [splits.kfold(LABELS, 5, k, seed=0)[1] for k in range(5)]
    assert sorted(np.concatenate(tests)) == list(range(60))
    assert all([LABELS[i] for i in fold].count("c") == 2 for fold in tests)
    with pytest.raises(Exception, match="--fold"):
        splits.kfold(LABELS, 5, 5, seed=0)


def test_limit_keeps_class_shares_and_falls_back_when_it_cannot():
    kept = splits.limit(LABELS, 12, seed=0)
    assert len(kept) == 12 and [LABELS[i] for i in kept].count("c") == 2
    assert list(splits.limit(LABELS, 0, seed=0)) == list(range(60))
    unique = [str(i) for i in range(10)]  # no class twice: a plain seeded sample
    assert len(splits.limit(unique, 4, seed=1)) == 4
    with pytest.raises(DataError, match="too few"):
        splits.holdout(["a"], 0.5, seed=0)


def test_cv_is_an_engine_feature_for_any_domain_without_a_test_split(tmp_path, capsys):
    from core.engine.run import train_main
    from vision.train import DOMAIN

    out = tmp_path / "cv"
    args = ["--data", "digits", "--cv", "3", "--baseline", "logreg", "--out", str(out), "--no-progress"]
    assert train_main(DOMAIN, args) == 0
    summary = json.loads((out / "cv.json").read_text())
    folds = [json.loads((out / f"fold-{k}" / "final.json").read_text())["test"]["accuracy"] for k in range(3)]
    assert summary["test"]["accuracy"]["folds"] == folds and min(folds) > 0.8
    assert "3-fold CV on digits: accuracy" in capsys.readouterr().out
    from nlp.train import DOMAIN as NLP  # the toy corpus comes with its own test split

    assert train_main(NLP, ["--data", "toy", "--cv", "3", "--fold", "0", "--out", str(tmp_path / "m")]) == 2
    assert "error: --cv: toy has an official test split" in capsys.readouterr().err


def test_cv_is_refused_by_a_domain_that_does_not_support_it(tmp_path, capsys):
    from core.engine.run import train_main
    from speech.train import DOMAIN

    assert train_main(DOMAIN, ["--cv", "3", "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err.strip() == "error: --cv: domain 'speech' does not support cross-validation"


def test_speech_data_seed_is_an_alias_of_split_seed():
    from core.engine.config import parse_config
    from speech.train import SpeechConfig

    cfg = parse_config(SpeechConfig, ["--data-seed", "3"])
    assert (cfg.split_seed, cfg.data_seed) == (3, None)  # config.yaml then records only split_seed
    assert parse_config(SpeechConfig, ["--split-seed", "4"]).split_seed == 4
