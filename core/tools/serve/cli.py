"""``rnnsuite serve --checkpoint CKPT [--checkpoint CKPT ...] [--host 127.0.0.1] [--port 8000]``.

Loads every checkpoint once, then serves them with uvicorn until interrupted. A bad
checkpoint or flag is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from core.errors import ConfigError, RnnsuiteError
from core.tools.serve.inputs import Limits
from core.tools.serve.registry import BACKENDS


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rnnsuite serve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", action="append", required=True, help="RUN/checkpoints/best.pt; repeatable"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backend", default="torch", choices=BACKENDS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=2, help="predictions running at once")
    parser.add_argument(
        "--queue", type=int, default=32, help="requests waiting beyond the workers (then 503)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (then 504)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads per process (0: cores / workers)"
    )
    defaults = Limits()
    parser.add_argument("--max-body-mb", type=float, default=defaults.max_body_bytes / 2**20)
    parser.add_argument("--max-inputs", type=int, default=defaults.max_inputs, help="inputs per request")
    parser.add_argument("--max-text-chars", type=int, default=defaults.max_text_chars)
    parser.add_argument("--max-audio-seconds", type=float, default=defaults.max_audio_seconds)
    parser.add_argument("--max-stream-seconds", type=float, default=defaults.max_stream_seconds)
    return parser.parse_args(list(argv))


def _check(args: argparse.Namespace) -> None:
    for name in ("workers", "max_inputs", "max_text_chars"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("queue", "threads"):
        if getattr(args, name) < 0:
            raise ConfigError(f"--{name} must be 0 or more, got {getattr(args, name)}")
    for name in ("timeout", "max_body_mb", "max_audio_seconds", "max_stream_seconds"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be in 1..65535, got {args.port}")


def build(args: argparse.Namespace):
    """The app for parsed flags (models loaded)."""
    import torch

    from core.tools.serve.app import create_app
    from core.tools.serve.registry import load_models

    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // args.workers))
    limits = Limits(
        max_body_bytes=int(args.max_body_mb * 2**20),
        max_inputs=args.max_inputs,
        max_text_chars=args.max_text_chars,
        max_audio_seconds=args.max_audio_seconds,
        max_stream_seconds=args.max_stream_seconds,
    )
    models = load_models(args.checkpoint, backend=args.backend, device=args.device)
    return create_app(
        models, limits=limits, workers=args.workers, queue_size=args.queue, timeout_s=args.timeout
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        _check(args)
        app = build(args)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    import uvicorn

    names = ", ".join(f"{m.name} ({m.domain})" for m in app.state.models.values())
    print(f"serving {names} on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
