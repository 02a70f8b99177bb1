"""Streaming features: one hop with Sentio's incremental extractor vs recomputing the whole
window each hop (the batch pipeline, python-speech-features as is, librosa's MFCC), and the
mixed, level-free frame (``MixedFeatureSpec``) beside the bundle's frame."""

from __future__ import annotations

import numpy as np
from python_speech_features import base as psf_base
from sentio.runtime.features import FeatureSpec, extract_features
from sentio.runtime.manifest import load
from sentio.runtime.mixed_features import MixedFeatureSpec
from sentio.runtime.streaming import StreamingFeatures

from benchmarks.context import Context
from benchmarks.music import music
from benchmarks.report import Section, SummaryRow, table
from benchmarks.timing import Spread, interleaved, ratios, timed

INCREMENTAL = "Sentio incremental (`StreamingFeatures.push`, one hop)"
BATCH = "Sentio batch (`extract_features`, whole window)"
PSF = "python-speech-features `mfcc` as is (whole window)"
LIBROSA = "librosa `feature.mfcc` (whole window)"
MIXED_INCREMENTAL = "Sentio mixed frame, incremental (`sentio-mix/1`, one hop)"
MIXED_BATCH = "Sentio mixed frame, batch (whole window)"


def python_speech_features_mfcc(signal: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """python-speech-features' own ``mfcc()`` with ``spec``'s parameters: the reference that
    Sentio's extractor is tested against (``tests/helpers.py``) and benchmarked beside here
    (it pads the last frame with zeros, which Sentio does not; runtime/FEATURES.md)."""
    return psf_base.mfcc(
        signal,
        spec.sample_rate,
        spec.frame_length_s,
        spec.frame_step_s,
        spec.n_features,
        spec.n_filters,
        spec.nfft,
        spec.low_hz,
        spec.high_hz,
        spec.preemphasis,
        spec.lifter,
        spec.append_energy,
        np.hamming,
    )


class HopFeeder:
    """Pushes the next hop of a long signal into a streaming extractor, cycling at the end."""

    def __init__(self, extractor: StreamingFeatures, signal: np.ndarray, hop: int) -> None:
        self.extractor, self.signal, self.hop = extractor, signal, hop
        self.position = 0

    def __call__(self) -> np.ndarray:
        if self.position + self.hop > self.signal.size:
            self.position = 0
        chunk = self.signal[self.position : self.position + self.hop]
        self.position += self.hop
        return self.extractor.push(chunk)


def run(ctx: Context) -> Section:
    manifest = load(ctx.bundle)
    spec, frames = manifest.feature_spec, manifest.window.frames
    hop_frames = round(manifest.window.default_hop_s * spec.frames_per_second)
    hop = hop_frames * spec.frame_step
    window_samples = (frames - 1) * spec.frame_step + spec.frame_length
    signal = music(ctx.repeats(60.0, 20.0), spec.sample_rate)
    window = signal[:window_samples]
    # the MFCC frame (v1's) is the reference the mixed frame's cost is judged against, whichever
    # frame the bundle uses; both frame the signal alike (40 ms every 20 ms)
    mfcc = spec if isinstance(spec, FeatureSpec) else FeatureSpec(sample_rate=spec.sample_rate)
    mixed = (
        spec
        if isinstance(spec, MixedFeatureSpec)
        else MixedFeatureSpec(sample_rate=spec.sample_rate)
    )
    contenders = {INCREMENTAL: timed(HopFeeder(StreamingFeatures(mfcc), signal, hop))}
    contenders[BATCH] = timed(lambda: extract_features(window, mfcc))
    contenders[PSF] = timed(lambda: python_speech_features_mfcc(window, mfcc))
    contenders[MIXED_INCREMENTAL] = timed(HopFeeder(StreamingFeatures(mixed), signal, hop))
    contenders[MIXED_BATCH] = timed(lambda: extract_features(window, mixed))
    librosa_note = ""
    try:
        import librosa

        # n_fft 1024 > frame length: one more hop of samples gives the same 600 frames.
        padded = signal[: (frames - 1) * mfcc.frame_step + mfcc.nfft]
        contenders[LIBROSA] = timed(
            lambda: librosa.feature.mfcc(
                y=padded,
                sr=mfcc.sample_rate,
                n_mfcc=mfcc.n_features,
                n_fft=mfcc.nfft,
                hop_length=mfcc.frame_step,
                win_length=mfcc.frame_length,
                window="hamming",
                center=False,
                n_mels=mfcc.n_filters,
            )
        )
    except ImportError:
        librosa_note = "librosa: not installed (`pip install .[bench]`)"
    times = interleaved(contenders, ctx.repeats(100, 5), warmup=ctx.repeats(5, 2))
    ratio = ratios(times, INCREMENTAL)
    hop_s = hop / spec.sample_rate
    rows = []
    for name, values in times.items():
        ms = Spread.of(values * 1e3)
        rows.append(
            [
                name,
                ms.format(3),
                ratio[name].format(1, "x"),
                f"{100 * ms.median / 1e3 / hop_s:.2f} %",
            ]
        )
    if librosa_note:
        rows.append([LIBROSA, librosa_note, "", ""])
    incremental_ms = Spread.of(times[INCREMENTAL] * 1e3)
    body = [
        f"One hop = {hop_frames} frames = {hop:,} samples = {hop_s:g} s at "
        f"{spec.sample_rate:,} Hz (the bundle's default hop); window = {frames} frames = "
        f"{window_samples:,} samples. Music-like generated audio; {times[INCREMENTAL].size} "
        "round-robin rounds, median (p10-p90); ratio = time / incremental time in the same "
        "round; CPU share = time per hop / hop length.",
        "",
        *table(["extractor", "ms per hop", "ratio", "CPU share"], rows, "lrrr"),
        "",
        "All extractors use the spec's parameters (40 coefficients, 64 mel filters, 1024-point "
        "FFT, 40 ms Hamming frames every 20 ms); librosa's mel scale and normalization differ, "
        "so it is a cost reference, not the same features. The mixed frame (runtime/"
        "mixed_features.py: 25 MFCC + key-free chroma + contrast + relative energy + onset) "
        "uses the same frames and FFT size.",
    ]
    summary = [SummaryRow("features per hop, incremental", f"{incremental_ms.format(3)} ms")]
    summary.append(
        SummaryRow(
            "mixed frame per hop, incremental",
            f"{ratio[MIXED_INCREMENTAL].median:.2f}x the MFCC frame's cost",
        )
    )
    for name in (BATCH, LIBROSA, MIXED_BATCH):
        if name in ratio:
            summary.append(
                SummaryRow(
                    f"{name.split(' (')[0]}, whole window",
                    f"{ratio[name].median:.1f}x the incremental cost",
                )
            )
    data = {
        "hop_ms": {n: float(np.median(v) * 1e3) for n, v in times.items()},
        "ratio": {n: r.median for n, r in ratio.items()},
        "hop_s": hop_s,
    }
    return Section("features", "Streaming features, one hop", body, summary, data)
