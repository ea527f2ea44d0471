"""Prometheus text exposition (format 0.0.4) of requests, latency and queue depth.

Hand-written (about 60 lines) because the one metric family we need does not justify
a dependency; the format is the documented plain-text one any Prometheus scrapes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Latency histogram upper bounds in seconds (+Inf is implicit)."""


def _labels(**values: str) -> str:
    escaped = (
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in values.items()
    )
    return "{" + ",".join(escaped) + "}"


class Metrics:
    """Thread-safe counters; ``render(gauges)`` gives the /metrics body."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)  # (model, route, status) -> count
        self.buckets: dict[tuple[str, str], list[int]] = {}  # (model, route) -> count per bucket
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, *, model: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(model, route, status)] += 1
            key = (model, route)
            counts = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self, gauges: dict[str, tuple[str, Callable[[], float]]]) -> str:
        """``gauges``: name -> (help text, current value)."""
        lines = [
            "# HELP rnnsuite_requests_total HTTP requests by model, route and status.",
            "# TYPE rnnsuite_requests_total counter",
        ]
        with self._lock:
            for (model, route, status), count in sorted(self.requests.items()):
                lines.append(
                    f"rnnsuite_requests_total{_labels(model=model, route=route, status=str(status))} {count}"
                )
            lines += [
                "# HELP rnnsuite_request_seconds Request latency in seconds.",
                "# TYPE rnnsuite_request_seconds histogram",
            ]
            for (model, route), counts in sorted(self.buckets.items()):
                for bound, count in zip(BUCKETS, counts):
                    lines.append(
                        f"rnnsuite_request_seconds_bucket{_labels(model=model, route=route, le=str(bound))} {count}"
                    )
                total = self.counts[(model, route)]
                lines.append(
                    f"rnnsuite_request_seconds_bucket{_labels(model=model, route=route, le='+Inf')} {total}"
                )
                lines.append(
                    f"rnnsuite_request_seconds_sum{_labels(model=model, route=route)} {self.sums[(model, route)]:.6f}"
                )
                lines.append(f"rnnsuite_request_seconds_count{_labels(model=model, route=route)} {total}")
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value()}"]
        return "\n".join(lines) + "\n"
