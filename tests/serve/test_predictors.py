"""The Predictor contract: each domain's load_predictor, JSON-able info, and the nlp CLI's light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from serve_helpers import ROOT, spoken

from core.engine.predictor import Predictor


def test_nlp_prediction_imports_no_training_stack():
    code = (
        "import sys, nlp.predict, nlp.predictor; "
        "print(sorted(m for m in ('sklearn', 'nlp.train', 'matplotlib', 'tyro') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-500:]


@pytest.mark.parametrize("domain", ["nlp", "vision", "speech"])
def test_domain_predictor_follows_the_contract(tiny_checkpoints, domain):
    from core.tools.cli import find_domain

    predictor = find_domain(domain).load_predictor(tiny_checkpoints[domain], "cpu")
    assert isinstance(predictor, Predictor) and predictor.domain == domain
    info = json.loads(json.dumps(predictor.info))  # JSON-able
    assert info["name"] == f"{domain}-tiny" and info["params"] > 0 and info["metrics"]
    inputs = {
        "nlp": ["a good film", "dull"],
        "vision": [Image.fromarray(np.full((8, 8), 200, np.uint8)), Image.new("RGB", (30, 20))],
        "speech": [(spoken("five", 8000), 8000), (spoken("one two", 16000), 16000)],
    }[domain]
    results = predictor.predict(inputs)
    assert len(results) == 2
    for result in results:
        if domain == "speech":
            assert set(result) == {"transcript", "audio_seconds", "decode_seconds"}
        else:
            assert result["label"] in info["classes"] and set(result["probabilities"]) == set(info["classes"])
            assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
