"""What every benchmark gets: options, the bundle, folders, the machine, earlier results."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.machine import Machine, Peak, describe_machine, peak
from benchmarks.report import Section

DEFAULT_CACHE = Path.home() / ".cache" / "sentio-bench"


@dataclass
class Context:
    """Run options and shared state.

    Attributes:
        bundle: the model bundle measured (default: the one shipped in the runtime).
        quick: few repeats and short audio (development, tests).
        cache_dir: generated audio, the float16 model and the tflite-runtime venv live here.
        scratch: a temporary folder for this run.
        tensorflow: run the Keras baselines (and the float16 conversion, the FLOP cross-check).
        tflite_runtime: try tflite-runtime in its venv (created on first use).
        audio_s: length of the end-to-end audio (default: 600 s, 60 s with ``quick``).
        results: sections already measured in this run, by key (later ones read earlier ones).
    """

    bundle: Path
    scratch: Path
    quick: bool = False
    cache_dir: Path = DEFAULT_CACHE
    tensorflow: bool = True
    tflite_runtime: bool = True
    audio_s: float | None = None
    results: dict[str, Section] = field(default_factory=dict)
    _machine: Machine | None = None
    _peak: Peak | None = None

    @property
    def machine(self) -> Machine:
        if self._machine is None:
            self._machine = describe_machine()
        return self._machine

    @property
    def peak(self) -> Peak:
        if self._peak is None:
            self._peak = peak(self.machine, quick=self.quick)
        return self._peak

    def without_tensorflow(self) -> Context:
        """This run's options for LiteRT and onnxruntime alone (no Keras, no tflite-runtime),
        sharing the machine and peak already measured; no results yet."""
        return dataclasses.replace(self, tensorflow=False, tflite_runtime=False, results={})

    def repeats(self, full: int, quick: int) -> int:
        return quick if self.quick else full
