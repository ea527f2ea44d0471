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


def _run_folder(path, *, data, init=None, cer=0.3, seconds=600.0):
    """A finished speech run as the collector reads it (config.yaml, final.json, metrics.jsonl)."""
    import yaml

    path.mkdir(parents=True)
    config = {"recipe": "speech/arctic", "data": data, "seed": 0, "out": str(path), "init_backbone": init}
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    final = {
        "train_seconds": seconds,
        "epochs": 3,
        "stopped": "completed",
        "params": 10,
        "env": {"threads": 2},
    }
    final |= {"test": {"cer": cer, "wer": 2 * cer}, "val_best": {}, "best_epoch": 3}
    (path / "final.json").write_text(json.dumps(final))
    (path / "metrics.jsonl").write_text(json.dumps({"val_cer": cer, "samples_per_s": 5.0}) + "\n")
    return path


def test_arctic_row_started_from_a_speech_run_carries_that_pretraining(tmp_path):
    from benchmarks.results_md import arctic_section
    from benchmarks.speech_arctic import main

    pre = _run_folder(tmp_path / "tts-pre", data="tts-sentences", cer=0.1, seconds=1500.0)
    tuned = _run_folder(tmp_path / "tuned", data="arctic", init=str(pre / "checkpoints" / "best.pt"))
    scratch = _run_folder(tmp_path / "scratch", data="arctic", cer=0.4)
    out = tmp_path / "arctic.json"
    assert main(["--run", f"tuned={tuned}", "--run", f"scratch={scratch}", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert (
        rows[0]["pretraining"]["data"] == "tts-sentences" and rows[0]["pretraining"]["train_minutes"] == 25.0
    )
    assert "pretraining" not in rows[1]
    text = "\n".join(arctic_section(json.loads(out.read_text())))
    assert "| tuned | 0 | tts-pre | 30.0% | 60.0% |" in text and "| 10.0 + 25.0 pretraining |" in text
    assert (
        "tuned, its pretraining (tts-sentences, 3 epochs, 25.0 min, test CER 10.0% on its own data)" in text
    )
