"""The export pipeline: a trained model (a run bundle, a training run done first, or the
bundled default model) and its data -> TFLite and ONNX artifacts, verified against the float
model and the labels, in one bundle."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.conversion.exporter import (
    ExportOptions,
    ExportResult,
    export_bundle,
    load_source,
)
from sentio.export.data.sources import DataOptions, model_label_scale, prepare_for_model
from sentio.export.data.synthetic import make_synthetic_dataset
from sentio.export.data.windows import PreparedData
from sentio.export.pipelines.train import TrainRun, TrainRunConfig, train_run
from sentio.runtime.bundle import check_out_dir
from sentio.runtime.errors import ConfigError, OutputPathError
from sentio.runtime.manifest import Manifest
from sentio.runtime.model import default_bundle

log = logging.getLogger("sentio.export")

#: Generated music for verifying the default model when its training data is not here:
#: songs, and song length in windows (2.5 windows of 12 s: 7 windows per song at a 3 s stride).
GENERATED_SONGS = 48
GENERATED_WINDOWS_PER_SONG = 2.5


@dataclass(frozen=True)
class ExportRunConfig:
    """One export.

    Attributes:
        out: the bundle folder to write.
        options: the conversion, verification and gate options.
        model: a run bundle or its ``model.keras``; None: the training run ``train`` (done
            first), else the bundled default model.
        train: a training run to do first; its bundle is the model exported.
        data: the model's labelled data (the calibration set and the test split). None: the
            bundled default model is calibrated and verified on generated music; any other
            model needs its data.
        scale_from_model: read a CSV manifest's labels on the scale the model's training CSV
            was declared on (no label scale was given).
        workers, progress: extraction processes and progress bars for generated music.
        replace: replace a bundle an earlier run wrote at ``out`` (and at ``train.out``).
    """

    out: Path
    options: ExportOptions = field(default_factory=ExportOptions)
    model: Path | None = None
    train: TrainRunConfig | None = None
    data: DataOptions | None = None
    scale_from_model: bool = False
    workers: int | None = None
    progress: bool = True
    replace: bool = False


@dataclass
class ExportRun:
    """A finished export: the bundle's result, the data it was verified on, the training run
    when there was one."""

    result: ExportResult
    prepared: PreparedData
    generated: bool
    seconds: float
    trained: TrainRun | None = None


def export_run(config: ExportRunConfig) -> ExportRun:
    """Train first (``config.train``) or take the model given (else the default model),
    prepare its data, convert, verify and write the bundle at ``config.out``."""
    check_outputs(config)
    start = time.perf_counter()
    trained = train_run(config.train) if config.train is not None else None
    model_path = trained.out if trained is not None else (config.model or _default_model())
    source = load_source(model_path)
    with tempfile.TemporaryDirectory(prefix="sentio-generated-") as tmp:
        prepared, generated = prepare_source_data(config, source.manifest, model_path, Path(tmp))
        log.info("data: %s%s", prepared.summary(), " (generated music)" if generated else "")
        options = dataclasses.replace(config.options, generated_data=generated)
        result = export_bundle(source, prepared, options, config.out, config.replace)
    return ExportRun(result, prepared, generated, time.perf_counter() - start, trained)


def check_outputs(config: ExportRunConfig) -> None:
    """``out`` (and the training run's) checked before training or converting: nothing there,
    an empty folder, or (``replace``) an earlier bundle; never the model being exported."""
    if config.train is not None and config.model is not None:
        raise ConfigError(
            "ExportRunConfig.train and ExportRunConfig.model exclude each other",
            hint="pass one of them",
        )
    check_out_dir(config.out, config.replace)
    inputs = []
    if config.model is not None:
        model = Path(config.model)
        inputs.append(("ExportRunConfig.model", model.parent if model.is_file() else model))
    if config.train is not None:
        check_out_dir(config.train.out, config.replace, option="ExportRunConfig.train.out")
        inputs.append(("ExportRunConfig.train.out", config.train.out))
    for option, path in inputs:
        if path.absolute().resolve() == config.out.absolute().resolve():
            raise OutputPathError(
                f"ExportRunConfig.out {config.out} is the {option} folder: the export would "
                "replace it",
                hint="choose another ExportRunConfig.out",
            )


def _default_model() -> Path:
    default = default_bundle()
    if default is None:
        raise ConfigError(
            "no model to export: this install has no bundled default model",
            hint="pass ExportRunConfig.model RUN_DIR (from sentio-train fit), or "
            "ExportRunConfig.train with data: data.path",
        )
    return default


def prepare_source_data(
    config: ExportRunConfig, manifest: Manifest, model_path: Path, scratch: Path
) -> tuple[PreparedData, bool]:
    """The model's data, prepared for it: the data given, else (the bundled default model
    only) generated music; and whether it is generated. No path is read from the manifest:
    the same command takes the same data path on every machine."""
    own_splits = bool(manifest.data.splits)
    if config.data is not None:
        data = model_label_scale(config.data, manifest) if config.scale_from_model else config.data
        return prepare_for_model(manifest, data, own_splits)[0], False
    trained_on = manifest.data.dataset
    where = f" (it was trained on {trained_on})" if trained_on else ""
    default = default_bundle()
    if default is None or Path(model_path).resolve() != default.resolve():
        raise ConfigError(
            f"the model's training data is needed for calibration and the test split{where}",
            hint="pass it: data.path",
        )
    return generated_data(manifest, scratch, where, config.workers, config.progress), True


def generated_data(
    manifest: Manifest,
    scratch: Path,
    where: str = "",
    workers: int | None = None,
    progress: bool = True,
) -> PreparedData:
    """Generated music prepared for the model: half its songs calibrate, half verify."""
    seconds = manifest.window.seconds * GENERATED_WINDOWS_PER_SONG
    log.info(
        "no labelled data%s: calibrating and verifying every artifact against the float "
        "model on %d generated songs of %.0f s. The vs-float differences are real; the "
        "accuracy numbers are not (the labels are the generator's): for those pass the "
        "labelled data, e.g. --emotify DIR",
        where,
        GENERATED_SONGS,
        seconds,
    )
    csv = make_synthetic_dataset(
        scratch, GENERATED_SONGS, seconds, manifest.feature_spec.sample_rate, seed=0
    )
    options = DataOptions(
        kind="manifest", path=csv, cache_dir=None, workers=workers, progress=progress
    )
    prepared, _ = prepare_for_model(manifest, options, own_splits=False)
    songs = prepared.splits["all"]
    return dataclasses.replace(prepared, splits={"train": songs[0::2], "test": songs[1::2]})
