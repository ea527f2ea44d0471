"""``rnnsuite serve`` refuses bad checkpoints and flags with one line and exit status 2."""

from __future__ import annotations

import pytest

from core.tools.serve.cli import main


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--timeout", "0"], "--timeout must be positive"),
        (["--port", "70000"], "--port must be in 1..65535"),
    ],
)
def test_bad_flags_are_one_line(tmp_path, capsys, extra, fragment):
    assert main(["--checkpoint", str(tmp_path / "best.pt"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_bad_checkpoint_is_one_line(tmp_path, capsys):
    corrupt = tmp_path / "best.pt"
    corrupt.write_bytes(b"not a checkpoint")
    assert main(["--checkpoint", str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(corrupt) in err


def test_duplicate_run_names_are_numbered(tiny_checkpoints):
    from core.tools.serve.registry import load_models

    models = load_models([str(tiny_checkpoints["nlp"])] * 3)
    assert list(models) == ["nlp-tiny", "nlp-tiny-2", "nlp-tiny-3"]
