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

import errno
import hashlib
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sentio.runtime.color import emotion_color
from sentio.runtime.emotion import SILENT, Prediction, quadrant
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
#: The largest ``--list`` file read (a list of a million paths is well under it).
MAX_LIST_BYTES = 256 * 1024 * 1024


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


@dataclass
class Catalogue:
    """What a walk of the inputs found.

    Attributes:
        files: the audio files, each a regular file: absolute, symlinks resolved, sorted,
            each once.
        skipped: ``(entry, reason)`` of each entry left out, as the walk met it (a symlink is
            named, not its target): a symlink loop, a dangling symlink, a FIFO, a device, a
            socket, a symlink to a folder (not followed), a folder that cannot be listed.
    """

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def find_audio(inputs: list[Path]) -> list[Path]:
    """Every audio file of ``inputs`` (see :func:`scan_catalogue`; what it skips is dropped)."""
    return scan_catalogue(inputs).files


def scan_catalogue(inputs: list[Path]) -> Catalogue:
    """Every audio file of ``inputs`` (files, and folders walked recursively), absolute,
    sorted, each once, and every entry left out with the reason. Hidden files and folders
    (``.name``) and files without an audio ending are left out of a walk silently; a file
    named in ``inputs`` is tried whatever its name. Only regular files are kept: nothing else
    is ever opened (a FIFO would block for ever, a device never end).

    Raises:
        ConfigError: an input that does not exist.
    """
    found: set[Path] = set()
    skipped: dict[str, str] = {}
    for item in inputs:
        path = Path(item).expanduser()
        try:
            os.lstat(path)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.ENOTDIR):
                skipped[str(path)] = f"cannot read it: {err.strerror or err}"
                continue
            raise ConfigError(
                f"{path}: no such file or folder", hint="pass audio files or folders of them"
            ) from None
        if path.is_dir():
            _walk(path, found, skipped)
        else:
            _add_entry(path, found, skipped)
    return Catalogue(sorted(found), sorted(skipped.items(), key=lambda item: Path(item[0])))


def _walk(folder: Path, found: set[Path], skipped: dict[str, str]) -> None:
    def unlistable(err: OSError) -> None:
        skipped[err.filename or str(folder)] = f"cannot list this folder: {err.strerror or err}"

    for root, dirs, names in os.walk(folder, onerror=unlistable, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):  # os.walk does not go in: say so
                skipped[os.path.join(root, name)] = (
                    "a symlink to a folder: not followed (pass it as an input to analyse it)"
                )
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                _add_entry(Path(root) / name, found, skipped)


def _add_entry(path: Path, found: set[Path], skipped: dict[str, str]) -> None:
    """``path`` into ``found`` (resolved) if it is a regular file, else into ``skipped`` with
    the reason, under its own name (never its target's)."""
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode):
            found.add(path.resolve(strict=True))
            return
        reason = f"{not_regular(info.st_mode)}, not a regular file: not opened"
    except RuntimeError:  # pathlib's "Symlink loop" (Python < 3.13)
        reason = "a symlink loop"
    except OSError as err:
        reason = _unreachable(path, err)
    skipped[str(path)] = reason


def _unreachable(path: Path, err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "a symlink loop"
    if err.errno in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(path):
        try:
            return f"a dangling symlink (its target {os.readlink(path)} does not exist)"
        except OSError:
            return "a dangling symlink"
    return f"cannot read it: {err.strerror or err}"


def not_regular(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def regular_file_sha256(path: Path) -> tuple[str, os.stat_result]:
    """``(sha256, stat)`` of the regular file ``path``, read once to its end; anything else
    (a FIFO, a device) is refused before a byte is read, and never blocks.

    Raises:
        AudioError: ``path`` cannot be read, or is not a regular file.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode):  # a FIFO is never opened: that alone would block
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as fh:
                info = os.fstat(fh.fileno())  # what was opened (it may have been swapped)
                if stat.S_ISREG(info.st_mode):
                    digest = hashlib.sha256()
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                    return digest.hexdigest(), info
    except OSError as err:
        raise AudioError(f"cannot read {path}: {err.strerror or err}", hint="check it") from err
    raise AudioError(
        f"{path} is {not_regular(info.st_mode)}, not a regular file: not opened",
        hint="analyse audio files; a FIFO or a device would never end",
    )


def read_file_list(path: Path) -> list[Path]:
    """The paths of a list file (one a line; ``#`` comments and blank lines ignored; relative
    paths are relative to the list's folder, as in a dataset manifest). A regular file of at
    most :data:`MAX_LIST_BYTES` (a FIFO or a device is refused, never read)."""
    hint = "pass --list a text file of paths, one a line"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                f"cannot read the file list {path}: {not_regular(info.st_mode)}, not a file",
                hint=hint,
            )
        if info.st_size > MAX_LIST_BYTES:
            raise ConfigError(
                f"the file list {path} holds {info.st_size} bytes, more than the "
                f"{MAX_LIST_BYTES // 2**20} MiB a list of paths can be",
                hint=hint,
            )
        with open(path, "rb") as fh:
            lines = fh.read(MAX_LIST_BYTES + 1).decode().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the file list {path}: {err}", hint="check --list") from err
    base = Path(path).parent
    return [base / line.strip() for line in lines if line.strip() and not line.startswith("#")]


def analyze_file(path: Path, model: BundleModel, settings: AnalysisSettings) -> dict:
    """One file's row (see :data:`~sentio.export.analyze.table.COLUMNS`).

    Raises:
        AudioError: the file cannot be read or decoded, is not a regular file (a FIFO, a
            device: refused before it is opened), or holds less than one model window.
        SentioError: anything else the runtime refuses (a broken model gives NaN).
    """
    from sentio.runtime.listener import Listener

    path = Path(path)
    digest, info = regular_file_sha256(path)  # a FIFO or a device: refused, never opened
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
        size_bytes=info.st_size,
        mtime_ns=info.st_mtime_ns,
        duration_s=round(audio_s, 3),
        artifact=model.artifact,
    )
    if settings.series:
        row["series"] = series(predictions)
    return row


def summarize(predictions: list[Prediction]) -> dict:
    """Song-level values of a file's windows: mean and spread (standard deviation) of valence
    and arousal, and the quadrant and colour of the mean point. Windows of silence have no
    mood and are left out of the means; a file of nothing but silence (digital silence, below
    the silence level) reads 0, 0 with the quadrant ``"silent"``."""
    heard = [p for p in predictions if not p.silent] or predictions
    valence = np.array([p.valence for p in heard], dtype=np.float64)
    arousal = np.array([p.arousal for p in heard], dtype=np.float64)
    v_mean, a_mean = float(valence.mean()), float(arousal.mean())
    silent = all(p.silent for p in predictions)
    return {
        "windows": len(predictions),
        "valence_mean": round(v_mean, DECIMALS),
        "valence_std": round(float(valence.std()), DECIMALS),
        "arousal_mean": round(a_mean, DECIMALS),
        "arousal_std": round(float(arousal.std()), DECIMALS),
        "quadrant": SILENT if silent else quadrant(v_mean, a_mean),
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
