"""What early estimates and change detection cost on the device path (issue 15).

    python -m benchmarks.responsiveness_cost

120 s of generated music at 48 kHz pushed through :class:`Engine` in 0.1 s blocks with the
bundled model, three ways, interleaved over 5 rounds (median CPU time): whole windows only
with no change detection (before issue 15), the defaults (partial estimates from 3 s,
silence-and-back restarts), and the defaults plus novelty detection. A partial estimate is
one model call like any other, so the cost per hop is unchanged; the extra estimates come in
the first 12 s of a stream (and of a segment after a change).
"""

from __future__ import annotations

import time

import numpy as np
from sentio.export.data.synthetic import synth_song
from sentio.runtime import Engine
from sentio.runtime.changes import ChangeSettings
from sentio.runtime.model import BundleModel

WARMUP_S = 12.0  # the first window: where partial estimates come

CONFIGS = {
    "whole windows, no change detection (before)": {"first_s": None, "changes": False},
    "defaults: partial from 3 s, silence restarts": {},
    "defaults + novelty detection": {"changes": ChangeSettings(novelty=True)},
}


def push(engine: Engine, audio: np.ndarray, rate: int, block: int) -> int:
    return sum(len(engine.process(audio[i : i + block], rate)) for i in range(0, len(audio), block))


def main() -> int:
    model = BundleModel()
    rate, seconds, block = 48000, 120.0, 4800
    audio = synth_song(0.3, 0.2, seconds, rate, seed=1).astype(np.float32)
    split = int(WARMUP_S * rate)
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in CONFIGS}
    counts: dict[str, int] = {}
    for _ in range(5):
        for name, options in CONFIGS.items():
            engine = Engine(model, **options)
            began = time.process_time()
            made = push(engine, audio[:split], rate, block)
            first = time.process_time() - began
            made += push(engine, audio[split:], rate, block) + len(engine.flush())
            cpu[name].append((first, time.process_time() - began - first))
            counts[name] = made
    base = np.median(cpu[next(iter(CONFIGS))], axis=0)
    print(f"{model.path.name} ({model.artifact}), {seconds:g} s at {rate} Hz, median of 5")
    print(
        f"| engine | estimates | CPU s per audio s, first {WARMUP_S:g} s | vs before "
        "| after that | vs before |"
    )
    print("|---|---|---|---|---|---|")
    for name, times in cpu.items():
        first, rest = np.median(times, axis=0)
        print(
            f"| {name} | {counts[name]} | {first / WARMUP_S:.4f} | {first / base[0]:.2f}x "
            f"| {rest / (seconds - WARMUP_S):.4f} | {rest / base[1]:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
