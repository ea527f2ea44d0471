"""``python -m nlp.train``: run directory, baseline, cross-validation, real data, resume checks."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from core.engine.run import train_main
from nlp.train import DOMAIN, main


def test_cli_end_to_end_writes_the_run_directory(toy_run):
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "final.json",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "curves.png",
        "confusion.json",
        "confusion.png",
        "tb",
    ):
        assert (toy_run / name).exists(), name
    final = json.loads((toy_run / "final.json").read_text())
    assert 0.0 <= final["test"]["accuracy"] <= 1.0 and final["epochs"] == 2
    assert yaml.safe_load((toy_run / "config.yaml").read_text())["data"] == "toy"
    epochs = [json.loads(line) for line in (toy_run / "metrics.jsonl").read_text().splitlines()]
    assert len(epochs) == 2


def test_tfidf_baseline_uses_the_same_contract(tmp_path):
    out = tmp_path / "tfidf"
    assert (
        train_main(DOMAIN, ["--data", "toy", "--baseline", "tfidf", "--out", str(out), "--no-progress"]) == 0
    )
    final = json.loads((out / "final.json").read_text())
    # bigrams solve negation, not contrast (nlp.toy): well above chance, well below perfect
    assert 0.62 < final["test"]["accuracy"] < 0.88
    assert (out / "confusion.json").exists()


def test_nbsvm_baseline_binary_and_multiclass(tmp_path, capsys):
    out = tmp_path / "nbsvm"
    assert (
        train_main(DOMAIN, ["--data", "toy", "--baseline", "nbsvm", "--out", str(out), "--no-progress"]) == 0
    )
    final = json.loads((out / "final.json").read_text())
    assert 0.62 < final["test"]["accuracy"] < 0.9  # a bag of n-grams: the toy's contrast cases defeat it too
    words = {"neg": "awful dreadful", "neu": "average plain", "pos": "superb lovely"}
    rows = [
        (f"{words[y]} film {i} with cast {i % 7}", y)
        for i in range(150)
        for y in [("neg", "neu", "pos")[i % 3]]
    ]
    path = tmp_path / "three.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    out3 = tmp_path / "three"
    assert (
        train_main(DOMAIN, ["--data", str(path), "--baseline", "nbsvm", "--out", str(out3), "--no-progress"])
        == 0
    )
    final3 = json.loads((out3 / "final.json").read_text())
    assert final3["test"]["accuracy"] == 1.0  # one-vs-rest finds the class words
    assert train_main(DOMAIN, ["--data", "toy", "--baseline", "svm", "--out", str(tmp_path / "x")]) == 2
    assert "unknown baseline 'svm' for nlp (available: tfidf, nbsvm)" in capsys.readouterr().err


def test_cross_validation_runs_each_fold_and_reports_mean_and_std(tmp_path):
    rows = [
        (f"{'good fine' if i % 2 else 'bad poor'} film number {i}", "pos" if i % 2 else "neg")
        for i in range(90)
    ]
    path = tmp_path / "small.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    out = tmp_path / "cv"
    assert (
        main(["--data", str(path), "--cv", "3", "--baseline", "tfidf", "--out", str(out), "--no-progress"])
        == 0
    )
    summary = json.loads((out / "cv.json").read_text())
    folds = [json.loads((out / f"fold-{k}" / "final.json").read_text())["test"]["accuracy"] for k in range(3)]
    assert summary["test"]["accuracy"]["folds"] == folds
    assert summary["test"]["accuracy"]["mean"] == pytest.approx(sum(folds) / 3)
    assert summary["test"]["accuracy"]["mean"] > 0.9  # the label word is in every text
    assert "std" in summary["test"]["accuracy"]


@pytest.mark.slow
@pytest.mark.data
def test_sst2_slice_beats_chance(data_dir, tmp_path, tiny_args, one_thread):
    out = tmp_path / "sst2"
    args = [
        "--data",
        "sst2",
        "--epochs",
        "3",
        "--limit-train",
        "4000",
        "--limit-eval",
        "600",
        "--lr",
        "5e-3",
        "--warmup-steps",
        "20",
        "--min-freq",
        "2",
        "--dropout",
        "0.2",
        "--embed-dropout",
        "0.1",
        "--out",
        str(out),
        *tiny_args,
        "--hidden",
        "48",
        "--embed-dim",
        "48",
    ]
    assert train_main(DOMAIN, args) == 0
    accuracy = json.loads((out / "final.json").read_text())["test"]["accuracy"]
    assert accuracy > 0.64, accuracy  # chance is about 0.5 on the balanced SST-2 test set


@pytest.mark.data
def test_mr_is_read_as_latin1(data_dir):
    from nlp.data import build_data
    from nlp.train import NlpConfig

    bundle = build_data(NlpConfig(data="mr", progress=False))
    assert sum(bundle.meta["sizes"].values()) == 10662
    assert "café" in bundle.meta["vocab"]["itos"] or "clichés" in bundle.meta["vocab"]["itos"]


def test_resume_on_other_data_is_a_vocabulary_error(toy_run, tmp_path, capsys):
    run = tmp_path / "resumed"
    shutil.copytree(toy_run, run)
    path = tmp_path / "other.csv"
    path.write_text("text,label\n" + "".join(f"other words {i},{i % 2}\n" for i in range(40)))
    assert train_main(DOMAIN, ["--resume", "--data", str(path), "--out", str(run), "--no-progress"]) == 2
    message = capsys.readouterr().err.strip()
    assert (
        message.startswith("error: --resume:") and "vocabulary" in message and len(message.splitlines()) == 1
    )


def test_bad_flags_are_one_line_errors(capsys):
    assert main(["--cv", "1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --cv must be 0 (off) or at least 2, got 1"
    assert main(["--data", "nosuchset"]) == 2
    assert "unknown dataset 'nosuchset'" in capsys.readouterr().err
