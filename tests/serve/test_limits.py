"""Overload and slowness, made deterministic with a gate in front of a real predictor:
a full queue answers 503 with Retry-After, a slow prediction 504, and the server goes on."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from core.tools.serve.app import create_app
from core.tools.serve.registry import ServedModel


class Gated:
    """A real predictor whose calls wait until ``gate`` opens."""

    def __init__(self, predictor):
        self.predictor, self.gate, self.started = predictor, threading.Event(), threading.Event()
        self.domain, self.info = predictor.domain, predictor.info
        self.input_kind, self.explains = predictor.input_kind, predictor.explains

    def predict(self, inputs, **options):
        self.started.set()
        self.gate.wait(timeout=30)
        return self.predictor.predict(inputs, **options)


@pytest.fixture()
def gated(tiny_checkpoints):
    from nlp.predictor import load_predictor

    return Gated(load_predictor(tiny_checkpoints["nlp"]))


def run(coroutine):
    return asyncio.run(coroutine)


def test_full_queue_is_503_with_retry_after(gated):
    app = create_app({"m": ServedModel("m", gated)}, workers=1, queue_size=1, timeout_s=30)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = {"inputs": ["a good film"]}
            running = asyncio.create_task(client.post("/v1/m/predict", json=body))
            await asyncio.to_thread(gated.started.wait, 10)  # the worker is busy
            waiting = asyncio.create_task(client.post("/v1/m/predict", json=body))
            await asyncio.sleep(0.2)  # the second request sits in the queue
            refused = await client.post("/v1/m/predict", json=body)
            depth = (await client.get("/metrics")).text
            gated.gate.set()
            return refused, await running, await waiting, depth

    refused, first, second, depth = run(scenario())
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "queue full" in refused.json()["error"]
    assert "rnnsuite_queue_depth 1" in depth
    assert first.status_code == second.status_code == 200  # admitted work still completes
    assert first.json()["results"] == second.json()["results"]


def test_slow_prediction_is_504_and_the_server_goes_on(gated):
    app = create_app({"m": ServedModel("m", gated)}, workers=1, queue_size=4, timeout_s=0.3)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = await client.post("/v1/m/predict", json={"inputs": ["a good film"]})
            gated.gate.set()
            await asyncio.sleep(0.1)
            return slow, await client.post("/v1/m/predict", json={"inputs": ["a good film"]})

    slow, later = run(scenario())
    assert slow.status_code == 504 and "0.3 s limit" in slow.json()["error"]
    assert later.status_code == 200 and later.json()["results"][0]["label"] in ("negative", "positive")


def test_chunked_body_over_the_limit_is_413(gated):
    from core.tools.serve.inputs import Limits

    gated.gate.set()
    app = create_app({"m": ServedModel("m", gated)}, limits=Limits(max_body_bytes=1000))

    async def chunks():
        yield b'{"inputs": ["'
        for _ in range(10):
            yield b"good " * 40
        yield b'"]}'

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/v1/m/predict", content=chunks(), headers={"content-type": "application/json"}
            )

    response = run(scenario())
    assert response.status_code == 413 and "over the limit of 1000 bytes" in response.json()["error"]


def test_requests_are_decoded_by_the_predictors_input_kind_not_its_domain_name(tiny_checkpoints):
    from nlp.predictor import load_predictor

    real = load_predictor(tiny_checkpoints["nlp"])

    class Plugin:  # another domain whose predictor reads text: served without the server knowing it
        domain, input_kind, explains, info = "reviews", "text", False, real.info
        predict = staticmethod(real.predict)

    class Unreadable:
        domain, input_kind, explains, info = "series", "time-series", False, {}

        def predict(self, inputs):
            raise AssertionError("never called: the request cannot be decoded")

    app = create_app({"p": ServedModel("p", Plugin()), "u": ServedModel("u", Unreadable())})

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            texts = {"inputs": ["a gorgeous film"], "explain": True}
            return [await client.post(f"/v1/{name}/predict", json=texts) for name in ("p", "u", "p")]

    plugin, unreadable, again = run(scenario())
    assert plugin.status_code == 200 and again.status_code == 200
    (result,) = plugin.json()["results"]
    assert result == real.predict(["a gorgeous film"])[0]  # explain dropped: this predictor does not explain
    assert unreadable.status_code == 501 and "'time-series' inputs" in unreadable.json()["error"]
