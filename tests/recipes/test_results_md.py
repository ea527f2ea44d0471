"""docs/RESULTS.md is generated from benchmarks/results/recipes.json and must be up to date."""

from __future__ import annotations

import json

from benchmarks.results_md import MARKDOWN, RESULTS, render
from core.engine.recipes import list_recipes


def test_results_md_is_up_to_date():
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    assert MARKDOWN.read_text() == render(results), "run: python -m benchmarks.results_md"


def test_every_result_row_comes_from_a_recipe():
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    known = set(list_recipes())
    for row in results["rows"]:
        assert row["recipe"] in known, f"{row['recipe']}: no recipes/{row['recipe']}.yaml"
        assert row["command"].startswith(f"python -m {row['domain']}.train --recipe {row['recipe']}")


def _row(values, metric="wer", baseline=None):
    return {
        "recipe": "speech/x",
        "domain": "speech",
        "meta": {"metric": metric, "expected": 0.02, "reference": "ref"},
        "summary": {metric: {"mean": sum(values) / len(values), "std": 0.01, "n": len(values)}},
        "per_seed": [{"seed": i, "metrics": {metric: v}, "cpu_minutes": 1.0} for i, v in enumerate(values)],
        "cpu_minutes": float(len(values)),
        "threads": 2,
        "command": "python -m speech.train --recipe speech/x --seed 0",
        "commit": "abc",
        "seeds": list(range(len(values))),
        "baseline": baseline,
    }


def test_render_shows_mean_std_seeds_and_marks_short_rows():
    text = render({"rows": [_row([0.0, 0.01, 0.02])]})
    assert (
        "| `speech/x` | wer | 1.00 ± 1.00% (3 seeds) | 0.00%, 1.00%, 2.00% | - | <= 2.00% | ref | 1.0 | 2 |"
        in text
    )
    assert "python -m speech.train --recipe speech/x --seed 0" in text
    assert "not a headline figure" in render({"rows": [_row([0.0])]})
