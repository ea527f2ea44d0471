"""A bounded worker pool: at most ``workers`` predictions run, at most ``queue_size`` wait.

A request that finds the queue full is refused at once (503 with Retry-After) instead of
piling up memory and latency; one that waits and runs longer than ``timeout_s`` gets 504
(its worker finishes in the background, still counted until it does, so the bound holds).
Work runs under ``torch.inference_mode`` in the worker thread (the mode is thread-local).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from core.tools.serve.errors import ApiError


class WorkPool:
    def __init__(self, *, workers: int, queue_size: int, timeout_s: float):
        self.workers, self.queue_size, self.timeout_s = workers, queue_size, timeout_s
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predict")
        self._lock = threading.Lock()
        self.in_flight = 0  # admitted and not finished: running + waiting

    @property
    def queue_depth(self) -> int:
        """Requests admitted but not yet running."""
        return max(0, self.in_flight - self.workers)

    def _admit(self, force: bool) -> None:
        with self._lock:
            if not force and self.in_flight >= self.workers + self.queue_size:
                raise ApiError(
                    503,
                    f"server busy: {self.in_flight} requests in progress, queue full; retry shortly",
                    headers={"Retry-After": "1"},
                )
            self.in_flight += 1

    def _release(self, _future=None) -> None:
        with self._lock:
            self.in_flight -= 1

    async def run(self, fn: Callable[[], Any], *, force: bool = False, timeout_s: float | None = None) -> Any:
        """``fn()`` in a worker thread; ``force`` admits past the queue bound (a stream already accepted)."""
        self._admit(force)

        def call():
            with torch.inference_mode():
                return fn()

        future = self.executor.submit(call)
        future.add_done_callback(self._release)
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=limit)
        except asyncio.TimeoutError:
            raise ApiError(504, f"prediction took longer than the {limit:g} s limit") from None

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
