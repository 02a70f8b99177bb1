"""Seed spread and seed ensembles of CRNN cross-validation runs (issue 25).

    python -m benchmarks.cv_seeds --emotify ../shared/data/emotify --fourq ../shared/data/4q \\
        --run "centred=experiments/cv/cv_center_s0.json,experiments/cv/cv_center_s1.json" \\
        --run "distilled=experiments/cv/cv_distilled_s0.json,experiments/cv/cv_distilled_s1.json"

Each ``--run NAME=A.json,B.json`` names the ``sentio-train cv --out`` reports of one recipe
trained with different seeds on the same folds (same ``--fold-seed`` and ``--folds``). For
every recipe it prints, from the pooled out-of-fold predictions: each seed's 4Q scores and
Emotify CCC, the seed spread (the largest minus the smallest seed's score, and the mean
per-song |difference| of two seeds' predictions), and the scores of the seeds' mean (the
ensemble a distilled model stands in for). Reads ``../shared/data`` for the labels: a
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sentio.export.data.sources import DataOptions, load_dataset
from sentio.export.evaluation.quadrant_scores import quadrant_of, quadrant_scores
from sentio.export.model.metrics import ccc

COLUMNS = (
    ("4Q V AUC", "valence_auc"),
    ("4Q A AUC", "arousal_auc"),
    ("sad vs calm", "sad_vs_calm"),
    ("quadrant acc", "accuracy"),
    ("Q3 recall", "recall_sad"),
    ("CCC V", "ccc_valence"),
    ("CCC A", "ccc_arousal"),
)


def scores(predictions: dict[str, np.ndarray], truth: dict) -> dict[str, float]:
    """4Q quadrant scores and Emotify CCC of one set of pooled out-of-fold predictions."""
    signs = [i for i in predictions if truth[i].sign_only]
    valued = [i for i in predictions if not truth[i].sign_only]
    quadrants = quadrant_of(
        np.array([truth[i].valence for i in signs]), np.array([truth[i].arousal for i in signs])
    )
    q = quadrant_scores(quadrants, np.stack([predictions[i] for i in signs]))
    out = {m: q.value(m) for _, m in COLUMNS if not m.startswith("ccc_")}
    y = np.array([[truth[i].valence, truth[i].arousal] for i in valued])
    p = np.stack([predictions[i] for i in valued])
    out["ccc_valence"], out["ccc_arousal"] = ccc(y[:, 0], p[:, 0]), ccc(y[:, 1], p[:, 1])
    return out


def seed_predictions(paths: list[Path]) -> dict[str, dict[str, np.ndarray]]:
    """Seed -> song id -> (valence, arousal), from every report (one or more seeds each)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for path in paths:
        for seed, by_song in json.loads(path.read_text())["pooled"].items():
            out[f"{path.stem}:{seed}"] = {k: np.asarray(v) for k, v in by_song.items()}
    return out


def recipe_rows(name: str, paths: list[Path], truth: dict) -> list[str]:
    by_seed = seed_predictions(paths)
    common = set.intersection(*(set(p) for p in by_seed.values()))
    per_seed = {s: scores({i: p[i] for i in common}, truth) for s, p in by_seed.items()}
    rows = [_row(f"{name}, {s}", v) for s, v in per_seed.items()]
    if len(by_seed) > 1:
        spread = {
            m: max(v[m] for v in per_seed.values()) - min(v[m] for v in per_seed.values())
            for _, m in COLUMNS
        }
        rows.append(_row(f"{name}, seed spread (max - min)", spread))
        mean = {i: np.mean([p[i] for p in by_seed.values()], axis=0) for i in common}
        rows.append(_row(f"{name}, mean of {len(by_seed)} seeds", scores(mean, truth)))
        stacked = np.stack([[p[i] for i in sorted(common)] for p in by_seed.values()])
        gap = np.abs(stacked - stacked.mean(axis=0)).mean(axis=(0, 1)) * 2
        rows.append(
            f"| {name}: per-song |seed difference| | valence {gap[0]:.3f}, arousal {gap[1]:.3f} "
            + "|" * (len(COLUMNS) - 1)
            + " |"
        )
    return rows


def _row(label: str, values: dict[str, float]) -> str:
    return f"| {label} | " + " | ".join(f"{values[m]:.3f}" for _, m in COLUMNS) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--fourq", type=Path, required=True)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=A.json,B.json")
    args = parser.parse_args(argv)
    options = DataOptions(kind="emotify", path=args.emotify, fourq=args.fourq, progress=False)
    truth = {s.song_id: s for s in load_dataset(options).songs}
    print("| recipe, seed | " + " | ".join(label for label, _ in COLUMNS) + " |")
    print("|" + "---|" * (len(COLUMNS) + 1))
    for run in args.run:
        name, _, files = run.partition("=")
        for row in recipe_rows(name, [Path(f) for f in files.split(",")], truth):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
