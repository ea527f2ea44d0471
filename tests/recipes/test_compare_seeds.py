"""compare: presets start from recipes; --seeds N runs each grid point N times; the report shows
mean ± std with a 95% CI and marks ranks within noise (Welch's t-test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine.domain import load_domains
from core.tools.compare import CompareConfig, resolve_grid
from core.tools.report import RunRecord, cross_table, seeds_table
from core.tools.seed_stats import SeedSummary, welch_p, within_noise


def test_quick_preset_runs_each_domain_from_its_recipe():
    plan, runs = resolve_grid(CompareConfig(preset="quick", out="x"), load_domains())
    for run in runs:
        expected = plan["recipes"][run.domain]
        assert run.args[:2] == ["--recipe", expected], run.name


def test_seeds_multiply_grid_points_with_their_own_folders():
    cfg = CompareConfig(preset="quick", domains=["vision"], cells=["lstm"], seeds=3, seed=5, out="x")
    _, runs = resolve_grid(cfg, load_domains())
    rnn = [r for r in runs if r.cell]
    assert [r.name for r in rnn] == ["lstm-h64-s5", "lstm-h64-s6", "lstm-h64-s7"]
    assert [r.args[r.args.index("--seed") + 1] for r in rnn] == ["5", "6", "7"]
    assert len({r.out for r in rnn}) == 3


def _records(domain: str, cell: str, values: list[float], metric="accuracy", mode="max") -> list[RunRecord]:
    return [
        RunRecord(
            domain,
            f"{cell}-s{seed}",
            "ok",
            "",
            Path("."),
            cell=cell,
            hidden=64,
            seed=seed,
            test={metric: v, "_monitor": metric, "_mode": mode},
        )
        for seed, v in enumerate(values)
    ]


def test_cross_table_marks_ranks_within_noise():
    records = (
        _records("vision", "lstm", [0.95, 0.96, 0.97])
        + _records("vision", "gru", [0.94, 0.96, 0.965])
        + _records("vision", "rnn", [0.50, 0.51, 0.52])
    )
    _, rows = cross_table({"vision": records})
    by_cell = {row[0]: row[1] for row in rows}
    assert by_cell["lstm"].endswith("(#1)")
    assert by_cell["gru"].endswith("(#2 ~)")  # overlapping seeds: not distinguishable from lstm
    assert by_cell["rnn"].endswith("(#3)")  # far below gru: a real difference
    assert "0.9600 ± 0.0100" in by_cell["lstm"]


def test_lower_is_better_metrics_rank_ascending():
    records = _records("speech", "lstm", [0.10, 0.11], "wer", "min") + _records(
        "speech", "gru", [0.3, 0.31], "wer", "min"
    )
    _, rows = cross_table({"speech": records})
    assert dict(rows)["lstm"].endswith("(#1)") and dict(rows)["gru"].endswith("(#2)")


def test_seeds_table_shows_mean_std_and_ci():
    _, rows = seeds_table(_records("vision", "lstm", [0.9, 0.92, 0.94]))
    assert rows == [["lstm", "64", "0, 1, 2", "accuracy", "0.9200 ± 0.0200 [0.8703, 0.9697] (n=3)"]]


def test_welch_test_needs_two_seeds_each_side():
    assert welch_p([0.9], [0.8, 0.85]) is None and within_noise([0.9], [0.8]) is None
    assert welch_p([0.5, 0.5], [0.5, 0.5]) == 1.0
    assert welch_p([0.1, 0.11, 0.12], [0.9, 0.91, 0.92]) < 0.001
    assert SeedSummary((0.5,)).ci95() is None and SeedSummary((0.5,)).std == 0.0


@pytest.mark.parametrize("preset", ["quick", "full"])
def test_preset_recipes_name_real_files_or_fall_back_to_flags(preset):
    from core.engine.recipes import list_recipes

    _, runs = resolve_grid(CompareConfig(preset=preset, out="x"), load_domains())
    for run in runs:
        if run.args[0] == "--recipe":
            assert run.args[1] in list_recipes()
