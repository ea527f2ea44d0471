"""Speech benchmark on the real data in $RNNSUITE_DATA: CTC word/char error rates against each
run's targets (upper bounds, below), greedy and beam decoding, training minutes, real-time factor, and the
lstm / gru / mingru backbones side by side on fsdd-strings under one budget.

    flock /tmp/rnnsuite-heavy.lock python -m benchmarks.speech [--only strings,fsdd,yesno]

Each run trains through ``speech.train``'s own ``train_main`` (run directories under
``runs/bench-speech/``); the best checkpoint is then decoded again on the test split with
beam search (lexicon-free and with the training words). Rows are merged into
``benchmarks/results/speech.json`` so a section run alone keeps the others' rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from core.engine.checkpoint import load_for_inference
from core.engine.run import train_main
from speech.corpora import list_corpus
from speech.data import build_data
from speech.decode import BeamDecoder, greedy_decode
from speech.task import ErrorRates
from speech.text import Vocab
from speech.train import DOMAIN
from speech.transcribe import Transcriber

RESULTS = Path(__file__).parent / "results" / "speech.json"
THREADS = 2  # training threads (--threads); RTF is always measured on one
RUNS = Path("runs/bench-speech")
# every setting of these runs lives in its recipe (recipes/speech/*.yaml); yesno leans on
# augmentation (30 training files): spliced utterances, time stretch and SpecAugment
STRINGS = ["--recipe", "speech/fsdd-strings"]
YESNO = ["--recipe", "speech/yesno"]
# name -> (flags, targets); targets are upper bounds on test error rates
SECTIONS = {
    # the target run: 15 full epochs
    "strings": {"fsdd-strings-lstm-15ep": (STRINGS + ["--cell", "lstm"], {"wer": 0.02, "cer": 0.015})},
    # backbones side by side under one 5-minute training budget
    "cells": {
        f"fsdd-strings-{cell}": (
            STRINGS + ["--max-minutes", "5", "--cell", cell],
            {"wer": 0.02, "cer": 0.015},
        )
        for cell in ("lstm", "gru", "mingru")
    },
    "fsdd": {"fsdd-lstm": (["--recipe", "speech/fsdd"], {"wer": 0.03})},
    # Kaldi's split (sorted names, first half train); three seeds, because 30 training files
    # make the held-out WER swing with the initialisation
    "yesno": {f"yesno-lstm-seed{seed}": (YESNO + ["--seed", str(seed)], {"wer": 0.0}) for seed in (0, 1, 2)},
}


def decode_test(run: Path, *, beam: int = 16) -> dict:
    """Greedy, lexicon-free beam and lexicon beam error rates of the best checkpoint on test."""
    model, cfg, meta = load_for_inference(run / "checkpoints" / "best.pt", DOMAIN)
    data = build_data(dataclasses.replace(cfg, progress=False))
    vocab = Vocab.from_meta(meta["vocab"])
    decoders = {
        "greedy": None,
        "beam": BeamDecoder(vocab, beam_size=beam),
        "beam_lexicon": BeamDecoder(vocab, beam_size=beam, lexicon=meta["train_words"]),
    }
    rates = {name: ErrorRates() for name in decoders}
    with torch.no_grad():
        for batch in data.test:
            logits, lengths = model(batch.inputs, batch.lengths)  # (B, T', V)
            log_probs = logits.log_softmax(-1)
            refs = [
                vocab.decode(t[:n]) for t, n in zip(batch.targets.tolist(), batch.target_lengths.tolist())
            ]
            for name, decoder in decoders.items():
                hyps = (
                    greedy_decode(log_probs, lengths, vocab)
                    if decoder is None
                    else decoder(log_probs, lengths)
                )
                for hyp, ref in zip(hyps, refs):
                    rates[name].add(hyp, ref)
    return {name: r.result() for name, r in rates.items()}


def real_time_factor(run: Path, *, count: int = 100, beam: int = 0) -> float:
    """Processing seconds per audio second: features + model + decoding, one utterance at a time."""
    model, cfg, meta = load_for_inference(run / "checkpoints" / "best.pt", DOMAIN)
    transcriber = Transcriber(model=model, meta=meta, beam=beam)
    clips = list_corpus(
        cfg.data,
        sample_rate=transcriber.sample_rate,
        max_seconds=cfg.max_seconds,
        num_utts=cfg.num_utts,
        seed=cfg.split_seed,
    )["test"][:count]
    waves = [clip.make() for clip in clips]
    torch.set_num_threads(1)  # one stream, one core: the deployment case
    started = time.perf_counter()
    for wave in waves:
        transcriber(wave)
    busy = time.perf_counter() - started
    torch.set_num_threads(THREADS)
    return busy / (sum(w.numel() for w in waves) / transcriber.sample_rate)


def run_one(name: str, flags: list[str], targets: dict, *, reuse: bool = False) -> dict:
    out = RUNS / name
    argv = ["--seed", "0", *flags, "--out", str(out), "--no-progress"]  # a seed in flags wins
    reused = reuse and (out / "final.json").is_file() and _same_flags(out, argv)
    if not reused:
        if (out / "final.json").is_file():
            (out / "final.json").unlink()
        status = train_main(DOMAIN, argv)
        if status != 0:
            return {"name": name, "status": status}
    final = json.loads((out / "final.json").read_text())
    scores = decode_test(out)
    return {
        "name": name,
        "flags": flags,
        "targets": targets,
        "reused_run": reused,
        "threads": THREADS,
        "train_minutes": round(final["train_seconds"] / 60, 2),
        "epochs": final["epochs"],
        "params": final["params"],
        "test": scores,
        "rtf_greedy": round(real_time_factor(out), 4),
        "rtf_beam16": round(real_time_factor(out, beam=16), 4),
    }


def _same_flags(out: Path, argv: list[str]) -> bool:
    """The finished run in ``out`` was trained with exactly these flags (config.yaml agrees)."""
    from core.engine.config import load_config, parse_config

    try:
        ignore = {"out": "", "progress": False}  # where a run was written does not change it
        saved = dataclasses.replace(load_config(out / "config.yaml", DOMAIN.config_cls), **ignore)
        return saved == dataclasses.replace(parse_config(DOMAIN.config_cls, argv, domain="speech"), **ignore)
    except Exception:
        return False


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'run':22} {'wer greedy':>10} {'wer beam':>9} {'wer lex':>8} {'cer greedy':>10} {'cer beam':>9} "
        f"{'target wer/cer':>14} {'train min':>9} {'epochs':>6} {'rtf':>7}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        if "test" not in row:
            print(f"{row['name']:22} failed with status {row.get('status')}")
            continue
        t, g = row["test"], row["targets"]
        target = "/".join(f"{100 * g[k]:.1f}%" for k in ("wer", "cer") if k in g)
        print(
            f"{row['name']:22} {100 * t['greedy']['wer']:9.2f}% {100 * t['beam']['wer']:8.2f}% "
            f"{100 * t['beam_lexicon']['wer']:7.2f}% {100 * t['greedy']['cer']:9.2f}% {100 * t['beam']['cer']:8.2f}% "
            f"{target:>14} {row['train_minutes']:9.2f} {row['epochs']:6d} {row['rtf_greedy']:7.4f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speech", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS)
    )
    parser.add_argument(
        "--reuse", action="store_true", help="decode finished runs again instead of retraining"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="intra-op threads for training (1 beside another job)"
    )
    args = parser.parse_args(argv)
    global THREADS
    THREADS = args.threads
    torch.set_num_threads(THREADS)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    rows = {row["name"]: {"threads": previous.get("threads", 2), **row} for row in previous["rows"]}
    for section in args.only.split(","):
        for name, (flags, targets) in SECTIONS[section].items():
            rows[name] = run_one(name, flags, targets, reuse=args.reuse)
    ordered = [rows[n] for section in SECTIONS for n in SECTIONS[section] if n in rows]
    print_table(ordered)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"torch": torch.__version__, "rows": ordered}, indent=1) + "\n"
    )  # threads: per row


if __name__ == "__main__":
    main()
