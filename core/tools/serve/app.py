"""The FastAPI application: models loaded once, a bounded pool, limits, JSON errors, metrics.

Routes (docs/SERVING.md): GET /healthz, GET /v1/models, GET /metrics, POST /v1/{model}/predict,
WS /v1/{model}/stream, and the demo page at / when core/tools/serve/static/ exists.
Every error is ``{"error": "one line"}`` with a 4xx/5xx status; the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from core.tools.serve import inputs
from core.tools.serve.errors import ApiError
from core.tools.serve.inputs import Limits
from core.tools.serve.metrics import Metrics
from core.tools.serve.pool import WorkPool
from core.tools.serve.registry import ServedModel
from core.tools.serve.stream import stream_transcription

STATIC = Path(__file__).with_name("static")


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Guard:
    """ASGI middleware: refuses bodies over ``max_body_bytes`` (413) and records every request's metrics."""

    def __init__(self, app, *, max_body_bytes: int, metrics: Metrics):
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            response = error_response(
                413, f"request body of {int(declared)} bytes, the limit is {self.max_body_bytes}"
            )
            status[0] = 413
            await response(scope, receive, send)
        else:
            await self.app(scope, self._counting(receive), self._status_recorder(send, status))
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        model = (scope.get("path_params") or {}).get("model", "-")
        self.metrics.observe(
            model=model, route=route, status=status[0], seconds=time.perf_counter() - started
        )

    def _counting(self, receive):
        seen = [0]

        async def counted():
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > self.max_body_bytes:  # a chunked body without Content-Length
                raise ApiError(413, f"request body over the limit of {self.max_body_bytes} bytes")
            return message

        return counted

    @staticmethod
    def _status_recorder(send, status: list):
        async def recorded(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        return recorded


def create_app(
    models: dict[str, ServedModel],
    *,
    limits: Limits | None = None,
    workers: int = 2,
    queue_size: int = 32,
    timeout_s: float = 30.0,
) -> FastAPI:
    limits = limits or Limits()
    pool, metrics = WorkPool(workers=workers, queue_size=queue_size, timeout_s=timeout_s), Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        pool.shutdown()

    app = FastAPI(title="rnnsuite", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.models, app.state.pool, app.state.limits = models, pool, limits
    app.add_middleware(Guard, max_body_bytes=limits.max_body_bytes, metrics=metrics)
    _add_error_handlers(app)

    _add_status_routes(app, models, pool, metrics)

    @app.post("/v1/{model}/predict")
    async def predict(model: str, request: Request):
        served = _find(models, model)
        work = await _prepare(served, request, limits)
        results = await pool.run(work)
        _check_results(results)
        return {"model": served.name, "results": results}

    @app.websocket("/v1/{model}/stream")
    async def stream(websocket: WebSocket, model: str):
        await stream_transcription(websocket, models.get(model), pool=pool, limits=limits, name=model)

    if STATIC.is_dir():
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="static")
    return app


def _add_status_routes(
    app: FastAPI, models: dict[str, ServedModel], pool: WorkPool, metrics: Metrics
) -> None:
    """/healthz, /v1/models and the Prometheus text at /metrics."""

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models():
        return {"models": [served.describe() for served in models.values()]}

    @app.get("/metrics")
    async def prometheus():
        gauges = {
            "rnnsuite_queue_depth": ("Requests waiting for a worker.", lambda: pool.queue_depth),
            "rnnsuite_in_flight": ("Requests admitted and not finished.", lambda: pool.in_flight),
            "rnnsuite_workers": ("Size of the worker pool.", lambda: pool.workers),
        }
        return PlainTextResponse(metrics.render(gauges), media_type="text/plain; version=0.0.4")


DECODERS = {"text": None, "image": inputs.decode_images, "audio": inputs.decode_audio}
"""Request decoders by ``Predictor.input_kind`` (text comes as JSON, the others as uploaded files)."""


def _find(models: dict[str, ServedModel], name: str) -> ServedModel:
    if name not in models:
        raise ApiError(404, f"unknown model {name!r} (served: {', '.join(models) or 'none'})")
    return models[name]


async def _prepare(served: ServedModel, request: Request, limits: Limits):
    """Decode the request as the predictor's ``input_kind`` says; returns the call the pool runs."""
    predictor = served.predictor
    kind = getattr(predictor, "input_kind", None)
    if kind not in DECODERS:
        raise ApiError(
            501, f"model {served.name!r}: its predictor takes {kind!r} inputs, which this server cannot read"
        )
    if kind == "text":
        items, explain = await inputs.text_inputs(request, limits)
    else:
        files, explain = await inputs.uploaded_files(request, limits)
        items = DECODERS[kind](files, limits)
    options = {"explain": True} if explain and getattr(predictor, "explains", False) else {}
    return lambda: predictor.predict(items, **options)


def _check_results(results: list[dict]) -> None:
    for i, result in enumerate(results):
        if result.get("error"):
            raise ApiError(400, f"inputs[{i}]: {result['error']}")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request, err: ApiError):
        return error_response(err.status, err.message, err.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_request, err: HTTPException):
        message = err.detail if isinstance(err.detail, str) else json.dumps(err.detail)
        return error_response(err.status_code, message, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request, err: RequestValidationError):
        first = (err.errors() or [{}])[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(422, f"{where}: {first.get('msg', 'invalid request')}")
