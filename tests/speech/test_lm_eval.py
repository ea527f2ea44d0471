"""speech.lm_eval scores through the predictor: its greedy figures on a split equal training's own."""

from __future__ import annotations

import json
import random

import pytest
import soundfile as sf
import torch

from core.engine.checkpoint import load_for_inference
from core.engine.run import train_main
from speech.decode import greedy_decode
from speech.lm_eval import one_at_a_time, score, split_emissions
from speech.predictor import SpeechPredictor
from speech.train import DOMAIN
from speech.tts import Spec, synthesize

WORDS = "zero one two three four five six seven eight nine".split()


def spoken_manifest(folder, count: int) -> str:
    """``count`` eSpeak digit strings written once as WAV files (re-synthesis is not bit-exact)."""
    rng, rows = random.Random(0), []
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        sf.write(folder / f"u{i}.wav", synthesize(Spec(text), sample_rate=8000).numpy(), 8000)
        split = {0: "test", 1: "val"}.get(i % 5, "train")
        rows.append({"path": f"u{i}.wav", "transcript": text, "split": split})
    path = folder / "manifest.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.mark.slow
def test_lm_eval_reads_the_training_pipelines_inputs_and_scores_as_training(tmp_path, isolated_cache):
    torch.set_num_threads(1)
    manifest = spoken_manifest(tmp_path, 30)
    out = tmp_path / "run"
    flags = ["--data", manifest, "--epochs", "2", "--hidden", "16", "--conv-channels", "16", "--cmn"]
    assert train_main(DOMAIN, [*flags, "--batch-size", "6", "--out", str(out), "--no-progress"]) == 0
    model, cfg, meta = load_for_inference(out / "checkpoints" / "best.pt", DOMAIN)
    predictor = SpeechPredictor(model=model, meta=meta)
    data = split_emissions(predictor, cfg, "test")

    training_inputs = DOMAIN.build_data(cfg).test.dataset  # what training scored: (T, F) per utterance
    assert len(training_inputs) == len(data["emissions"]) == 6
    with torch.inference_mode():
        for i, emission in enumerate(data["emissions"]):
            x = training_inputs[i][0].unsqueeze(0)  # (1, T, F)
            logits, lengths = model(x, torch.tensor([x.shape[1]]))  # (1, T', V)
            torch.testing.assert_close(emission, logits[0, : int(lengths[0])].log_softmax(-1))
    final = json.loads((out / "final.json").read_text())["test"]
    greedy = score(one_at_a_time(lambda e, n: greedy_decode(e, n, predictor.vocab)), data)
    assert greedy["utterances"] == final["utterances"]
    assert (greedy["wer"], greedy["cer"]) == pytest.approx((final["wer"], final["cer"]))
