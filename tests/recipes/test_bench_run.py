"""benchmarks.run: one recipe x seeds row with everything RESULTS.md needs."""

from __future__ import annotations

import json

import pytest

from benchmarks.results_md import render
from benchmarks.run import main


@pytest.mark.slow
def test_recipe_times_seeds_row(tmp_path):
    results = tmp_path / "recipes.json"
    argv = [
        "--recipe",
        "vision/digits-quick",
        "--seeds",
        "2",
        "--first-seed",
        "3",
        "--threads",
        "1",
        "--runs",
        str(tmp_path / "runs"),
        "--results",
        str(results),
        "--extra",
        "--epochs 1 --limit-train 64 --hidden 8",
    ]
    assert main(argv) == 0
    (row,) = json.loads(results.read_text())["rows"]
    assert row["recipe"] == "vision/digits-quick" and row["seeds"] == [3, 4]
    assert [s["seed"] for s in row["per_seed"]] == [3, 4] and all(s["exit"] == 0 for s in row["per_seed"])
    assert all(s["items"] == 360 and s["cpu_minutes"] > 0 for s in row["per_seed"])  # every test image scored
    assert all(s["stopped"] == "completed" and s["epochs"] == 1 for s in row["per_seed"])
    accuracies = [s["metrics"]["accuracy"] for s in row["per_seed"]]
    assert row["summary"]["accuracy"]["mean"] == pytest.approx(sum(accuracies) / 2)
    assert row["config"]["hidden"] == 8 and row["config"]["recipe"] == "vision/digits-quick"
    assert row["baseline"]["name"] == "logreg" and row["baseline"]["metrics"]["accuracy"] > 0.9
    assert len(row["commit"]) >= 40 and row["threads"] == 1
    assert "python -m vision.train --recipe vision/digits-quick --seed 3" in render({"rows": [row]})

    again = main([*argv[:-1], "--epochs 1 --limit-train 64 --hidden 8"])  # the same run folders again
    assert again == 0, "a rerun into the same folders replaces them (moved aside), not refused"
    assert list((tmp_path / "runs" / "vision-digits-quick" / "seed-3" / "previous").iterdir())
    good = results.read_text()
    broken = main([*argv[:-1], "--epochs 1 --limit-train 64 --hidden 0"])  # every seed refuses its flags
    assert broken == 1 and results.read_text() == good  # the good row is kept, not replaced by a partial one
