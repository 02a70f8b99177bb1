"""How fast the live output follows a change of song, and how often it sees a change that is
not there (issue 15).

Songs of a bundle's split (Emotify + 4Q, as ``sentio-train compare`` reads them) are joined in
pairs, with a hard cut or a 3 s linear crossfade, and run through the engine's pipeline
(``engine.offline_predictions``: equal to streaming, tested). For each pair whose two songs'
steady values differ (by > 0.2 on valence or arousal), the response time is the time from
the cut (the middle of a crossfade) until the output is within 0.1 of the new song's steady
value on both dimensions and stays there for 2 s; the steady value is the mean of the
song's full-window predictions played alone. False changes: changes found within single
songs, per hour of audio. "today" is the engine without early estimates or change detection;
"after" the defaults. Thresholds are swept on the validation split; report the test split.

    python -m benchmarks.song_changes --emotify ../shared/data/emotify --fourq ../shared/data/4q \\
        --split val --sweep 0.8,1.0,1.2,1.5,2.0
    python -m benchmarks.song_changes --emotify … --fourq … --split test \\
        --out experiments/song_changes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from sentio.export.data.sources import DataOptions
from sentio.export.evaluation.robustness import bundle_songs
from sentio.runtime.audio import load_audio
from sentio.runtime.changes import ChangeSettings, find_changes
from sentio.runtime.emotion import Smoother
from sentio.runtime.engine import SILENCE_PEAK, offline_predictions
from sentio.runtime.features import extract_features
from sentio.runtime.model import BundleModel
from sentio.runtime.streaming import FramePeaks
from sentio.runtime.windows import fill_window, window_ends

WITHIN = 0.1
HOLD_S = 2.0
VISIBLE = 0.2
CROSSFADE_S = 3.0


def songs_of(bundle: BundleModel, emotify: Path, fourq: Path | None, split: str) -> list:
    options = DataOptions(kind="emotify", path=emotify, fourq=fourq, progress=False)
    songs, _ = bundle_songs(bundle.manifest, options, split)
    return songs


def join(a: np.ndarray, b: np.ndarray, rate: int, fade_s: float) -> tuple[np.ndarray, float]:
    """``a`` then ``b``, crossfaded over ``fade_s`` (0: a hard cut); the cut time, seconds."""
    n = int(fade_s * rate)
    if n == 0:
        return np.concatenate([a, b]), len(a) / rate
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    middle = a[-n:] * (1 - ramp) + b[:n] * ramp
    return np.concatenate([a[:-n], middle, b[n:]]), (len(a) - n / 2) / rate


def oracle_predictions(
    model: BundleModel, samples: np.ndarray, cut_s: float
) -> tuple[list[tuple[int, int]], np.ndarray, list[tuple[int, int]]]:
    """The engine's windows had it known the cut the moment it happened (early estimates
    from 3 s after it): the best any change detector could do with these estimates."""
    spec = model.spec
    fps = spec.frames_per_second
    features = extract_features(samples, spec)
    cut = round(cut_s * fps)
    found = [(cut, cut)]
    hop = round(model.default_hop_s * fps)
    ends = window_ends(len(features), model.window, hop, round(3.0 * fps), found)
    raw = [model.predict(fill_window(features[e - n : e], model.window)) for e, n in ends]
    return ends, np.array(raw, dtype=np.float32).reshape(-1, 2), found


def output_series(
    model: BundleModel, samples: np.ndarray, first_s, changes, smooth_s: float, cut_s: float = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(times, (n, 2) outputs) of the engine on a whole signal (smoothing reset at changes);
    ``changes="oracle"``: restarted exactly at ``cut_s``."""
    fps = model.spec.frames_per_second
    hop_s = model.default_hop_s
    if changes == "oracle":
        ends, raw, found = oracle_predictions(model, samples, cut_s)
    else:
        ends, raw = offline_predictions(model, samples, first_s, changes)
        found = _changes(model, samples, changes)
    restarts = sorted(f for f, _ in found)
    smoother, out, k = Smoother(smooth_s, hop_s), [], 0
    for (end, _), value in zip(ends, raw, strict=True):
        if k < len(restarts) and end > restarts[k]:
            while k < len(restarts) and end > restarts[k]:
                k += 1
            smoother = Smoother(smooth_s, hop_s)
        out.append(smoother(float(value[0]), float(value[1])))
    return np.array([e / fps for e, _ in ends]), np.array(out).reshape(-1, 2)


def _changes(model: BundleModel, samples: np.ndarray, changes) -> list[tuple[int, int]]:
    settings = changes if isinstance(changes, ChangeSettings) else None
    if settings is None or not settings.enabled:
        return []
    features = extract_features(samples, model.spec)
    peaks = FramePeaks(model.spec.frame_step).push(samples)[: len(features)]
    return find_changes(
        model.stats.apply(features),
        peaks < SILENCE_PEAK,
        settings,
        model.spec.frames_per_second,
        model.estimate,
    )


def response_time(
    times, outputs, cut_s: float, steady: np.ndarray, hop_s: float, within=WITHIN, hold_s=HOLD_S
) -> float:
    """Seconds from the cut until the output is within ``within`` of ``steady`` and stays
    there for ``hold_s`` (0: the first time it is; inf: never)."""
    close = np.all(np.abs(outputs - steady) <= within, axis=1)
    need = max(1, round(hold_s / hop_s))
    after = np.flatnonzero(times > cut_s)
    for i in after:
        if i + need <= len(close) and close[i : i + need].all():
            return float(times[i] - cut_s)
    return float("inf")


def steady_value(model: BundleModel, samples: np.ndarray) -> np.ndarray | None:
    _, raw = offline_predictions(model, samples, None, False)
    return raw.mean(axis=0) if len(raw) else None


def measure(model, audio: list[np.ndarray], settings: ChangeSettings, smooth_s: float) -> dict:
    rate = model.spec.sample_rate
    steadies = [steady_value(model, a) for a in audio]
    configs = {"today": (None, False), "after": (3.0, settings), "oracle": (3.0, "oracle")}
    criteria = {"": (WITHIN, HOLD_S), "first_": (WITHIN, 0.0), "within0.2_": (0.2, HOLD_S)}
    result: dict = {"pairs": 0, "visible_pairs": 0}
    rng = np.random.default_rng(0)
    order = rng.permutation(len(audio))
    pairs = [(int(order[i]), int(order[i + 1])) for i in range(len(order) - 1)]
    for fade, label in ((0.0, "cut"), (CROSSFADE_S, "crossfade")):
        times_by = {c + name: [] for name in configs for c in criteria}
        for a, b in pairs:
            if steadies[a] is None or steadies[b] is None:
                continue
            if np.max(np.abs(steadies[a] - steadies[b])) <= VISIBLE:
                continue
            joined, cut = join(audio[a], audio[b], rate, fade)
            for name, (first, changes) in configs.items():
                t, out = output_series(model, joined, first, changes, smooth_s, cut)
                for c, (within, hold) in criteria.items():
                    times_by[c + name].append(
                        response_time(t, out, cut, steadies[b], model.default_hop_s, within, hold)
                    )
        for name, values in times_by.items():
            values = np.array(values)
            result[f"{label}_{name}_median_s"] = float(np.median(values)) if len(values) else None
            result[f"{label}_{name}_p75_s"] = (
                float(np.percentile(values, 75, method="nearest")) if len(values) else None
            )
            result[f"{label}_{name}_never"] = int(np.sum(~np.isfinite(values)))
            result["visible_pairs"] = len(values)
    result["pairs"] = len(pairs)
    hours = sum(len(a) for a in audio) / rate / 3600
    false = sum(len(_changes(model, a, settings)) for a in audio)
    result["false_changes"] = false
    result["audio_hours"] = round(hours, 3)
    result["false_changes_per_hour"] = false / hours if hours else None
    return result


def sweep(model, audio: list[np.ndarray], thresholds: list[float], **fields) -> list[dict]:
    """False changes per hour within songs and the share of cuts found within 4 s, per
    threshold (no model runs: the detector only)."""
    rate = model.spec.sample_rate
    hours = sum(len(a) for a in audio) / rate / 3600
    rows = []
    order = np.random.default_rng(0).permutation(len(audio))
    for threshold in thresholds:
        settings = ChangeSettings(threshold=threshold, **fields)
        false = sum(len(_changes(model, a, settings)) for a in audio)
        found = hard = 0
        for i in range(len(order) - 1):
            joined, cut = join(audio[order[i]], audio[order[i + 1]], rate, 0.0)
            after = [f for f, _ in _changes(model, joined, settings)]
            fps = model.spec.frames_per_second
            hard += 1
            found += any(cut <= f / fps <= cut + 4.0 for f in after)
        rows.append(
            {
                "threshold": threshold,
                **fields,
                "false_per_hour": round(false / hours, 2),
                "cuts_found_within_4s": round(found / hard, 3),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--fourq", type=Path, default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--songs-of",
        type=Path,
        default=None,
        help="take --split from this bundle's recorded splits (default: --bundle's), so two "
        "bundles run on the same songs",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N songs")
    parser.add_argument("--sweep", default="", help="thresholds to sweep, e.g. 0.8,1.2,1.6")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--smooth", type=float, default=0.0)
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="a ChangeSettings field"
    )
    parser.add_argument("--out", type=Path, default=None, help="write OUT.json")
    args = parser.parse_args(argv)
    model = BundleModel(args.bundle, artifact="model_float32.tflite")
    splits_from = BundleModel(args.songs_of) if args.songs_of else model
    songs = songs_of(splits_from, args.emotify, args.fourq, args.split)
    songs = [songs[i] for i in np.random.default_rng(0).permutation(len(songs))][: args.limit]
    audio = [load_audio(s.path, model.spec.sample_rate) for s in songs]
    print(f"{len(audio)} songs of the {args.split} split")
    fields = {k: _field(k, v) for k, v in (item.split("=", 1) for item in args.set)}
    if args.sweep:
        rows = sweep(model, audio, [float(t) for t in args.sweep.split(",")], **fields)
        for row in rows:
            print(json.dumps(row))
        if args.out:
            args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    settings = ChangeSettings(**fields)
    if args.threshold is not None:
        settings = dataclasses.replace(settings, threshold=args.threshold)
    result = {"split": args.split, "songs": len(audio), "settings": dataclasses.asdict(settings)}
    result |= measure(model, audio, settings, args.smooth)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _field(name: str, value: str):
    kind = type(getattr(ChangeSettings(), name))
    return value.lower() in ("1", "true", "yes") if kind is bool else kind(value)


if __name__ == "__main__":
    raise SystemExit(main())
