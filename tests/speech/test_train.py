"""End to end: training on real FSDD beats chance; the CLI writes a run directory; transcribe works."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import soundfile as sf

from core.engine.run import train_main
from speech.train import DOMAIN
from speech.tts import Spec, synthesize


@pytest.mark.slow
def test_fsdd_slice_beats_chance(data_dir, isolated_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNSUITE_DATA", str(data_dir))
    out = tmp_path / "fsdd"
    argv = [
        "--data",
        "fsdd",
        "--units",
        "words",
        "--limit-train",
        "800",
        "--limit-eval",
        "120",
        "--epochs",
        "8",
        "--batch-size",
        "16",
        "--hidden",
        "64",
        "--subsample",
        "4",
        "--lr",
        "5e-3",
        "--warmup-steps",
        "20",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert train_main(DOMAIN, argv) == 0
    final = json.loads((out / "final.json").read_text())
    # chance for one of ten digit words is a 90% word error rate (and CTC starts at 100%)
    assert final["test"]["wer"] < 0.5, final


@pytest.mark.slow
def test_train_cli_writes_run_directory_and_transcribe_reads_it(isolated_cache, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "RNNSUITE_CACHE": str(isolated_cache)}
    cmd = [
        sys.executable,
        "-m",
        "speech.train",
        "--data",
        "tts-digits",
        "--num-utts",
        "40",
        "--limit-eval",
        "16",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--conv-channels",
        "16",
        "--out",
        str(out),
        "--no-progress",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "final.json",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "curves.png",
        "tb",
    ):
        assert (out / name).exists(), name
    final = json.loads((out / "final.json").read_text())
    assert 0.0 <= final["test"]["wer"] and 0.0 <= final["test"]["cer"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2

    good = tmp_path / "good.wav"
    sf.write(good, synthesize(Spec("four two"), sample_rate=16000).numpy(), 16000)  # another rate on purpose
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    cmd = [
        sys.executable,
        "-m",
        "speech.transcribe",
        "--checkpoint",
        str(out / "checkpoints" / "best.pt"),
        str(good),
        str(bad),
        "--beam",
        "4",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1  # one file failed, the other was transcribed
    assert done.stdout.startswith(f"{good}\t") and len(done.stdout.splitlines()) == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [line for line in errors if "bad.wav" in line] and len(errors) == 1
    assert "real-time factor" in done.stderr


def test_transcribe_reports_a_missing_checkpoint(tmp_path):
    cmd = [sys.executable, "-m", "speech.transcribe", "--checkpoint", str(tmp_path / "none.pt"), "a.wav"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "none.pt" in done.stderr


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--data", "no-such-corpus"], "not one of"),
        (["--subsample", "3"], "--subsample must be 1, 2 or 4"),
        (["--freq-mask", "50"], "--freq-mask must be below --n-mels"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, fragment, tmp_path, capsys):
    assert train_main(DOMAIN, argv + ["--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err
