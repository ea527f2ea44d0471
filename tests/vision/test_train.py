"""End to end: ``python -m vision.train`` on digits, the logreg baseline, real MNIST, predict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine.run import train_main
from vision.data import build_data
from vision.predict import Predictor
from vision.predict import main as predict_main
from vision.train import DOMAIN, VisionConfig

RUN_FILES = (
    "config.yaml",
    "metrics.jsonl",
    "final.json",
    "checkpoints/best.pt",
    "checkpoints/last.pt",
    "tb",
    "curves.png",
    "confusion.json",
    "confusion.png",
)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """One real ``python -m vision.train`` subprocess on the embedded digits (shared by the tests)."""
    out = tmp_path_factory.mktemp("digits-run")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "vision.train",
        "--data",
        "digits",
        "--epochs",
        "4",
        "--hidden",
        "32",
        "--batch-size",
        "32",
        "--lr",
        "1e-2",
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.slow
def test_train_cli_writes_the_run_directory(digits_run):
    for name in RUN_FILES:
        assert (digits_run / name).exists(), name
    final = json.loads((digits_run / "final.json").read_text())
    assert final["test"]["accuracy"] > 0.7  # chance is 0.1
    epochs = [json.loads(line) for line in (digits_run / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    confusion = json.loads((digits_run / "confusion.json").read_text())
    assert int(np.sum(confusion["matrix"])) == 360 and confusion["classes"][3] == "3"


def _digit_pngs(folder: Path, count: int) -> tuple[list[Path], list[int]]:
    """The first ``count`` digits of the run's own test split, written as 8x8 grey PNGs."""
    test = build_data(VisionConfig(data="digits")).test.dataset
    paths = []
    for i in range(count):
        paths.append(folder / f"digit{i}.png")
        Image.fromarray(test.images[i, 0].numpy()).save(paths[-1])
    return paths, test.labels[:count].tolist()


@pytest.mark.slow
def test_predict_files_good_and_bad(digits_run, tmp_path, capsys):
    paths, labels = _digit_pngs(tmp_path, 20)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("hello")
    Image.fromarray(np.full((40, 30, 3), 128, np.uint8)).save(tmp_path / "big-rgb.jpg")  # resized, greyed
    files = [paths[0], tmp_path / "empty.png", *paths[1:], tmp_path / "notes.png", tmp_path / "big-rgb.jpg"]
    code = predict_main(["--checkpoint", str(digits_run / "checkpoints/best.pt"), *map(str, files)])
    out, err = capsys.readouterr()
    assert code == 1  # some files failed, the rest were predicted
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == [str(p) for p in paths] + [str(tmp_path / "big-rgb.jpg")]
    assert all(0.0 < float(r[2]) <= 1.0 for r in rows)
    correct = sum(r[1] == str(label) for r, label in zip(rows, labels))
    assert correct >= 14  # the model is ~90% right on its own test split
    assert err.splitlines() == [
        f"error: {tmp_path / 'empty.png'}: not a readable image (empty file)",
        f"error: {tmp_path / 'notes.png'}: not a readable image "
        f"(cannot identify image file '{tmp_path / 'notes.png'}')",
    ]


@pytest.mark.slow
def test_predictor_matches_the_training_pipeline(digits_run):
    predictor = Predictor.from_checkpoint(digits_run / "checkpoints/best.pt")
    bundle = build_data(VisionConfig(data="digits"))
    test = bundle.test.dataset
    probs = predictor.probabilities(test.images[:50])  # (50, 10)
    with torch.no_grad():
        batch = test.__getitems__(list(range(50)))
        expected = torch.softmax(predictor.model(batch.inputs, batch.lengths), dim=-1)
    assert torch.allclose(probs, expected, atol=1e-6)
    assert torch.allclose(probs.sum(-1), torch.ones(50), atol=1e-5)


@pytest.mark.slow
def test_predict_refuses_another_mode(digits_run, tmp_path, capsys):
    paths, _ = _digit_pngs(tmp_path, 1)
    code = predict_main(
        ["--checkpoint", str(digits_run / "checkpoints/best.pt"), "--mode", "pixels", str(paths[0])]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: mode: checkpoint was trained on 'rows' sequences (T=8, F=8), not 'pixels'; "
        "use --mode rows or a checkpoint trained on 'pixels'"
    )


def test_predict_reports_a_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"not a checkpoint")
    assert predict_main(["--checkpoint", str(bad), "x.png"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(bad) in err


def test_logreg_baseline_same_splits(tmp_path, capsys):
    code = train_main(
        DOMAIN, ["--data", "digits", "--baseline", "logreg", "--out", str(tmp_path), "--no-progress"]
    )
    assert code == 0
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["baseline"] == "logreg" and final["test"]["accuracy"] > 0.9
    confusion = json.loads((tmp_path / "confusion.json").read_text())
    assert int(np.sum(confusion["matrix"])) == 360  # the same carved test split as the RNN


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--channels", "2", "--channels"),
        ("--data", "./no/such/folder", "no such file or directory"),
        ("--baseline", "svm", "--baseline"),
    ],
)
def test_bad_flags_are_one_line_errors(tmp_path, capsys, flag, value, message):
    code = train_main(DOMAIN, [flag, value, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--mode", "diagonal"], "--mode: 'diagonal' is not one of rows, columns, pixels, permuted-pixels"),
        (["--hidden", "abc"], "--hidden: expected an integer, got 'abc'"),
        (["--hiden", "3"], "unknown flag --hiden (did you mean --hidden?)"),
        (["--cell"], "--cell needs one value, got 0"),
        (["--augment=yes"], "--augment takes no value (use --augment or --no-augment)"),
    ],
)
def test_flags_the_parser_rejects_are_one_line_errors(tmp_path, capsys, args, message):
    code = train_main(DOMAIN, [*args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
@pytest.mark.data
def test_real_mnist_slice_beats_chance(data_dir, tmp_path):
    code = train_main(
        DOMAIN,
        [
            "--data",
            "mnist",
            "--limit-train",
            "3000",
            "--limit-eval",
            "500",
            "--epochs",
            "2",
            "--hidden",
            "64",
            "--batch-size",
            "32",
            "--lr",
            "5e-3",
            "--warmup-steps",
            "20",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--max-minutes",
            "2",
        ],
    )
    assert code == 0
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["test"]["accuracy"] > 0.6  # chance is 0.1
