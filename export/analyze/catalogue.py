"""One audio file -> one row of the catalogue table, through the runtime's own streaming path.

A file is analysed by :class:`~sentio.runtime.listener.Listener` over a
:class:`~sentio.runtime.replay.FileSource`: exactly what ``sentio-listen --input FILE --first
full --changes off`` runs, so every window's valence/arousal is the number ``sentio-listen``
prints for it (tested). A catalogue file is one song summarised: whole windows only (early,
partial estimates would weigh its first seconds twice), one segment; a file shorter than a
window gets the one partial estimate made at its end.
The song-level values summarise those windows: their mean and standard deviation, the
quadrant and the colour of the mean point.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.runtime.color import emotion_color
from sentio.runtime.emotion import Prediction, quadrant
from sentio.runtime.engine import SHORTEST_S
from sentio.runtime.errors import AudioError, ConfigError, SentioError
from sentio.runtime.manifest import MANIFEST_NAME, sha256_file
from sentio.runtime.model import BundleModel, default_bundle

#: File name endings a folder walk picks up: what libsndfile decodes (a file named on the
#: command line is tried whatever its name).
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".w64", ".rf64", ".caf"}
)
#: Decimals of every valence/arousal in the table: those of ``sentio-listen``'s JSON lines.
DECIMALS = 5


@dataclass(frozen=True)
class AnalysisSettings:
    """What decides the numbers of a row, besides the audio.

    Attributes:
        bundle: the bundle folder (None: the model that ships with the runtime).
        artifact: the model file of the bundle to run (None: the export's pick).
        hop_s: seconds between windows (None: the bundle's default, as ``sentio-listen``).
        smooth_s: exponential smoothing time constant (0: off, as ``sentio-listen``).
        series: also keep every window's ``t``, valence and arousal in the row.
    """

    bundle: Path | None = None
    artifact: str | None = None
    hop_s: float | None = None
    smooth_s: float = 0.0
    series: bool = False


@dataclass(frozen=True)
class BundleIdentity:
    """The bundle as a run's resume key sees it.

    Attributes:
        path: the bundle folder.
        artifact: the model file that runs.
        analysis_id: hash of the bundle's ``sentio.json`` (which holds every file's sha256),
            the artifact and the hop and smoothing: rows with another id are recomputed.
    """

    path: Path
    artifact: str
    analysis_id: str


def bundle_folder(settings: AnalysisSettings) -> Path:
    """The bundle folder the settings name (a model file's folder, or the shipped model)."""
    path = settings.bundle if settings.bundle is not None else default_bundle()
    if path is None:
        raise ConfigError(
            "no model given and this install has no default model",
            hint="pass --model BUNDLE (a folder written by sentio-export)",
        )
    path = Path(path)
    return path.parent if path.is_file() else path


def identify_bundle(settings: AnalysisSettings, model: BundleModel) -> BundleIdentity:
    """The resume key of ``model`` run with ``settings`` (the model already loaded: its
    manifest and files are verified)."""
    manifest_sha = sha256_file(model.path / MANIFEST_NAME)
    key = {
        "manifest": manifest_sha,
        "artifact": model.artifact,
        "hop_frames": round((settings.hop_s or model.default_hop_s) * model.spec.frames_per_second),
        "smooth_s": settings.smooth_s,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return BundleIdentity(model.path, model.artifact, digest)


def load_model(settings: AnalysisSettings, folder: Path | None = None) -> BundleModel:
    """The bundle's model, one inference thread (files are the parallelism)."""
    path = folder if folder is not None else bundle_folder(settings)
    return BundleModel(path, settings.artifact or _artifact_of(settings), num_threads=1)


def _artifact_of(settings: AnalysisSettings) -> str | None:
    bundle = settings.bundle
    return Path(bundle).name if bundle is not None and Path(bundle).is_file() else None


def find_audio(inputs: list[Path]) -> list[Path]:
    """Every audio file of ``inputs`` (files, and folders walked recursively), absolute,
    sorted, each once. Hidden files and folders (``.name``) are left out of a walk.

    Raises:
        ConfigError: an input that does not exist.
    """
    found: set[Path] = set()
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found.update(_walk(path))
        elif path.is_file():
            found.add(path.resolve())
        else:
            raise ConfigError(
                f"{path}: no such file or folder", hint="pass audio files or folders of them"
            )
    return sorted(found)


def _walk(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                files.append((Path(root) / name).resolve())
    return files


def read_file_list(path: Path) -> list[Path]:
    """The paths of a list file (one a line; ``#`` comments and blank lines ignored; relative
    paths are relative to the list's folder, as in a dataset manifest)."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the file list {path}: {err}", hint="check --list") from err
    base = Path(path).parent
    return [base / line.strip() for line in lines if line.strip() and not line.startswith("#")]


def analyze_file(path: Path, model: BundleModel, settings: AnalysisSettings) -> dict:
    """One file's row (see :data:`~sentio.export.analyze.table.COLUMNS`).

    Raises:
        AudioError: the file cannot be read or decoded, or holds less than one model window.
        SentioError: anything else the runtime refuses (a broken model gives NaN).
    """
    from sentio.runtime.listener import Listener

    path = Path(path)
    try:
        stat = path.stat()
        digest = sha256_file(path)
    except OSError as err:
        raise AudioError(f"cannot read {path}: {err.strerror or err}", hint="check it") from err
    listener = Listener.from_file(
        path,
        model,
        hop_s=settings.hop_s,
        smooth_s=settings.smooth_s,
        first_s=None,  # whole windows; a short file still gets one estimate at its end
        changes=False,  # one file, one song
    )
    with listener:
        predictions = list(listener)
    audio_s = listener.stats.audio_s
    if not predictions:
        raise AudioError(
            f"{path} holds {audio_s:.1f} s of audio, less than the {SHORTEST_S:g} s an "
            "estimate needs",
            hint=f"only files of at least {SHORTEST_S:g} s get a prediction",
        )
    row = summarize(predictions)
    row.update(
        path=str(path),
        sha256=digest,
        size_bytes=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        duration_s=round(audio_s, 3),
        artifact=model.artifact,
    )
    if settings.series:
        row["series"] = series(predictions)
    return row


def summarize(predictions: list[Prediction]) -> dict:
    """Song-level values of a file's windows: mean and spread (standard deviation) of valence
    and arousal, and the quadrant and colour of the mean point."""
    valence = np.array([p.valence for p in predictions], dtype=np.float64)
    arousal = np.array([p.arousal for p in predictions], dtype=np.float64)
    v_mean, a_mean = float(valence.mean()), float(arousal.mean())
    return {
        "windows": len(predictions),
        "valence_mean": round(v_mean, DECIMALS),
        "valence_std": round(float(valence.std()), DECIMALS),
        "arousal_mean": round(a_mean, DECIMALS),
        "arousal_std": round(float(arousal.std()), DECIMALS),
        "quadrant": quadrant(v_mean, a_mean),
        "color": emotion_color(v_mean, a_mean).hex,
    }


def series(predictions: list[Prediction]) -> dict[str, list[float]]:
    """Every window's end time, valence and arousal, rounded as ``sentio-listen`` prints."""
    rows = [p.to_dict() for p in predictions]
    return {key: [r[key] for r in rows] for key in ("t", "valence", "arousal")}


def analyze_or_skip(path: str, model: BundleModel, settings: AnalysisSettings) -> tuple:
    """``("ok", row)`` or ``("skip", reason)``; never raises (one bad file must never end a
    long run)."""
    try:
        return "ok", analyze_file(Path(path), model, settings)
    except SentioError as err:
        return "skip", err.message
    except Exception as err:
        return "skip", f"{type(err).__name__}: {err}"


def is_finite_row(row: dict) -> bool:
    """Whether every song-level number of a row is finite (a journal line is trusted only
    then)."""
    keys = ("valence_mean", "valence_std", "arousal_mean", "arousal_std", "duration_s")
    return all(isinstance(row.get(k), int | float) and math.isfinite(row[k]) for k in keys)
