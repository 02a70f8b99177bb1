"""The training pipeline: labelled data -> features (and device copies) -> a fitted CRNN ->
a run bundle (model.keras, sentio.json, metrics.json, history.csv, report.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sentio.export.data.extract import CopyExtraction
from sentio.export.data.sources import DataOptions, load_training_data
from sentio.export.data.windows import PreparedData
from sentio.export.model.batches import Teacher
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.learner import mean_teacher
from sentio.export.model.predict import Evaluation, datasets_table, level, metrics_table
from sentio.export.model.run import KERAS_FILE, data_sources, run_manifest, write_run
from sentio.export.model.train import fit
from sentio.runtime.bundle import check_out_dir
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FrameSpec
from sentio.runtime.manifest import Manifest, load

log = logging.getLogger("sentio.export")

#: What a run bundle holds, as the report names it.
RUN_FILES = "model.keras, sentio.json, metrics.json, history.csv, report.md"


@dataclass(frozen=True)
class TrainRunConfig:
    """One training run.

    Attributes:
        data: the labelled data.
        spec: the frame the features are computed with.
        model: the CRNN (its ``window_frames`` and ``n_features`` are ``data.window`` and the
            spec's).
        train: the training settings.
        out: the run bundle folder to write.
        replace: replace a bundle an earlier run wrote at ``out``; anything else there is
            refused before the data is read.
        recipe: the manifest's ``recipe`` entry (the settings the run came from), if any.
        teachers: run bundles of the same data, split and frame whose models' mean teaches
            this one (``train.distill_weight`` of the loss on clean windows, and the views'
            target with consistency on); none: labels only.
    """

    data: DataOptions
    spec: FrameSpec
    model: CRNNConfig
    train: TrainConfig
    out: Path
    replace: bool = False
    recipe: dict[str, Any] | None = None
    teachers: tuple[Path, ...] = ()


@dataclass
class TrainRun:
    """A finished training run: its bundle, data and scores per split."""

    out: Path
    manifest: Manifest
    prepared: PreparedData
    metrics: Evaluation
    copies: CopyExtraction | None = None
    several_datasets: bool = False

    def report(self) -> str:
        """The run's scores as the command prints them: per song, per window, per dataset
        (when it trained on several), what was skipped and what was written."""
        parts = [
            metrics_table(level(self.metrics, "songs"), title="per song (mean of its windows)"),
            metrics_table(level(self.metrics, "windows"), title="per window"),
        ]
        if self.several_datasets:
            parts.append(datasets_table(self.metrics))
        parts.append(self.prepared.skipped.summary())
        parts.append(f"wrote {self.out}/ ({RUN_FILES})")
        return "\n\n".join(parts)


def train_run(config: TrainRunConfig) -> TrainRun:
    """Train on ``config.data``, write the run bundle at ``config.out``, return the run."""
    check_out_dir(config.out, config.replace)
    prepared, extraction, copies = load_training_data(config.data, config.spec, config.train.device)
    log.info("data: %s", prepared.summary())
    if copies is not None:
        log.info(
            "device copies: %d per training song; %d rendered, %d from the cache, %d failed "
            "(%.0f s)",
            config.train.device.copies,
            copies.rendered,
            copies.cache_hits,
            copies.failed,
            copies.seconds,
        )
    teacher = _teacher(config.teachers, prepared) if config.teachers else None
    taught_by = tuple(teacher_record(run) for run in config.teachers)
    # The best model so far survives a crash or Ctrl-C here; it goes once the bundle is written.
    checkpoint = config.out.with_name(f"{config.out.name}.checkpoint.keras")
    outcome = fit(prepared, config.model, config.train, checkpoint=checkpoint, teacher=teacher)
    source, also = data_sources(config.data)
    manifest = run_manifest(
        prepared,
        config.model,
        config.train,
        outcome,
        extraction,
        source,
        recipe=config.recipe,
        also=also,
        teachers=taught_by,
    )
    write_run(config.out, manifest, outcome, config.replace)
    checkpoint.unlink(missing_ok=True)
    return TrainRun(
        config.out,
        manifest,
        prepared,
        outcome.metrics,
        copies,
        several_datasets=config.data.fourq is not None,
    )


def teacher_record(run: Path) -> dict[str, Any]:
    """What the student's manifest keeps of a teacher: its run folder's name, its model's
    sha256, and how it was trained (seed, consistency weight, best epoch)."""
    manifest = load(run)
    training = manifest.training
    return {
        "run": run.name,
        "model_sha256": manifest.files.get(KERAS_FILE, ""),
        "seed": training.get("seed"),
        "consistency": (training.get("consistency") or {}).get("weight", 0.0),
        "best_epoch": training.get("best_epoch"),
    }


def _teacher(runs: tuple[Path, ...], prepared: PreparedData) -> Teacher:
    """The mean of the teacher runs' models, each checked to have trained on this run's
    training split, with its normalization and window: a teacher that saw this run's
    validation or test songs would leak them into its scores."""
    ours = prepared.split_ids()
    for run in runs:
        manifest = load(run)
        if set(manifest.data.splits.get("train", ())) != set(ours.get("train", ())):
            raise ConfigError(
                f"teacher {run} trained on other songs than this run's training split",
                hint="train the teachers on the same data, split and split seed",
            )
        same_stats = np.allclose(manifest.normalization.mean, prepared.stats.mean) and (
            np.allclose(manifest.normalization.std, prepared.stats.std)
        )
        if not same_stats or manifest.window.frames != prepared.window:
            raise ConfigError(
                f"teacher {run} reads other features (normalization or window) than this run",
                hint="train the teachers with the same frame, window and data",
            )
    log.info("distilling from %d teacher(s): %s", len(runs), ", ".join(str(r) for r in runs))
    return mean_teacher([run / KERAS_FILE for run in runs])
