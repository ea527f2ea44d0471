"""Reusing the backbone for a fourth kind of sequence, as README's "Reuse" section shows:
the template domain examples/timeseries (a user's own time-series regression), trained by the
one Trainer, then plugged into the umbrella CLI and ``compare`` through its entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "timeseries"
sys.path.insert(0, str(EXAMPLE))
import series_domain  # noqa: E402


def test_users_model_trains_with_the_shared_trainer(tmp_path):
    cfg = series_domain.SeriesConfig(
        hidden=32,
        epochs=6,
        lr=0.01,
        warmup_steps=10,
        examples=384,
        batch_size=32,
        progress=False,
        out=str(tmp_path),
    )
    data = series_domain.build_data(cfg)
    model = series_domain.DOMAIN.build_model(cfg, data.meta)
    trainer = Trainer(
        model=model,
        task=series_domain.RegressionTask(),
        cfg=cfg,
        train_loader=data.train,
        val_loader=data.val,
        out_dir=tmp_path,
        domain="series",
        meta=data.meta,
    )
    trainer.fit()
    test = trainer.test(data.test)
    # predicting the mean gives MSE 1.0; remembering the first value across 8..32 steps beats it
    assert test["mse"] < 0.6, test
    assert (tmp_path / "checkpoints" / "best.pt").exists()


@pytest.fixture()
def plugin_env(tmp_path) -> dict:
    """A site folder holding the example's module and the entry points its pyproject.toml
    declares, as ``pip install examples/timeseries`` would install them."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"]["rnnsuite.domains"]
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(EXAMPLE / "series_domain.py", site / "series_domain.py")
    info = site / "series_domain-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in declared.items())
    (info / "entry_points.txt").write_text("[rnnsuite.domains]\n" + lines)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return env


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.tools.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_plugin_domain_runs_through_cli_and_compare(plugin_env, tmp_path):
    listed = _cli(["domains"], plugin_env, tmp_path)
    assert "series" in listed.stdout, listed.stderr
    out = tmp_path / "grid"
    refused = _cli(
        ["compare", "--domains", "series", "--cells", "nosuchcell", "--out", str(out)], plugin_env, tmp_path
    )
    assert refused.returncode == 2 and "unknown 'nosuchcell'" in refused.stderr and not out.exists()
    args = [
        "compare",
        "--domains",
        "series",
        "--cells",
        "lstm",
        "gru",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--extra=--examples 64",
    ]
    (out / "series").mkdir(parents=True)
    (out / "series" / "gru-h16").write_text("a file where the run's folder must go")
    first = _cli(args, plugin_env, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr  # one run failed: the exit status says so
    status = {r["name"]: r for r in json.loads((out / "compare.json").read_text())["runs"]}
    assert status["lstm-h16"]["status"] == "ok"
    assert status["gru-h16"]["status"] == "failed"  # reported, and the grid went on
    norms = json.loads((out / "series" / "lstm-h16" / "gradient_norms.json").read_text())["norm"]
    assert len(norms) > 1 and all(n >= 0 for n in norms)  # measured once by compare, read by the report
    assert (out / "plot_gradient_norms.png").is_file()
    report = (out / "report.md").read_text()
    table = [line for line in report.splitlines() if line.startswith("| synthetic")]
    assert len(table) == 2, report  # one row per run, the failed one included
    assert "| mse |" in table[0]  # the domain's own monitored metric, read from final.json
    assert "failed" in report and "<img" in (out / "report.html").read_text()
    assert list(json.loads((out / "throughput.json").read_text())["cells"]) == ["lstm"]  # the report read it
    assert "Throughput against sequence length" in report

    again = _cli(args, plugin_env, tmp_path)  # finished runs are skipped, not retrained
    status = {r["name"]: r for r in json.loads((out / "compare.json").read_text())["runs"]}
    assert status["lstm-h16"]["status"] == "done", again.stdout


@pytest.mark.slow
def test_quick_grid_of_the_three_domains_reports_every_run(tmp_path, isolated_cache):
    """`make run`'s grid on reduced sizes: one table row per run in every domain."""
    out = tmp_path / "quick"
    cells = ["lstm", "mingru"]
    done = _cli(
        [
            "compare",
            "--preset",
            "quick",
            "--cells",
            *cells,
            "--out",
            str(out),
            "--extra=--epochs 1 --limit-train 48 --limit-eval 32",
        ],
        dict(os.environ),
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = json.loads((out / "compare.json").read_text())["runs"]
    assert {r["domain"] for r in runs} >= {"vision", "nlp", "speech"}
    assert all(r["status"] == "ok" for r in runs), [(r["name"], r["note"]) for r in runs]
    report = (out / "report.md").read_text()
    for domain in ("vision", "nlp", "speech"):
        section = report.split(f"## Domain: {domain}")[1].split("## ")[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
        expected = len([r for r in runs if r["domain"] == domain])
        assert len(rows) == expected, section
    assert "Across modalities" in report and (out / "report.html").stat().st_size > 10_000
