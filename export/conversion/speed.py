"""How fast each exported artifact runs on the exporting machine: the runtime's own runner,
one thread, batch 1, one window, every artifact interleaved round by round (a burst of load
from another process then hits all of them in that round), median per artifact.

The export records the figure in each model's manifest entry (``ms_per_window``) and makes the
fastest artifact that passed the accuracy gate the runtime's default (see
:func:`~sentio.export.conversion.exporter.export_bundle`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sentio.export.quiet import native_stderr_quiet
from sentio.runtime.model import open_runner

DEFAULT_ROUNDS = 30
WARMUP_ROUNDS = 3


def ms_per_window(
    paths: dict[str, Path], rounds: int = DEFAULT_ROUNDS, seed: int = 0
) -> dict[str, float]:
    """Median milliseconds per window of each model file (name -> path), measured side by
    side on one random normalized window."""
    if not paths:
        return {}
    with native_stderr_quiet():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" line
        runners = {name: open_runner(path, 1) for name, path in paths.items()}
    shape = next(iter(runners.values())).input_shape[1:]
    window = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for round_ in range(WARMUP_ROUNDS + max(1, rounds)):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.predict(window)
            if round_ >= WARMUP_ROUNDS:
                times[name].append(time.perf_counter() - start)
    return {name: round(float(np.median(t)) * 1e3, 3) for name, t in times.items()}
