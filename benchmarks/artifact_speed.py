"""Per-window inference time of every model file of one or more bundles, side by side.

    python benchmarks/artifact_speed.py BUNDLE [BUNDLE ...] [--repeats 50]

One thread, batch 1, one window of random normalized features; median and spread of
``--repeats`` timed runs after 5 warm-up runs, models interleaved round by round so that
machine noise hits them all alike.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sentio.runtime.bundle import load_manifest
from sentio.runtime.model import open_runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundles", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    runners = {}
    for bundle in args.bundles:
        for entry in load_manifest(bundle)["models"]:
            runners[f"{bundle.name}/{entry['file']}"] = open_runner(bundle / entry["file"])
    shape = next(iter(runners.values())).input_shape[1:]
    window = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for round_ in range(args.repeats + 5):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.predict(window)
            if round_ >= 5:
                times[name].append(time.perf_counter() - start)
    print(f"{'model':<40} {'median ms':>10} {'p10-p90 ms':>14}")
    for name, values in times.items():
        ms = np.array(values) * 1e3
        p10, p50, p90 = np.percentile(ms, [10, 50, 90])
        print(f"{name:<40} {p50:10.2f} {p10:6.2f}-{p90:<7.2f}")


if __name__ == "__main__":
    main()
