"""The bundle manifest, ``sentio.json``: the one contract between ``export/`` and ``runtime/``.

Every field either half reads is typed here; nothing else in Sentio indexes the JSON by key.
:func:`load` reads a bundle folder, validates every field (an error names the field, what was
wrong and how to fix it) and checks each listed file's sha256; :func:`save` writes atomically.

Format history:

- **1** — the first release (the shipped default model was written with it). Loads as is:
  fields it lacks take the defaults below.
- **2** — adds ``recipe`` (the training recipe file's settings, when a run came from one) and
  ``model_entry.format`` for the Keras entry of a training run. Written by this version.
  ``data.source`` records a dataset's kind and a relative hint, never an absolute path (a
  ``path`` written by earlier versions is ignored): a bundle is the same on every machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sentio.runtime.codec import FieldError, decode, encode
from sentio.runtime.errors import BundleError, FeatureSpecError
from sentio.runtime.feature_specs import feature_spec_from_dict
from sentio.runtime.features import FeatureStats, FrameSpec

MANIFEST_NAME = "sentio.json"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
#: Seconds between the runtime's predictions when neither the bundle nor the user says.
DEFAULT_HOP_S = 0.5
#: Model file formats the runtime can run (a ``keras`` entry is the training source).
RUNNABLE_FORMATS = ("tflite", "onnx")
OUTPUTS = ("valence", "arousal")

#: Bounds on what a ``sentio.json`` may hold: a crafted or damaged file must give an error
#: naming the field, never a recursion, a huge allocation or an overflow.
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_DEPTH = 32
MAX_INT = 2**63 - 1
MAX_WINDOW_FRAMES = 100_000  # 2,000 s at 50 frames/s
MAX_HOP_S = 3600.0
#: (low, high) of the feature-spec fields that size arrays or the resampler
SPEC_LIMITS: dict[str, tuple[float, float]] = {
    "sample_rate": (1000, 384_000),
    "nfft": (16, 65_536),
    "n_mels": (1, 1024),
    "n_filters": (1, 1024),
    "n_mfcc": (0, 1024),
    "n_features": (1, 1024),
    "contrast_bands": (0, 64),
    "frame_length_s": (1e-4, 10.0),
    "frame_step_s": (1e-4, 10.0),
}

_REEXPORT = "re-export the bundle with sentio-export (or re-train it with sentio-train fit)"
#: The hint of a bundle the user running Sentio may not read.
UNREADABLE = (
    "the bundle is not readable by this user (e.g. a service's User=): make it readable, "
    "e.g. chmod -R a+rX BUNDLE, or export it again (bundles get the modes the umask gives)"
)


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Window:
    """How feature frames become model inputs.

    Attributes:
        frames: frames per window (the model's input length).
        seconds: the same length in seconds.
        default_hop_s: seconds between the runtime's predictions unless the user says.
        train_stride_frames: frames between training windows of a song (export side only).
    """

    frames: int
    seconds: float
    default_hop_s: float = DEFAULT_HOP_S
    train_stride_frames: int | None = None

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be at least 1, got {self.frames}")
        if self.frames > MAX_WINDOW_FRAMES:
            raise ValueError(f"frames must be at most {MAX_WINDOW_FRAMES:,}, got {self.frames}")
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {self.seconds}")
        if not (math.isfinite(self.default_hop_s) and 0 < self.default_hop_s <= MAX_HOP_S):
            raise ValueError(
                f"default_hop_s must be positive and at most {MAX_HOP_S:g} s, "
                f"got {self.default_hop_s}"
            )
        stride = self.train_stride_frames
        if stride is not None and not 1 <= stride <= MAX_WINDOW_FRAMES:
            raise ValueError(
                f"train_stride_frames must be 1 to {MAX_WINDOW_FRAMES:,}, got {stride}"
            )


@dataclass(frozen=True)
class Labels:
    """What the model's outputs mean: names in order, their range, the output activation."""

    outputs: tuple[str, ...] = OUTPUTS
    range: tuple[float, float] = (-1.0, 1.0)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        low, high = self.range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"range must be two finite numbers, low < high, got {self.range}")


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor: ``real = scale * (q - zero_point)``; scale 0 = float."""

    dtype: str
    scale: float = 0.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale >= 0):
            raise ValueError(f"scale must be a finite number >= 0, got {self.scale}")

    @property
    def is_quantized(self) -> bool:
        return self.scale != 0.0

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if not self.is_quantized:
            return x.astype(self.dtype, copy=False)
        info = np.iinfo(self.dtype)
        q = np.round(x / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if not self.is_quantized:
            return q.astype(np.float32, copy=False)
        return (self.scale * (q.astype(np.float32) - self.zero_point)).astype(np.float32)


FLOAT32 = Quantization("float32")


@dataclass(frozen=True)
class ModelIO:
    """Input and output tensor types of one model file."""

    input: Quantization = FLOAT32
    output: Quantization = FLOAT32


@dataclass(frozen=True)
class DimensionScores:
    """How one output (valence or arousal) agrees with its labels.

    Attributes:
        rmse, mae: root mean squared and mean absolute error.
        r2: coefficient of determination.
        ccc: Lin's concordance correlation (NaN where it has no value).
        accuracy: share of predictions within the emotion threshold of the label.
    """

    rmse: float
    mae: float
    r2: float
    ccc: float
    accuracy: float


@dataclass(frozen=True)
class Scores:
    """One set of songs or windows scored against its labels: per output where the labels are
    values; by AUC and quadrant accuracy where they are only signs (4Q's quadrants).

    Attributes:
        n: songs or windows scored (0: none, and nothing else is set).
        emotion_accuracy: share with both outputs within the threshold (values).
        valence, arousal: each output's scores (values).
        rmse, mae: over both outputs together (values).
        valence_auc, arousal_auc: how well each output ranks the label's sign (signs).
        quadrant_accuracy: share in the label's quadrant (signs).
    """

    n: int = 0
    emotion_accuracy: float | None = None
    valence: DimensionScores | None = None
    arousal: DimensionScores | None = None
    rmse: float | None = None
    mae: float | None = None
    valence_auc: float | None = None
    arousal_auc: float | None = None
    quadrant_accuracy: float | None = None

    @property
    def signs_only(self) -> bool:
        """Scored by the labels' signs (AUCs), not their values."""
        return self.valence_auc is not None

    def dimension(self, name: str) -> DimensionScores:
        """``valence`` or ``arousal``'s scores (a ValueError where none were taken)."""
        scores = {"valence": self.valence, "arousal": self.arousal}.get(name)
        if scores is None:
            raise ValueError(f"no {name} scores in {self}")
        return scores


@dataclass(frozen=True)
class SplitScores:
    """One split's scores: per window, per song (a song's mean window), per dataset."""

    windows: Scores = Scores()
    songs: Scores = Scores()
    datasets: dict[str, Scores] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    """A run's scores per split (the manifest's ``metrics``)."""

    train: SplitScores | None = None
    val: SplitScores | None = None
    test: SplitScores | None = None
    all: SplitScores | None = None

    def splits(self) -> dict[str, SplitScores]:
        """The splits scored, by name, in split order."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class ModelEntry:
    """One model file of the bundle and what the export measured of it.

    Attributes:
        file: file name inside the bundle.
        format: ``tflite``, ``onnx`` or ``keras`` (the training source).
        kind: ``float32``, ``float16``, ``dynamic``, ``int8`` or ``keras``.
        note: how it was made.
        bytes: file size.
        ops: operator types in graph order.
        input_shape: the input tensor's shape (batch, frames, features).
        io: input/output quantization.
        params: trainable parameters (the Keras entry).
        test_windows, test_songs: metrics on the held-out test split, per window and per song.
        vs_float: largest and mean |output - float model output| on the test windows.
        drop: metric drops against the float model.
        gate: ``pass`` or ``fail`` against the export's drop limits.
        failures: which limits failed.
        ms_per_window: median time per window on the exporting machine (one thread, batch
            1, interleaved with the other artifacts); set for artifacts that passed the gate.
    """

    file: str
    format: str = ""
    kind: str = ""
    note: str = ""
    bytes: int | None = None
    ops: tuple[str, ...] = ()
    input_shape: tuple[int, ...] = ()
    io: ModelIO | None = None
    params: int | None = None
    test_windows: Scores | None = None
    test_songs: Scores | None = None
    vs_float: dict[str, float] | None = None
    drop: dict[str, float] | None = None
    gate: str | None = None
    failures: tuple[str, ...] = ()
    ms_per_window: float | None = None

    @property
    def runnable(self) -> bool:
        return self.format in RUNNABLE_FORMATS

    @property
    def passed(self) -> bool:
        return self.gate == "pass"


@dataclass(frozen=True)
class Calibration:
    """Provenance of the representative set an int8 model was calibrated with."""

    windows: int
    window_frames: int
    spec_fingerprint: str
    format: int = 1
    drawn_from: str = "train split"
    seed: int = 0
    songs: int = 0
    quadrants: dict[str, int] = field(default_factory=dict)
    range_coverage: float | None = None


@dataclass(frozen=True)
class DataSource:
    """Which labelled data a run read: the dataset kind and a relative hint of where it lay
    (:func:`path_hint`: ``emotify``, ``songs.csv``), never this machine's path. A bundle says
    the same on every machine; an export or a check is given its data again (``--emotify
    DIR``, ...) and reads no path from here. (Older manifests' ``path`` is ignored.)"""

    kind: str
    hint: str = ""


@dataclass(frozen=True)
class DataProvenance:
    """What a model was trained and tested on.

    Attributes:
        dataset: dataset name (``emotify``, ``deam``, a manifest's file name, ...).
        songs: songs with labels and audio.
        label_scale: the scale the labels were declared on (mapped to [-1, 1]).
        skipped: every item left out, with the reason.
        notes: dataset-specific notes (e.g. the DEAM swap fix).
        source: the dataset kind and a relative hint of where it lay (never a path).
        also: further datasets trained on at the same time (e.g. 4Q beside Emotify).
        split_seed: seed of the song-level split.
        splits: song ids per split (``train``, ``val``, ``test``).
        padded_short_songs: songs tiled up to one window.
        extraction_seconds, audio_hours: feature extraction cost and audio amount.
    """

    dataset: str = ""
    songs: int = 0
    label_scale: tuple[float, float] = (-1.0, 1.0)
    skipped: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    source: DataSource | None = None
    also: tuple[DataSource, ...] = field(default=(), metadata={"omit_empty": True})
    split_seed: int = 0
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    padded_short_songs: tuple[str, ...] = ()
    extraction_seconds: float | None = None
    audio_hours: float | None = None


@dataclass(frozen=True)
class ExportInfo:
    """How the bundle was exported: from what, checked on what, with which options."""

    source: str = ""
    evaluated_on: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    gate: str = ""
    seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class Manifest:
    """A bundle's ``sentio.json``, typed.

    The runtime reads ``feature_spec``, ``normalization``, ``window``, ``labels``, ``models``
    and ``default_artifact``; the rest is provenance. ``architecture`` and ``training`` are
    the export half's configs (``CRNNConfig``, ``TrainConfig``), validated there.
    """

    feature_spec: FrameSpec
    normalization: FeatureStats
    window: Window
    labels: Labels = Labels()
    models: tuple[ModelEntry, ...] = ()
    default_artifact: str | None = None
    architecture: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] | None = None
    metrics: Metrics | None = None
    data: DataProvenance = DataProvenance()
    calibration: Calibration | None = None
    export: ExportInfo | None = None
    tool_versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    # -- queries

    def model(self, file: str) -> ModelEntry | None:
        """The entry of ``file``, or None."""
        return next((m for m in self.models if m.file == file), None)

    @property
    def runnable(self) -> list[str]:
        """Files the runtime can run, in the export's order."""
        return [m.file for m in self.models if m.runnable]

    @property
    def keras(self) -> ModelEntry | None:
        return next((m for m in self.models if m.format == "keras"), None)

    def replace(self, **changes: Any) -> Manifest:
        return dataclasses.replace(self, **changes)

    # -- JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``format_version`` first, then the sections; unset optionals left out."""
        out: dict[str, Any] = {"format_version": self.format_version}
        for f in dataclasses.fields(self):
            if f.name == "format_version":
                continue
            value = getattr(self, f.name)
            if f.name == "feature_spec":
                out[f.name] = {**value.to_dict(), "fingerprint": value.fingerprint()}
            elif f.name == "normalization":
                out[f.name] = value.to_dict()
            elif value is not None and not (f.name == "metrics" and not value.splits()):
                out[f.name] = encode(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = MANIFEST_NAME) -> Manifest:
        """Validate and type a manifest's JSON.

        Raises:
            BundleError: naming the field that is wrong (``window.frames: expected an
                integer, got '600'``) and how to fix it.
        """
        if not isinstance(data, Mapping):
            raise BundleError(f"{where}: expected a JSON object", hint=_REEXPORT)
        _check_bounds(data, where)
        version = data.get("format_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise BundleError(
                f"{where}: format_version: expected an integer, got {version!r:.60}",
                hint=_REEXPORT,
            )
        if version not in READABLE_FORMATS:
            newer = isinstance(version, int) and version > FORMAT_VERSION
            raise BundleError(
                f"{where}: format_version {version!r} is not one this Sentio reads "
                f"({', '.join(map(str, READABLE_FORMATS))})",
                hint="upgrade Sentio to read it" if newer else _REEXPORT,
            )
        body = {k: v for k, v in data.items() if k not in ("feature_spec", "normalization")}
        for required in ("feature_spec", "normalization", "window"):
            if required not in data:
                raise BundleError(f"{where}: no {required!r} section", hint=_REEXPORT)
        spec = _feature_spec(data["feature_spec"], where)
        stats = _normalization(data["normalization"], spec, where)
        body = _path_hints(_upgrade(body, version))
        typed = _convert(_Body, {**body, "feature_spec": None, "normalization": None}, where)
        fields = {f.name: getattr(typed, f.name) for f in dataclasses.fields(_Body)}
        return cls(**{**fields, "feature_spec": spec, "normalization": stats})


@dataclass(frozen=True)
class _Body(Manifest):
    """The manifest with its two hand-checked sections loosened (parsing only)."""

    feature_spec: Any = None  # type: ignore[assignment]
    normalization: Any = None  # type: ignore[assignment]
    window: Window = None  # type: ignore[assignment]


def _upgrade(body: dict[str, Any], version: int) -> dict[str, Any]:
    """Format 1 -> the current field set (nothing is lost; missing parts take defaults)."""
    if version >= 2:
        return body
    body = dict(body)
    models = body.get("models", [])
    if isinstance(models, list):  # else the typed conversion names the field
        body["models"] = [
            {**m, "format": m.get("format") or ("keras" if m.get("kind") == "keras" else "")}
            if isinstance(m, Mapping)
            else m
            for m in models
        ]
    data = body.get("data")
    if isinstance(data, Mapping) and data.get("source") == {}:
        body["data"] = {k: v for k, v in data.items() if k != "source"}
    return body


def _path_hints(body: dict[str, Any]) -> dict[str, Any]:
    """A data source written with a ``path`` (before bundles were machine-independent) read as
    its :func:`path_hint`: the absolute path never comes back out."""
    data = body.get("data")
    if not isinstance(data, Mapping):
        return body

    def hinted(source: Any) -> Any:
        if not isinstance(source, Mapping) or "path" not in source:
            return source
        rest = {k: v for k, v in source.items() if k != "path"}
        path = source["path"]
        return {**rest, "hint": path_hint(path)} if isinstance(path, str) else rest

    data = dict(data)
    if "source" in data:
        data["source"] = hinted(data["source"])
    if isinstance(data.get("also"), list):
        data["also"] = [hinted(s) for s in data["also"]]
    return {**body, "data": data}


def _feature_spec(raw: Any, where: str) -> FrameSpec:
    if not isinstance(raw, Mapping):
        raise BundleError(f"{where}: feature_spec must be an object", hint=_REEXPORT)
    for name, (low, high) in SPEC_LIMITS.items():
        value = raw.get(name)
        if _is_number(value) and not low <= value <= high:
            raise BundleError(
                f"{where}: feature_spec.{name}: {value!r:.40} is out of range ({low:g} to "
                f"{high:g})",
                hint="fix that field, or " + _REEXPORT,
            )
    fields = dict(raw)
    fingerprint = fields.pop("fingerprint", None)
    try:
        spec = feature_spec_from_dict(fields)
    except (FeatureSpecError, TypeError) as err:
        raise BundleError(f"{where}: feature_spec: {err}", hint=_REEXPORT) from err
    if fingerprint and fingerprint != spec.fingerprint():
        raise BundleError(
            f"{where}: the feature spec does not match its recorded fingerprint",
            hint="the manifest was edited or comes from another Sentio version; " + _REEXPORT,
        )
    return spec


def _normalization(raw: Any, spec: FrameSpec, where: str) -> FeatureStats:
    if not isinstance(raw, Mapping) or not {"mean", "std"} <= set(raw):
        raise BundleError(f"{where}: normalization needs 'mean' and 'std' lists", hint=_REEXPORT)
    try:
        stats = FeatureStats.from_dict(raw)
    except (FeatureSpecError, TypeError, ValueError) as err:
        raise BundleError(f"{where}: normalization: {err}", hint=_REEXPORT) from err
    if stats.mean.shape != (spec.n_features,):
        raise BundleError(
            f"{where}: normalization has {stats.mean.shape[0]} values per list, the feature "
            f"spec {spec.n_features} features",
            hint=_REEXPORT,
        )
    floor = np.float32(FeatureStats.STD_FLOOR)
    for name, values, bad in (
        ("mean", stats.mean, ~np.isfinite(stats.mean)),
        # an infinite std would turn its feature into a constant 0, silently
        ("std", stats.std, ~(np.isfinite(stats.std) & (stats.std >= floor))),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            need = "finite" if name == "mean" else f"finite and at least {FeatureStats.STD_FLOOR:g}"
            raise BundleError(
                f"{where}: normalization.{name}[{i}]: {float(values[i])!r}; every {name} must be "
                f"{need} ({int(bad.sum())} of {bad.size} are not)",
                hint=_REEXPORT,
            )
    return stats


# ----------------------------------------------------------------------------- bounds


class _Oversize:
    """An integer literal too long to be any field's value (the JSON parser's stand-in, so that
    the field can be named instead of ``int()`` failing inside the parser)."""

    def __init__(self, digits: str) -> None:
        self.digits = digits.lstrip("-")

    def __repr__(self) -> str:
        return f"a {len(self.digits):,}-digit integer"


def _parse_int(text: str) -> int | _Oversize:
    return int(text) if len(text) <= 20 else _Oversize(text)


#: Top-level sections the runtime runs on: no NaN or infinity anywhere in them (the rest is
#: provenance, where a NaN metric is a measurement that had no value).
_FINITE_SECTIONS = frozenset(
    {"format_version", "feature_spec", "normalization", "window", "labels", "calibration"}
)
#: A model entry's measurements (NaN allowed); the rest of the entry must be finite.
_MEASURED = frozenset({"test_windows", "test_songs", "vs_float", "drop"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_bounds(data: Mapping[str, Any], where: str) -> None:
    """Refuse, naming the field, what no field may hold: nesting deeper than
    :data:`MAX_DEPTH`, an integer beyond int64, NaN or infinity where the runtime reads it.
    Iterative, so that a deep structure cannot exhaust the stack here either."""
    stack: list[tuple[Any, str, int, bool]] = [(data, "", 0, False)]
    while stack:
        value, path, depth, finite = stack.pop()
        problem = None
        if depth > MAX_DEPTH:
            problem = f"nested more than {MAX_DEPTH} levels deep"
        elif isinstance(value, _Oversize) or (
            _is_number(value) and isinstance(value, int) and abs(value) > MAX_INT
        ):
            shown = value if isinstance(value, _Oversize) else f"{value:.3e}"
            problem = f"{shown} is out of range (integers up to 2**63 - 1)"
        elif finite and isinstance(value, float) and not math.isfinite(value):
            problem = f"{value} is not a finite number (NaN and Infinity are not allowed here)"
        if problem:
            raise BundleError(
                f"{where}: {path.lstrip('.') or 'manifest'}: {problem}",
                hint="fix that field, or " + _REEXPORT,
            )
        if isinstance(value, Mapping):
            for key, inner in value.items():
                inner_finite = finite or (depth == 0 and key in _FINITE_SECTIONS)
                if depth == 2 and path.startswith(".models["):
                    inner_finite = key not in _MEASURED
                stack.append((inner, f"{path}.{key}", depth + 1, inner_finite))
        elif isinstance(value, list | tuple):
            for i, inner in enumerate(value):
                stack.append((inner, f"{path}[{i}]", depth + 1, finite))


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def _too_deep(text: str) -> int | None:
    """Where the JSON text first nests deeper than :data:`MAX_DEPTH` (an index), or None.
    Counted outside strings, before parsing: the parser itself recurses per level."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: " " * len(m.group()), text)
    codes = np.frombuffer(bare.encode("utf-32-le"), dtype=np.uint32)
    step = np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
    step -= np.isin(codes, (ord("]"), ord("}")))
    deep = np.flatnonzero(np.cumsum(step) > MAX_DEPTH)
    return int(deep[0]) if deep.size else None


def _path_at(text: str, index: int) -> str:
    """The field path (``data.splits[3]``) that holds position ``index`` of JSON text."""
    stack: list[list[Any]] = []
    pending: str | None = None
    for token in _TOKENS.finditer(text, 0, index):
        t = token.group()
        if t in "[{":
            stack.append([t, 0 if t == "[" else None])
        elif t in "]}":
            if stack:
                stack.pop()
        elif t == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
        elif t == ":":
            if stack and pending is not None:
                stack[-1][1] = pending
        else:
            pending = t[1:-1][:40]
    parts = [f"[{key}]" if kind == "[" else f".{key}" for kind, key in stack if key is not None]
    shown = "".join(parts[:8]) + ("..." if len(parts) > 8 else "")
    return shown.lstrip(".") or "manifest"


# ----------------------------------------------------------------------------- typed JSON


def _convert(kind: Any, value: Any, where: str) -> Any:
    """``value`` as ``kind`` through the codec; a wrong field is a BundleError naming it."""
    try:
        return decode(kind, value)
    except FieldError as err:
        raise BundleError(
            f"{where}: {err.path or 'manifest'}: {err.problem}",
            hint="fix that field, or " + _REEXPORT,
        ) from None


# ----------------------------------------------------------------------------- files


#: A manifest part (a dataclass, tuple, dict) as plain JSON values; unset optionals left out,
#: as ``sentio.json`` writes them (the codec's :func:`~sentio.runtime.codec.encode`).
as_json = encode


def path_hint(path: str | Path) -> str:
    """``path`` as a manifest may record it, never absolute: a relative path as given, an
    absolute one relative to the working folder when it lies inside it, else its last part
    (``/data/emotify`` -> ``emotify``). A hint for a person, not a path to open."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it
    (``/proc/self/status``, Linux 4.7+); else set and restored at once."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename, with the mode a plain
    ``open(path, "w")`` would give it (0666 less the umask; ``mkstemp`` alone gives 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(manifest: Manifest, bundle_dir: Path) -> Path:
    """Write ``bundle_dir/sentio.json`` atomically; returns its path."""
    path = Path(bundle_dir) / MANIFEST_NAME
    write_json_atomic(path, manifest.to_dict())
    return path


def read(bundle_dir: Path) -> Manifest:
    """A bundle's manifest, validated but with no file checked (see :func:`load`)."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST_NAME
    try:
        present = path.is_file()
    except PermissionError as err:  # a folder this user may not enter (Python < 3.14)
        raise BundleError(f"cannot read {path}: permission denied", hint=UNREADABLE) from err
    if not present and bundle_dir.is_dir() and not os.access(bundle_dir, os.R_OK | os.X_OK):
        raise BundleError(f"cannot read {bundle_dir}: permission denied", hint=UNREADABLE)
    if not present:
        raise BundleError(
            f"{bundle_dir} is not a Sentio bundle (no {MANIFEST_NAME})",
            hint="point at the folder written by sentio-train / sentio-export",
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise BundleError(
                f"cannot read {path}: larger than {MAX_MANIFEST_BYTES // 2**20} MiB, far more "
                "than any bundle's manifest",
                hint=_REEXPORT,
            )
        text = raw.decode()
        deep = _too_deep(text)
        if deep is not None:
            raise BundleError(
                f"{path}: {_path_at(text, deep)}: nested more than {MAX_DEPTH} levels deep",
                hint="fix that field, or " + _REEXPORT,
            )
        data = json.loads(text, parse_int=_parse_int)
    except PermissionError as err:
        raise BundleError(f"cannot read {path}: permission denied", hint=UNREADABLE) from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"cannot read {path}: {err}", hint=_REEXPORT) from err
    return Manifest.from_dict(data, where=str(path))


def load(bundle_dir: Path, verify: bool = True) -> Manifest:
    """A bundle's manifest, validated, with every listed file's sha256 checked (``verify``).

    Raises:
        BundleError: no manifest, unreadable JSON, a wrong field, a missing file or a
            checksum mismatch.
    """
    bundle_dir = Path(bundle_dir)
    manifest = read(bundle_dir)
    if verify:
        verify_files(bundle_dir, manifest)
    return manifest


def verify_files(bundle_dir: Path, manifest: Manifest) -> None:
    """Check that every file the manifest lists is there with its recorded sha256.

    The list is required and must cover every model file: deleting it (or one entry) from
    ``sentio.json`` must not switch the check off.
    """
    if not manifest.files:
        raise BundleError(
            f"{bundle_dir}: {MANIFEST_NAME} lists no files and sha256 sums, so nothing in the "
            "bundle can be verified",
            hint=_REEXPORT,
        )
    named = (*manifest.files, *(m.file for m in manifest.models))
    outside = [n for n in named if Path(n).name != n or n in ("", ".", "..")]
    if outside:
        raise BundleError(
            f"{bundle_dir}: {MANIFEST_NAME} names file(s) outside the bundle folder: "
            f"{', '.join(outside)}",
            hint=_REEXPORT,
        )
    unlisted = [m.file for m in manifest.models if m.file not in manifest.files]
    if unlisted:
        raise BundleError(
            f"{bundle_dir}: model file(s) {', '.join(unlisted)} have no sha256 in "
            f"{MANIFEST_NAME}; refusing to run an unverified model",
            hint=_REEXPORT,
        )
    for name, expected in manifest.files.items():
        file = Path(bundle_dir) / name
        try:
            present = file.is_file()
        except PermissionError as err:
            raise BundleError(f"cannot read {file}: permission denied", hint=UNREADABLE) from err
        if not present:
            raise BundleError(f"bundle file missing: {file}", hint=_REEXPORT)
        try:
            actual = sha256_file(file)
        except PermissionError as err:
            raise BundleError(f"cannot read {file}: permission denied", hint=UNREADABLE) from err
        except OSError as err:
            raise BundleError(f"cannot read {file}: {err}", hint=_REEXPORT) from err
        if actual != expected:
            raise BundleError(
                f"sha256 mismatch for {file}: the file changed after export",
                hint="re-export the bundle, or restore the file it was exported with",
            )
