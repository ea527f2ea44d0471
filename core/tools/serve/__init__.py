"""``rnnsuite serve``: trained checkpoints behind an HTTP API (FastAPI + uvicorn).

- ``registry``: checkpoints -> named predictors (``Domain.load_predictor``), loaded once
- ``pool``: a bounded worker pool (bounded queue -> 503, per-request timeout -> 504)
- ``inputs``: request bodies -> raw predictor inputs, every bad input a 4xx ``ApiError``
- ``metrics``: Prometheus text exposition (requests, latency histogram, queue depth)
- ``stream``: ``WS /v1/{model}/stream`` streaming transcription
- ``app``: the FastAPI application; ``cli``: the command line

The HTTP contract is written down in docs/SERVING.md.
"""
