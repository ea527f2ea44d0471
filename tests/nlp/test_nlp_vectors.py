"""Pretrained word vectors: reading, coverage, the three modes, training and predicting with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from core.engine.config import parse_config
from core.errors import ConfigError, DataError
from nlp import vectors
from nlp.model import build_model
from nlp.predict import main as predict_main
from nlp.train import NlpConfig
from nlp.vocab import PAD, UNK

ROOT = Path(__file__).resolve().parents[2]
ITOS = [PAD, UNK, "good", "film", "zzzunseen"]


@pytest.fixture()
def text_vectors(tmp_path):
    path = tmp_path / "vecs.txt"
    path.write_text("3 2\ngood 1.0 2.0\nfilm -1 0.5\nbad 3 3\n")  # word2vec header, then GloVe-style rows
    return path


def test_text_file_rows_and_coverage(text_vectors):
    counts = Counter({"good": 3, "film": 1, "zzzunseen": 4})
    matrix, record = vectors.embedding_matrix(ITOS, str(text_vectors), counts=counts, seed=0)
    assert matrix.shape == (5, 2) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[2:4], [[1.0, 2.0], [-1.0, 0.5]])
    assert not matrix[0].any()  # <pad>
    bound = np.sqrt(3) * np.stack([[1.0, 2.0], [-1.0, 0.5]]).std()
    assert np.abs(matrix[[1, 4]]).max() <= bound and matrix[4].any()  # unknown: U(-a, a), same variance
    assert (record["found"], record["train_words"], record["type_coverage"]) == (2, 3, round(2 / 3, 4))
    assert record["token_coverage"] == 0.5 and record["dim"] == 2
    assert vectors.leading_words(str(text_vectors), 2) == ["good", "film"]


@pytest.mark.parametrize(
    "body, line, problem",
    [
        ("good 1 2\nfilm 1 2 3\n", 2, "3 values, expected 2"),
        ("good 1 2\nfilm 1 x\n", 2, "not a number"),
        ("3 2\ngood 1 2\nfilm 1\n", 3, "1 values, expected 2"),
    ],
)
def test_bad_vectors_file_is_one_line_naming_file_and_line(tmp_path, body, line, problem):
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(DataError) as err:
        vectors.embedding_matrix(ITOS, str(path), counts=Counter(), seed=0)
    assert str(err.value).startswith(f"{path}:{line}: ") and problem in str(err.value)


def test_packaged_glove_knows_common_words():
    found, dim = vectors.lookup("glove-6b-50d", ["the", "film", "n't", "zzzqqqxx"])
    assert dim == 50 and set(found) == {"the", "film", "n't"}
    assert vectors.leading_words("glove-6b-50d", 3) == ["the", ",", "."]


def test_bad_flags(tmp_path):
    with pytest.raises(ConfigError, match="--vectors"):
        parse_config(NlpConfig, ["--vectors", str(tmp_path / "nope.txt")])
    with pytest.raises(ConfigError, match="--level word"):
        parse_config(NlpConfig, ["--vectors", "glove-6b-50d", "--level", "char"])


@pytest.mark.parametrize("mode", vectors.MODES)
def test_modes_load_the_rows_and_freeze_what_they_should(mode, text_vectors):
    cfg = NlpConfig(vectors=str(text_vectors), vectors_mode=mode, hidden=4, embed_dim=64)
    matrix, record = vectors.embedding_matrix(ITOS, cfg.vectors, counts=Counter(ITOS), seed=0)
    meta = {"vocab": {"itos": ITOS, "fingerprint": "f"}, "classes": ["a", "b"], "vectors": record}
    vectors.stage("f", cfg.vectors, matrix)
    model = build_model(cfg, meta)
    assert torch.equal(
        model.front.embedding.weight, torch.from_numpy(matrix)
    )  # width 2 from the vectors, not 64
    assert model.front.embedding.weight.requires_grad == (mode != "frozen")
    assert (model.front.static_embedding is not None) == (mode == "both")
    if mode == "both":
        assert torch.equal(model.front.static_embedding.weight, torch.from_numpy(matrix))
        assert not model.front.static_embedding.weight.requires_grad and model.backbone.input_size == 4
    rebuilt = build_model(cfg, meta)  # nothing staged any more: a model rebuilt for inference
    assert not torch.equal(rebuilt.front.embedding.weight, model.front.embedding.weight)


def test_train_and_predict_with_glove(tmp_path, tiny_args, capsys):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "nlp.train",
        "--data",
        "toy",
        "--epochs",
        "1",
        "--limit-train",
        "300",
        "--limit-eval",
        "100",
        "--vectors",
        "glove-6b-50d",
        "--vectors-mode",
        "both",
        "--vectors-vocab",
        "500",
        "--out",
        str(out),
        *tiny_args,
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "training words" in done.stderr
    final = json.loads((out / "final.json").read_text())
    record = final["data"]["vectors"]
    assert record["name"] == "glove-6b-50d" and record["type_coverage"] > 0.9 and record["rows"] > 500
    state = torch.load(out / "checkpoints" / "best.pt", weights_only=True)
    static = state["model"]["front.static_embedding.weight"]
    index = state["meta"]["vocab"]["itos"].index("film")
    found, _ = vectors.lookup("glove-6b-50d", ["film"])
    assert torch.equal(static[index], torch.from_numpy(found["film"]))  # the frozen channel never moved
    code = predict_main(["--checkpoint", str(out / "checkpoints" / "best.pt"), "a good plot", "a dull film"])
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and [r[1] in ("negative", "positive") for r in rows] == [True, True]
