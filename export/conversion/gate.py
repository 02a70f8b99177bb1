"""The accuracy-drop check: every artifact on held-out songs, against the labels and against
the float reference, gated by how much worse than float it may be.

Gates compare per-window metrics (hundreds of windows: stable where a few dozen songs are
not) of each artifact with the float reference's on the same windows.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sentio.export.data.sources import DataOptions, prepare_for_model
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.model.metrics import DIMENSIONS
from sentio.export.model.predict import (
    Predictor,
    SplitEvaluation,
    evaluate_predictions,
    keras_predictor,
    predict_windows,
)
from sentio.export.quiet import native_stderr_quiet
from sentio.runtime.errors import ConfigError, DatasetError
from sentio.runtime.manifest import DimensionScores, Scores
from sentio.runtime.manifest import load as load_manifest
from sentio.runtime.model import open_runner, predict_many

log = logging.getLogger("sentio.export")


@dataclass(frozen=True)
class DropLimits:
    """How much worse than float an artifact may be (per dimension, per window).

    Attributes:
        ccc: largest fall in concordance correlation.
        rmse: largest rise in RMSE.
        emotion_accuracy: largest fall in emotion accuracy (both dimensions within threshold).
        mean_abs_diff: largest mean |artifact - float| over windows and dimensions.
    """

    ccc: float = 0.03
    rmse: float = 0.02
    emotion_accuracy: float = 0.05
    mean_abs_diff: float = 0.05

    @classmethod
    def parse(cls, text: str) -> DropLimits:
        """``ccc=0.03,rmse=0.02,...``; unnamed limits keep their defaults."""
        values = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name not in cls.__dataclass_fields__ or not value:
                raise ConfigError(
                    f"bad export.limits item {part!r}",
                    hint=f"use NAME=VALUE with NAME in {sorted(cls.__dataclass_fields__)}",
                )
            try:
                values[name] = float(value)
            except ValueError as err:
                raise ConfigError(f"bad export.limits value {part!r}", hint="a number") from err
        return cls(**values)


@dataclass
class ArtifactCheck:
    """One artifact's results on the evaluation songs."""

    name: str
    metrics: SplitEvaluation
    predictions: list[np.ndarray]
    diff_max: float = 0.0
    diff_mean: float = 0.0
    drops: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def runner_predictor(path: Path, num_threads: int = 1) -> Predictor:
    with native_stderr_quiet():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" line
        runner = open_runner(path, num_threads)
    return lambda windows: predict_many(runner, windows)


def check_artifacts(
    reference: Predictor | ArtifactCheck,
    artifacts: dict[str, Predictor],
    songs: list[SongWindows],
    window: int,
    limits: DropLimits,
    threshold: float = 0.5,
    reference_name: str = "keras",
) -> dict[str, ArtifactCheck]:
    """Evaluate the float ``reference`` and every artifact on ``songs``; gate the artifacts.

    ``reference`` is a predictor, or the check of an earlier call on the same songs (reused,
    not recomputed). Returns the checks keyed by name, the reference first (never gated).
    """
    if not songs or not any(s.starts.size for s in songs):
        raise DatasetError(
            "no evaluation windows: the test split is empty",
            hint="use more songs, or check the run summary for skipped ones",
        )
    if isinstance(reference, ArtifactCheck):
        ref = reference
    else:
        predictions = predict_windows(reference, songs, window)
        ref = ArtifactCheck(
            reference_name, evaluate_predictions(songs, predictions, threshold), predictions
        )
    checks = {ref.name: ref}
    ref_flat = np.concatenate(ref.predictions)
    for done, (name, predict) in enumerate(artifacts.items(), start=1):
        start = time.perf_counter()
        predictions = predict_windows(predict, songs, window)
        check = ArtifactCheck(
            name, evaluate_predictions(songs, predictions, threshold), predictions
        )
        diff = np.abs(np.concatenate(predictions) - ref_flat)
        check.diff_max, check.diff_mean = float(diff.max()), float(diff.mean())
        _gate(check, ref, limits)
        checks[name] = check
        log.info(  # progress: verifying every artifact takes minutes on a Pi-class CPU
            "verified %s (%d of %d) in %.0f s: %s",
            name,
            done,
            len(artifacts),
            time.perf_counter() - start,
            "passed" if check.passed else "FAILED the gate",
        )
    return checks


def _gate(check: ArtifactCheck, ref: ArtifactCheck, limits: DropLimits) -> None:
    mine, base = check.metrics.windows, ref.metrics.windows
    for dim in DIMENSIONS:
        ccc_drop = base.dimension(dim).ccc - mine.dimension(dim).ccc
        rmse_rise = mine.dimension(dim).rmse - base.dimension(dim).rmse
        check.drops[f"{dim}_ccc"] = ccc_drop
        check.drops[f"{dim}_rmse"] = rmse_rise
        if ccc_drop > limits.ccc:
            check.failures.append(f"{dim} CCC fell {ccc_drop:.3f} > {limits.ccc}")
        if rmse_rise > limits.rmse:
            check.failures.append(f"{dim} RMSE rose {rmse_rise:.3f} > {limits.rmse}")
    acc_drop = (base.emotion_accuracy or 0.0) - (mine.emotion_accuracy or 0.0)
    check.drops["emotion_accuracy"] = acc_drop
    if acc_drop > limits.emotion_accuracy:
        check.failures.append(f"emotion accuracy fell {acc_drop:.3f} > {limits.emotion_accuracy}")
    if check.diff_mean > limits.mean_abs_diff:
        check.failures.append(
            f"mean |diff| vs float {check.diff_mean:.3f} > {limits.mean_abs_diff}"
        )


def drop_table(checks: dict[str, ArtifactCheck]) -> str:
    """Per-window accuracy of each artifact, its drop against float and the gate verdict."""
    head = (
        f"{'artifact':<22}{'windows':>8} | {'V CCC':>6} {'A CCC':>6} {'V RMSE':>7} {'A RMSE':>7}"
        f" {'emo.acc':>7} | {'dV CCC':>7} {'dA CCC':>7} {'max|d|':>7} {'mean|d|':>8} | gate"
    )
    lines = [head, "-" * len(head)]
    for name, check in checks.items():
        w = check.metrics.windows
        v, a = w.dimension("valence"), w.dimension("arousal")
        row = (
            f"{name:<22}{w.n:>8} | {v.ccc:6.3f} {a.ccc:6.3f} {v.rmse:7.3f} {a.rmse:7.3f}"
            f" {w.emotion_accuracy:7.3f} | "
        )
        if check.drops:
            row += (
                f"{check.drops['valence_ccc']:7.3f} {check.drops['arousal_ccc']:7.3f}"
                f" {check.diff_max:7.4f} {check.diff_mean:8.4f} | "
                + ("pass" if check.passed else "FAIL: " + "; ".join(check.failures))
            )
        else:
            row += f"{'(float reference)':>33} |"
        lines.append(row)
    return "\n".join(lines)


def check_summary(check: ArtifactCheck) -> dict[str, Any]:
    """What the manifest records for one artifact: :class:`ModelEntry` fields."""
    return {
        "test_windows": _short(check.metrics.windows),
        "test_songs": _short(check.metrics.songs),
        "vs_float": {
            "max_abs_diff": round(check.diff_max, 6),
            "mean_abs_diff": round(check.diff_mean, 6),
        },
        "drop": {k: round(v, 5) for k, v in check.drops.items()},
        "gate": "pass" if check.passed else "fail",
        "failures": tuple(check.failures),
    }


def _short(scores: Scores) -> Scores:
    """What a model entry records of a split: n, emotion accuracy and each output's scores,
    to 4 decimals."""
    if not scores.n:
        return Scores()

    def rounded(dim: str) -> DimensionScores:
        return DimensionScores(
            **{k: round(v, 4) for k, v in dataclasses.asdict(scores.dimension(dim)).items()}
        )

    return Scores(
        n=scores.n,
        emotion_accuracy=round(scores.emotion_accuracy or 0.0, 4),
        valence=rounded("valence"),
        arousal=rounded("arousal"),
    )


@dataclass
class BundleCheck:
    """An exported bundle's artifacts on a labelled dataset (see :func:`check_bundle`).

    Attributes:
        checks: the float reference first, then every artifact, by name.
        prepared: the data they were checked on (``all`` split; its summary and skip log).
    """

    checks: dict[str, ArtifactCheck]
    prepared: PreparedData

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks.values())


def check_bundle(
    bundle: Path, options: DataOptions, limits: DropLimits, threshold: float = 0.5
) -> BundleCheck:
    """Standalone gate: every artifact of an exported bundle on a labelled dataset (all of its
    songs, cut into windows with the bundle's window and training stride), against the bundle's
    Keras model (its float32 TFLite where TensorFlow is absent).

    Args:
        bundle: an exported bundle folder (verified by sha256 on load).
        options: the labelled data (its window and stride are replaced by the bundle's).
        limits: the accuracy-drop gate.
        threshold: emotion-accuracy threshold.

    Returns:
        The checks and the data; render them with :func:`drop_table`.
    """
    bundle = Path(bundle)
    manifest = load_manifest(bundle)
    files = manifest.runnable
    if not files:
        raise DatasetError(f"{bundle} holds no exported models", hint="run sentio-export first")
    prepared, _ = prepare_for_model(manifest, options, own_splits=False)
    reference_name, reference = _float_reference(bundle, files)
    artifacts = {f: runner_predictor(bundle / f) for f in files if f != reference_name}
    checks = check_artifacts(
        reference,
        artifacts,
        prepared.splits["all"],
        prepared.window,
        limits,
        threshold,
        reference_name,
    )
    log.info("checked %d artifact(s) of %s on %s", len(artifacts), bundle, prepared.summary())
    return BundleCheck(checks, prepared)


def _float_reference(bundle: Path, files: list[str]) -> tuple[str, Predictor]:
    keras_file = bundle / "model.keras"
    if keras_file.is_file():
        try:
            import keras
        except ImportError:
            pass
        else:
            return "keras", keras_predictor(keras.models.load_model(keras_file, compile=False))
    if "model_float32.tflite" in files:
        return "model_float32.tflite", runner_predictor(bundle / "model_float32.tflite")
    raise DatasetError(
        f"{bundle} has neither model.keras nor model_float32.tflite to compare against",
        hint="re-export the bundle",
    )
