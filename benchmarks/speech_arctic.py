"""Collect the arctic-cathy figures from run folders into ``benchmarks/results/speech_arctic.json``.

    python -m benchmarks.speech_arctic --run NAME=RUN_DIR [--run NAME=RUN_DIR ...] [--lm-eval NAME=FILE]

Nothing here is typed in: each row is read from a run's ``config.yaml`` (the exact training command is
rebuilt from the fields that differ from the defaults), ``final.json`` and ``metrics.jsonl``, and from
the ``speech.lm_eval`` JSON (greedy, lexicon beam and LM beam on the same emissions, decode speed).
The recipe behind the main row is ``recipes/speech/arctic.yaml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import yaml

RESULTS = Path(__file__).parent / "results" / "speech_arctic.json"
TARGETS = {
    "greedy_cer": 0.12,
    "greedy_wer": 0.35,
    "lm_beam_wer": 0.25,
    "train_minutes": 60.0,
    "rtf_greedy": 0.02,
}


def training_command(config: dict) -> str:
    """``python -m speech.train [--recipe R]`` with every field that differs from what the defaults and
    that recipe (as the file reads today) give, so the command reproduces the run."""
    from core.engine.recipes import load_recipe
    from speech.train import SpeechConfig

    base = {
        f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
        for f in dataclasses.fields(SpeechConfig)
    }
    recipe = config.get("recipe")
    if recipe:
        base.update(load_recipe(recipe, domain="speech", config_cls=SpeechConfig).values)
    flags = [
        "--recipe",
        recipe or "none",
    ]  # none: a run from before recipes, built-in defaults under its flags
    for name, value in config.items():
        if name in ("config", "out", "recipe", "progress", "overwrite", "resume") or value == base.get(name):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags.append(f"{flag} {value}")
    return " ".join(["python -m speech.train", *flags, "--out", str(config["out"])])


def unfinished_row(name: str, run: Path, config: dict) -> dict:
    """A run stopped before it wrote final.json: how far its last checkpoint got."""
    import torch

    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True, map_location="cpu")
    return {
        "name": name,
        "seed": config["seed"],
        "command": training_command(config),
        "run_dir": str(run),
        "stopped": "interrupted",
        "epochs_completed": state["epoch"],
        "steps": state["step"],
        "train_minutes": round((state["train_seconds"] + state["partial"]["seconds"]) / 60, 2),
    }


def run_row(name: str, run: Path) -> dict:
    config = yaml.safe_load((run / "config.yaml").read_text())
    if not (run / "final.json").is_file():
        return unfinished_row(name, run, config)
    final = json.loads((run / "final.json").read_text())
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return {
        "name": name,
        "seed": config["seed"],
        "command": training_command(config),
        "run_dir": str(run),
        "train_minutes": round(final["train_seconds"] / 60, 2),
        "epochs": final["epochs"],
        "stopped": final["stopped"],
        "params": final["params"],
        "threads": final["env"]["threads"],
        "test_greedy": final["test"],
        "val_best": final["val_best"],
        "best_epoch": final["best_epoch"],
        "averaged": final.get("averaged"),
        "init_backbone": config.get("init_backbone"),
        "normalizer": final.get("data", {}).get("normalizer"),
        "val_cer_by_epoch": [round(h["val_cer"], 4) for h in history],
        "train_samples_per_s": [h["samples_per_s"] for h in history],
    }


def pretraining_of(row: dict) -> dict | None:
    """The speech run an ``--init-backbone`` checkpoint came from (its minutes count toward the
    budget): data, command, minutes, epochs and its own test figures (on its own data)."""
    source = Path(row["init_backbone"]).parent.parent if row.get("init_backbone") else None
    if source is None or not (source / "final.json").is_file() or not (source / "config.yaml").is_file():
        return None
    config = yaml.safe_load((source / "config.yaml").read_text())
    final = json.loads((source / "final.json").read_text())
    return {
        "run_dir": str(source),
        "data": config.get("data"),
        "command": training_command(config),
        "train_minutes": round(final["train_seconds"] / 60, 2),
        "epochs": final["epochs"],
        "test_greedy": final["test"],
    }


def lm_rows(path: Path) -> dict:
    result = json.loads(path.read_text())
    keep = ("wer", "cer", "utterances", "unknown_tokens", "decode_seconds", "rtf", "scored_of_listed")
    return {
        "lm": result["lm"],
        "beam": result["beam"],
        "lexicon_words": result["lexicon_words"],
        "threads": result["threads"],
        "greedy": {k: result["greedy"]["test"].get(k) for k in keep},
        "lexicon_beam": {k: result["lexicon_beam"]["test"].get(k) for k in keep},
        "lm_beam": {
            "lm_weight": result["lm_beam"]["lm_weight"],
            "word_score": result["lm_beam"]["word_score"],
            "val_wer": result["lm_beam"]["val"]["wer"],
            **{k: result["lm_beam"]["test"].get(k) for k in keep},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speech_arctic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR (repeatable)")
    parser.add_argument(
        "--lm-eval", action="append", default=[], help="NAME=speech.lm_eval JSON (repeatable)"
    )
    parser.add_argument(
        "--note", action="append", help="a sentence on how the figures were made (repeatable)"
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    rows = [run_row(*item.split("=", 1)[0:1], Path(item.split("=", 1)[1])) for item in args.run]
    for row in rows:
        pretraining = pretraining_of(row)
        if pretraining is not None:
            row["pretraining"] = pretraining
    for item in args.lm_eval:
        name, path = item.split("=", 1)
        for row in rows:
            if row["name"] == name:
                row["decoding"] = lm_rows(Path(path))
    notes = args.note or []
    Path(args.out).write_text(json.dumps({"targets": TARGETS, "notes": notes, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}: {', '.join(r['name'] for r in rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
