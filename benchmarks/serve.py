"""Load test of ``rnnsuite serve`` on loopback: latency at a target rate, throughput under overload, streaming.

    python -m benchmarks.serve --nlp RUN/checkpoints/best.pt --vision ... --speech ... [--seconds 30]

Starts the server in a subprocess on 127.0.0.1 (nothing leaves the machine), then per domain:

- ``paced``: requests sent at ``--rate`` per second (open loop, text/image; audio at --audio-rate) for
  ``--seconds``: p50/p95/p99 latency against the targets (text and image p99 <= 50 ms at 20 req/s,
  a 5 s clip p99 <= 400 ms);
- ``overload``: ``--clients`` concurrent clients in a closed loop for ``--overload-seconds``:
  requests/s, latency, and the 503s the bounded queue answers (the only errors allowed);
- ``stream`` (speech): a 5 s clip sent over the WebSocket in 100 ms chunks at real time; latency from
  each chunk to its partial transcript (target: within 300 ms).

Results (with the server's peak RSS) go to benchmarks/results/serve.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "serve"))
from serve_helpers import start_server  # noqa: E402  (the tests' server launcher)

TARGETS_MS = {"nlp": 50.0, "vision": 50.0, "speech": 400.0, "stream": 300.0}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ms = np.array(values) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def request_maker(domain: str, name: str, payloads: dict):
    path = f"/v1/{name}/predict"
    if domain == "nlp":
        texts = payloads["texts"]
        return lambda client, i: client.post(path, json={"inputs": [texts[i % len(texts)]]})
    key, mime = ("image", "image/png") if domain == "vision" else ("audio", "audio/wav")
    return lambda client, i: client.post(path, files={"files": (f"x.{mime[-3:]}", payloads[key], mime)})


async def paced(url: str, send, *, rate: float, seconds: float) -> dict:
    """Open loop: one request every 1/rate s whatever the answers' latency."""
    latencies, statuses = [], []

    async def one(client, i):
        started = time.perf_counter()
        response = await send(client, i)
        latencies.append(time.perf_counter() - started)
        statuses.append(response.status_code)

    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=httpx.Limits(max_connections=200)
    ) as client:
        tasks, started = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, i)))
        await asyncio.gather(*tasks)
    return summary(latencies, statuses, time.perf_counter() - started, rate=rate)


async def overload(url: str, send, *, clients: int, seconds: float) -> dict:
    """Closed loop: ``clients`` clients, each sends its next request when the last one is answered."""
    latencies, statuses, stop = [], [], time.perf_counter() + seconds

    async def client_loop(client, k):
        i = k
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await send(client, i)
            statuses.append(response.status_code)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)  # back off a little
            i += clients

    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=clients)
    ) as client:
        await asyncio.gather(*(client_loop(client, k) for k in range(clients)))
    return {**summary(latencies, statuses, time.perf_counter() - started), "clients": clients}


def summary(latencies: list[float], statuses: list[int], elapsed: float, **extra) -> dict:
    counts = {str(code): statuses.count(code) for code in sorted(set(statuses))}
    errors = sum(n for code, n in counts.items() if code not in ("200", "503"))
    return {
        **extra,
        "requests": len(statuses),
        "ok": counts.get("200", 0),
        "status_counts": counts,
        "errors": errors,
        "requests_per_s": round(counts.get("200", 0) / elapsed, 2),
        **percentiles(latencies),
    }


async def stream_latency(
    ws_url: str, name: str, samples: np.ndarray, rate: int, chunk_seconds: float = 0.1
) -> dict:
    """Real-time streaming: seconds from each chunk's send to the partial it produced."""
    import websockets

    chunk = int(rate * chunk_seconds)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    delays = []
    async with websockets.connect(f"{ws_url}/v1/{name}/stream", max_size=None) as socket:
        started = time.perf_counter()
        for k, start in enumerate(range(0, len(pcm), chunk)):
            await asyncio.sleep(max(0.0, started + k * chunk_seconds - time.perf_counter()))
            sent = time.perf_counter()
            await socket.send(pcm[start : start + chunk].tobytes())
            json.loads(await socket.recv())
            delays.append(time.perf_counter() - sent)
        await socket.send("end")
        final = json.loads(await socket.recv())
    return {
        "chunks": len(delays),
        "chunk_ms": chunk_seconds * 1000,
        "mode": final.get("mode"),
        **percentiles(delays),
    }


def payloads(sample_rate: int) -> dict:
    import soundfile as sf
    from PIL import Image
    from sklearn.datasets import load_digits

    from speech.tts import digit_string_specs, synthesize

    rng = np.random.default_rng(0)
    words = "the film was a good fun dull plot with great acting but boring script and clever ending".split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(8, 40)))) for _ in range(64)]
    image = io.BytesIO()
    Image.fromarray(np.rint(load_digits().images[0] * (255 / 16)).astype(np.uint8)).save(image, format="PNG")
    clip = np.concatenate(
        [synthesize(spec, sample_rate=sample_rate).numpy() for spec in digit_string_specs(6, seed=1)]
    )
    clip = np.resize(clip, 5 * sample_rate)  # exactly 5 s of speech-like audio
    audio = io.BytesIO()
    sf.write(audio, clip, sample_rate, format="WAV", subtype="PCM_16")
    return {"texts": texts, "image": image.getvalue(), "audio": audio.getvalue(), "clip": clip}


def peak_rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return round(int(line.split()[1]) / 1024, 1) if line else None


async def run_domains(server, models: dict, data: dict, args) -> dict:
    results = {}
    for domain, name in server.names.items():
        send = request_maker(domain, name, data)
        rate = args.audio_rate if domain == "speech" else args.rate
        print(
            f"serve benchmark: {domain} paced at {rate}/s for {args.seconds} s", file=sys.stderr, flush=True
        )
        entry = {"model": name, "paced": await paced(server.url, send, rate=rate, seconds=args.seconds)}
        print(f"serve benchmark: {domain} overload, {args.clients} clients", file=sys.stderr, flush=True)
        entry["overload"] = await overload(
            server.url, send, clients=args.clients, seconds=args.overload_seconds
        )
        if domain == "speech":
            entry["stream"] = await stream_latency(
                server.ws_url, name, data["clip"], models[name]["sample_rate"]
            )
        entry["target_p99_ms"] = TARGETS_MS[domain]
        entry["target_met"] = (entry["paced"]["p99_ms"] or 1e9) <= TARGETS_MS[domain]
        results[domain] = entry
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__.splitlines()[0])
    for domain in ("nlp", "vision", "speech"):
        parser.add_argument(f"--{domain}", help=f"checkpoint of a {domain} run")
    parser.add_argument("--seconds", type=float, default=30.0, help="paced phase per domain")
    parser.add_argument("--overload-seconds", type=float, default=15.0)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="requests/s of the paced text and image phases"
    )
    parser.add_argument("--audio-rate", type=float, default=2.0, help="requests/s of the paced audio phase")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="torch", help="torch | onnxruntime (rnnsuite serve --backend)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve.json"))
    args = parser.parse_args(argv)
    checkpoints = [getattr(args, d) for d in ("nlp", "vision", "speech") if getattr(args, d)]
    if not checkpoints:
        parser.error("give at least one of --nlp, --vision, --speech")
    flags = ["--workers", str(args.workers), "--backend", args.backend]
    server = start_server([Path(c) for c in checkpoints], extra=flags)
    try:
        models = {m["name"]: m for m in httpx.get(f"{server.url}/v1/models").json()["models"]}
        rate = next((m["sample_rate"] for m in models.values() if m["domain"] == "speech"), 16000)
        results = asyncio.run(run_domains(server, models, payloads(rate), args))
        rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()
    report = {
        "command": "python -m benchmarks.serve " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "workers": args.workers,
        "backend": args.backend,
        "server_peak_rss_mb": rss,
        "models": {
            m["name"]: {k: m.get(k) for k in ("domain", "params", "cell", "bidirectional")}
            for m in models.values()
        },
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    for domain, entry in results.items():
        paced_ = entry["paced"]
        print(
            f"{domain}: paced p50 {paced_['p50_ms']} p99 {paced_['p99_ms']} ms (target {entry['target_p99_ms']}); "
            f"overload {entry['overload']['requests_per_s']} req/s, errors {entry['overload']['errors']}"
        )
    print(f"wrote {args.out}; server peak RSS {rss} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
