"""Bad input exits 2 with one line; the umbrella ``rnnsuite`` command; ``--baseline``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types

import pytest
import torch
from core_toy_domain import DOMAIN, META, ToyConfig, build_model, checkpoint_of

import core.tools.cli as cli
from core.engine.checkpoint import save_checkpoint
from core.engine.run import train_main

QUIET = ["--no-progress", "--n-train", "64", "--epochs", "1"]


def one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


def test_bad_flag_values_exit_2(tmp_path, capsys):
    assert train_main(DOMAIN, ["--hidden", "-4", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--hidden must be positive")
    assert train_main(DOMAIN, ["--data", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--data: no such file or directory", "absent")
    (tmp_path / "c.yaml").write_text("hiddn: 3\n")
    assert train_main(DOMAIN, ["--config", str(tmp_path / "c.yaml")]) == 2
    one_line_error(capsys, "c.yaml", "unknown field 'hiddn'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_exits_2(tmp_path, capsys):
    assert train_main(DOMAIN, ["--device", "cuda", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--device cuda")


@pytest.mark.parametrize("case", ["corrupt", "other-domain", "other-shape"])
def test_bad_resume_checkpoint_exits_2(tmp_path, capsys, case):
    last = tmp_path / "checkpoints" / "last.pt"
    last.parent.mkdir(parents=True)
    flags = [*QUIET, "--out", str(tmp_path), "--resume"]
    if case == "corrupt":
        last.write_bytes(b"\x00" * 64)
        expected = "cannot read checkpoint"
    elif case == "other-domain":
        save_checkpoint(last, checkpoint_of(build_model(ToyConfig(), META), domain="speech"))
        expected = "is a 'speech' checkpoint, not 'toy'"
    else:
        save_checkpoint(last, checkpoint_of(build_model(ToyConfig(), META), hidden=8, n_train=64, epochs=1))
        flags += ["--hidden", "8"]
        expected = "does not match the model"
    assert train_main(DOMAIN, flags) == 2
    one_line_error(capsys, expected, "last.pt" if case != "other-shape" else "resume")


def test_baseline_writes_results_without_checkpoints(tmp_path, capsys):
    assert train_main(DOMAIN, ["--baseline", "centroid", "--out", str(tmp_path), "--no-progress"]) == 0
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["test"]["accuracy"] > 0.5 and final["params"] == 12 and final["baseline"] == "centroid"
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "confusion.json").is_file()
    assert not (tmp_path / "checkpoints").exists()
    no_baseline = dataclasses.replace(DOMAIN, run_baseline=None)
    assert train_main(no_baseline, ["--baseline", "centroid", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--baseline", "no classical baseline")
    named = dataclasses.replace(DOMAIN, baseline_name="centroid")
    assert train_main(named, ["--baseline", "logreg", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "unknown baseline 'logreg'", "available: centroid")


def test_umbrella_train_with_init_backbone(tmp_path, capsys):
    source = build_model(ToyConfig(), META)
    save_checkpoint(tmp_path / "src.pt", checkpoint_of(source))
    out = tmp_path / "run"
    code = cli.main(
        [
            "train",
            "core_toy_domain:DOMAIN",
            *QUIET,
            "--out",
            str(out),
            "--init-backbone",
            str(tmp_path / "src.pt"),
        ]
    )
    assert code == 0 and "init-backbone: 4 tensors" in capsys.readouterr().err
    assert json.loads((out / "final.json").read_text())["epochs"] == 1
    save_checkpoint(tmp_path / "small.pt", checkpoint_of(build_model(ToyConfig(hidden=8), META), hidden=8))
    assert (
        cli.main(
            [
                "core_toy_domain:DOMAIN",
                "--init-backbone",
                str(tmp_path / "small.pt"),
                "--out",
                str(tmp_path / "run2"),
            ]
        )
        == 2
    )
    one_line_error(capsys, "--init-backbone", "backbone.weight_ih_l0 (32, 4) vs (64, 4)")


def test_domains_lists_installed_entry_points(capsys):
    assert cli.main(["domains"]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"vision", "nlp", "speech"} <= names


def test_unknown_domain_and_missing_domain_argument(capsys):
    assert cli.main(["train", "klingon"]) == 2
    one_line_error(capsys, "unknown domain 'klingon'", "vision")
    assert cli.main(["train", "--epochs", "3"]) == 2
    one_line_error(capsys, "usage: rnnsuite train DOMAIN")


def test_diagnose_and_compare_hooks_are_lazy(monkeypatch, capsys):
    received = []
    fake = types.ModuleType("fake_diagnostics")
    fake.main = lambda argv: received.append(argv) or 7
    monkeypatch.setitem(sys.modules, "fake_diagnostics", fake)
    monkeypatch.setitem(cli.HOOKS, "diagnose", "fake_diagnostics:main")
    assert cli.main(["diagnose", "--cells", "lstm"]) == 7 and received == [["--cells", "lstm"]]


def test_cells_lists_every_cell_with_the_options_cell_opt_reaches(capsys):
    from core.nn.cells import CELL_REGISTRY

    assert cli.main(["cells"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in CELL_REGISTRY)
    assert "--cell-opt horizon=" in listing and "--cell-opt impl=" in listing


def test_cell_opt_reaches_the_cell_and_is_checked_against_its_options(tmp_path, capsys):
    from core.engine.config import parse_config
    from core.nn.backbone import backbone_from_config

    cfg = parse_config(ToyConfig, ["--cell", "gru", "--cell-opt", "impl=torch", "--cell-opt", "horizon=7"])
    layer = backbone_from_config(cfg, 3).layers[0][0]
    assert (layer.impl, layer.horizon) == ("torch", 7)
    assert train_main(DOMAIN, ["--cell", "lstm", "--cell-opt", "mode=parallel", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--cell-opt: 'mode' is not an option of cell 'lstm' (options: init, horizon")
    assert train_main(DOMAIN, ["--cell-opt", "init", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "--cell-opt: expected key=value, got 'init'")


@pytest.mark.slow
def test_python_dash_m_core_cli_help():
    result = subprocess.run(
        [sys.executable, "-m", "core.tools.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "rnnsuite train DOMAIN" in result.stdout
