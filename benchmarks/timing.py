"""Side-by-side timing: contenders run round-robin, summarized as median and p10-p90.

Interleaving matters on a shared machine: a burst of load from another process then hits
every contender in that round instead of whichever one happened to run in that block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# A contender does one unit of work and returns how long it took, in seconds. In-process code
# is wrapped by ``timed``; an out-of-process worker reports the time it measured itself.
Contender = Callable[[], float]


def timed(work: Callable[[], object]) -> Contender:
    """A contender that times ``work`` with ``perf_counter``."""

    def run() -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    return run


@dataclass(frozen=True)
class Spread:
    """Median and the 10th-90th percentile range of repeated measurements."""

    median: float
    p10: float
    p90: float
    n: int

    @classmethod
    def of(cls, values) -> Spread:
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            raise ValueError("no measurements to summarize")
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return cls(float(p50), float(p10), float(p90), int(values.size))

    def scaled(self, factor: float) -> Spread:
        return Spread(self.median * factor, self.p10 * factor, self.p90 * factor, self.n)

    def format(self, digits: int = 2, unit: str = "") -> str:
        """``3.21 ms (3.10-3.45)``: median, then p10-p90."""
        return f"{self.median:.{digits}f}{unit} ({self.p10:.{digits}f}-{self.p90:.{digits}f})"


def interleaved(
    contenders: dict[str, Contender], rounds: int, warmup: int = 2
) -> dict[str, np.ndarray]:
    """Seconds per call of each contender over ``rounds`` round-robin rounds.

    The first ``warmup`` rounds are run and discarded (allocation, caches, lazy init).
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(warmup + rounds):
        for name, contender in contenders.items():
            elapsed = contender()
            if round_ >= warmup:
                times[name].append(elapsed)
    return {name: np.array(values) for name, values in times.items()}


def ratios(times: dict[str, np.ndarray], reference: str) -> dict[str, Spread]:
    """Each contender's time over the reference's, round by round (same noise, same round)."""
    base = times[reference]
    return {name: Spread.of(values / base) for name, values in times.items()}
