"""The machine a run measured: CPU, cores, memory, library versions, and one core's peak.

The peak is obtained two ways: measured (a large single-thread float32 matrix product, which
BLAS runs close to the hardware's limit) and theoretical (FMA pipes x SIMD lanes x 2 x clock,
from /proc/cpuinfo). Efficiency figures elsewhere divide by the measured one.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

VERSIONED = (
    "numpy",
    "scipy",
    "ai-edge-litert",
    "onnxruntime",
    "tensorflow",
    "keras",
    "librosa",
    "python_speech_features",
    "soxr",
    "soundfile",
)


@dataclass(frozen=True)
class Peak:
    """One core's float32 throughput in GFLOP/s, and how each figure was obtained."""

    measured: float
    measured_how: str
    theoretical: float | None
    theoretical_how: str


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    mhz: float | None
    flags: frozenset[str]
    vendor: str
    family: int | None
    system: str
    date: str

    def describe(self) -> str:
        clock = f", {self.mhz / 1000:.2f} GHz (cpuinfo)" if self.mhz else ""
        return f"{self.cpu} ({self.system}), {self.cores} cores{clock}, {self.ram_gib:.0f} GiB RAM"


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    path = Path("/proc/cpuinfo")
    if not path.is_file():
        return info
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key and key not in info:  # the first processor describes them all here
            info[key] = value.strip()
    return info


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def describe_machine() -> Machine:
    info = _cpuinfo()
    cpu = info.get("model name") or info.get("Model") or platform.processor() or "unknown CPU"
    mhz = info.get("cpu MHz")
    family = info.get("cpu family")
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        ram_gib=_ram_gib(),
        mhz=float(mhz) if mhz else None,
        flags=frozenset((info.get("flags") or info.get("Features") or "").split()),
        vendor=info.get("vendor_id", ""),
        family=int(family) if family and family.isdigit() else None,
        system=f"{platform.system()} {platform.machine()}",
        date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def versions() -> dict[str, str]:
    """Installed versions of the packages the benchmarks touch ("absent" if not installed)."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def measure_peak(size: int = 2048, repeats: int = 10) -> tuple[float, str]:
    """Best single-thread float32 GFLOP/s of a ``size`` x ``size`` matrix product."""
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(limits=1):
        a @ b  # warm-up: first-touch pages, BLAS kernel selection
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    blas = next(
        (
            f"{p.get('internal_api')} {p.get('version')}"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ),
        "BLAS",
    )
    how = (
        f"best of {repeats} float32 {size}x{size} matrix products, numpy + {blas}, "
        "1 thread (threadpoolctl)"
    )
    return 2 * size**3 / best / 1e9, how


def theoretical_peak(machine: Machine) -> tuple[float | None, str]:
    """FMA pipes x float32 lanes x 2 FLOP x clock, or None where the core is not known."""
    flags, ghz = machine.flags, (machine.mhz or 0) / 1000
    if not ghz:
        return None, "clock unknown (no 'cpu MHz' in /proc/cpuinfo)"
    if "avx512f" in flags and not (machine.vendor == "AuthenticAMD" and machine.family == 25):
        lanes, note = 16, "AVX-512"
    elif "avx512f" in flags:
        # AMD family 25h (Zen 3/4) runs 512-bit instructions on 256-bit pipes.
        lanes, note = 8, "AVX-512 on 256-bit pipes (AMD family 25h)"
    elif "fma" in flags:
        lanes, note = 8, "AVX2 + FMA"
    else:
        return None, "no x86 FMA flags: SIMD width and FMA pipes unknown for this CPU"
    pipes = 2
    how = (
        f"{pipes} FMA pipes (assumed, as on current x86 server cores) x {lanes} float32 lanes "
        f"({note}) x 2 FLOP x {ghz:.2f} GHz (cpuinfo, base clock: boost makes it higher)"
    )
    return pipes * lanes * 2 * ghz, how


def peak(machine: Machine, quick: bool = False) -> Peak:
    # Best of many: a peak is a maximum, and other load on a shared machine only lowers it.
    measured, measured_how = measure_peak(1024, 3) if quick else measure_peak(2048, 10)
    theoretical, theoretical_how = theoretical_peak(machine)
    return Peak(measured, measured_how, theoretical, theoretical_how)
