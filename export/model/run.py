"""A training run's bundle: the manifest of what was trained on what, the Keras model, the
metrics, the history and a report, written atomically."""

from __future__ import annotations

import csv
import dataclasses
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentio.export.data.extract import Extraction
from sentio.export.data.sources import DataOptions
from sentio.export.data.windows import PreparedData
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.predict import level, metrics_table
from sentio.runtime.about import DISTRIBUTION
from sentio.runtime.bundle import write_bundle
from sentio.runtime.manifest import (
    DEFAULT_HOP_S,
    DataProvenance,
    DataSource,
    Labels,
    Manifest,
    ModelEntry,
    Window,
    as_json,
    path_hint,
)

if TYPE_CHECKING:
    from sentio.export.model.train import FitOutcome

#: The training run's model file (also copied into an export bundle).
KERAS_FILE = "model.keras"


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in (
        DISTRIBUTION,
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


def window_entry(prepared: PreparedData, default_hop_s: float = DEFAULT_HOP_S) -> Window:
    """The manifest's ``window``: length, the runtime's default hop, the training stride."""
    return Window(
        frames=prepared.window,
        seconds=prepared.window / prepared.spec.frames_per_second,
        default_hop_s=default_hop_s,
        train_stride_frames=prepared.stride,
    )


def data_sources(options: DataOptions) -> tuple[DataSource, tuple[DataSource, ...]]:
    """What a run's manifest records of ``options``' data (``data.source``, ``data.also``):
    each dataset's kind and a relative hint of where it lay, never this machine's path."""
    source = DataSource(options.kind, path_hint(options.path))
    also = (DataSource("4q", path_hint(options.fourq)),) if options.fourq is not None else ()
    return source, also


def data_provenance(
    prepared: PreparedData,
    extraction: Extraction | None,
    source: DataSource | None,
    also: tuple[DataSource, ...] = (),
) -> DataProvenance:
    """The manifest's ``data``: what the model was trained and tested on (``source``, ``also``:
    see :func:`data_sources`)."""
    dataset = prepared.dataset
    return DataProvenance(
        dataset=dataset.name,
        songs=len(dataset.songs),
        label_scale=(float(dataset.label_scale.low), float(dataset.label_scale.high)),
        skipped=tuple(dataset.skipped.to_list()),
        notes=tuple(dataset.notes),
        source=source,
        also=also,
        split_seed=prepared.split_seed,
        splits={name: tuple(ids) for name, ids in prepared.split_ids().items()},
        padded_short_songs=tuple(prepared.padded),
        extraction_seconds=None if extraction is None else round(extraction.seconds, 2),
        audio_hours=None if extraction is None else round(extraction.audio_seconds / 3600, 3),
    )


def run_manifest(
    prepared: PreparedData,
    model_config: CRNNConfig,
    train_config: TrainConfig,
    outcome: FitOutcome,
    extraction: Extraction,
    source: DataSource | None = None,
    recipe: dict[str, Any] | None = None,
    also: tuple[DataSource, ...] = (),
    teachers: tuple[dict[str, Any], ...] = (),
) -> Manifest:
    """The bundle manifest (``sentio.json``) of a training run: the feature contract, the
    Keras model entry, the architecture and training configs, metrics and data provenance.

    Args:
        source: the data's kind and a relative hint (:func:`data_sources`).
        recipe: the recipe file's settings, when the run came from one.
        teachers: the runs whose models' mean taught this one (distillation), recorded
            under ``training.teachers``.
    """
    result = outcome.result
    return Manifest(
        feature_spec=prepared.spec,
        normalization=prepared.stats,
        window=window_entry(prepared),
        labels=Labels(),
        models=(
            ModelEntry(
                file=KERAS_FILE, format="keras", kind="keras", params=result.model.count_params()
            ),
        ),
        architecture=dataclasses.asdict(model_config),
        training={
            **dataclasses.asdict(train_config),
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "seconds": round(result.seconds, 1),
            **({"teachers": list(teachers)} if teachers else {}),
        },
        recipe=recipe,
        metrics=outcome.metrics.scores(),
        data=data_provenance(prepared, extraction, source, also),
        tool_versions=tool_versions(),
    )


def write_run(
    out_dir: Path, manifest: Manifest, outcome: FitOutcome, replace: bool = False
) -> Path:
    """Write the run bundle atomically: model.keras, sentio.json, metrics.json, history.csv,
    report.md. An earlier bundle at ``out_dir`` is replaced only with ``replace``; anything
    else there is refused (:func:`~sentio.runtime.bundle.check_out_dir`)."""

    def fill(staging: Path) -> None:
        outcome.result.model.save(staging / KERAS_FILE)
        (staging / "metrics.json").write_text(json.dumps(as_json(outcome.metrics), indent=2) + "\n")
        _write_history(staging / "history.csv", outcome.result.history)
        (staging / "report.md").write_text(training_report(manifest, outcome))

    return write_bundle(out_dir, manifest, fill, replace)


def _write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", *keys])
        for epoch, values in enumerate(zip(*(history[k] for k in keys), strict=True), start=1):
            writer.writerow([epoch, *(f"{v:.6g}" for v in values)])


def training_report(manifest: Manifest, outcome: FitOutcome) -> str:
    data = manifest.data
    hours = "?" if data.audio_hours is None else data.audio_hours
    lines = [
        "# Sentio training run",
        "",
        f"Dataset: {data.dataset} ({data.songs} songs, {hours} h of audio); "
        f"{len(data.skipped)} item(s) skipped.",
        f"Epochs: {outcome.result.epochs_run} (best {outcome.result.best_epoch}), "
        f"{outcome.result.seconds:.0f} s.",
        "",
        "## Per song (mean of a song's windows)",
        "```",
        metrics_table(level(outcome.metrics, "songs")),
        "```",
        "",
        "## Per window",
        "```",
        metrics_table(level(outcome.metrics, "windows")),
        "```",
    ]
    groups = outcome.metrics.test.groups if outcome.metrics.test is not None else {}
    if groups:
        lines += ["", "## Test split per group", "```"]
        lines.append(metrics_table(groups))
        lines.append("```")
    return "\n".join(lines) + "\n"
