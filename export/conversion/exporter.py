"""Export, end to end: a trained CRNN -> every runtime format -> verified on held-out songs ->
one atomically written artifact bundle (models, ``sentio.json``, ``report.md``/``.png``).

Stages, each in its own module: :mod:`tflite` and :mod:`onnx` (conversion), :mod:`calibrate`
(the representative set), :mod:`gate` (the accuracy-drop check), :mod:`report`,
:mod:`c_array`. The architecture is read from the source's manifest and rebuilt for conversion
by the training builder (:func:`sentio.export.model.crnn.build_crnn`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sentio.export.conversion.c_array import write_c_array
from sentio.export.conversion.calibrate import (
    DEFAULT_SIZE,
    CalibrationSet,
    draw_calibration,
    load_calibration,
)
from sentio.export.conversion.gate import (
    ArtifactCheck,
    DropLimits,
    check_artifacts,
    check_summary,
    runner_predictor,
)
from sentio.export.conversion.onnx import convert_onnx, quantize_onnx
from sentio.export.conversion.report import (
    QUADRANT_PNG,
    write_quadrant_png,
    write_report_md,
    write_report_png,
)
from sentio.export.conversion.speed import ms_per_window
from sentio.export.conversion.tflite import (
    CALIBRATED_TFLITE_KINDS,
    FLOAT_TFLITE_KINDS,
    convert_tflite,
    tf_keras_inference_model,
    tflite_ops,
)
from sentio.export.data.conditions import resolve as resolve_conditions
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.evaluation.robustness import (
    ArtifactModel,
    LiveLimits,
    RobustnessConfig,
    RobustnessResult,
)
from sentio.export.evaluation.robustness import score as live_score
from sentio.export.model.crnn import CRNNConfig, architecture_of
from sentio.export.model.predict import keras_predictor
from sentio.export.model.run import KERAS_FILE, tool_versions, window_entry
from sentio.runtime.bundle import check_out_dir, write_bundle
from sentio.runtime.codec import FieldError
from sentio.runtime.errors import BundleError, ConfigError
from sentio.runtime.features import FeatureStats, FrameSpec
from sentio.runtime.manifest import (
    MANIFEST_NAME,
    DataProvenance,
    ExportInfo,
    Manifest,
    ModelEntry,
    ModelIO,
    path_hint,
    read,
)
from sentio.runtime.manifest import load as load_manifest
from sentio.runtime.model import open_runner

log = logging.getLogger("sentio.export")

# The runtime's pick is the fastest artifact that passed the gate, as measured on the exporting
# machine (``speed.ms_per_window``), among the LiteRT ones (a base dependency, unlike
# onnxruntime); this order breaks ties and is the pick when nothing was timed. Measured
# (BENCHMARKS.md): dynamic-range TFLite is as accurate as float on the test split and 1.7x
# faster than float32 TFLite; int8_hybrid (int8 convs, hybrid LSTMs) is as fast or faster;
# full int8 is the slowest on a CPU (its integer LSTM kernel), so it comes last.
DEFAULT_ARTIFACT_ORDER = (
    "model_dynamic.tflite",
    "model_int8_hybrid.tflite",
    "model_float32.tflite",
    "model_float16.tflite",
    "model.onnx",
    "model_int8.onnx",
    "model_int8.tflite",
)


@dataclass
class ExportOptions:
    """What to produce and how strictly to check it.

    Attributes:
        int8: also produce full-integer TFLite and int8 ONNX (needs a calibration set).
        int8_io: the int8 TFLite model takes and returns int8 (else float I/O).
        onnx_int8: ``dynamic`` (LSTM quantized too), ``static`` (QDQ; LSTM stays float) or
            ``hybrid`` (QDQ convs, dynamic LSTM: the fastest measured, BENCHMARKS.md).
        calibration_size: windows in the representative set.
        calibration_seed: seed of the set's song order.
        calibration: a saved set to reuse instead of drawing one.
        save_calibration: also save the set (windows + provenance) here.
        study_sizes: calibration sizes to compare (int8 accuracy per size) in the report.
        limits: the accuracy-drop gate.
        tflite_kinds: the float TFLite variants to make (``int8`` comes with ``int8``).
        c_array: write the int8 model as a C array for TensorFlow Lite Micro.
        include_keras: copy the source Keras model into the bundle.
        threshold: emotion-accuracy threshold.
        generated_data: the data is generated music, not labelled songs (the default model
            exported without its training data): the bundle and report say so, and that only
            the differences to the float model mean anything.
        live_conditions: live conditions the default artifact is scored under on the test
            songs (report.md, live_conditions.json): default, full, none or names.
        live_limits: the live-conditions gate; None reports without gating.
    """

    int8: bool = False
    int8_io: bool = True
    onnx_int8: str = "dynamic"
    calibration_size: int = DEFAULT_SIZE
    calibration_seed: int = 0
    calibration: Path | None = None
    save_calibration: Path | None = None
    study_sizes: tuple[int, ...] = ()
    limits: DropLimits = field(default_factory=DropLimits)
    tflite_kinds: tuple[str, ...] = FLOAT_TFLITE_KINDS
    c_array: bool = False
    include_keras: bool = True
    threshold: float = 0.5
    generated_data: bool = False
    live_conditions: str = "default"
    live_limits: LiveLimits | None = None


@dataclass(frozen=True)
class Artifact:
    """One converted model file.

    Attributes:
        file: file name inside the bundle.
        format: ``tflite`` or ``onnx``.
        kind: ``float32``, ``float16``, ``dynamic`` or ``int8``.
        ops: operator types, in graph order without repeats.
        note: how it was made (quantization mode and I/O types).
    """

    file: str
    format: str
    kind: str
    ops: tuple[str, ...]
    note: str = ""


@dataclass
class Source:
    """A trained model and everything needed to feed it, all from its bundle's manifest.

    Attributes:
        model: the Keras 3 model.
        manifest: the bundle's manifest (a training run's or an earlier export's).
        config: the architecture, from ``manifest.architecture``.
        description: where it was loaded from.
    """

    model: object  # keras.Model
    manifest: Manifest
    config: CRNNConfig
    description: str

    @property
    def spec(self) -> FrameSpec:
        return self.manifest.feature_spec

    @property
    def stats(self) -> FeatureStats:
        return self.manifest.normalization


@dataclass
class ExportResult:
    """What :func:`export_bundle` wrote and measured.

    Attributes:
        out_dir: the bundle folder.
        manifest: its manifest, as written (file sums included).
        checks: the float reference and every artifact on the test split, by name.
        study: calibration-size study rows (``ExportOptions.study_sizes``).
        live: the default artifact under live conditions (None: none asked, or no artifact
            passed the accuracy-drop gate).
    """

    out_dir: Path
    manifest: Manifest
    checks: dict[str, ArtifactCheck]
    study: list[dict]
    live: RobustnessResult | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks.values()) and (
            self.live is None or self.live.passed
        )


def load_source(path: Path) -> Source:
    """A trained model to export: a bundle folder (``sentio.json`` + ``model.keras``: a
    ``sentio-train fit`` run or an earlier export), or the ``model.keras`` inside one.

    The feature spec, normalization and architecture all come from the manifest; a bare
    ``.keras`` file with no ``sentio.json`` beside it carries none of them and is refused.

    Raises:
        BundleError: no bundle, a missing or corrupt model, a manifest without architecture.
    """
    path = Path(path)
    if path.is_dir():
        folder, keras_file = path, path / KERAS_FILE
        manifest = load_manifest(folder)  # verifies every listed file's sha256
        model = _load_keras(keras_file)
    elif path.suffix == ".keras":
        folder, keras_file = path.parent, path
        model = _load_keras(keras_file)
        if not (folder / MANIFEST_NAME).is_file():
            raise BundleError(
                f"{path} has no {MANIFEST_NAME} beside it: a bare .keras file carries no "
                "feature spec, normalization or architecture, so it cannot be exported",
                hint="pass the run folder written by sentio-train fit (model.keras + "
                "sentio.json), or re-train with sentio-train fit",
            )
        manifest = load_manifest(folder)
    else:
        raise BundleError(
            f"{path} is neither a bundle folder nor a .keras file",
            hint="pass the folder written by sentio-train fit, or its model.keras",
        )
    if not manifest.architecture:
        raise BundleError(
            f"{folder / MANIFEST_NAME} records no architecture to rebuild the model from",
            hint="re-train it with sentio-train fit",
        )
    try:
        config = architecture_of(manifest)
    except FieldError as err:
        raise BundleError(
            f"{folder / MANIFEST_NAME}: {err}",
            hint=err.hint + "; a bundle from another Sentio version: re-train it with this one",
        ) from err
    except ConfigError as err:
        raise BundleError(f"{folder / MANIFEST_NAME}: {err.message}", hint=err.hint) from err
    return Source(model, manifest, config, str(path))


def _load_keras(path: Path):
    import keras

    if not path.is_file():
        raise BundleError(f"no model file {path}", hint="train one with sentio-train fit")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for a bad file
        raise BundleError(
            f"cannot load Keras model {path}: {type(err).__name__}: {err}",
            hint="the file is corrupt or not a Keras 3 model; re-train or restore it",
        ) from err


# ----------------------------------------------------------------------------- export


def export_bundle(
    source: Source,
    prepared: PreparedData,
    options: ExportOptions,
    out_dir: Path,
    replace: bool = False,
) -> ExportResult:
    """Convert, calibrate, verify on the test split, report, and write the bundle.

    ``prepared`` must be the source's data prepared for its model
    (:func:`sentio.export.data.sources.prepare_for_model`). A bundle already at ``out_dir``
    is replaced only with ``replace`` (``--force``); a file or a folder holding anything else
    is refused before converting (:func:`~sentio.runtime.bundle.check_out_dir`).
    """
    check_out_dir(out_dir, replace)
    start = time.perf_counter()
    resolve_conditions(options.live_conditions)  # a bad name fails now, not after converting
    test = prepared.splits.get("test") or []
    calibration = _calibration(prepared, options) if options.int8 else None
    inference = tf_keras_inference_model(source.model, source.config)
    checks: dict[str, ArtifactCheck] = {}
    study: list[dict] = []
    live: RobustnessResult | None = None
    manifest = _base_manifest(source, prepared)

    def fill(staging: Path) -> None:
        with private_tempdir(staging):
            convert_and_verify(staging)

    def convert_and_verify(staging: Path) -> None:
        nonlocal manifest, checks, study, live
        t0 = time.perf_counter()
        artifacts = _convert_all(inference, staging, options, calibration)
        t1 = time.perf_counter()
        log.info("verifying %d artifact(s) on %d test songs", len(artifacts), len(test))
        checks = check_artifacts(
            keras_predictor(source.model),
            {a.file: runner_predictor(staging / a.file) for a in artifacts},
            test,
            prepared.window,
            options.limits,
            options.threshold,
        )
        if options.study_sizes:
            study = calibration_study(inference, prepared, options, checks["keras"])
        t2 = time.perf_counter()
        if options.include_keras:
            source.model.save(staging / KERAS_FILE)
        passed = {a.file: staging / a.file for a in artifacts if checks[a.file].passed}
        log.info("timing %d artifact(s) that passed the gate", len(passed))
        speed = ms_per_window(passed)
        models = tuple(
            _model_entry(staging, a, checks[a.file], speed.get(a.file)) for a in artifacts
        )
        t3 = time.perf_counter()
        live = _live_conditions(staging, _default_artifact(models), prepared, options)
        t4 = time.perf_counter()
        if calibration is not None:
            (staging / "calibration.json").write_text(
                json.dumps(calibration.provenance(), indent=1) + "\n"
            )
        if options.c_array and options.int8:
            write_c_array((staging / "model_int8.tflite").read_bytes(), staging)
        manifest = manifest.replace(
            models=models,
            default_artifact=_default_artifact(models),
            calibration=None if calibration is None else calibration.manifest_entry(),
            export=ExportInfo(
                source=path_hint(source.description),
                evaluated_on=_evaluated_on(test, options.generated_data),
                options=_options_dict(options),
                limits=asdict(options.limits),
                gate="pass" if _all_passed(checks, live) else "fail",
                seconds=round(time.perf_counter() - start, 1),
                timings={
                    "convert": round(t1 - t0, 1),
                    "verify": round(t2 - t1, 1),
                    "live": round(t4 - t3, 1),
                },
            ),
        )
        _write_reports(staging, manifest, checks, study, test, options, live)

    write_bundle(out_dir, lambda: manifest, fill, replace)
    return ExportResult(Path(out_dir), read(out_dir), checks, study, live)


#: The live-conditions result's file in the bundle (listed in ``files``; the manifest has no
#: field for it).
LIVE_FILE = "live_conditions.json"
#: The export scores each test song's first 2.5 windows (30 s for 12 s windows, 7 windows at
#: the 3 s hop): half an Emotify clip, so that the six default conditions add about a quarter
#: to the default model's export rather than half (``sentio-train robustness`` scores whole
#: songs).
LIVE_EXCERPT_WINDOWS = 2.5


def _all_passed(checks: dict[str, ArtifactCheck], live: RobustnessResult | None) -> bool:
    return all(c.passed for c in checks.values()) and (live is None or live.passed)


def _live_conditions(
    staging: Path, artifact: str | None, prepared: PreparedData, options: ExportOptions
) -> RobustnessResult | None:
    """The default artifact on the test songs under ``options.live_conditions`` (written to
    :data:`LIVE_FILE`), or None when none are asked or no artifact passed the gate."""
    config = RobustnessConfig(
        conditions=options.live_conditions,
        excerpt_s=LIVE_EXCERPT_WINDOWS * prepared.window / prepared.spec.frames_per_second,
        limits=options.live_limits,
    )
    test = prepared.splits.get("test") or []
    if artifact is None or not test or options.live_conditions.strip() == "none":
        return None
    log.info("scoring %s under live conditions (%s)", artifact, options.live_conditions)
    model = ArtifactModel(staging / artifact, prepared.spec, prepared.stats, prepared.window)
    generated = options.generated_data
    data = "generated music" if generated else f"{prepared.dataset.name} test split"
    result = live_score(model, [s.song for s in test], config, data, generated)
    (staging / LIVE_FILE).write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    return result


#: Where ``evaluated_on`` says the numbers came from generated music.
GENERATED_NOTE = (
    "generated music, not labelled songs: only the differences to the float model "
    "(vs-float columns) are meaningful, the accuracy numbers are not"
)


def _evaluated_on(test: list[SongWindows], generated: bool) -> str:
    counts = f"{len(test)} songs, {sum(s.starts.size for s in test)} windows"
    return f"{GENERATED_NOTE} ({counts})" if generated else f"test split: {counts}"


TEMP_FOLDER = ".tmp"


@contextlib.contextmanager
def private_tempdir(staging: Path) -> Iterator[Path]:
    """Point Python's and native code's temp folder (``tempfile.tempdir``, ``TMPDIR``) at a
    folder inside the bundle's staging folder while converting: the converters' SavedModels
    and scratch files go with the staging folder (removed on any failure, and by the next
    export when this one was killed), never stay in the system temp folder."""
    private = Path(staging) / TEMP_FOLDER
    private.mkdir()
    saved_dir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(private)
    os.environ["TMPDIR"] = str(private)
    try:
        yield private
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(private, ignore_errors=True)


def _calibration(prepared: PreparedData, options: ExportOptions) -> CalibrationSet:
    fingerprint = prepared.spec.fingerprint()
    if options.calibration is not None:
        calibration = load_calibration(options.calibration, fingerprint)
    else:
        calibration = draw_calibration(
            prepared.splits.get("train", []),
            prepared.window,
            options.calibration_size,
            fingerprint,
            options.calibration_seed,
        )
    if options.save_calibration is not None:
        saved = calibration.save(options.save_calibration)
        log.info("calibration set saved to %s", saved)
    return calibration


def _convert_all(
    inference, staging: Path, options: ExportOptions, calibration: CalibrationSet | None
) -> list[Artifact]:
    artifacts = []
    kinds = (
        (*options.tflite_kinds, *CALIBRATED_TFLITE_KINDS) if options.int8 else options.tflite_kinds
    )
    for kind in kinds:
        log.info("converting TFLite %s", kind)
        windows = calibration.windows if calibration is not None else None
        flatbuffer = convert_tflite(inference, kind, windows, options.int8_io)
        file = f"model_{kind}.tflite"
        (staging / file).write_bytes(flatbuffer)
        note = _tflite_note(kind, options.int8_io)
        artifacts.append(Artifact(file, "tflite", kind, tflite_ops(flatbuffer), note))
    log.info("converting ONNX")
    ops = convert_onnx(inference, staging / "model.onnx")
    artifacts.append(Artifact("model.onnx", "onnx", "float32", ops, "native LSTM ops"))
    if options.int8:
        log.info("quantizing ONNX (%s)", options.onnx_int8)
        ops = quantize_onnx(
            staging / "model.onnx",
            staging / "model_int8.onnx",
            options.onnx_int8,
            calibration.windows if calibration is not None else None,
        )
        note = {
            "dynamic": "onnxruntime quantize_dynamic: int8 weights, LSTM as DynamicQuantizeLSTM",
            "static": "onnxruntime static QDQ: conv/dense int8, LSTM float",
            "hybrid": "onnxruntime static QDQ conv/dense int8, LSTM as DynamicQuantizeLSTM",
        }[options.onnx_int8]
        artifacts.append(Artifact("model_int8.onnx", "onnx", "int8", ops, note))
    return artifacts


def _tflite_note(kind: str, int8_io: bool) -> str:
    return {
        "float32": "float32 weights and activations",
        "float16": "float16 weights, float32 compute",
        "dynamic": "int8 weights, float activations (dynamic range)",
        "int8": "full integer: int8 weights/activations, int16 LSTM cell state, "
        + ("int8 I/O" if int8_io else "float I/O"),
        "int8_hybrid": "int8 convolutions and dense layers; LSTMs with int8 weights and float "
        "activations (hybrid kernel); " + ("int8 I/O" if int8_io else "float I/O"),
    }[kind]


def _model_entry(
    staging: Path, artifact: Artifact, check: ArtifactCheck, ms: float | None = None
) -> ModelEntry:
    runner = open_runner(staging / artifact.file)
    return ModelEntry(
        file=artifact.file,
        format=artifact.format,
        kind=artifact.kind,
        note=artifact.note,
        bytes=(staging / artifact.file).stat().st_size,
        ops=tuple(artifact.ops),
        input_shape=tuple(int(d) for d in runner.input_shape),
        io=ModelIO(runner.input_quantization, runner.output_quantization),
        ms_per_window=ms,
        **check_summary(check),
    )


def _default_artifact(models: tuple[ModelEntry, ...]) -> str | None:
    """The fastest LiteRT artifact that passed the gate (the fastest passing one where no
    TFLite model passed); by :data:`DEFAULT_ARTIFACT_ORDER` where nothing was timed."""
    passed = [m for m in models if m.passed]
    timed_ = [m for m in passed if m.ms_per_window is not None]
    pool = [m for m in timed_ if m.format == "tflite"] or timed_
    order = {f: i for i, f in enumerate(DEFAULT_ARTIFACT_ORDER)}
    if pool:
        fastest = min(pool, key=lambda m: (m.ms_per_window, order.get(m.file, len(order))))
        return fastest.file
    names = {m.file for m in passed}
    return next((f for f in DEFAULT_ARTIFACT_ORDER if f in names), None)


def _base_manifest(source: Source, prepared: PreparedData) -> Manifest:
    """The new bundle's manifest before conversion: the feature contract of ``prepared`` and
    the source's labels, architecture, training and data provenance."""
    trained = source.manifest
    data = trained.data if trained.data.dataset else DataProvenance(dataset=prepared.dataset.name)
    return Manifest(
        feature_spec=prepared.spec,
        normalization=prepared.stats,
        window=window_entry(prepared, trained.window.default_hop_s),
        labels=trained.labels,
        architecture=asdict(source.config),
        training=trained.training,
        recipe=trained.recipe,
        data=data,
        tool_versions=tool_versions(),
    )


def _options_dict(options: ExportOptions) -> dict:
    return {
        "int8": options.int8,
        "int8_io": options.int8_io,
        "onnx_int8": options.onnx_int8,
        "tflite_kinds": list(options.tflite_kinds),
        "calibration_size": options.calibration_size,
        "calibration_seed": options.calibration_seed,
        "study_sizes": list(options.study_sizes),
        "live_conditions": options.live_conditions,
        "live_limits": None if options.live_limits is None else asdict(options.live_limits),
    }


def _write_reports(
    staging: Path,
    manifest: Manifest,
    checks: dict[str, ArtifactCheck],
    study: list[dict],
    test: list[SongWindows],
    options: ExportOptions,
    live: RobustnessResult | None = None,
) -> None:
    labels = np.stack([s.label for s in test])
    write_report_png(staging / "report.png", checks, labels)
    signs = [i for i, s in enumerate(test) if s.song.sign_only]
    default = checks.get(manifest.default_artifact or "")
    if signs and default is not None:
        predictions = [default.predictions[i] for i in signs]
        write_quadrant_png(staging / QUADRANT_PNG, labels[signs], predictions)
    write_report_md(staging / "report.md", manifest, checks, options.limits, study, live)


def calibration_study(
    inference, prepared: PreparedData, options: ExportOptions, reference: ArtifactCheck
) -> list[dict]:
    """Int8 accuracy against float for several calibration-set sizes (TFLite int8, and ONNX
    static QDQ, the only ONNX mode that uses a calibration set)."""
    rows = []
    test = prepared.splits["test"]
    with tempfile.TemporaryDirectory() as tmp:
        for size in options.study_sizes:
            calibration = draw_calibration(
                prepared.splits["train"],
                prepared.window,
                size,
                prepared.spec.fingerprint(),
                options.calibration_seed,
            )
            tflite = Path(tmp) / f"int8_{size}.tflite"
            tflite.write_bytes(
                convert_tflite(inference, "int8", calibration.windows, options.int8_io)
            )
            onnx_float = Path(tmp) / "float.onnx"
            if not onnx_float.exists():
                convert_onnx(inference, onnx_float)
            onnx_static = Path(tmp) / f"static_{size}.onnx"
            quantize_onnx(onnx_float, onnx_static, "static", calibration.windows)
            for name, path in (("tflite int8", tflite), ("onnx static int8", onnx_static)):
                check = check_artifacts(
                    reference,
                    {name: runner_predictor(path)},
                    test,
                    prepared.window,
                    options.limits,
                    options.threshold,
                )[name]
                rows.append(_study_row(len(calibration), name, check))
    return rows


def _study_row(size: int, name: str, check: ArtifactCheck) -> dict:
    windows = check.metrics.windows
    return {
        "size": size,
        "artifact": name,
        "valence_ccc": windows.dimension("valence").ccc,
        "arousal_ccc": windows.dimension("arousal").ccc,
        "drop_valence_ccc": check.drops["valence_ccc"],
        "drop_arousal_ccc": check.drops["arousal_ccc"],
        "mean_abs_diff": check.diff_mean,
        "max_abs_diff": check.diff_max,
        "gate": "pass" if check.passed else "fail",
    }
