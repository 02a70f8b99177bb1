"""A catalogue run: files -> rows, in this process, a process pool or on Ray, resumable.

The driver (this process) alone writes: each finished row is appended to the journal at once,
so a run cut by Ctrl-C, a crash or a lost cluster resumes where it stopped; the tables are
written atomically once every file has been tried. Rows come out in the sorted order of the
files whatever order workers finished in, so every backend writes the same table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.analyze.catalogue import (
    AnalysisSettings,
    BundleIdentity,
    Catalogue,
    analyze_or_skip,
    identify_bundle,
    load_model,
    regular_file_sha256,
    scan_catalogue,
)
from sentio.export.analyze.table import (
    JOURNAL,
    DoneIndex,
    Journal,
    done_index,
    folder_lock,
    merge_rows,
    read_rows,
    write_summary,
    write_tables,
)
from sentio.export.distributed import RayOptions, TaskLost
from sentio.export.workers import die_with_parent
from sentio.runtime.errors import BundleError, ConfigError, SentioError
from sentio.runtime.manifest import MANIFEST_NAME, sha256_file
from sentio.runtime.model import BundleModel

log = logging.getLogger("sentio.analyze")


@dataclass(frozen=True)
class AnalyzeConfig:
    """A catalogue run.

    Attributes:
        inputs: audio files and folders (walked recursively).
        out_dir: where the tables, the journal and ``summary.json`` go.
        settings: the bundle and how it runs (see :class:`AnalysisSettings`).
        workers: processes on this machine (None: all cores; 1: this process). Ignored on Ray.
        ray: run the files as Ray tasks there (None: this machine only).
        progress: show a progress bar (stderr).
    """

    inputs: tuple[Path, ...]
    out_dir: Path = Path("sentio-analysis")
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    workers: int | None = None
    ray: RayOptions | None = None
    progress: bool = True


@dataclass
class AnalyzeResult:
    """What a run did.

    Attributes:
        rows: the table, in file order.
        files: audio files found (regular files).
        analyzed: files analysed by this run.
        resumed: files whose rows an earlier run had finished (same content, same analysis).
        skipped: ``(path, reason)`` of each file that could not be analysed, and of each
            catalogue entry the walk left out (a symlink loop, a dangling symlink, a FIFO or a
            device, a folder that cannot be listed: :func:`scan_catalogue`), sorted by path.
        seconds: wall time of the analysis (after the files were found and the model loaded).
        audio_s: seconds of audio this run analysed.
        backend: ``this process``, ``N processes`` or ``Ray ADDRESS``.
        identity: the bundle, artifact and analysis id.
        out_dir: where the tables are.
        nodes: on Ray, files analysed per node (Ray node id, first 8 hex digits).
        table_rows: rows of the table written: this run's, and those of earlier runs (other
            catalogues) kept.
        kept: rows of earlier runs kept in the table (files this run did not find).
    """

    rows: list[dict]
    files: int
    analyzed: int
    resumed: int
    skipped: list[tuple[str, str]]
    seconds: float
    audio_s: float
    backend: str
    identity: BundleIdentity
    out_dir: Path
    nodes: dict[str, int] = field(default_factory=dict)
    table_rows: int = 0
    kept: int = 0

    def to_dict(self) -> dict:
        minutes = max(self.seconds, 1e-9) / 60
        return {
            "files": self.files,
            "analyzed": self.analyzed,
            "resumed": self.resumed,
            "skipped": len(self.skipped),
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped],
            "bundle": str(self.identity.path),
            "artifact": self.identity.artifact,
            "analysis_id": self.identity.analysis_id,
            "backend": self.backend,
            "seconds": round(self.seconds, 2),
            "audio_hours": round(self.audio_s / 3600, 4),
            "files_per_minute": round(self.analyzed / minutes, 2),
            "audio_hours_per_minute": round(self.audio_s / 3600 / minutes, 4),
            "nodes": self.nodes,
            "table_rows": self.table_rows,
            "kept_from_earlier_runs": self.kept,
        }


def analyze_catalogue(config: AnalyzeConfig) -> AnalyzeResult:
    """Analyse every audio file of ``config.inputs`` not already done; write the tables.

    The table written is this run's rows merged with the rows ``out_dir`` already held
    (:func:`~sentio.export.analyze.table.merge_rows`): another catalogue's rows are kept.

    Entries that are not regular files (FIFOs, devices, symlink loops, dangling symlinks) and
    folders that cannot be listed are skipped with the reason, never opened.

    Raises:
        ConfigError: no input, or none holds audio files (or entries skipped); ``out_dir`` is
            not a folder; ``out_dir`` cannot be written (a full disk: the rows finished are
            kept in the journal, and the same command resumes).
        OutputBusyError: another run is writing in ``out_dir`` (the message names it).
        BundleError: the bundle or artifact cannot be loaded (before any file is read).
        MissingExtraError, ClusterUnavailableError: ``ray`` given without Ray installed, or
            with an address nothing answers at.
        KeyboardInterrupt: the rows finished so far are in the journal; a re-run resumes.
    """
    catalogue = scan_catalogue(list(config.inputs))
    if not catalogue.files and not catalogue.skipped:
        raise ConfigError(
            f"no audio files in {', '.join(str(p) for p in config.inputs) or 'the inputs'}",
            hint="pass audio files or folders holding .wav/.flac/.ogg/.mp3 files",
        )
    model = load_model(config.settings)
    identity = identify_bundle(config.settings, model)
    out_dir = _out_dir(config.out_dir)
    with folder_lock(out_dir):  # one run at a time: another one exits 2 naming this one
        return _run(config, catalogue, model, identity, out_dir)


def _run(
    config: AnalyzeConfig,
    catalogue: Catalogue,
    model: BundleModel,
    identity: BundleIdentity,
    out_dir: Path,
) -> AnalyzeResult:
    files = catalogue.files
    for entry, reason in catalogue.skipped:
        log.warning("skipped %s: %s", entry, reason)
    _check_writable(out_dir)
    earlier = read_rows(out_dir)  # the table and a cut run's journal, of any catalogue
    reused, todo = _plan(files, done_index(earlier, identity.analysis_id))
    log.info("%d files: %d done earlier, %d to analyse", len(files), len(reused), len(todo))
    rows = dict(reused)
    skipped: dict[str, str] = dict(catalogue.skipped)
    # workers name the artifact: a model file given as --model may not exist on their node
    settings = dataclasses.replace(config.settings, artifact=model.artifact)
    nodes: dict[str, int] = {}
    backend, outcomes = _backend(config, settings, model, identity, todo, nodes)
    start = time.perf_counter()
    audio_s = 0.0
    try:
        journal = Journal(out_dir)
    except OSError as err:
        raise ConfigError(
            f"cannot write the journal in {out_dir}: {err.strerror or err}",
            hint="free some space or pass another --out",
        ) from err
    bar = _progress_bar(config.progress, len(todo), len(reused))
    try:
        for path, (status, payload) in outcomes:
            if status == "ok":
                row = {**payload, "bundle": str(identity.path), "analysis_id": identity.analysis_id}
                _append(journal, row)
                rows[path] = row
                audio_s += row["duration_s"]
            else:
                skipped[path] = payload
                log.warning("skipped %s: %s", path, payload)
            bar.update()
    finally:
        bar.close()
        journal.close()
        if hasattr(outcomes, "close"):
            outcomes.close()  # a pool is shut down now, not when the generator is collected
    ordered = [rows[str(p)] for p in files if str(p) in rows]
    table, kept = merge_rows(earlier, ordered, (str(p) for p in files))
    _write(write_tables, out_dir, table)
    journal.remove()  # everything it held is in the table now
    result = AnalyzeResult(
        rows=ordered,
        files=len(files),
        analyzed=len(rows) - len(reused),
        resumed=len(reused),
        skipped=sorted(skipped.items(), key=lambda item: Path(item[0])),
        seconds=time.perf_counter() - start,
        audio_s=audio_s,
        backend=backend,
        identity=identity,
        out_dir=out_dir,
        nodes=nodes,
        table_rows=len(table),
        kept=kept,
    )
    _write(write_summary, out_dir, result.to_dict())
    return result


def _append(journal: Journal, row: dict) -> None:
    """A finished row into the journal, or a :class:`ConfigError` saying why not (a full
    disk): the rows appended before stay, and the same command resumes from them."""
    try:
        journal.append(row)
    except OSError as err:
        raise ConfigError(
            f"cannot write the journal {journal.path}: {err.strerror or err} (the "
            f"{journal.rows} file(s) finished before are kept in it)",
            hint="free some space, then run the same command: it resumes from the journal",
        ) from err


def _write(writer, out_dir: Path, content) -> None:
    """A table or summary written, or a :class:`ConfigError` saying why not (the journal,
    still there, keeps every finished file for the re-run)."""
    try:
        writer(out_dir, content)
    except OSError as err:
        raise ConfigError(
            f"cannot write the results in {out_dir}: {err}",
            hint="free some space or pass another --out; the same command then resumes",
        ) from err


def _out_dir(path: Path) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file", hint="pass a folder for the tables")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        hint = "pass another --out"
        raise ConfigError(f"cannot write in --out {path}: {err}", hint=hint) from err
    return path


def _check_writable(path: Path) -> None:
    try:
        (path / JOURNAL).touch()  # writable, before any work
    except OSError as err:
        hint = "pass another --out"
        raise ConfigError(f"cannot write in --out {path}: {err}", hint=hint) from err


def _plan(files: list[Path], done: DoneIndex) -> tuple[dict[str, dict], list[str]]:
    """``(rows reused by path, paths to analyse)``: a file is reused when its path, size and
    time are those of a done row, or (when there are done rows) its content hash is."""
    reused: dict[str, dict] = {}
    todo: list[str] = []
    for path in files:
        key = str(path)
        try:
            stat = os.stat(path)
        except OSError:
            todo.append(key)  # the worker says why it cannot be read
            continue
        sha = done.by_stat.get((key, stat.st_size, stat.st_mtime_ns))
        if sha is None and len(done):
            sha = _sha_or_none(path)  # moved, renamed or touched: same content is still done
        if sha is not None and sha in done.by_sha:
            reused[key] = {
                **done.by_sha[sha],
                "path": key,
                "size_bytes": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        else:
            todo.append(key)
    return reused, todo


def _sha_or_none(path: Path) -> str | None:
    try:
        return regular_file_sha256(path)[0]  # swapped for a FIFO since the walk: not opened
    except SentioError:
        return None


def _progress_bar(enabled: bool, total: int, resumed: int):
    from tqdm import tqdm

    desc = f"analyse ({resumed} resumed)" if resumed else "analyse"
    return tqdm(total=total, desc=desc, unit="file", disable=not enabled, mininterval=1.0)


Outcomes = Iterator[tuple[str, tuple[str, object]]]


def _backend(
    config: AnalyzeConfig,
    settings: AnalysisSettings,
    model: BundleModel,
    identity: BundleIdentity,
    todo: list[str],
    nodes: dict[str, int],
) -> tuple[str, Outcomes]:
    if not todo:  # everything was done by an earlier run: no pool, no cluster
        return "nothing to do", iter(())
    if config.ray is not None:
        outcomes = _on_ray(config.ray, settings, model, identity, todo, nodes)
        return f"Ray {config.ray.address}", outcomes
    workers = min(config.workers or os.cpu_count() or 1, max(1, len(todo)))
    if workers == 1:
        return "this process", _in_process(model, settings, todo)
    return f"{workers} processes", _in_pool(settings, model.path, workers, todo)


# ----------------------------------------------------------------------------- this machine


def _in_process(model: BundleModel, settings: AnalysisSettings, todo: list[str]) -> Outcomes:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for path in todo:
            yield path, analyze_or_skip(path, model, settings)


_worker_model: BundleModel | None = None
_worker_settings: AnalysisSettings | None = None


def _pool_init(parent: int, folder: Path, settings: AnalysisSettings) -> None:
    """A pool process: tied to the run (it dies with it, even by SIGKILL), one BLAS thread
    (processes are the parallelism), the model loaded once."""
    from threadpoolctl import threadpool_limits

    global _worker_model, _worker_settings
    die_with_parent(parent)
    threadpool_limits(1)
    _worker_settings = settings
    _worker_model = load_model(settings, folder)


def _pool_task(path: str) -> tuple[str, object]:
    assert _worker_model is not None and _worker_settings is not None
    return analyze_or_skip(path, _worker_model, _worker_settings)


def _in_pool(settings: AnalysisSettings, folder: Path, workers: int, todo: list[str]) -> Outcomes:
    from sentio.export.data.extract import _pool_context

    pool = ProcessPoolExecutor(
        workers,
        mp_context=_pool_context(),
        initializer=_pool_init,
        initargs=(os.getpid(), folder, settings),
    )
    try:
        futures = {pool.submit(_pool_task, path): path for path in todo}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:  # a worker was killed: the rest is for a re-run
                outcome = ("skip", "a worker process died before this file was done; run again")
            yield futures[future], outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- Ray


def _on_ray(
    options: RayOptions,
    settings: AnalysisSettings,
    model: BundleModel,
    identity: BundleIdentity,
    todo: list[str],
    nodes: dict[str, int],
) -> Outcomes:
    """Every file as a Ray task; ``nodes`` counts the files each node analysed."""
    from sentio.export.distributed import ray_map, ray_session

    with ray_session(options) as ray:
        # the bundle travels through the object store: nodes need Sentio, not the bundle
        shipment = ray.put(bundle_shipment(model, identity))
        calls = ((path, shipment, settings) for path in todo)
        for index, outcome in ray_map(ray, ray_analyze, calls, options):
            if isinstance(outcome, TaskLost):
                yield todo[index], ("skip", f"{outcome.reason}; run again to retry it")
                continue
            status, payload, node = outcome
            if status == "ok":
                nodes[node] = nodes.get(node, 0) + 1
            yield todo[index], (status, payload)


def bundle_shipment(model: BundleModel, identity: BundleIdentity) -> dict:
    """The bundle's files as bytes (``sentio.json`` and every file it lists), keyed by the
    analysis id, and the sha256 of those ``sentio.json`` bytes (which hold every other file's),
    for workers that may not see the driver's disk."""
    names = [MANIFEST_NAME, *model.manifest.files]
    files = {name: (model.path / name).read_bytes() for name in names}
    return {
        "analysis_id": identity.analysis_id,
        "manifest_sha256": hashlib.sha256(files[MANIFEST_NAME]).hexdigest(),
        "files": files,
    }


_ray_models: dict[str, BundleModel] = {}


def ray_analyze(path: str, shipment: dict, settings: AnalysisSettings) -> tuple[str, object, str]:
    """A Ray task: one file, with the shipped bundle (loaded once per worker process);
    ``(status, row or reason, the node's id)``."""
    import ray

    node = ray.get_runtime_context().get_node_id()[:8]
    key = shipment["analysis_id"]
    try:
        if key not in _ray_models:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
            _ray_models[key] = _load_shipment(shipment, settings)
    except Exception as err:  # a node that cannot hold the bundle skips, with the reason
        return "skip", f"cannot load the bundle on {socket.gethostname()}: {err}", node
    status, payload = analyze_or_skip(path, _ray_models[key], settings)
    if status == "skip":  # which node could not read it matters when data is not shared
        payload = f"{payload} (on {socket.gethostname()}, node {node})"
    return status, payload, node


def _load_shipment(shipment: dict, settings: AnalysisSettings) -> BundleModel:
    """The shipped bundle's model: written to a private folder, loaded (every file checked
    against the shipped manifest's sha256s), and the folder removed (the model is in memory
    now)."""
    folder = _materialize(shipment)
    try:
        return load_model(settings, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _materialize(shipment: dict) -> Path:
    """The shipped bundle as a new folder of this process: ``mkdtemp`` makes it, mode 0700,
    under a name nobody can know or take first (a folder at a fixed path in the shared temp
    folder could be made by another local user, with a bundle of theirs in it). Its
    ``sentio.json`` is checked against the sha256 the driver sent; loading it then checks
    every other file against that manifest. The caller removes the folder.

    Raises:
        BundleError: the manifest is not the one the driver sent, or a file name would land
            outside the folder.
    """
    manifest = shipment["files"][MANIFEST_NAME]
    expected = shipment["manifest_sha256"]
    if hashlib.sha256(manifest).hexdigest() != expected:
        raise BundleError(
            f"the shipped {MANIFEST_NAME} is not the one the driver sent (sha256 mismatch)",
            hint="run again; if it persists, check the Ray nodes and the network between them",
        )
    folder = Path(tempfile.mkdtemp(prefix="sentio-bundle-"))
    try:
        for name, data in shipment["files"].items():
            target = folder / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise BundleError(
                    f"the shipped bundle names a file outside its folder: {name}",
                    hint="re-export the bundle with sentio-export",
                )
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(target, flags, 0o600), "wb") as fh:
                fh.write(data)
        if sha256_file(folder / MANIFEST_NAME) != expected:
            raise BundleError(
                f"{folder / MANIFEST_NAME} changed after it was written",
                hint="run again; check the node's temporary folder",
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
