"""Per-window inference time of every model file of one or more bundles, side by side.

    python -m benchmarks.artifact_speed BUNDLE [BUNDLE ...] [--repeats 50]

For comparing bundles (e.g. two export options); ``python -m benchmarks`` covers the default
bundle. One thread, batch 1, one window of random normalized features; median and p10-p90 of
``--repeats`` rounds after 5 warm-up rounds, models interleaved round by round.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sentio.runtime.manifest import load
from sentio.runtime.model import open_runner

from benchmarks.timing import Spread, interleaved, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundles", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    runners = {}
    for bundle in args.bundles:
        for file in load(bundle).runnable:
            runners[f"{bundle.name}/{file}"] = open_runner(bundle / file)
    shape = next(iter(runners.values())).input_shape[1:]
    window = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    contenders = {name: timed(lambda r=r: r.predict(window)) for name, r in runners.items()}
    times = interleaved(contenders, args.repeats, warmup=5)
    print(f"{'model':<40} {'median ms (p10-p90)':>22}")
    for name, values in times.items():
        print(f"{name:<40} {Spread.of(values * 1e3).format(2):>22}")


if __name__ == "__main__":
    main()
