"""Request bodies -> raw predictor inputs; every bad input is an ``ApiError`` naming it.

nlp: JSON ``{"inputs": [str, ...], "explain": bool}``; vision and speech: multipart field
``files`` (PNG/JPEG images; WAV/FLAC/OGG audio), with an optional ``explain`` form field.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from core.tools.serve.errors import ApiError


@dataclass
class Limits:
    max_body_bytes: int = 16 * 1024 * 1024
    max_inputs: int = 64
    max_text_chars: int = 20_000
    max_audio_seconds: float = 60.0
    max_image_pixels: int = 4096 * 4096
    max_stream_seconds: float = 600.0


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


async def text_inputs(request: Request, limits: Limits) -> tuple[list[str], bool]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, 'nlp models take application/json: {"inputs": ["text", ...]}')
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"body is not valid JSON ({str(err).splitlines()[0][:80]})") from None
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ApiError(422, "field 'inputs': expected a list of strings")
    texts, explain = body["inputs"], body.get("explain", False)
    if not isinstance(explain, bool):
        raise ApiError(422, "field 'explain': expected true or false")
    _check_count(len(texts), limits)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ApiError(422, f"inputs[{i}]: expected a string, got {type(text).__name__}")
        if not text.strip():
            raise ApiError(400, f"inputs[{i}]: empty text")
        if len(text) > limits.max_text_chars:
            raise ApiError(413, f"inputs[{i}]: {len(text)} characters, the limit is {limits.max_text_chars}")
    return texts, explain


def _check_count(count: int, limits: Limits) -> None:
    if count == 0:
        raise ApiError(422, "no inputs given")
    if count > limits.max_inputs:
        raise ApiError(413, f"{count} inputs in one request, the limit is {limits.max_inputs}")


async def uploaded_files(request: Request, limits: Limits) -> tuple[list[tuple[str, bytes]], bool]:
    """[(filename, bytes)] of the multipart field ``files`` and the ``explain`` flag."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "multipart/form-data":
        raise ApiError(415, "this model takes multipart/form-data with one or more 'files' fields")
    try:
        form = await request.form(max_files=limits.max_inputs, max_fields=16)
    except ApiError:
        raise
    except Exception as err:  # starlette/multipart parse errors carry one line
        raise ApiError(400, f"malformed multipart body ({str(getattr(err, 'detail', err))[:100]})") from None
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    _check_count(len(uploads), limits)
    files = [(upload.filename or f"files[{i}]", await upload.read()) for i, upload in enumerate(uploads)]
    return files, _truthy(form.get("explain", False))


def decode_images(files: list[tuple[str, bytes]], limits: Limits) -> list:
    from PIL import Image, UnidentifiedImageError

    images = []
    for i, (name, data) in enumerate(files):
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > limits.max_image_pixels:
                raise ApiError(
                    413, f"files[{i}] ({name}): {image.width}x{image.height} pixels is over the limit"
                )
            if image.format not in ("PNG", "JPEG"):
                raise ApiError(415, f"files[{i}] ({name}): {image.format} image; send PNG or JPEG")
            image.load()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
            reason = "empty file" if not data else (str(err).splitlines() or [type(err).__name__])[0][:80]
            raise ApiError(400, f"files[{i}] ({name}): not a readable image ({reason})") from None
        images.append(image)
    return images


def decode_audio(files: list[tuple[str, bytes]], limits: Limits) -> list[tuple[np.ndarray, int]]:
    import soundfile as sf

    clips = []
    for i, (name, data) in enumerate(files):
        try:
            info = sf.info(io.BytesIO(data))
            if info.duration > limits.max_audio_seconds:
                raise ApiError(
                    413,
                    f"files[{i}] ({name}): {info.duration:.1f} s of audio, "
                    f"the limit is {limits.max_audio_seconds:g} s",
                )
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except ApiError:
            raise
        except Exception as err:  # soundfile raises several types for undecodable input
            reason = "empty file" if not data else str(err).splitlines()[0][:80]
            raise ApiError(400, f"files[{i}] ({name}): not readable WAV/FLAC/OGG audio ({reason})") from None
        mono = samples.mean(axis=1).astype(np.float32)  # (N,)
        if len(mono) * 100 < rate:
            raise ApiError(400, f"files[{i}] ({name}): shorter than 10 ms")
        if not np.isfinite(mono).all():
            raise ApiError(400, f"files[{i}] ({name}): contains NaN or infinite samples")
        clips.append((mono, int(rate)))
    return clips
