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
from sentio.export.data.device_copies import DeviceCopies
from sentio.export.distributed import RayOptions, TaskLost, ray_map, ray_session
from sentio.export.workers import die_with_parent
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


#: One device rendering to featurize: the settings, the song's id and the copy's index.
CopyJob = tuple[DeviceCopies, str, int]


def _featurize(
    path: str, spec: FrameSpec, cache_dir: str | None, copy: CopyJob | None = None
) -> tuple[str, object, bool]:
    """Worker: ('ok', features, from_cache) or ('skip', reason, False). Never raises.

    ``copy``: featurize that device rendering of the file instead of the file itself.
    """
    try:
        entry = None
        if cache_dir is not None:
            entry = _cache_entry(Path(cache_dir), Path(path), spec, copy)
            if entry.is_file():
                try:
                    return "ok", np.load(entry), True
                except (OSError, ValueError):
                    entry.unlink(missing_ok=True)  # a damaged entry is recomputed
        signal = load_audio(path, spec.sample_rate)
        if is_silent(signal):
            return "skip", "silent (peak below -80 dBFS)", False
        if copy is not None:
            copies, song_id, index = copy
            signal = copies.render(signal, spec.sample_rate, song_id, index)
        features = extract_features(signal, spec)
        if entry is not None:
            _save_atomic(entry, features)
        return "ok", features, False
    except SentioError as err:
        return "skip", err.message, False
    except Exception as err:  # one bad file must never end a long run
        return "skip", f"{type(err).__name__}: {err}", False


def _cache_entry(root: Path, path: Path, spec: FrameSpec, copy: CopyJob | None) -> Path:
    folder = root / spec.fingerprint()[:16]
    if copy is None:
        return folder / f"{sha256_file(path)}.npy"
    copies, _, index = copy
    return folder / f"device-{copies.fingerprint()[:12]}" / f"{sha256_file(path)}-{index}.npy"


def _save_atomic(entry: Path, features: np.ndarray) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".npy.tmp")
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, features)
    os.replace(tmp, entry)


def _pool_init(parent: int) -> None:
    """A pool process: it dies with its parent (even one killed by SIGKILL), and runs one BLAS
    thread. Processes are the parallelism: BLAS threads on top only spin against each other
    (measured: 2 workers x 2 BLAS threads took as long as 1 worker; x 1 thread, half)."""
    die_with_parent(parent)
    threadpool_limits(1)


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork is fastest and needs no ``__main__`` guard in user scripts, but forking a process
    that already runs TensorFlow's thread pools can deadlock the child: spawn then."""
    if "tensorflow" in sys.modules or "fork" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


#: What one worker call featurizes: (key, audio path, device copy or None).
Job = tuple[str, str, CopyJob | None]


def _featurize_on_ray(
    jobs: list[Job], spec: FrameSpec, cache: str | None, options: RayOptions, bar
) -> dict[str, tuple[str, object, bool]]:
    """``_featurize`` of every job as Ray tasks; a task lost for good skips its song."""
    results: dict[str, tuple[str, object, bool]] = {}
    with ray_session(options) as ray:
        calls = ((path, spec, cache, copy) for _, path, copy in jobs)
        for index, outcome in ray_map(ray, _featurize_one_thread, calls, options):
            if isinstance(outcome, TaskLost):
                outcome = ("skip", outcome.reason, False)
            results[jobs[index][0]] = outcome
            bar.update()
    return results


def _featurize_one_thread(
    path: str, spec: FrameSpec, cache_dir: str | None, copy: CopyJob | None = None
):
    """A Ray task: ``_featurize`` with one BLAS thread (tasks are the parallelism)."""
    with threadpool_limits(1):
        return _featurize(path, spec, cache_dir, copy)


def extract_songs(
    songs: list[Song],
    spec: FrameSpec,
    skipped: SkipLog,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    ray: RayOptions | None = None,
) -> Extraction:
    """Features of every song that decodes; the others go to ``skipped``.

    Args:
        songs: the songs to featurize.
        spec: feature spec.
        skipped: collects songs that cannot be used, with the reason.
        cache_dir: feature cache root, ``None`` disables caching.
        workers: processes; default all cores. 1 runs in this process.
        progress: show a progress bar.
        ray: run the songs as Ray tasks there instead (``workers`` is then unused). Each
            node reads the audio at the same path and keeps its own cache at ``cache_dir``.
    """
    jobs = [(song.song_id, str(song.path), None) for song in songs]
    start = time.perf_counter()
    results = _run_jobs(jobs, spec, cache_dir, workers, progress, ray, "features")
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


def _run_jobs(
    jobs: list[Job],
    spec: FrameSpec,
    cache_dir: Path | None,
    workers: int | None,
    progress: bool,
    ray: RayOptions | None,
    desc: str,
) -> dict[str, tuple[str, object, bool]]:
    """``_featurize`` of every job, in this process, a process pool or on Ray; by job key."""
    workers = workers or os.cpu_count() or 1
    cache = str(cache_dir) if cache_dir is not None else None
    results: dict[str, tuple[str, object, bool]] = {}
    bar = tqdm(total=len(jobs), desc=desc, unit="song", disable=not progress, mininterval=1.0)
    if ray is not None:
        results = _featurize_on_ray(jobs, spec, cache, ray, bar)
    elif workers == 1:
        with threadpool_limits(1):
            for key, path, copy in jobs:
                results[key] = _featurize(path, spec, cache, copy)
                bar.update()
    else:
        with ProcessPoolExecutor(
            workers, mp_context=_pool_context(), initializer=_pool_init, initargs=(os.getpid(),)
        ) as pool:
            futures = {
                pool.submit(_featurize, path, spec, cache, copy): key for key, path, copy in jobs
            }
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    bar.close()
    return results


@dataclass
class CopyExtraction:
    """Features of the device copies per song id (copy order), plus counts for the summary."""

    features: dict[str, list[np.ndarray]]
    seconds: float
    cache_hits: int
    rendered: int
    failed: int


def extract_device_copies(
    songs: list[Song],
    spec: FrameSpec,
    copies: DeviceCopies,
    skipped: SkipLog,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    ray: RayOptions | None = None,
) -> CopyExtraction:
    """Features of ``copies.copies`` device renderings of every song (cached like the clean
    features). A copy that fails is counted in ``skipped`` and left out; its song keeps its
    clean windows and the copies that worked."""
    jobs = [
        (f"{song.song_id}#{k}", str(song.path), (copies, song.song_id, k))
        for song in songs
        for k in range(copies.copies)
    ]
    start = time.perf_counter()
    results = _run_jobs(jobs, spec, cache_dir, workers, progress, ray, "device copies")
    features: dict[str, list[np.ndarray]] = {}
    hits = failed = 0
    for key, _, (_, song_id, index) in jobs:
        status, payload, from_cache = results[key]
        if status == "ok":
            features.setdefault(song_id, []).append(payload)  # type: ignore[arg-type]
            hits += from_cache
        else:
            failed += 1
            skipped.skip(f"device copy {index} of song {song_id}", str(payload), "device copy")
    return CopyExtraction(
        features, time.perf_counter() - start, hits, len(jobs) - hits - failed, failed
    )
