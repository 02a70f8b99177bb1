"""Feature extraction over a dataset: parallel across cores, cached by file content + spec.

The cache lives in ``<cache_dir>/<spec fingerprint[:16]>/<sha256 of the file>.npy``: renaming
or moving audio keeps its cache entry, editing it or changing any spec value does not.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.export.data.datasets import SkipLog, Song
from sentio.runtime.audio import is_silent, load_audio
from sentio.runtime.errors import SentioError
from sentio.runtime.features import FrameSpec, extract_features
from sentio.runtime.manifest import sha256_file
from threadpoolctl import threadpool_limits
from tqdm import tqdm

log = logging.getLogger("sentio.extract")


def default_cache_dir() -> Path:
    base = os.environ.get("SENTIO_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "sentio" if base else Path.home() / ".cache" / "sentio"


@dataclass
class Extraction:
    """Features per song id, plus timing and cache counts for the run summary."""

    features: dict[str, np.ndarray]
    seconds: float
    cache_hits: int
    audio_seconds: float


def _featurize(path: str, spec: FrameSpec, cache_dir: str | None) -> tuple[str, object, bool]:
    """Worker: ('ok', features, from_cache) or ('skip', reason, False). Never raises."""
    try:
        entry = None
        if cache_dir is not None:
            entry = Path(cache_dir) / spec.fingerprint()[:16] / f"{sha256_file(Path(path))}.npy"
            if entry.is_file():
                try:
                    return "ok", np.load(entry), True
                except (OSError, ValueError):
                    entry.unlink(missing_ok=True)  # a damaged entry is recomputed
        signal = load_audio(path, spec.sample_rate)
        if is_silent(signal):
            return "skip", "silent (peak below -80 dBFS)", False
        features = extract_features(signal, spec)
        if entry is not None:
            _save_atomic(entry, features)
        return "ok", features, False
    except SentioError as err:
        return "skip", err.message, False
    except Exception as err:  # one bad file must never end a long run
        return "skip", f"{type(err).__name__}: {err}", False


def _save_atomic(entry: Path, features: np.ndarray) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".npy.tmp")
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, features)
    os.replace(tmp, entry)


def _one_blas_thread() -> None:
    """Processes are the parallelism: BLAS threads on top only spin against each other
    (measured: 2 workers x 2 BLAS threads took as long as 1 worker; x 1 thread, half)."""
    threadpool_limits(1)


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork is fastest and needs no ``__main__`` guard in user scripts, but forking a process
    that already runs TensorFlow's thread pools can deadlock the child: spawn then."""
    if "tensorflow" in sys.modules or "fork" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def extract_songs(
    songs: list[Song],
    spec: FrameSpec,
    skipped: SkipLog,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Extraction:
    """Features of every song that decodes; the others go to ``skipped``.

    Args:
        songs: the songs to featurize.
        spec: feature spec.
        skipped: collects songs that cannot be used, with the reason.
        cache_dir: feature cache root, ``None`` disables caching.
        workers: processes; default all cores. 1 runs in this process.
        progress: show a progress bar.
    """
    workers = workers or os.cpu_count() or 1
    cache = str(cache_dir) if cache_dir is not None else None
    start = time.perf_counter()
    results: dict[str, tuple[str, object, bool]] = {}
    bar = tqdm(
        total=len(songs), desc="features", unit="song", disable=not progress, mininterval=1.0
    )
    if workers == 1:
        with threadpool_limits(1):
            for song in songs:
                results[song.song_id] = _featurize(str(song.path), spec, cache)
                bar.update()
    else:
        with ProcessPoolExecutor(
            workers, mp_context=_pool_context(), initializer=_one_blas_thread
        ) as pool:
            futures = {pool.submit(_featurize, str(s.path), spec, cache): s.song_id for s in songs}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    bar.close()
    features: dict[str, np.ndarray] = {}
    hits = 0
    for song in songs:  # in dataset order, whatever order workers finished in
        status, payload, from_cache = results[song.song_id]
        if status == "ok":
            features[song.song_id] = payload  # type: ignore[assignment]
            hits += from_cache
        else:
            skipped.skip(f"song {song.song_id} ({song.path.name})", str(payload), "unusable audio")
    frames = sum(f.shape[0] for f in features.values())
    return Extraction(features, time.perf_counter() - start, hits, frames / spec.frames_per_second)
