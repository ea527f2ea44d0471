"""The nlp Predictor: texts -> label and class probabilities (``core.engine.predictor``).

Imports only what inference needs (no scikit-learn, no training code), so a CLI call or a
server start pays for torch and the model, nothing else.

Example:
    predictor = load_predictor("runs/sst2/checkpoints/best.pt")
    predictor.predict(["a gorgeous film"], explain=True)[0]["prefix_probabilities"]
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core.engine.predictor import base_info, load_model, model_device
from core.errors import CheckpointError
from core.nn.sequence import pad_sequences
from nlp.data import encode_text
from nlp.model import build_model
from nlp.vocab import PAD_ID, Vocab, tokenize

MAX_TOKENS_FALLBACK = 5000
"""Token cap when the checkpoint kept whole texts (max_tokens 0): keeps one huge line cheap."""
EXPLAIN_MAX_TOKENS = 256
"""``explain`` scores every prefix (quadratic work): only the first this many tokens are explained."""


class NlpPredictor:
    """A text classifier loaded once; ``predict(texts)`` -> one result dict per text, in order.

    A text with no tokens gets ``{"label": None, "probabilities": {}, "error": reason}``.
    """

    domain = "nlp"
    input_kind = "text"  # the server reads a JSON list of strings
    explains = True  # predict(..., explain=True): probabilities after each prefix

    def __init__(self, *, model: nn.Module, meta: dict, info: dict):
        self.model, self.meta = model.eval(), meta
        self.vocab = Vocab.from_meta(meta.get("vocab") or {})
        self.classes = [str(c) for c in meta["classes"]]
        self.max_tokens = int(meta.get("max_tokens") or 0) or MAX_TOKENS_FALLBACK
        self.device = model_device(model)
        self.info = {**info, "classes": self.classes, "level": self.vocab.level}

    def encode(self, text: str) -> list[int]:
        return encode_text(text, self.vocab, self.max_tokens, self.meta.get("truncation", "head"))

    def _forward(self, sequences: list[Tensor]) -> Tensor:
        ids, lengths = pad_sequences(sequences, padding_value=PAD_ID)  # (B, T), (B,)
        return torch.softmax(self.model(ids.to(self.device), lengths).float(), dim=-1).cpu()  # (B, C)

    @torch.inference_mode()
    def probabilities(self, texts: list[str], *, batch_size: int = 64) -> tuple[list[int], Tensor]:
        """(indices of the texts that have tokens, their class probabilities (N', C))."""
        encoded = [
            (i, torch.tensor(ids, dtype=torch.long))
            for i, text in enumerate(texts)
            if (ids := self.encode(text))
        ]
        encoded.sort(key=lambda item: len(item[1]))  # similar lengths per batch: little padding
        probs = [
            self._forward([t for _, t in encoded[start : start + batch_size]])
            for start in range(0, len(encoded), batch_size)
        ]
        return [i for i, _ in encoded], torch.cat(probs) if probs else torch.zeros(0, len(self.classes))

    @torch.inference_mode()
    def explain(self, text: str) -> tuple[list[str], list[list[float]]]:
        """The text's tokens and the class probabilities after each prefix (tokens 1..k), in order."""
        tokens = tokenize(text, self.vocab.level)[: min(self.max_tokens, EXPLAIN_MAX_TOKENS)]
        ids = torch.tensor(self.vocab.encode(tokens), dtype=torch.long)
        if not len(ids):
            return [], []
        probs = self._forward([ids[:k] for k in range(1, len(ids) + 1)])  # (T, C)
        return tokens, [[round(p, 6) for p in row] for row in probs.tolist()]

    def predict(self, inputs: list[str], *, explain: bool = False) -> list[dict]:
        rows, probs = self.probabilities(list(inputs))
        results: list[dict] = [
            {"label": None, "probabilities": {}, "error": "no tokens after normalisation"} for _ in inputs
        ]
        for row, p in zip(rows, probs.tolist()):
            best = max(range(len(p)), key=p.__getitem__)
            results[row] = {"label": self.classes[best], "probabilities": dict(zip(self.classes, p))}
        if explain:
            for text, result in zip(inputs, results):
                if result["label"] is not None:
                    result["tokens"], result["prefix_probabilities"] = self.explain(text)
        return results


def load_predictor(checkpoint: str | Path, device: str | torch.device = "cpu") -> NlpPredictor:
    model, config, meta = load_model(
        checkpoint,
        domain="nlp",
        build_model=build_model,
        device=device,
        check_state=lambda state: check_vocabulary(state, str(checkpoint)),
    )
    info = base_info(checkpoint, domain="nlp", model=model, config=config)
    return NlpPredictor(model=model, meta=meta, info=info)


def check_vocabulary(state: dict, source: str) -> None:
    """CheckpointError (one line) when the stored vocabulary was altered or does not fit the embedding."""
    vocab = Vocab.from_meta(state["meta"].get("vocab") or {})
    rows = state["model"].get(
        "front.embedding.weight", state["model"].get("embedding.weight")
    )  # latter: older runs
    if rows is None or rows.shape[0] != len(vocab):
        found = "no embedding" if rows is None else f"an embedding of {rows.shape[0]} rows"
        raise CheckpointError(f"{source}: vocabulary has {len(vocab)} tokens but the model has {found}")
