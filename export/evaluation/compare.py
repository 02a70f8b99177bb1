"""A trained CRNN against the ridge baseline on the run's own test split, per song, with
bootstrap 95% intervals and a per-group (genre) breakdown: the model card's numbers."""

from __future__ import annotations

import numpy as np
from sentio.export.data.windows import PreparedData
from sentio.export.evaluation.baseline import evaluate_baseline, fit_baseline
from sentio.export.evaluation.targets import compare_on_dataset, targets_markdown
from sentio.export.model.metrics import (
    DIMENSIONS,
    bootstrap_intervals,
    paired_ccc_difference,
    regression_report,
)
from sentio.export.model.predict import evaluate_predictions, predict_windows
from sentio.runtime.manifest import as_json

METRICS = ("rmse", "mae", "r2", "ccc", "accuracy")


def compare_with_baseline(
    predict, prepared: PreparedData, threshold: float = 0.5, n_resamples: int = 1000
) -> dict:
    """Test-split song metrics (with intervals) of the CRNN ``predict`` and of ridge."""
    test = prepared.splits["test"]
    crnn = evaluate_predictions(test, predict_windows(predict, test, prepared.window), threshold)
    y = np.array([s.label for s in crnn.per_song])
    p_crnn = np.array([s.prediction for s in crnn.per_song])
    ridge, alpha_scores = fit_baseline(prepared.splits)
    _, y_ridge, p_ridge = evaluate_baseline(ridge, test, threshold)
    if not np.allclose(y, y_ridge):
        raise AssertionError("CRNN and ridge test songs are not in the same order")
    datasets = _per_dataset(test, crnn.per_song, y, p_crnn, p_ridge, n_resamples)
    # the value tables score songs with values (quadrant-only songs are in ``datasets``)
    valued = np.array([not s.song.sign_only for s in test]) if len(test) == len(y) else None
    if valued is not None and valued.any():
        y, p_crnn, p_ridge = y[valued], p_crnn[valued], p_ridge[valued]
        test = [s for s, keep in zip(test, valued, strict=True) if keep]
    groups = [s.song.group for s in test]
    return {
        "songs": len(test),
        "crnn": {
            "report": as_json(crnn.songs),
            "intervals": bootstrap_intervals(y, p_crnn, threshold, n_resamples),
            "groups": as_json(crnn.groups),
        },
        "ridge": {
            "alpha": ridge.alpha,
            "validation_ccc_by_alpha": alpha_scores,
            "report": regression_report(y, p_ridge, threshold),
            "intervals": bootstrap_intervals(y, p_ridge, threshold, n_resamples),
            "groups": _group_reports(y, p_ridge, groups, threshold),
        },
        "ccc_difference": paired_ccc_difference(y, p_crnn, p_ridge, n_resamples),
        "datasets": datasets,
        "per_song": as_json(crnn.per_song),
    }


def _per_dataset(test, per_song, y, p_crnn, p_ridge, n_resamples: int) -> dict[str, dict]:
    """Each dataset of the test split on its own metrics (AUCs for quadrant labels, CCC for
    values), CRNN and ridge side by side with paired differences."""
    songs = {s.song.song_id: s.song for s in test}
    members: dict[str, list[int]] = {}
    for i, row in enumerate(per_song):
        members.setdefault(songs[row.song_id].dataset or "all", []).append(i)
    out = {}
    for name, idx in sorted(members.items()):
        sign_only = all(songs[per_song[i].song_id].sign_only for i in idx)
        predictions = {"crnn": p_crnn[idx], "ridge": p_ridge[idx]}
        out[name] = compare_on_dataset(y[idx], predictions, sign_only, n_resamples=n_resamples)
    return out


def _group_reports(y, p, groups, threshold) -> dict:
    out = {}
    for group in sorted({g for g in groups if g}):
        idx = [i for i, g in enumerate(groups) if g == group]
        out[group] = regression_report(y[idx], p[idx], threshold)
    return out


def comparison_markdown(result: dict) -> str:
    """Side-by-side table (value [95% interval]) and the per-genre CCCs."""
    lines = []
    if result.get("datasets"):
        lines += [
            "Per dataset, test songs (AUC of the valence and arousal signs and quadrant "
            "accuracy where labels are quadrants, CCC where they are values); 95% bootstrap "
            "intervals; differences paired over the same resampled songs:",
            "",
            targets_markdown(result["datasets"]),
            "",
            "Songs with values only:",
            "",
        ]
    lines += [
        f"Test split, per song (n = {result['songs']}); 95% intervals from 1,000 bootstrap "
        "resamples of the test songs.",
        "",
        "| metric | CRNN | ridge baseline |",
        "|---|---|---|",
    ]
    for dim in DIMENSIONS:
        for metric in METRICS:
            lines.append(
                f"| {dim} {metric} | {_cell(result['crnn'], dim, metric)} | "
                f"{_cell(result['ridge'], dim, metric)} |"
            )
    lines.append(
        f"| emotion accuracy | {_cell(result['crnn'], None, 'emotion_accuracy')} | "
        f"{_cell(result['ridge'], None, 'emotion_accuracy')} |"
    )
    lines += [
        "",
        "CCC difference CRNN − ridge (paired bootstrap over the same resampled songs):",
        "",
    ]
    for dim, diff in result["ccc_difference"].items():
        lo, hi = diff["interval"]
        lines.append(
            f"- {dim}: {diff['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]; CRNN better in "
            f"{100 * diff['a_better']:.0f}% of resamples"
        )
    lines += [
        "",
        "Per genre (song CCC valence / arousal):",
        "",
        "| genre | n | CRNN | ridge |",
        "|---|---:|---|---|",
    ]
    for group, rep in result["crnn"]["groups"].items():
        ridge = result["ridge"]["groups"].get(group, {})
        lines.append(
            f"| {group} | {rep['n']} | {rep['valence']['ccc']:.2f} / {rep['arousal']['ccc']:.2f}"
            f" | {ridge['valence']['ccc']:.2f} / {ridge['arousal']['ccc']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _cell(side: dict, dim: str | None, metric: str) -> str:
    value = side["report"][dim][metric] if dim else side["report"][metric]
    lo, hi = side["intervals"][dim][metric] if dim else side["intervals"][metric]
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"
