"""Model v3 part 1: label and frame choices screened under CV with the ridge probe.

    python -m benchmarks.v3_screen --emotify ../shared/data/emotify --fourq ../shared/data/4q

Every row is the ridge probe (:mod:`sentio.export.evaluation.probe`) under the same
artist-grouped, quadrant-stratified CV as ``sentio-train cv`` (15% untouched holdout per
dataset, 5 folds), repeated for 3 fold seeds: mean ± sd over the 15 folds. Labels: Emotify's
valence weight and per-dataset centring (training only). Frames: the shipped mixed frame plus
candidate blocks computed from a 12-bin chroma variant of the same frame (mode terms, harmonic
change, slow dynamics, pulse clarity and tempo). Reads ``../shared/data`` (developer data):
a benchmark, not a test. About 10 min on 2 cores (features cached after the first run).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sentio.export.data.sources import DataOptions, load_features
from sentio.export.evaluation.cv import CVConfig, LabelConfig, cross_validate
from sentio.export.evaluation.probe import ridge_probe
from sentio.runtime.mixed_features import MixedFeatureSpec

COLUMNS = (
    ("4Q V AUC", "valence_auc"),
    ("4Q A AUC", "arousal_auc"),
    ("happy vs angry", "happy_vs_angry"),
    ("sad vs calm", "sad_vs_calm"),
    ("Q3 recall", "recall_sad"),
    ("quadrant acc", "accuracy"),
    ("CCC V (Emotify)", "ccc_valence"),
    ("CCC A (Emotify)", "ccc_arousal"),
)
LABELS = {
    "Emotify valence weight 1 (v2)": LabelConfig(),
    "Emotify valence weight 0.5": LabelConfig(valence_weight=0.5),
    "Emotify valence weight 0": LabelConfig(valence_weight=0.0),
    "per-dataset centring": LabelConfig(center=True),
}
#: Bispectral pairs (a, b): Im(X[a] X[b] conj(X[a + b])) of the chroma's DFT X; transposition
#: cancels in the phases, a reflection (major <-> minor) flips the sign.
PAIRS = ((1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 2), (2, 3), (2, 4), (3, 3))
MAJOR = np.array((6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88))
MINOR = np.array((6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17))
FRAME_RATE = 50  # frames per second of the mixed frame (20 ms hop)


def bispectrum(chroma: np.ndarray, normalized: bool) -> np.ndarray:
    x = np.fft.fft(chroma, axis=1)
    terms = np.stack([(x[:, a] * x[:, b] * np.conj(x[:, (a + b) % 12])).imag for a, b in PAIRS], 1)
    if normalized:
        terms /= np.maximum(chroma.sum(axis=1, keepdims=True) ** 3, 1e-9)
    return terms


def key_mode(chroma: np.ndarray) -> np.ndarray:
    """Best correlation with a major key profile minus the best with a minor one."""

    def best(profile: np.ndarray) -> np.ndarray:
        keys = np.stack([np.roll(profile, k) for k in range(12)])
        keys = keys - keys.mean(axis=1, keepdims=True)
        c = chroma - chroma.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(c, axis=1)[:, None] * np.linalg.norm(keys, axis=1)[None, :]
        return ((c @ keys.T) / np.maximum(norms, 1e-9)).max(axis=1)

    return (best(MAJOR) - best(MINOR))[:, None]


def lagged(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` frames (the first frame repeated before it)."""
    return np.concatenate([np.repeat(x[:1], lag, axis=0), x[:-lag]])


def harmonic_change(chroma: np.ndarray) -> np.ndarray:
    """1 - cosine between the chroma now and 0.5 s before."""
    unit = chroma / np.maximum(np.linalg.norm(chroma, axis=1, keepdims=True), 1e-9)
    return (1 - np.sum(unit * lagged(unit, FRAME_RATE // 2), axis=1))[:, None]


def slow_dynamics(energy: np.ndarray) -> np.ndarray:
    """|level now - level 1 s before| (dB)."""
    return np.abs(energy - lagged(energy, FRAME_RATE))[:, None]


def pulse(onset: np.ndarray) -> np.ndarray:
    """The onset strength's autocorrelation peak at 0.3-1.5 s (pulse clarity) and its tempo."""
    centred = onset - onset.mean()
    ac = np.correlate(centred, centred, "full")[len(centred) - 1 :]
    ac = ac / max(ac[0], 1e-9)
    low, high = int(0.3 * FRAME_RATE), int(1.5 * FRAME_RATE)
    lag = low + int(np.argmax(ac[low:high]))
    return np.tile([[ac[lag], FRAME_RATE / lag]], (len(onset), 1))


def frame_candidates(raw: dict[str, np.ndarray]) -> dict[str, Callable[[str], np.ndarray | None]]:
    blocks = MixedFeatureSpec(chroma_dft=False).blocks
    chroma = {k: v[:, blocks["chroma"]].astype(np.float64) for k, v in raw.items()}
    energy = {k: v[:, blocks["energy"]].astype(np.float64).ravel() for k, v in raw.items()}
    onset = {k: v[:, blocks["onset"]].astype(np.float64).ravel() for k, v in raw.items()}
    return {
        "shipped frame (v2)": lambda k: None,
        "+ 9 bispectral mode terms": lambda k: bispectrum(chroma[k], False),
        "+ 9 bispectral mode terms, level-normalized": lambda k: bispectrum(chroma[k], True),
        "+ key-profile major - minor": lambda k: key_mode(chroma[k]),
        "+ harmonic change (0.5 s)": lambda k: harmonic_change(chroma[k]),
        "+ slow dynamics (1 s)": lambda k: slow_dynamics(energy[k]),
        "+ pulse clarity and tempo": lambda k: pulse(onset[k]),
        "+ the 12 chroma bins": lambda k: chroma[k],
        "+ all of the above but chroma": lambda k: np.hstack(
            [
                bispectrum(chroma[k], False),
                key_mode(chroma[k]),
                harmonic_change(chroma[k]),
                slow_dynamics(energy[k]),
                pulse(onset[k]),
            ]
        ),
    }


def screen(dataset, features: dict[str, np.ndarray], labels: LabelConfig, seeds: int) -> str:
    values: dict[str, list[float]] = {metric: [] for _, metric in COLUMNS}
    in_sample_q3: list[float] = []
    for fold_seed in range(seeds):
        result = cross_validate(
            dataset, features, ridge_probe, CVConfig(folds=5, fold_seed=fold_seed), labels
        )
        for metric in values:
            values[metric].extend(result.values(metric))
        in_sample_q3.extend(result.values("recall_sad", in_sample=True))
    cells = [f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}" for v in values.values()]
    cells.append(f"{np.nanmean(in_sample_q3):.3f}")
    return " | ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.v3_screen", description=__doc__)
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--fourq", type=Path, required=True)
    parser.add_argument("--fold-seeds", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    options = DataOptions("emotify", args.emotify.resolve(), fourq=args.fourq.resolve())
    options.progress = False
    dataset, base = load_features(options, MixedFeatureSpec())
    _, raw = load_features(options, MixedFeatureSpec(chroma_dft=False))
    head = "| choice | " + " | ".join(c for c, _ in COLUMNS) + " | Q3 recall in sample |"
    rule = "|---" * (len(COLUMNS) + 2) + "|"
    print("## Labels (shipped frame)\n\n" + head + "\n" + rule, flush=True)
    for name, labels in LABELS.items():
        print(f"| {name} | {screen(dataset, base.features, labels, args.fold_seeds)} |", flush=True)
    print("\n## Frames (labels as v2)\n\n" + head + "\n" + rule, flush=True)
    for name, extra in frame_candidates(raw.features).items():
        features = {}
        for song, frames in base.features.items():
            added = extra(song)
            features[song] = (
                frames if added is None else np.hstack([frames, added]).astype(np.float32)
            )
        print(
            f"| {name} | {screen(dataset, features, LabelConfig(), args.fold_seeds)} |", flush=True
        )
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
