"""Greedy against word-LM beam decoding of one checkpoint on its validation and test splits, side by side.

    python -m speech.lm_eval --checkpoint RUN/checkpoints/best.pt --lm LM.arpa --out RUN/lm_eval.json

Every utterance of a split is scored against its reference through ``speech.normalize`` (raw transcript,
so characters the model cannot emit count as errors). The LM weight and word score are chosen on
validation only, then applied once to test. Decode speed: seconds of reading audio, features and the
acoustic model, seconds of each decoder over the split, and the real-time factor (all processing
seconds / audio seconds), one utterance at a time as a user would transcribe.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from functools import partial
from pathlib import Path

import torch

from core.engine.checkpoint import load_for_inference
from core.errors import ConfigError, DataError, RnnsuiteError
from speech.corpora import list_corpus
from speech.data import evenly_spread
from speech.decode import BeamDecoder, greedy_decode
from speech.normalize import normalize
from speech.predictor import SpeechPredictor
from speech.task import ErrorRates


def arpa_words(path: Path) -> list[str]:
    """The words of an ARPA file's 1-gram section (sentence markers and <unk> left out)."""
    words, inside = [], False
    with Path(path).open() as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("\\"):
                inside = line == "\\1-grams:"
                continue
            parts = line.split("\t")
            if inside and len(parts) >= 2 and parts[1] not in ("<s>", "</s>", "<unk>"):
                words.append(parts[1])
    if not words:
        raise ConfigError(f"--lm {path}: no 1-grams found (not an ARPA file?)")
    return words


def split_emissions(predictor: SpeechPredictor, cfg, split: str, *, limit: int = 0) -> dict:
    """Log-probabilities (T', V) per utterance of ``split`` (None for an unreadable file: scored as an
    empty transcript), normalised references, audio seconds and seconds spent reading audio, computing
    features and running the model, one utterance at a time through the predictor, as a user would."""
    clips = list_corpus(
        cfg.data,
        sample_rate=predictor.sample_rate,
        max_seconds=cfg.max_seconds,
        num_utts=cfg.num_utts,
        seed=cfg.split_seed,
    )[split]
    clips = evenly_spread(clips, limit)  # as training's --limit-eval; reported figures use every utterance
    emissions, audio_seconds, started = [], 0.0, time.perf_counter()
    for clip in clips:
        try:
            wave = clip.make()  # (N,)
        except DataError as err:
            print(f"speech.lm_eval: {err}: scored as an empty transcript", file=sys.stderr)
            emissions.append(None)
            continue
        audio_seconds += wave.numel() / predictor.sample_rate
        emissions.append(predictor.emissions(wave).log_softmax(-1))  # (T', V), features as in training
    return {
        "emissions": emissions,
        "references": [normalize(c.text) for c in clips],
        "audio_seconds": audio_seconds,
        "model_seconds": time.perf_counter() - started,
        "listed": len(clips),
    }


def score(decode, data: dict) -> dict:
    """WER/CER of ``decode`` (list of (T', V) -> list of str) over every utterance, and its seconds."""
    rates, started = ErrorRates(), time.perf_counter()
    for emission in data["emissions"]:
        hypothesis = decode(emission) if emission is not None else ""
        rates.add(hypothesis, data["references"][rates.utterances])
    seconds = time.perf_counter() - started
    rtf = (data["model_seconds"] + seconds) / data["audio_seconds"]
    return {
        **rates.result(),
        "decode_seconds": round(seconds, 3),
        "rtf": round(rtf, 5),
        "scored_of_listed": f"{rates.utterances}/{data['listed']}",
    }


def one_at_a_time(decoder):
    return lambda emission: decoder(emission.unsqueeze(0), torch.tensor([emission.shape[0]]))[0]


def evaluate(
    checkpoint: Path, lm: Path, *, beam: int, weights: list[float], word_scores: list[float], limit: int = 0
) -> dict:
    from speech.train import DOMAIN

    model, cfg, meta = load_for_inference(checkpoint, DOMAIN)
    predictor = SpeechPredictor(model=model, meta=meta)
    vocab = predictor.vocab
    lexicon = sorted(set(arpa_words(lm)) | set(meta["train_words"]))
    data = {split: split_emissions(predictor, cfg, split, limit=limit) for split in ("val", "test")}
    greedy = one_at_a_time(lambda e, n: greedy_decode(e, n, vocab))
    result = {
        "checkpoint": str(checkpoint),
        "lm": str(lm),
        "beam": beam,
        "lexicon_words": len(lexicon),
        "threads": torch.get_num_threads(),
        "greedy": {split: score(greedy, data[split]) for split in data},
    }
    lexicon_only = one_at_a_time(BeamDecoder(vocab, beam_size=beam, lexicon=lexicon))
    result["lexicon_beam"] = {split: score(lexicon_only, data[split]) for split in data}
    lm_beam = partial(BeamDecoder, vocab, beam_size=beam, lexicon=lexicon, lm=str(lm))
    tuning = tune_on_val(lm_beam, data["val"], weights=weights, word_scores=word_scores)
    chosen = min(tuning, key=lambda row: (row["wer"], row["cer"]))
    decoder = lm_beam(lm_weight=chosen["lm_weight"], word_score=chosen["word_score"])
    result["lm_beam"] = {
        "lm_weight": chosen["lm_weight"],
        "word_score": chosen["word_score"],
        "val": chosen,
        "test": score(one_at_a_time(decoder), data["test"]),
    }
    result["tuning_on_val"] = tuning
    return result


def tune_on_val(lm_beam, val, *, weights: list[float], word_scores: list[float]) -> list[dict]:
    """Validation scores of the LM beam at every (LM weight, word score) of the grid."""
    tuning = []
    for weight, word_score in itertools.product(weights, word_scores):
        decoder = lm_beam(lm_weight=weight, word_score=word_score)
        tuning.append({"lm_weight": weight, "word_score": word_score, **score(one_at_a_time(decoder), val)})
        print(f"val lm_weight={weight} word_score={word_score}: wer={tuning[-1]['wer']:.4f}", file=sys.stderr)
    return tuning


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speech.lm_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--lm", required=True, help="ARPA file (python -m speech.lm)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--beam", type=int, default=32)
    parser.add_argument("--lm-weights", type=float, nargs="+", default=[0.5, 1.0, 1.5])
    parser.add_argument("--word-scores", type=float, nargs="+", default=[-1.0, 0.0, 1.0])
    parser.add_argument(
        "--limit", type=int, default=0, help="N utterances per split, as --limit-eval picks them (0 = all)"
    )
    args = parser.parse_args(argv)
    try:
        if args.beam < 1:
            raise ConfigError(f"--beam must be at least 1, got {args.beam}")
        result = evaluate(
            Path(args.checkpoint),
            Path(args.lm),
            beam=args.beam,
            weights=args.lm_weights,
            word_scores=args.word_scores,
            limit=args.limit,
        )
    except RnnsuiteError as err:
        print(f"speech.lm_eval: {err}", file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for row in ("greedy", "lexicon_beam"):
        print(
            f"{row}: test wer={result[row]['test']['wer']:.4f} cer={result[row]['test']['cer']:.4f} "
            f"rtf={result[row]['test']['rtf']:.4f}"
        )
    lm_test = result["lm_beam"]["test"]
    print(f"lm_beam: test wer={lm_test['wer']:.4f} cer={lm_test['cer']:.4f} rtf={lm_test['rtf']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
