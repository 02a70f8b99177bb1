"""Which 40-wide frame to ship: feature-block candidates scored by ridge on song statistics.

    python -m benchmarks.feature_candidates \
        --emotify ../shared/data/emotify --fourq ../shared/data/4q

Every block comes from ONE STFT per frame: mono 22,050 Hz, 882-sample frames every 441 samples
(complete frames only), each frame's mean removed, Hamming window, 1024-point rfft, power
``P = |X|^2`` and magnitude ``M = |X|``, no pre-emphasis. librosa (the ``bench`` extra) is the
reference for chroma and spectral contrast. The superset of all blocks is computed once per clip
and cached (``--cache``); a candidate is a subset of its columns. Candidate A is the current
frame, ``sentio.runtime.features.extract_features`` with the default ``FeatureSpec``.

Scoring, the same for every candidate: per-column mean and std over the clip's frames (80
numbers), standardized, closed-form ridge per dimension, its alpha chosen by an inner 5-fold CV
on the training folds only. Emotify: 10-fold CV over songs, out-of-fold Pearson r and CCC.
4Q: artist-disjoint 10-fold CV, ridge on the +-1 signs, out-of-fold AUC per dimension and the
quadrant accuracy of the two predicted signs. Intervals: 95% percentile bootstrap over songs
(1000 resamples), and a paired bootstrap of each candidate minus A over the same resamples.

Reads ``../shared/data`` (developer/CI data, not shipped): a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from python_speech_features import base as psf_base
from scipy.fft import dct
from scipy.stats import rankdata
from sentio.export.data.datasets import Song, load_emotify
from sentio.export.data.quadrants import load_4q
from sentio.export.evaluation.baseline import RidgeBaseline
from sentio.export.model.metrics import ccc
from sentio.runtime.audio import load_audio
from sentio.runtime.errors import SentioError
from sentio.runtime.features import FeatureSpec, extract_features
from threadpoolctl import threadpool_limits

log = logging.getLogger("benchmarks.feature_candidates")

RATE = 22050
FRAME, STEP, NFFT = 882, 441, 1024
N_MELS = 64
MIN_SECONDS = 0.05  # two complete frames; anything shorter is skipped and counted
ENERGY_ALPHA = 1.0 - np.exp(-0.02 / 4.0)  # running level reference, time constant 4 s
ENERGY_CLIP = 13.8  # ln(1e6): +-60 dB
SILENT_POWER = 1e-13
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
OUTER_FOLDS, INNER_FOLDS, SEED, RESAMPLES = 10, 5, 0, 1000
SUPERSET_VERSION = "v2"
REPO = Path(__file__).resolve().parents[1]
#: paired tables against the current frame and the best mixed composition proposed in issue 13
REFERENCES = ("A", "D")
DEFAULT_OUT = REPO / "experiments" / "frontend_v2_candidates.md"

# Superset column layout (one row per frame).
MFCC = slice(0, 64)  # c0..c63 of the 64-band log mel (c0 is stored, never used)
CHROMA = slice(64, 76)
CONTRAST = slice(76, 83)
ENERGY = 83
ONSET = 84
CHROMA_DFT = slice(85, 91)  # |DFT_k| of the chroma vector, k = 1..6: transposition-invariant
CURRENT = slice(91, 131)  # today's frame: 40 MFCC, c0 = log energy, pre-emphasis 0.97
KEY_MODE = slice(131, 133)  # best correlation with a major, then a minor key profile
WIDTH = 133

# Krumhansl-Kessler key profiles (C major, C minor); rotated to all 12 keys per frame.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def _cols(block: slice | int, count: int | None = None) -> list[int]:
    if isinstance(block, int):
        return [block]
    cols = list(range(block.start, block.stop))
    return cols if count is None else cols[:count]


def _mfcc(k: int) -> list[int]:
    """c1..ck."""
    return list(range(1, k + 1))


CANDIDATES: dict[str, tuple[str, list[int]]] = {
    "A": ("current: 40 MFCC (c0 = log energy, pre-emphasis)", _cols(CURRENT)),
    "B": ("39 MFCC + energy", [*_mfcc(39), ENERGY]),
    "C": (
        "20 MFCC + 12 chroma + 7 contrast + energy",
        _mfcc(20) + _cols(CHROMA) + _cols(CONTRAST) + [ENERGY],
    ),
    "D": (
        "19 MFCC + 12 chroma + 7 contrast + energy + onset",
        _mfcc(19) + _cols(CHROMA) + _cols(CONTRAST) + [ENERGY, ONSET],
    ),
    "E": ("27 MFCC + 12 chroma + energy", _mfcc(27) + _cols(CHROMA) + [ENERGY]),
    "F": ("32 MFCC + 7 contrast + energy", _mfcc(32) + _cols(CONTRAST) + [ENERGY]),
    "G": (
        "25 MFCC + 6 chroma-DFT + 7 contrast + energy + onset",
        _mfcc(25) + _cols(CHROMA_DFT) + _cols(CONTRAST) + [ENERGY, ONSET],
    ),
    "H": ("38 MFCC + energy + onset", [*_mfcc(38), ENERGY, ONSET]),
    "I": (
        "23 MFCC + 6 chroma-DFT + 2 key-mode + 7 contrast + energy + onset",
        [*_mfcc(23), *_cols(CHROMA_DFT), *_cols(KEY_MODE), *_cols(CONTRAST), ENERGY, ONSET],
    ),
}


# ----------------------------------------------------------------------------- features


def _filterbank() -> np.ndarray:
    return psf_base.get_filterbanks(N_MELS, NFFT, RATE, 0, RATE / 2).T  # (513, 64)


def key_mode(chroma: np.ndarray) -> np.ndarray:
    """(n, 2): each frame's best Pearson correlation over the 12 rotations of the major key
    profile, then of the minor one; 0 for a frame with a flat (e.g. silent) chroma."""
    out = np.zeros((chroma.shape[0], 2))
    c = chroma - chroma.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(c, axis=1)
    ok = norm > 1e-9
    for j, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        p = np.array(profile) - np.mean(profile)
        keys = np.stack([np.roll(p, k) for k in range(12)])  # (12 keys, 12 pitch classes)
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
        corr = (c[ok] / norm[ok, None]) @ keys.T
        out[ok, j] = corr.max(axis=1)
    return out


def superset(signal: np.ndarray) -> np.ndarray:
    """Every block of every candidate for one mono 22,050 Hz signal: float32 (n_frames, WIDTH)."""
    import librosa

    x = np.asarray(signal, dtype=np.float64)
    n = 0 if x.size < FRAME else 1 + (x.size - FRAME) // STEP
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::STEP][:n]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames * np.hamming(FRAME), NFFT, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    out = np.zeros((n, WIDTH))

    log_mel = np.log(np.maximum(power @ _filterbank(), np.finfo(float).eps))
    out[:, MFCC] = dct(log_mel, type=2, axis=1, norm="ortho")
    chroma = librosa.feature.chroma_stft(S=power.T, sr=RATE, n_fft=NFFT, tuning=0.0).T
    out[:, CHROMA] = chroma
    out[:, CHROMA_DFT] = np.abs(np.fft.rfft(chroma, axis=1))[:, 1:7]
    out[:, KEY_MODE] = key_mode(chroma)
    out[:, CONTRAST] = librosa.feature.spectral_contrast(
        S=np.sqrt(power).T, sr=RATE, n_fft=NFFT, fmin=200, n_bands=6
    ).T

    total = power.sum(axis=1)
    energy = np.full(n, -ENERGY_CLIP)
    reference = None
    for i, value in enumerate(total.tolist()):
        if value < SILENT_POWER:
            continue
        level = float(np.log(value))
        if reference is None:
            reference = level
        energy[i] = min(max(level - reference, -ENERGY_CLIP), ENERGY_CLIP)
        reference += ENERGY_ALPHA * (level - reference)
    out[:, ENERGY] = energy
    if n > 1:
        out[1:, ONSET] = np.maximum(0.0, np.diff(log_mel, axis=0)).mean(axis=1)

    current = extract_features(np.asarray(signal, dtype=np.float32), FeatureSpec())
    if current.shape[0] != n:
        raise AssertionError(f"current frame count {current.shape[0]} != {n}")
    out[:, CURRENT] = current
    return out.astype(np.float32)


@dataclass
class Clips:
    """The usable clips of one dataset: their songs, per-clip statistics and skips."""

    songs: list[Song]
    stats: np.ndarray  # (n, 2 * WIDTH): per-column mean then std
    seconds: float  # audio extracted
    skips: dict[str, int]
    loader_skips: dict[str, int]
    cached: int = 0  # clips read from the cache in this run
    cold_wall: float = 0.0  # decode + superset of the used clips, as recorded when computed
    cold_cpu: float = 0.0


def extract(
    name: str, songs: list[Song], cache: Path, loader_skips: dict[str, int]
) -> tuple[Clips, float, float]:
    """Superset statistics of every song (cached); returns the clips, wall and CPU seconds."""
    folder = cache / SUPERSET_VERSION / name
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "timing.json"  # per clip: [wall s, CPU s] of its decode + superset
    timings = json.loads(record.read_text()) if record.is_file() else {}
    kept, stats, skips, seconds, cached = [], [], {}, 0.0, 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i, song in enumerate(songs):
        target = folder / f"{song.song_id}.npy"
        try:
            if target.is_file() and song.song_id in timings:
                frames = np.load(target)
                cached += 1
            else:
                clip_wall, clip_cpu = time.perf_counter(), time.process_time()
                signal = load_audio(song.path, RATE)
                if signal.size < MIN_SECONDS * RATE:
                    kind = f"shorter than {MIN_SECONDS} s"
                    skips[kind] = skips.get(kind, 0) + 1
                    log.warning("skipped %s %s: %s", name, song.song_id, kind)
                    continue
                frames = superset(signal)
                timings[song.song_id] = [
                    time.perf_counter() - clip_wall,
                    time.process_time() - clip_cpu,
                ]
                np.save(target, frames)
        except SentioError as err:
            skips["audio not decodable"] = skips.get("audio not decodable", 0) + 1
            log.warning("skipped %s %s: %s", name, song.song_id, err)
            continue
        if not np.isfinite(frames).all():
            skips["non-finite features"] = skips.get("non-finite features", 0) + 1
            log.warning("skipped %s %s: non-finite features", name, song.song_id)
            continue
        seconds += (frames.shape[0] * STEP + FRAME - STEP) / RATE
        kept.append(song)
        stats.append(np.concatenate([frames.mean(axis=0), frames.std(axis=0)]))
        if (i + 1) % 100 == 0:
            log.info("%s: %d/%d clips", name, i + 1, len(songs))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    record.write_text(json.dumps(timings))
    cold = np.array([timings[s.song_id] for s in kept]).reshape(-1, 2).sum(axis=0)
    clips = Clips(
        kept, np.array(stats, dtype=np.float64), seconds, skips, loader_skips, cached, *cold
    )
    return clips, wall, cpu


def candidate_statistics(stats: np.ndarray, columns: list[int]) -> np.ndarray:
    """The 80 song statistics of a candidate: its columns' means, then their stds."""
    cols = np.array(columns)
    return np.concatenate([stats[:, cols], stats[:, WIDTH + cols]], axis=1)


# ----------------------------------------------------------------------------- scoring


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``y > 0`` (ties count half); NaN if one class."""
    positive = y > 0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pearson(y: np.ndarray, p: np.ndarray) -> float:
    if y.std() == 0 or p.std() == 0:
        return float("nan")
    return float(np.corrcoef(y, p)[0, 1])


def song_folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold index per song: a seeded shuffle dealt round-robin."""
    folds = np.empty(n, dtype=int)
    folds[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return folds


def group_folds(groups: list[str], k: int, seed: int) -> np.ndarray:
    """Fold index per song with every group (artist) in one fold: groups in a seeded order,
    largest first, each to the fold with the fewest songs so far."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    sizes = {g: groups.count(g) for g in names}
    ranked = sorted((names[i] for i in order), key=lambda g: -sizes[g])  # stable: seeded ties
    fill, where = np.zeros(k, dtype=int), {}
    for g in ranked:
        f = int(np.argmin(fill))
        where[g] = f
        fill[f] += sizes[g]
    return np.array([where[g] for g in groups])


def _raw_predict(model: RidgeBaseline, x: np.ndarray) -> np.ndarray:
    return ((x - model.mean) / model.scale) @ model.weights + model.bias


def out_of_fold(
    x: np.ndarray, y: np.ndarray, outer: np.ndarray, inner_of, score, clip: bool
) -> tuple[np.ndarray, list[list[float]]]:
    """Out-of-fold predictions per dimension; alpha chosen per dimension and outer fold by an
    inner CV on that fold's training songs (``inner_of(train_index)`` -> inner fold per song,
    ``score(y, p)``: higher is better). Returns predictions and the alphas chosen."""
    pred = np.zeros_like(y)
    chosen: list[list[float]] = [[] for _ in range(y.shape[1])]
    predict = (lambda m, v: m.predict(v)) if clip else _raw_predict
    for f in np.unique(outer):
        train, test = np.flatnonzero(outer != f), np.flatnonzero(outer == f)
        inner = inner_of(train)
        for d in range(y.shape[1]):
            yt = y[train, d : d + 1]
            best, best_score = ALPHAS[0], -np.inf
            for alpha in ALPHAS:
                p = np.zeros_like(yt)
                for g in np.unique(inner):
                    fit_i, val_i = inner != g, inner == g
                    model = RidgeBaseline.fit(x[train][fit_i], yt[fit_i], alpha)
                    p[val_i] = predict(model, x[train][val_i])
                value = score(yt[:, 0], p[:, 0])
                if value > best_score:
                    best, best_score = alpha, value
            chosen[d].append(best)
            model = RidgeBaseline.fit(x[train], yt, best)
            pred[test, d] = predict(model, x[test])[:, 0]
    return pred, chosen


def bootstrap(metric, n: int, resamples: int, seed: int = SEED) -> tuple[float, float, np.ndarray]:
    """Percentile 95% interval of ``metric(index)`` over song resamples; also the draws."""
    if resamples == 0:
        return float("nan"), float("nan"), np.zeros(0)
    rng = np.random.default_rng(seed)
    draws = np.array([metric(rng.integers(0, n, n)) for _ in range(resamples)])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    return float(lo), float(hi), draws


@dataclass
class Score:
    value: float
    low: float
    high: float
    draws: np.ndarray

    def cell(self) -> str:
        return f"{self.value:.3f} [{self.low:.2f}, {self.high:.2f}]"


def scored(metric, n: int, resamples: int) -> Score:
    lo, hi, draws = bootstrap(metric, n, resamples)
    return Score(metric(np.arange(n)), lo, hi, draws)


def score_emotify(
    clips: Clips, columns: list[int], seed: int = SEED, resamples: int = RESAMPLES
) -> dict[str, Score]:
    """Emotify out-of-fold r and CCC per dimension (folds from ``seed``)."""
    x = candidate_statistics(clips.stats, columns)
    y = np.array([[s.valence, s.arousal] for s in clips.songs])
    outer = song_folds(len(y), OUTER_FOLDS, seed)
    pred, _ = out_of_fold(
        x, y, outer, lambda train: song_folds(len(train), INNER_FOLDS, seed + 1), ccc, clip=True
    )
    out = {}
    for d, dim in enumerate(("valence", "arousal")):
        yd, pd = y[:, d], pred[:, d]
        out[f"{dim}_r"] = scored(lambda i, yd=yd, pd=pd: pearson(yd[i], pd[i]), len(y), resamples)
        out[f"{dim}_ccc"] = scored(lambda i, yd=yd, pd=pd: ccc(yd[i], pd[i]), len(y), resamples)
    return out


def score_4q(
    clips: Clips, columns: list[int], seed: int = SEED, resamples: int = RESAMPLES
) -> dict[str, Score]:
    """4Q out-of-fold AUC per dimension and quadrant accuracy (artist folds from ``seed``)."""
    x = candidate_statistics(clips.stats, columns)
    y = np.array([[s.valence, s.arousal] for s in clips.songs])
    groups = [s.group for s in clips.songs]
    outer = group_folds(groups, OUTER_FOLDS, seed)
    pred, _ = out_of_fold(
        x,
        y,
        outer,
        lambda train: group_folds([groups[i] for i in train], INNER_FOLDS, seed + 1),
        auc,
        clip=False,
    )
    out = {}
    for d, dim in enumerate(("valence", "arousal")):
        yd, pd = y[:, d], pred[:, d]
        out[f"{dim}_auc"] = scored(lambda i, yd=yd, pd=pd: auc(yd[i], pd[i]), len(y), resamples)
    hit = np.all(np.sign(pred) == np.sign(y), axis=1).astype(float)
    out["quadrant_acc"] = scored(lambda i: float(hit[i].mean()), len(y), resamples)
    return out


def paired(a: Score, b: Score) -> str:
    """Candidate minus A over the same resamples: difference, interval, share of wins."""
    diff = a.draws - b.draws
    lo, hi = np.nanpercentile(diff, [2.5, 97.5])
    return f"{a.value - b.value:+.3f} [{lo:+.2f}, {hi:+.2f}] ({np.nanmean(diff > 0):.0%})"


# ----------------------------------------------------------------------------- report


def _skips(clips: Clips) -> str:
    both = {**clips.loader_skips, **{f"extraction: {k}": v for k, v in clips.skips.items()}}
    if not both:
        return "0"
    return f"{sum(both.values())} (" + ", ".join(f"{v} x {k}" for k, v in both.items()) + ")"


def render(
    command: str,
    emotify: Clips,
    fourq: Clips,
    results: dict[str, tuple[dict[str, Score], dict[str, Score]]],
    timing: dict[str, tuple[Clips, float, float]],
    total_wall: float,
    repeats: dict[str, dict[str, list[float]]],
) -> str:
    lines = [
        "# Frontend v2: feature-candidate table (issue 13)",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Reads `../shared/data` (Emotify, "
        "4Q): developer data, not shipped. Method: `benchmarks/feature_candidates.py` docstring.",
        "",
        f"- Emotify: {len(emotify.songs)} clips used ({emotify.seconds / 60:.0f} min of audio); "
        f"skipped: {_skips(emotify)}",
        f"- 4Q: {len(fourq.songs)} clips used ({fourq.seconds / 60:.0f} min of audio), "
        f"{len(set(s.group for s in fourq.songs))} artists; skipped: {_skips(fourq)}",
    ]
    for name, (clips, wall, cpu) in timing.items():
        lines.append(
            f"- superset extraction, {name} ({clips.seconds / 60:.0f} min of audio): cold "
            f"(decode + every block, one process, recorded when each clip was computed) "
            f"{clips.cold_wall:.0f} s wall, {clips.cold_cpu:.0f} s CPU "
            f"({1000 * clips.cold_cpu / max(clips.seconds, 1e-9):.1f} ms CPU per audio second); "
            f"this run "
            f"{wall:.0f} s wall, {cpu:.0f} s CPU with {clips.cached} clip(s) from the cache"
        )
    lines += [
        f"- total wall time: {total_wall:.0f} s",
        "",
        "Out-of-fold scores, 95% bootstrap intervals over songs in brackets.",
        "",
        "| | composition | Emotify V r | Emotify V CCC | Emotify A r | Emotify A CCC "
        "| 4Q V AUC | 4Q A AUC | 4Q quadrant acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, (emo, fq) in results.items():
        cells = [
            emo["valence_r"],
            emo["valence_ccc"],
            emo["arousal_r"],
            emo["arousal_ccc"],
            fq["valence_auc"],
            fq["arousal_auc"],
            fq["quadrant_acc"],
        ]
        row = " | ".join(c.cell() for c in cells)
        lines.append(f"| {key} | {CANDIDATES[key][0]} | {row} |")
    for reference in [r for r in REFERENCES if r in results]:
        base_emo, base_fq = results[reference]
        lines += [
            "",
            f"Paired difference from {reference} (same bootstrap resamples): difference "
            "[95% interval] (share of resamples in which the candidate is better).",
            "",
            "| | Emotify V r | Emotify A r | 4Q V AUC | 4Q A AUC | 4Q quadrant acc |",
            "|---|---|---|---|---|---|",
        ]
        for key, (emo, fq) in results.items():
            if key == reference:
                continue
            cells = [
                paired(emo["valence_r"], base_emo["valence_r"]),
                paired(emo["arousal_r"], base_emo["arousal_r"]),
                paired(fq["valence_auc"], base_fq["valence_auc"]),
                paired(fq["arousal_auc"], base_fq["arousal_auc"]),
                paired(fq["quadrant_acc"], base_fq["quadrant_acc"]),
            ]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if repeats:
        n_seeds = len(next(iter(repeats.values()))["Emotify V r"])
        metrics = list(next(iter(repeats.values())))
        lines += [
            "",
            f"Fold-seed robustness: the point scores with {n_seeds} different fold assignments "
            f"(seeds {SEED}..{SEED + n_seeds - 1}), mean +- sd over seeds (no bootstrap).",
            "",
            "| | " + " | ".join(metrics) + " |",
            "|---|" + "---|" * len(metrics),
        ]
        for key, values in repeats.items():
            cells = [f"{np.mean(v):.3f} +- {np.std(v):.3f}" for v in values.values()]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Notes: chroma-DFT (G) is |DFT_k| (k = 1..6) of each frame's 12 chroma values, a "
        "transposition-invariant summary of the pitch-class profile (it is also invariant to "
        "inversion, so it cannot tell a major from a minor triad); key-mode (I) is each frame's "
        "best correlation with the 12 rotations of the Krumhansl-Kessler major profile, and of "
        "the minor one. Contrast is librosa's, "
        "so its dB conversion clips at 80 dB below the clip's loudest peak (`top_db`). "
        "Chance: AUC 0.5, quadrant accuracy about 0.25. "
        "Candidates are compared on the data they are chosen on: with several candidates the "
        "best one's scores are optimistic (winner's curse); a small lead is not a finding.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--fourq", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sentio-cand"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", default="", help="candidate letters, e.g. ABD (default all)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="fold seeds for the robustness table (0: none)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    command = "python -m benchmarks.feature_candidates " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    start = time.perf_counter()

    emotify_set = load_emotify(args.emotify)
    fourq_set = load_4q(args.fourq)
    timing = {}
    emotify, wall, cpu = extract("emotify", emotify_set.songs, args.cache, _counts(emotify_set))
    timing["Emotify"] = (emotify, wall, cpu)
    fourq, wall, cpu = extract("4q", fourq_set.songs, args.cache, _counts(fourq_set))
    timing["4Q"] = (fourq, wall, cpu)

    results = {}
    for key in args.only or CANDIDATES:
        columns = CANDIDATES[key][1]
        if len(columns) != 40:
            raise AssertionError(f"candidate {key} has {len(columns)} columns, not 40")
        results[key] = (score_emotify(emotify, columns), score_4q(fourq, columns))
        log.info("scored candidate %s", key)
    repeats: dict[str, dict[str, list[float]]] = {}
    for key in results if args.repeats > 0 else ():
        columns, values = CANDIDATES[key][1], {}
        for seed in range(SEED, SEED + args.repeats):
            emo = score_emotify(emotify, columns, seed, resamples=0)
            fq = score_4q(fourq, columns, seed, resamples=0)
            for name, score in (
                ("Emotify V r", emo["valence_r"]),
                ("Emotify A r", emo["arousal_r"]),
                ("4Q V AUC", fq["valence_auc"]),
                ("4Q A AUC", fq["arousal_auc"]),
                ("4Q quadrant acc", fq["quadrant_acc"]),
            ):
                values.setdefault(name, []).append(score.value)
        repeats[key] = values
    if "A" not in results:
        raise SystemExit("candidate A (the baseline) is needed for the paired differences")
    wall = time.perf_counter() - start
    text = render(command, emotify, fourq, results, timing, wall, repeats)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


def _counts(dataset) -> dict[str, int]:
    return {f"loader: {k}": v for k, v in dataset.skipped.counts().items()}


if __name__ == "__main__":
    with threadpool_limits(1):  # two shared cores: one BLAS thread
        sys.exit(main())
