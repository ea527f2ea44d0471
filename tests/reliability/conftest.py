"""Helpers of the reliability suite: every bad input ends in one line on stderr, exit 2, nothing lost."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

TINY = ["--hidden", "8", "--epochs", "1", "--no-progress", "--cell", "gru"]


def take_snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha1 of every file under ``folder`` (what a failed run must leave untouched)."""
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def assert_one_line(err: str, *fragments: str) -> None:
    """``err`` is exactly one line starting with ``error:`` and naming every fragment."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture()
def refused(capsys):
    """``refused(code, *fragments)``: exit status 2 and one error line naming the fragments."""

    def check(code: int, *fragments: str) -> str:
        err = capsys.readouterr().err
        assert code == 2, err
        assert_one_line(err, *fragments)
        return err

    return check


@pytest.fixture()
def snapshot():
    return take_snapshot


def tone_manifest(folder: Path) -> Path:
    rows = []
    for i, word in enumerate(["yes", "no"] * 4):
        t = np.arange(2400) / 8000
        sf.write(folder / f"c{i}.wav", (0.3 * np.sin(2 * np.pi * (300 if word == "yes" else 600) * t)), 8000)
        rows.append(
            {
                "path": f"c{i}.wav",
                "transcript": word,
                "split": ["train", "val", "test"][min(i // 4, 2)] if i < 6 else "test",
            }
        )
    path = folder / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One tiny finished run per domain: their best.pt files are the material to damage."""
    from core.engine.run import train_main
    from nlp.train import DOMAIN as NLP
    from speech.train import DOMAIN as SPEECH
    from vision.train import DOMAIN as VISION

    root = tmp_path_factory.mktemp("ckpt")
    cache = os.environ.get("RNNSUITE_CACHE")
    os.environ["RNNSUITE_CACHE"] = str(root / "cache")  # speech features of this fixture only
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert (
            train_main(
                NLP,
                [
                    *TINY,
                    "--data",
                    "toy",
                    "--embed-dim",
                    "8",
                    "--limit-train",
                    "200",
                    "--limit-eval",
                    "40",
                    "--out",
                    str(root / "nlp"),
                ],
            )
            == 0
        )
        assert (
            train_main(
                VISION,
                [
                    *TINY,
                    "--data",
                    "digits",
                    "--limit-train",
                    "200",
                    "--limit-eval",
                    "40",
                    "--out",
                    str(root / "vision"),
                ],
            )
            == 0
        )
        assert (
            train_main(
                SPEECH,
                [
                    *TINY,
                    "--data",
                    str(tone_manifest(root)),
                    "--conv-channels",
                    "8",
                    "--n-mels",
                    "16",
                    "--freq-mask",
                    "4",
                    "--out",
                    str(root / "speech"),
                ],
            )
            == 0
        )
    finally:
        torch.set_num_threads(before)
        if cache is None:
            del os.environ["RNNSUITE_CACHE"]
        else:
            os.environ["RNNSUITE_CACHE"] = cache
    return {name: root / name / "checkpoints" / "best.pt" for name in ("nlp", "vision", "speech")}
