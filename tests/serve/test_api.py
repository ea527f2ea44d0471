"""The HTTP contract against a live server: every endpoint, every error code, answers equal the predictors'."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from serve_helpers import digit_png, spoken, wav_bytes


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.url, timeout=60) as session:
        yield session


def assert_error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and fragment in body["error"] and "\n" not in body["error"]


def test_health_and_models(client, live_server):
    assert client.get("/healthz").json() == {"status": "ok"}
    models = {m["domain"]: m for m in client.get("/v1/models").json()["models"]}
    assert set(models) == {"nlp", "vision", "speech"}
    assert models["nlp"]["name"] == "nlp-tiny" and models["nlp"]["classes"] == ["negative", "positive"]
    assert models["vision"]["classes"] == [str(d) for d in range(10)]
    assert models["speech"]["vocabulary"][0] and models["speech"]["sample_rate"] == 8000
    for model in models.values():
        assert model["params"] > 0 and ("accuracy" in model["metrics"] or "wer" in model["metrics"])
        assert model["streaming"] == (model["domain"] == "speech") and "recipe" in model
    assert [models[d]["input_kind"] for d in ("nlp", "vision", "speech")] == ["text", "image", "audio"]


def test_text_prediction_matches_the_predictor(client, live_server, tiny_checkpoints):
    from nlp.predictor import load_predictor

    texts = ["the plot was very good", "a dull and lifeless film"]
    answer = client.post(
        f"/v1/{live_server.names['nlp']}/predict", json={"inputs": texts, "explain": True}
    ).json()
    expected = load_predictor(tiny_checkpoints["nlp"]).predict(texts)
    for got, want in zip(answer["results"], expected):
        assert got["label"] == want["label"]
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)
        assert len(got["tokens"]) == len(got["prefix_probabilities"]) > 0
        last = got["prefix_probabilities"][-1]  # the whole text is the last prefix
        assert last == pytest.approx([want["probabilities"][c] for c in ("negative", "positive")], abs=1e-5)


def test_image_prediction_with_rows(client, live_server):
    files = [
        ("files", ("zero.png", digit_png(0), "image/png")),
        ("files", ("one.png", digit_png(1), "image/png")),
    ]
    answer = client.post(
        f"/v1/{live_server.names['vision']}/predict", files=files, data={"explain": "true"}
    ).json()
    assert [r["label"] for r in answer["results"]] == ["0", "1"]  # sklearn digits 0 and 1, seen in training
    for result in answer["results"]:
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        rows = result["row_probabilities"]
        assert len(rows) == 8 and rows[-1] == pytest.approx(list(result["probabilities"].values()), abs=1e-5)


def test_audio_prediction_matches_offline_transcription(client, live_server, tiny_checkpoints):
    from speech.predictor import load_predictor

    samples = spoken("four two", 16000)  # another rate than the model's on purpose
    answer = client.post(
        f"/v1/{live_server.names['speech']}/predict",
        files=[("files", ("a.wav", wav_bytes(samples, 16000), "audio/wav"))],
    ).json()
    result = answer["results"][0]
    predictor = load_predictor(tiny_checkpoints["speech"])
    expected = predictor.predict([(samples.astype(np.float32), 16000)])[0]["transcript"]
    assert result["transcript"] == expected and isinstance(expected, str)
    assert (
        result["audio_seconds"] == pytest.approx(len(samples) / 16000, abs=1e-3)
        and result["decode_seconds"] > 0
    )


@pytest.mark.parametrize(
    "case",
    [
        "unknown-model",
        "nlp-multipart",
        "vision-json",
        "bad-json",
        "not-a-list",
        "empty-text",
        "long-text",
        "no-files",
        "bad-image",
        "bad-audio",
        "long-audio",
        "too-many",
        "big-body",
    ],
)
def test_each_bad_input_is_one_json_line(client, live_server, case):
    nlp, vision, speech = (f"/v1/{live_server.names[d]}/predict" for d in ("nlp", "vision", "speech"))
    requests = {
        "unknown-model": (
            lambda: client.post("/v1/nope/predict", json={"inputs": ["x"]}),
            404,
            "unknown model",
        ),
        "nlp-multipart": (
            lambda: client.post(nlp, files={"files": ("a.txt", b"x")}),
            415,
            "application/json",
        ),
        "vision-json": (lambda: client.post(vision, json={"inputs": ["x"]}), 415, "multipart/form-data"),
        "bad-json": (
            lambda: client.post(nlp, content=b"{oops", headers={"content-type": "application/json"}),
            400,
            "not valid JSON",
        ),
        "not-a-list": (lambda: client.post(nlp, json={"inputs": "good"}), 422, "'inputs'"),
        "empty-text": (
            lambda: client.post(nlp, json={"inputs": ["fine", "  "]}),
            400,
            "inputs[1]: empty text",
        ),
        "long-text": (
            lambda: client.post(nlp, json={"inputs": ["a" * 20_001]}),
            413,
            "inputs[0]: 20001 characters",
        ),
        "no-files": (lambda: client.post(vision, files={"other": ("a.png", digit_png(0))}), 422, "no inputs"),
        "bad-image": (
            lambda: client.post(vision, files={"files": ("x.png", b"not an image")}),
            400,
            "files[0] (x.png): not a readable image",
        ),
        "bad-audio": (
            lambda: client.post(speech, files={"files": ("x.wav", b"RIFF0000WAVEjunk")}),
            400,
            "files[0] (x.wav): not readable",
        ),
        "long-audio": (
            lambda: client.post(speech, files={"files": ("long.wav", wav_bytes(np.zeros(8000 * 61), 8000))}),
            413,
            "61.0 s of audio, the limit is 60 s",
        ),
        "too-many": (lambda: client.post(nlp, json={"inputs": ["good"] * 65}), 413, "65 inputs"),
        "big-body": (
            lambda: client.post(
                nlp, content=b" " * (17 * 2**20), headers={"content-type": "application/json"}
            ),
            413,
            "request body of",
        ),
    }
    send, status, fragment = requests[case]
    assert_error(send(), status, fragment)
    assert client.get("/healthz").status_code == 200  # still serving


def test_metrics_count_requests_latency_and_queue(client, live_server):
    client.post(f"/v1/{live_server.names['nlp']}/predict", json={"inputs": ["good"]})
    client.post("/v1/nope/predict", json={"inputs": ["x"]})
    text = client.get("/metrics").text
    name = live_server.names["nlp"]
    assert f'rnnsuite_requests_total{{model="{name}",route="/v1/{{model}}/predict",status="200"}}' in text
    assert 'status="404"' in text and "rnnsuite_queue_depth 0" in text
    assert (
        f'rnnsuite_request_seconds_bucket{{model="{name}",route="/v1/{{model}}/predict",le="+Inf"}}' in text
    )
