"""Statistics over seeds for the compare report: mean, sample std, 95% CI, and a Welch test.

The interval is Student's t: mean ± t(0.975, n-1) · s / sqrt(n). Two cells' means differ
"beyond noise" when Welch's unequal-variance t-test gives p < 0.05 (scipy.stats.ttest_ind
with equal_var=False); with fewer than two seeds on either side no test is possible and the
difference is reported as untested.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Optional, Sequence

from scipy import stats

ALPHA = 0.05


@dataclass(frozen=True)
class SeedSummary:
    """One grid cell's metric over its seeds."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1); 0 for one seed."""
        return statistics.stdev(self.values) if self.n > 1 else 0.0

    def ci95(self) -> Optional[tuple[float, float]]:
        """Student-t 95% interval of the mean; None with fewer than two seeds.

        Example:
            >>> [round(x, 3) for x in SeedSummary((0.9, 0.92, 0.94)).ci95()]
            [0.87, 0.97]
        """
        if self.n < 2:
            return None
        half = float(stats.t.ppf(1 - ALPHA / 2, self.n - 1)) * self.std / math.sqrt(self.n)
        return self.mean - half, self.mean + half

    def text(self, digits: int = 4) -> str:
        """``0.9200 ± 0.0200 [0.8703, 0.9697] (n=3)``."""
        interval = self.ci95()
        ci = f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]" if interval else ""
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}{ci} (n={self.n})"


def welch_p(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Two-sided p-value of Welch's t-test; None when either side has fewer than two values.

    Identical constant samples give p = 1 (no evidence of a difference), not NaN.
    """
    if len(a) < 2 or len(b) < 2:
        return None
    if statistics.pvariance(a) == 0 and statistics.pvariance(b) == 0:
        return 1.0 if statistics.fmean(a) == statistics.fmean(b) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def within_noise(a: Sequence[float], b: Sequence[float]) -> Optional[bool]:
    """True when Welch's test cannot tell a from b at ALPHA; None when it cannot be run."""
    p = welch_p(a, b)
    return None if p is None else p >= ALPHA
