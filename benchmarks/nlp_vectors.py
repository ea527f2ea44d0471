"""Pretrained-vector results: collect finished runs into ``benchmarks/results/nlp_vectors.json``.

The runs themselves are ordinary ``python -m nlp.train`` invocations (the recipes in
``recipes/nlp/``), started one at a time through the heavy-job lock by a shell loop whose log
echoes every command as ``=== HH:MM:SS NAME: python -m nlp.train ... --out ROOT/nlp-NAME``.
This script reads that log and each run's ``final.json`` (or ``cv.json`` for ``--cv``) and writes
one row per task: every seed's test accuracy, mean / sample std / median, minutes, and the
TF-IDF+LR and NBSVM-bi baselines on the same split, each with its exact command.

    python -m benchmarks.nlp_vectors --log /work/runs/nlp-experiments.log --runs /work/runs
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "nlp_vectors.json"
TARGETS = {"sst2p": 0.875, "sst5": 0.480, "mr": 0.810, "imdb": 0.920}
REFERENCES = {
    "sst2p": "Kim CNN-static 86.8 %, BiLSTM (Tai 2015) 87.5 % (300-d vectors); sentence-level BiLSTM here 80.0 %",
    "sst5": "CNN-static 45.5 %, BiLSTM (Tai 2015) 49.1 %",
    "mr": "CNN-static 81.0 %, SA-LSTM 80.7 %, NBSVM (paper) 79.4 %; from-scratch BiLSTM here 75.8 %",
    "imdb": "NBSVM-bi (Wang & Manning 2012) 91.2 %, SA-LSTM 92.8 %, ULMFiT 95.4 %",
}
_COMMAND = re.compile(r"^=== \S+ (\S+): (python -m nlp\.train .*)$")


def commands(log: Path) -> dict[str, str]:
    """Run name -> the exact command, from the experiment log."""
    found = {}
    for line in log.read_text().splitlines():
        match = _COMMAND.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def outcome(folder: Path) -> dict | None:
    """Test accuracy and minutes of a finished run (cv.json: mean over folds), or None if unfinished."""
    if (folder / "cv.json").is_file():
        cv = json.loads((folder / "cv.json").read_text())
        accuracy = cv["test"]["accuracy"]
        return {
            "accuracy": accuracy["mean"],
            "fold_std": accuracy["std"],
            "folds": accuracy["folds"],
            "minutes": round(cv["train_seconds"] / 60, 2),
        }
    if not (folder / "final.json").is_file():
        return None
    final = json.loads((folder / "final.json").read_text())
    row = {
        "accuracy": final["test"]["accuracy"],
        "macro_f1": final["test"].get("macro_f1"),
        "minutes": round(float(final.get("train_seconds") or 0) / 60, 2),
    }
    for key in ("best_epoch", "epochs", "stopped", "data"):
        if key in final:
            row[key] = final[key]
    if "val_best" in final:
        row["val_accuracy"] = final["val_best"].get("accuracy")
    return row


def spread(values: list[float]) -> dict:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "median": statistics.median(values),
        "values": values,
    }


def collect(log: Path, runs: Path) -> dict:
    """{task: {seeds: [...], summary, baselines}} for every task prefix found in the log."""
    tasks: dict[str, dict] = {}
    for name, command in commands(log).items():
        result = outcome(runs / f"nlp-{name}")
        if result is None:
            continue
        task, _, variant = name.partition("-")
        entry = tasks.setdefault(
            task,
            {"target": TARGETS.get(task), "reference": REFERENCES.get(task), "runs": {}, "baselines": {}},
        )
        kind = "baselines" if variant in ("tfidf", "nbsvm") else "runs"
        entry[kind][variant] = {**result, "command": command, "run_dir": str(runs / f"nlp-{name}")}
    for entry in tasks.values():
        groups: dict[str, list[float]] = {}
        for variant, row in entry["runs"].items():
            groups.setdefault(re.sub(r"-s\d+$", "", variant), []).append(row["accuracy"])
        entry["summary"] = {group: spread(values) for group, values in groups.items()}
    return tasks


def ensemble_row(path: Path) -> dict:
    """An ``rnnsuite eval`` JSON over several checkpoints: its members, items scored and accuracy."""
    result = json.loads(path.read_text())
    return {
        "accuracy": result["metrics"]["accuracy"],
        "members": result["checkpoints"],
        "items": result["items"],
        "split": result["split"],
        "command": "rnnsuite eval "
        + " ".join(f"--checkpoint {c}" for c in result["checkpoints"])
        + f" --split {result['split']}",
        "source": str(path),
    }


def earlier_mr_rows(path: Path = RESULTS.parent / "nlp.json") -> dict:
    """MR baselines and the from-scratch BiLSTM measured by ``benchmarks.nlp`` on the same 10 folds
    (same rows, same ``--split-seed 0``), so they are not re-run here."""
    if not path.is_file():
        return {}
    mr = json.loads(path.read_text()).get("mr", {})
    rows = {
        name: {
            "accuracy": mr[name]["accuracy"],
            "fold_std": mr[name]["std"],
            "command": f"python -m nlp.train --data mr --cv 10 --baseline {name} --seed 0",
            "source": str(path.name),
        }
        for name in ("tfidf", "nbsvm")
        if name in mr
    }
    if "rnn_seeds" in mr:
        rows["no-vectors-bilstm"] = {
            **spread(mr["rnn_seeds"]["values"]),
            "flags": mr.get("flags"),
            "source": str(path.name),
        }
    return rows


BEGIN, END = "<!-- nlp_vectors:begin -->", "<!-- nlp_vectors:end -->"
LABELS = {"sst2p": "SST-2 (phrases)", "sst5": "SST-5 (phrases)", "mr": "MR 10-fold", "imdb": "IMDB"}


MODELS = {
    "glove": "BiLSTM-150, GloVe-50d (static + trained)",
    "glove-cv10": "BiLSTM-150, GloVe-50d (static + trained)",
    "glove2ep": "the same, 2 epochs",
    "glove5ep": "the same, 5 epochs",
    "novec": "the same, random 100-d embeddings (no vectors)",
    "lm": "the same, embedding + backbone from the IMDB language model",
    "lmslow": "the same, LM-initialised, backbone at 0.3x the learning rate",
}


def markdown(tasks: dict) -> str:
    """The results table (generated from the results file, never typed)."""
    lines = [
        BEGIN,
        "",
        "### Pretrained vectors and LM pretraining (`benchmarks/results/nlp_vectors.json`, `recipes/nlp/`)",
        "",
        "| task | model | median (mean ± std, seeds) | minutes / run | TF-IDF + LR | NBSVM-bi | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, entry in tasks.items():
        if task.startswith("_"):  # not a task: the language model's own row, below the table
            continue
        base = {name: f"{row['accuracy']:.1%}" for name, row in entry["baselines"].items()}
        for group, stats in entry["summary"].items():
            runs = [row for name, row in entry["runs"].items() if re.sub(r"-s\d+$", "", name) == group]
            seeds = len(stats["values"])
            spread_text = f"{stats['mean']:.1%} ± {stats['std']:.1%}, {seeds} seed{'s' if seeds > 1 else ''}"
            if len(runs) == 1 and "fold_std" in runs[0]:
                spread_text = f"± {runs[0]['fold_std']:.1%} over {len(runs[0]['folds'])} folds, 1 seed"
            lines.append(
                f"| {LABELS.get(task, task)} | {MODELS.get(group, group)} | {stats['median']:.1%} ({spread_text}) | "
                f"{statistics.fmean(row['minutes'] for row in runs):.1f} | {base.get('tfidf', '-')} | "
                f"{base.get('nbsvm', '-')} | {entry['target']:.1%} |"
            )
        ensemble = entry.get("ensemble")
        if ensemble:
            groups = {re.sub(rf"^nlp-{task}-|-s\d+$", "", Path(m).parts[-3]) for m in ensemble["members"]}
            kinds = ", ".join(MODELS.get(g, g) for g in sorted(groups))
            lines.append(
                f"| {LABELS.get(task, task)} | ensemble of {len(ensemble['members'])} seeds ({kinds}; mean "
                f"probabilities, `rnnsuite eval`) | {ensemble['accuracy']:.1%} | - | "
                f"{base.get('tfidf', '-')} | {base.get('nbsvm', '-')} | {entry['target']:.1%} |"
            )
    lines += [
        "",
        *lm_lines(tasks.get("_lm_pretraining")),
        "Commands, per-seed figures and run folders: the results file.",
        "",
        END,
    ]
    return "\n".join(lines)


def lm_run(folder: Path) -> dict:
    """The language model the "lm" rows start from: held-out perplexity, steps, minutes, command."""
    import yaml

    final = json.loads((folder / "final.json").read_text())
    config = yaml.safe_load((folder / "config.yaml").read_text())
    keys = (
        "cell",
        "hidden",
        "bidirectional",
        "vocab_size",
        "vectors",
        "bptt",
        "batch_size",
        "lr",
        "max_minutes",
    )
    return {
        "run_dir": str(folder),
        "data": config.get("data"),
        "settings": {k: config.get(k) for k in keys},
        "heldout_perplexity": final["heldout_perplexity"],
        "initial_perplexity": final["initial_perplexity"],
        "steps": final["steps"],
        "planned_steps": final["planned_steps"],
        "train_tokens": final["train_tokens"],
        "minutes": round(final["train_seconds"] / 60, 2),
        "stopped": final["stopped"],
    }


def lm_lines(lm: dict | None) -> list[str]:
    if not lm:
        return []
    ppl = lm["heldout_perplexity"]
    return [
        f"Language model ({lm['data']}, {lm['settings']['cell']} {lm['settings']['hidden']} bidirectional, "
        f"vocabulary {lm['settings']['vocab_size']}, {lm['settings']['vectors']} start): held-out perplexity "
        f"{ppl['forward']:.1f} forward / {ppl['backward']:.1f} backward after {lm['steps']} of "
        f"{lm['planned_steps']} steps of one epoch ({lm['minutes']:.1f} min, stopped by {lm['stopped']}).",
        "",
    ]


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.is_file() else "# Results\n\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--lm-run", type=Path, help="the nlp.pretrain run folder the 'lm' rows start from")
    parser.add_argument(
        "--markdown", type=Path, help="also write the table into this file (e.g. docs/RESULTS.md)"
    )
    parser.add_argument(
        "--ensemble", action="append", default=[], help="TASK=an rnnsuite eval JSON of several checkpoints"
    )
    args = parser.parse_args()
    tasks = collect(args.log, args.runs)
    for item in args.ensemble:
        task, _, path = item.partition("=")
        tasks[task]["ensemble"] = ensemble_row(Path(path))
    if "mr" in tasks:
        earlier = earlier_mr_rows()
        tasks["mr"]["baselines"].update({k: v for k, v in earlier.items() if k in ("tfidf", "nbsvm")})
        if "no-vectors-bilstm" in earlier:
            tasks["mr"]["ablation_no_vectors"] = earlier["no-vectors-bilstm"]
    if args.lm_run:
        tasks["_lm_pretraining"] = lm_run(args.lm_run)
    args.results.write_text(json.dumps(tasks, indent=2) + "\n")
    for task, entry in tasks.items():
        for group, stats in entry.get("summary", {}).items():
            print(
                f"{task:6s} {group:18s} median {stats['median']:.4f}  mean {stats['mean']:.4f} ± {stats['std']:.4f} "
                f"(n={len(stats['values'])}; target {entry['target']})"
            )
        for name, row in entry.get("baselines", {}).items():
            print(f"{task:6s} {name:18s} {row['accuracy']:.4f}")
    if args.markdown:
        write_section(args.markdown, markdown(tasks))
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
