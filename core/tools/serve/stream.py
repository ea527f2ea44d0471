"""``WS /v1/{model}/stream``: 16-bit little-endian mono PCM in, partial transcripts out.

The client sends binary frames at the model's sample rate (``GET /v1/models`` gives
``sample_rate``), then the text frame ``end`` (or ``{"event": "end"}``). The server answers
each audio frame with ``{"partial": text}`` and the end with ``{"final": text, "mode": m,
"audio_seconds": s}``; m is "stateful" (a unidirectional model carries its state from chunk
to chunk: equals offline decoding) or "windowed" (a bidirectional model re-decodes a bounded
window, see ``speech.streaming``). Problems are ``{"error": line}`` followed by a close.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import torch
from starlette.websockets import WebSocket, WebSocketDisconnect

from core.tools.serve.errors import ApiError
from core.tools.serve.inputs import Limits
from core.tools.serve.pool import WorkPool
from core.tools.serve.registry import ServedModel

CLOSE_UNSUPPORTED, CLOSE_INVALID, CLOSE_TOO_BIG = 1003, 1007, 1009


async def _refuse(websocket: WebSocket, message: str, code: int) -> None:
    await websocket.send_json({"error": message})
    await websocket.close(code=code)


def _is_end(text: str) -> bool:
    if text.strip() == "end":
        return True
    try:
        return json.loads(text).get("event") == "end"
    except (ValueError, AttributeError):
        return False


async def stream_transcription(
    websocket: WebSocket, served: ServedModel | None, *, pool: WorkPool, limits: Limits, name: str
) -> None:
    await websocket.accept()
    if served is None:
        return await _refuse(websocket, f"unknown model {name!r} (GET /v1/models lists them)", 4404)
    if not served.streaming:
        return await _refuse(
            websocket, f"model {name!r} ({served.domain}) does not stream audio", CLOSE_UNSUPPORTED
        )
    predictor = served.predictor
    session, rate, received = predictor.stream(), predictor.sample_rate, 0
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                if len(data) % 2:
                    return await _refuse(
                        websocket,
                        f"binary frame of {len(data)} bytes: 16-bit PCM needs an even count",
                        CLOSE_INVALID,
                    )
                samples = torch.from_numpy(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0)
                received += len(samples)
                if received > limits.max_stream_seconds * rate:
                    return await _refuse(
                        websocket, f"stream longer than {limits.max_stream_seconds:g} s", CLOSE_TOO_BIG
                    )
                partial = await pool.run(functools.partial(session.push, samples), force=True)
                await websocket.send_json({"partial": partial})
            elif text is not None and _is_end(text):
                final = await pool.run(session.finish, force=True)
                await websocket.send_json(
                    {"final": final, "mode": session.mode, "audio_seconds": round(received / rate, 4)}
                )
                return await websocket.close()
            else:
                return await _refuse(
                    websocket, "text frames other than 'end' are not understood", CLOSE_INVALID
                )
    except ApiError as err:  # a chunk that timed out
        return await _refuse(websocket, err.message, 1011)
    except WebSocketDisconnect:
        return
