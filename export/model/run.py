"""The export half's stages joined up: data -> features -> splits -> CRNN -> training ->
evaluation -> a run bundle. The CLI and the hyperparameter search both call these."""

from __future__ import annotations

import csv
import json
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sentio.export.data.datasets import Dataset, load_deam, load_emotify, load_manifest_csv
from sentio.export.data.extract import Extraction, default_cache_dir, extract_songs
from sentio.export.data.labels import LabelScale
from sentio.export.data.windows import PreparedData, prepare
from sentio.export.evaluation.predict import evaluate_predictions, metrics_table, predict_windows
from sentio.export.model.augment import NONE
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.runtime.bundle import write_bundle
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FeatureSpec, FeatureStats

if TYPE_CHECKING:
    from sentio.export.model.train import TrainResult

log = logging.getLogger("sentio.pipeline")
DEFAULT_HOP_S = 0.5  # how often the runtime emits a prediction; training stride is separate


@dataclass
class DataOptions:
    """Where the labelled audio is and how it becomes windows.

    Attributes:
        kind: ``emotify``, ``deam`` or ``manifest``.
        path: dataset folder (emotify, deam) or CSV file (manifest).
        label_scale: the manifest's label scale.
        fix_deam_swap: correct DEAM's valence/arousal swap for ids <= 1000.
        cache_dir: feature cache root (None: no cache).
        workers: extraction processes (None: all cores).
        window: frames per window.
        stride: frames between training windows of a song.
        short: ``skip`` or ``pad`` songs shorter than a window.
        split_seed: seed of the song-level split.
        limit: use only the first N songs (quick trials).
        progress: show progress bars.
    """

    kind: str
    path: Path
    label_scale: LabelScale = field(default_factory=LabelScale)
    fix_deam_swap: bool = True
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    workers: int | None = None
    window: int = 600
    stride: int = 150
    short: str = "skip"
    split_seed: int = 0
    limit: int | None = None
    progress: bool = True


def load_dataset(options: DataOptions) -> Dataset:
    if options.kind == "emotify":
        dataset = load_emotify(options.path)
    elif options.kind == "deam":
        dataset = load_deam(options.path, fix_swap=options.fix_deam_swap)
    elif options.kind == "manifest":
        dataset = load_manifest_csv(options.path, options.label_scale)
    else:
        raise ConfigError(
            f"unknown dataset kind {options.kind!r}", hint="use emotify, deam or manifest"
        )
    if options.limit is not None:
        dataset.songs = dataset.songs[: options.limit]
    if not dataset.songs:
        raise ConfigError(
            f"no usable songs in {options.path}",
            hint="check the path; the warnings above say what was skipped and why",
        )
    return dataset


def load_features(options: DataOptions, spec: FeatureSpec) -> tuple[Dataset, Extraction]:
    dataset = load_dataset(options)
    extraction = extract_songs(
        dataset.songs, spec, dataset.skipped, options.cache_dir, options.workers, options.progress
    )
    return dataset, extraction


def load_prepared(
    options: DataOptions,
    spec: FeatureSpec,
    stats: FeatureStats | None = None,
    split_ids: dict[str, list[str]] | None = None,
) -> tuple[PreparedData, Extraction]:
    """Songs -> features -> normalized, split windows (``stats`` given: one ``all`` split,
    or the recorded ``split_ids``)."""
    dataset, extraction = load_features(options, spec)
    prepared = prepare(
        dataset,
        extraction.features,
        spec,
        options.window,
        options.stride,
        options.short,
        options.split_seed,
        stats=stats,
        split_ids=split_ids,
    )
    return prepared, extraction


def keras_predictor(model):
    """A batch predictor over a Keras model that skips ``predict``'s per-call overhead."""
    import keras

    return lambda x: keras.ops.convert_to_numpy(model(x, training=False))


def evaluate_model(model, prepared: PreparedData, threshold: float) -> dict[str, dict]:
    predict = keras_predictor(model)
    return {
        name: evaluate_predictions(
            songs, predict_windows(predict, songs, prepared.window), threshold
        )
        for name, songs in prepared.splits.items()
    }


@dataclass
class FitOutcome:
    result: TrainResult
    metrics: dict[str, dict]


def fit(
    prepared: PreparedData,
    model_config: CRNNConfig,
    train_config: TrainConfig,
    checkpoint: Path | None = None,
    verbose: int | None = None,
) -> FitOutcome:
    """Build, train and evaluate one CRNN on prepared data."""
    import keras  # imported here: extraction before it may fork safely
    from sentio.export.model.train import WindowBatches, train_model

    keras.utils.set_random_seed(train_config.seed)
    model = build_crnn(model_config)
    batches = {
        name: WindowBatches(
            songs,
            prepared.window,
            train_config.batch_size,
            name == "train",
            train_config.seed,
            train_config.mixup if name == "train" else 0.0,
            train_config.augmentation if name == "train" else NONE,
        )
        for name, songs in prepared.splits.items()
    }
    result = train_model(model, batches["train"], batches["val"], train_config, checkpoint, verbose)
    return FitOutcome(
        result, evaluate_model(result.model, prepared, train_config.emotion_threshold)
    )


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in (
        "sentio",
        "numpy",
        "python_speech_features",
        "soundfile",
        "soxr",
        "tensorflow",
        "keras",
        "tf_keras",
        "tf2onnx",
        "onnx",
        "onnxruntime",
        "ai-edge-litert",
    ):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


def window_entry(prepared: PreparedData, default_hop_s: float = DEFAULT_HOP_S) -> dict:
    """The manifest's ``window``: length, the runtime's default hop, the training stride."""
    return {
        "frames": prepared.window,
        "seconds": prepared.window / prepared.spec.frames_per_second,
        "default_hop_s": default_hop_s,
        "train_stride_frames": prepared.stride,
    }


def run_manifest(
    prepared: PreparedData,
    model_config: CRNNConfig,
    train_config: TrainConfig,
    outcome: FitOutcome,
    extraction: Extraction,
    source: dict | None = None,
) -> dict:
    """The bundle manifest (``sentio.json``) of a training run; ``source`` says where the data
    was read from (kind and path), so an export can find it again."""
    spec = prepared.spec
    return {
        "feature_spec": {**spec.to_dict(), "fingerprint": spec.fingerprint()},
        "normalization": prepared.stats.to_dict(),
        "window": window_entry(prepared),
        "labels": {"outputs": ["valence", "arousal"], "range": [-1.0, 1.0], "activation": "tanh"},
        "models": [
            {"file": "model.keras", "kind": "keras", "params": outcome.result.model.count_params()}
        ],
        "architecture": model_config.to_dict(),
        "training": {
            **train_config.to_dict(),
            "epochs_run": outcome.result.epochs_run,
            "best_epoch": outcome.result.best_epoch,
            "seconds": round(outcome.result.seconds, 1),
        },
        "metrics": {
            name: {k: r[k] for k in ("windows", "songs")} for name, r in outcome.metrics.items()
        },
        "data": {
            **prepared.dataset.provenance(),
            "source": source or {},
            "split_seed": prepared.split_seed,
            "splits": prepared.split_ids(),
            "padded_short_songs": prepared.padded,
            "extraction_seconds": round(extraction.seconds, 2),
            "audio_hours": round(extraction.audio_seconds / 3600, 3),
        },
        "tool_versions": tool_versions(),
    }


def write_run(
    out_dir: Path,
    manifest: dict,
    outcome: FitOutcome,
) -> Path:
    """Write the run bundle atomically: model.keras, sentio.json, metrics.json, history.csv,
    report.md."""

    def fill(staging: Path) -> None:
        outcome.result.model.save(staging / "model.keras")
        (staging / "metrics.json").write_text(json.dumps(outcome.metrics, indent=2) + "\n")
        _write_history(staging / "history.csv", outcome.result.history)
        (staging / "report.md").write_text(training_report(manifest, outcome))

    return write_bundle(out_dir, manifest, fill)


def _write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", *keys])
        for epoch, values in enumerate(zip(*(history[k] for k in keys), strict=True), start=1):
            writer.writerow([epoch, *(f"{v:.6g}" for v in values)])


def training_report(manifest: dict, outcome: FitOutcome) -> str:
    data = manifest["data"]
    lines = [
        "# Sentio training run",
        "",
        f"Dataset: {data['dataset']} ({data['songs']} songs, {data['audio_hours']} h of audio); "
        f"{len(data['skipped'])} item(s) skipped.",
        f"Epochs: {outcome.result.epochs_run} (best {outcome.result.best_epoch}), "
        f"{outcome.result.seconds:.0f} s.",
        "",
        "## Per song (mean of a song's windows)",
        "```",
        metrics_table(outcome.metrics, "songs"),
        "```",
        "",
        "## Per window",
        "```",
        metrics_table(outcome.metrics, "windows"),
        "```",
    ]
    groups = outcome.metrics.get("test", {}).get("groups")
    if groups:
        lines += ["", "## Test split per group", "```"]
        lines.append(metrics_table({g: {"songs": r} for g, r in groups.items()}, "songs"))
        lines.append("```")
    return "\n".join(lines) + "\n"
