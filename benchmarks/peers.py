"""Sentio beside the peer models a user could pick instead, on the same songs, with the
same scoring, and their CPU cost on one pinned core measured in the same run.

    python -m benchmarks.peers --emotify ../shared/data/emotify --fourq ../shared/data/4q \\
        [--bundle v2=runtime/default_model ...] [--cores 0,1 --shards 2] \\
        [--save-runs runs.json | --reuse-runs runs.json] [--out experiments/peers.md]

Songs. 4Q: ``4q-all``, all clips (the peers never trained on 4Q: the largest fair set; Sentio
trained on most of them, so it is left out there); ``4q-holdout``, the untouched balanced
holdout every shipped number uses from now on (``development_and_test``, 15%, whole artists,
seed 0: 26 clips per quadrant); ``4q-recorded-test``, the test split recorded in the first
bundle's manifest (for v2 the old unbalanced split, for reference). How many songs of each set
were in each bundle's recorded train / val / test splits is reported. Emotify: its test split
(``split_songs(songs, seed=0)``, 70/15/15 by song). Every contender runs in worker processes
(``benchmarks/peer_workers/``: a request file of audio paths in, a JSON reply of clip-level
[valence, arousal] out), each pinned with ``taskset`` to one core (``--cores``: one worker per
core at a time; ``--shards``: worker processes per contender, its files split). Sentio runs
the runtime path of ``sentio-listen --input``; Essentia (MusiCNN + emoMusic / DEAM heads) and
vibenet run in their own venvs under ``--cache-dir`` (made on first use, never a dependency
of the package). The peer models and the data are read where they lie (``../shared/``), never
copied into the repository. ``--save-runs`` keeps the workers' replies; ``--reuse-runs``
re-scores them without running anything.

Scoring. 4Q: :mod:`sentio.export.evaluation.quadrant_scores` (valence and arousal AUC, happy vs
angry and sad vs calm valence AUCs and their mean, quadrant accuracy, balanced accuracy,
per-quadrant recall, the confusion matrix), each model's outputs centred by its own median
over the scored clips (the peers' scales have no meaningful zero), Sentio also on its own
zero; 95% intervals from 1,000 bootstrap resamples of the *artists*. Emotify: Pearson r and
Spearman rho per dimension, and CCC for Sentio only (its scale is the labels'); resamples of
the songs. The same resamples for every contender (so differences are paired).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
WORKERS = Path(__file__).resolve().parent / "peer_workers"
DEFAULT_CACHE = Path.home() / ".cache" / "sentio-peers"
DEFAULT_PEERS = REPO.parent / "shared" / "peers"
DIMS = ("valence", "arousal")
#: Seconds of audio in one window of the CRNN (600 frames): the shortest clip CV and a fit use.
WINDOW_S = 12.0
#: one thread per library: the worker is pinned to one core anyway
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


class Unavailable(RuntimeError):
    """A contender cannot run here; the message says why."""


# -- contenders and workers


@dataclass
class Contender:
    """One worker run: which interpreter runs which worker script with which options, and the
    display name of each model output it returns (a worker may return several)."""

    key: str
    python: Path
    worker: Path
    options: dict
    outputs: dict[str, str]


@dataclass
class WorkerRun:
    """A worker's reply plus what the parent measured of the process."""

    about: str
    setup_cpu_s: float
    items: dict[str, dict]
    process_cpu_s: float
    wall_s: float
    max_rss_mb: float


def run_worker(
    python: Path,
    worker: Path,
    files: Sequence[Path | str],
    options: dict,
    scratch: Path,
    core: int | None = 1,
    log: Path | None = None,
    timeout_s: float = 7200,
) -> WorkerRun:
    """Run ``worker`` over ``files`` in its own process (pinned to ``core`` with ``taskset``,
    one thread per library) and return its reply with the process's own rusage (``wait4``:
    user + system CPU of the worker and all its threads, start-up and model loading included).

    Raises:
        Unavailable: the worker could not start, exited non-zero or wrote no reply.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    request, reply = scratch / f"{worker.stem}-request.json", scratch / f"{worker.stem}-reply.json"
    reply.unlink(missing_ok=True)
    request.write_text(json.dumps({"files": [str(f) for f in files], "options": options}))
    command = [str(python), str(worker), str(request), str(reply)]
    if core is not None:
        if shutil.which("taskset") is None:
            raise Unavailable("taskset is not installed: cannot pin the worker to one core")
        command = ["taskset", "-c", str(core), *command]
    env = {**os.environ, **ONE_THREAD}
    env.pop("PYTHONPATH", None)  # the venvs must not see this environment's packages
    started = time.monotonic()
    with open(log or os.devnull, "w") as sink:
        try:
            child = subprocess.Popen(command, stdout=sink, stderr=sink, env=env, cwd=scratch)
        except OSError as err:
            raise Unavailable(f"cannot start {worker.name}: {err}") from err
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if child.returncode or not reply.is_file():
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log else []
        raise Unavailable(
            f"{worker.name} exited {child.returncode} without a reply"
            + (f": {' | '.join(tail)}" if tail else "")
        )
    data = json.loads(reply.read_text())
    return WorkerRun(
        about=data.get("about", ""),
        setup_cpu_s=float(data.get("setup_cpu_s", 0.0)),
        items={item["path"]: item for item in data["items"]},
        process_cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
        max_rss_mb=usage.ru_maxrss / 1024,
    )


def python311() -> str:
    """An interpreter for the peers' venvs (their wheels exist for Python 3.11)."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise Unavailable("no python3.11 to make the venv with")
    return found


def ensure_venv(venv: Path, packages: Sequence[str], probe: str) -> Path:
    """``venv``'s interpreter with ``probe`` importable; made (``venv`` + pip) when missing.

    Raises:
        Unavailable: the venv cannot be made or the package does not import; says why.
    """
    python = venv / "bin" / "python"
    if _imports(python, probe):
        return python
    steps = (
        [python311(), "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {err}") from err
        if done.returncode:
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
            last = (errors or done.stderr.strip().splitlines() or ["no output"])[-1]
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {last}")
    if not _imports(python, probe):
        raise Unavailable(f"{', '.join(packages)} installed in {venv} but `import {probe}` fails")
    return python


def _imports(python: Path, module: str) -> bool:
    if not python.is_file():
        return False
    check = [str(python), "-c", f"import {module}"]
    done = subprocess.run(check, capture_output=True, env={**os.environ, **ONE_THREAD})
    return done.returncode == 0


# -- songs


@dataclass
class TestSet:
    """One scored set of songs: ids, audio paths, labels (n, 2) and a description.

    ``kind`` is ``"4q"`` (quadrant labels, scored with
    :func:`sentio.export.evaluation.quadrant_scores.quadrant_scores`, bootstrap over
    ``artists``) or ``"emotify"`` (values; Pearson/Spearman/CCC, bootstrap over songs).
    ``peers_only``: Sentio trained on most of these songs, so it is not scored on them.
    ``groups``: a per-song tag for the raw JSON (4Q: the quadrant, Emotify: the genre)."""

    name: str
    ids: list[str]
    paths: list[Path]
    labels: np.ndarray
    description: str
    groups: list[str] = field(default_factory=list)
    kind: str = ""
    artists: list[str] = field(default_factory=list)
    quadrants: list[int] = field(default_factory=list)
    peers_only: bool = False

    def __post_init__(self):
        self.kind = self.kind or ("4q" if self.name.startswith("4q") else "emotify")

    def subset(self, keep: Sequence[bool] | np.ndarray) -> None:
        """Keep the songs where ``keep`` is true (in place)."""
        keep = np.asarray(keep, bool)

        def pick(values):
            return [v for v, k in zip(values, keep, strict=True) if k] if values else values

        self.ids, self.paths, self.groups = pick(self.ids), pick(self.paths), pick(self.groups)
        self.artists, self.quadrants = pick(self.artists), pick(self.quadrants)
        self.labels = self.labels[keep]


def emotify_holdout(root: Path, seed: int = 0) -> TestSet:
    """Emotify's untouched holdout (``development_and_test``, 15%, seed ``seed``): the test
    split of a model trained with ``data.split = "holdout"`` (v3), never seen by CV."""
    from sentio.export.data.datasets import load_emotify
    from sentio.export.data.splits import development_and_test

    dataset = load_emotify(root)
    _, held = development_and_test(dataset.songs, 0.15, seed)
    return _emotify_set(
        "emotify-holdout",
        held,
        f"of {len(dataset.songs)} songs (the holdout `sentio-train cv` never sees, 15%, seed "
        f"{seed}, quadrants in proportion)",
    )


def emotify_test(root: Path, seed: int = 0) -> TestSet:
    """Emotify's test split as the default model's run makes it (70/15/15 by song, seed 0)."""
    from sentio.export.data.datasets import load_emotify
    from sentio.export.data.splits import split_songs

    dataset = load_emotify(root)
    return _emotify_set(
        "emotify",
        split_songs(dataset.songs, seed=seed)["test"],
        f"of {len(dataset.songs)} songs (70/15/15 by song, seed {seed}, stratified by quadrant "
        "of the GEMS-derived labels)",
    )


def _emotify_set(name: str, songs: Sequence, description: str) -> TestSet:
    """A set of Emotify songs in id order; ``description`` follows the song count."""
    songs = sorted(songs, key=lambda s: s.song_id)
    return TestSet(
        name,
        [s.song_id for s in songs],
        [Path(s.path).resolve() for s in songs],
        np.array([[s.valence, s.arousal] for s in songs]),
        f"{len(songs)} {description}",
        [s.group for s in songs],
        kind="emotify",
    )


def fourq_sets(
    root: Path,
    seed: int = 0,
    recorded: dict[str, set[str]] | None = None,
    window_s: float = WINDOW_S,
) -> dict[str, TestSet]:
    """The 4Q sets a run scores, each a :class:`TestSet` with quadrants and artists:

    - ``4q-all``: all clips (the peers never trained on 4Q; Sentio did, so peers only);
    - ``4q-holdout``: the untouched balanced holdout every shipped number uses from now on
      (:func:`sentio.export.data.splits.development_and_test`, 15%, whole artists, quadrants
      in proportion, ``seed``, over the clips at least ``window_s`` long): the test split of
      a model trained with ``data.split = "holdout"`` (v3);
    - ``4q-recorded-test``: the test split recorded in the first bundle's manifest
      (``recorded``: split name -> bare ids), where it records one: the old, unbalanced split
      that bundle was scored on.
    """
    from sentio.export.data.quadrants import load_4q
    from sentio.export.data.splits import development_and_test

    dataset = load_4q(root)
    songs = sorted(dataset.songs, key=lambda s: s.song_id)
    # dealt as sentio-train cv and a holdout-scheme fit deal it: a clip shorter than a window
    # has no window, so it is left out before dealing (leaving it in deals other artists)
    whole = [s for s in songs if audio_seconds(Path(s.path)) >= window_s]
    _, held = development_and_test(whole, 0.15, seed)
    held_ids = {s.song_id for s in held}

    def make(name, members, description, peers_only=False):
        clips = [dataset.clips[s.song_id] for s in members]
        counts = "/".join(str(sum(c.quadrant == q for c in clips)) for q in (1, 2, 3, 4))
        artists = {c.artist or s.song_id for s, c in zip(members, clips, strict=True)}
        return TestSet(
            name,
            [s.song_id for s in members],
            [Path(s.path).resolve() for s in members],
            np.array([[s.valence, s.arousal] for s in members]),
            f"{len(members)} of {len(songs)} clips by {len(artists)} artists, Q1/Q2/Q3/Q4 "
            f"{counts}; {description}",
            [f"Q{c.quadrant}" for c in clips],
            kind="4q",
            artists=[c.artist or s.song_id for s, c in zip(members, clips, strict=True)],
            quadrants=[c.quadrant for c in clips],
            peers_only=peers_only,
        )

    sets = {
        "4q-all": make("4q-all", songs, "every clip (Sentio trained on most: peers only)", True),
        "4q-holdout": make(
            "4q-holdout",
            [s for s in songs if s.song_id in held_ids],
            f"the balanced holdout (`development_and_test`, 15%, whole artists, seed {seed})",
        ),
    }
    if recorded and recorded.get("test"):
        sets["4q-recorded-test"] = make(
            "4q-recorded-test",
            [s for s in songs if s.song_id in recorded["test"]],
            "the old test split recorded in the first bundle's manifest (70/15/15 by artist, "
            "unbalanced)",
        )
    return sets


def recorded_splits(bundle: Path) -> dict[str, set[str]]:
    """A bundle's recorded splits as bare ids (``{}`` where it records none or is unreadable)."""
    from sentio.runtime.manifest import load

    try:
        splits = load(Path(bundle), verify=False).data.splits
    except Exception:  # a report line elsewhere, not a failure
        return {}
    return {name: {_bare(i) for i in ids} for name, ids in (splits or {}).items()}


def audio_seconds(path: Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate


# -- scoring


def centred(values: np.ndarray) -> np.ndarray:
    """Each column minus its median (a model's outputs centred over the test songs)."""
    values = np.asarray(values, dtype=np.float64)
    return values - np.median(values, axis=0)


def fourq_metrics(quadrants: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Every scalar of :class:`~sentio.export.evaluation.quadrant_scores.QuadrantScores` for
    ``values`` (n, 2) against ``quadrants`` (n,) 1..4; a value >= 0 counts as positive, so
    centre a peer's ``values`` first for the accuracy, recalls and confusion to mean anything
    (the AUCs are rank-based and do not care)."""
    from sentio.export.evaluation.quadrant_scores import QuadrantScores, quadrant_scores

    scores = quadrant_scores(quadrants, values)
    return {name: scores.value(name) for name in QuadrantScores.metric_names()}


def confusion(quadrants: np.ndarray, values: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """4x4 counts, rows the true quadrant 1..4, columns the quadrant of ``values``' signs."""
    from sentio.export.evaluation.quadrant_scores import quadrant_scores

    return quadrant_scores(quadrants, values).confusion


def pearson(y: np.ndarray, p: np.ndarray) -> float:
    y, p = y - y.mean(), p - p.mean()
    denom = float(np.sqrt(np.sum(y * y) * np.sum(p * p)))
    return float(np.sum(y * p) / denom) if denom > 0 else float("nan")


def spearman(y: np.ndarray, p: np.ndarray) -> float:
    from scipy.stats import rankdata

    return pearson(rankdata(y), rankdata(p))


def emotify_metrics(labels: np.ndarray, values: np.ndarray, with_ccc: bool) -> dict[str, float]:
    """Pearson r and Spearman rho per dimension; CCC too where ``with_ccc`` (same scale)."""
    from sentio.export.model.metrics import ccc

    out = {}
    for d, dim in enumerate(DIMS):
        out[f"{dim}_r"] = pearson(labels[:, d], values[:, d])
        out[f"{dim}_spearman"] = spearman(labels[:, d], values[:, d])
        if with_ccc:
            out[f"{dim}_ccc"] = ccc(labels[:, d], values[:, d])
    return out


def resamples(n_items: int, n_resamples: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """Bootstrap index sets over ``n_items`` songs; the same for every contender (seeded)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n_items, n_items) for _ in range(n_resamples)]


def artist_draws(artists: Sequence[str], n_resamples: int = 1000, seed: int = 0):
    """Bootstrap index sets that resample *artists* (each draw takes all of a drawn artist's
    clips); the same for every contender (seeded)."""
    from sentio.export.evaluation.quadrant_scores import artist_resamples

    return artist_resamples(list(artists), n_resamples, seed)


def bootstrap(
    metrics: Callable[[np.ndarray], dict[str, float]], draws: Sequence[np.ndarray]
) -> dict[str, np.ndarray]:
    """Each metric of ``metrics(indices)`` over every resample in ``draws``."""
    values = [metrics(idx) for idx in draws]
    return {key: np.array([v[key] for v in values]) for key in values[0]}


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    if np.all(np.isnan(draws)):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def score(
    labels: np.ndarray,
    values: np.ndarray,
    kind: str,
    with_ccc: bool,
    draws: Sequence[np.ndarray],
    centre: bool = True,
) -> dict:
    """Point metrics and their bootstrap draws for one contender on one dataset.

    4Q (``labels`` = quadrants 1..4): ``values`` are centred by their own median over the
    scored songs when ``centre`` (once; the resamples keep that centring), and the result also
    holds the ``confusion`` matrix. Emotify (``labels`` = (n, 2) values): r, rho, CCC."""
    if kind == "4q":
        labels = np.asarray(labels, dtype=int)
        values = centred(values) if centre else np.asarray(values, dtype=np.float64)

        def metrics(idx):
            return fourq_metrics(labels[idx], values[idx])

        extra = {"confusion": confusion(labels, values), "centred": centre}
    else:

        def metrics(idx):
            return emotify_metrics(labels[idx], values[idx], with_ccc)

        extra = {}
    return {"point": metrics(np.arange(len(labels))), "draws": bootstrap(metrics, draws), **extra}


# -- the run


@dataclass
class Results:
    """Everything the report shows."""

    command: str
    tests: dict[str, TestSet]
    contenders: list[Contender]
    runs: dict[str, WorkerRun]
    unavailable: dict[str, str]
    audio_s: dict[str, float]
    scored_ids: dict[str, list[str]]
    dropped: dict[str, dict[str, dict[str, list[str]]]]
    scores: dict[str, dict[str, dict]]
    split_checks: list[str]
    wall_s: float
    cores: str
    n_resamples: int
    seed: int
    note: str = ""


def bundle_names(bundles: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """``NAME=PATH`` or ``PATH`` (named after its folder) -> (name, path) pairs."""
    out = []
    for item in bundles:
        text = str(item)
        name, _, path = text.partition("=") if "=" in text else ("", "", text)
        out.append((name or Path(path).resolve().name, Path(path)))
    return out


def build_contenders(args) -> tuple[list[Contender], dict[str, str]]:
    contenders, unavailable = [], {}
    for name, bundle in bundle_names(args.bundle):
        contenders.append(
            Contender(
                f"sentio:{name}",
                Path(sys.executable),
                WORKERS / "sentio_worker.py",
                {"bundle": str(bundle.resolve())},
                {"sentio": f"Sentio {name}"},
            )
        )
    peers = Path(args.peers)
    if not args.no_essentia:
        try:
            python = ensure_venv(
                args.cache_dir / "essentia-venv", ["essentia-tensorflow"], "essentia.standard"
            )
            if not (peers / "essentia" / "msd-musicnn-1.pb").is_file():
                raise Unavailable(f"no {peers / 'essentia' / 'msd-musicnn-1.pb'}")
            contenders.append(
                Contender(
                    "essentia",
                    python,
                    WORKERS / "essentia_worker.py",
                    {"models": str((peers / "essentia").resolve())},
                    {
                        "emomusic": "Essentia MusiCNN + emoMusic",
                        "deam": "Essentia MusiCNN + DEAM",
                    },
                )
            )
        except Unavailable as err:
            unavailable["Essentia MusiCNN + emoMusic / DEAM"] = str(err)
    if not args.no_vibenet:
        try:
            python = ensure_venv(args.cache_dir / "vibenet-venv", ["vibenet"], "vibenet")
            contenders.append(
                Contender(
                    "vibenet",
                    python,
                    WORKERS / "vibenet_worker.py",
                    {},
                    {"vibenet": "vibenet (valence, energy)"},
                )
            )
        except Unavailable as err:
            unavailable["vibenet"] = str(err)
    return contenders, unavailable


def merge_runs(parts: Sequence[WorkerRun]) -> WorkerRun:
    """One contender's shards as one run: items merged, CPU and wall summed (worker-seconds),
    the largest peak RSS."""
    items: dict[str, dict] = {}
    for part in parts:
        items.update(part.items)
    return WorkerRun(
        parts[0].about,
        sum(p.setup_cpu_s for p in parts),
        items,
        sum(p.process_cpu_s for p in parts),
        sum(p.wall_s for p in parts),
        max(p.max_rss_mb for p in parts),
    )


def run_contenders(
    contenders: Sequence[Contender],
    files: Sequence[Path] | dict[str, Sequence[Sequence[Path]]],
    cores: Sequence[int | None],
    shards: int,
    scratch: Path,
    logs: Path,
    on_done: Callable[[dict[str, WorkerRun]], None] | None = None,
) -> tuple[dict[str, WorkerRun], dict[str, str]]:
    """Every contender over ``files``, each part split into ``shards`` interleaved shards, one
    worker process per shard; ``len(cores)`` workers at a time, worker ``i`` pinned to
    ``cores[i]`` (a core may be named twice; each worker measures its own CPU time).

    ``files`` is one list for every contender, or ``contender key -> parts`` (lists of files):
    the first part of every contender runs before any second part, so the files that matter
    most come first. ``on_done(runs so far)`` is called after every shard (to save them).

    Returns:
        (contender key -> its merged run; output labels -> why it could not run).
    """
    import queue
    import threading

    if not isinstance(files, dict):
        files = {c.key: [list(files)] for c in contenders}
    jobs: queue.Queue = queue.Queue()
    for stage in range(max(len(v) for v in files.values()) if files else 0):
        for contender in contenders:
            parts_of = files.get(contender.key, [])
            mine = list(parts_of[stage]) if stage < len(parts_of) else []
            for i in range(shards):
                if mine[i::shards]:
                    jobs.put((contender, f"{stage}-{i}" if stage else str(i), mine[i::shards]))
    parts: dict[str, list[WorkerRun]] = {c.key: [] for c in contenders}
    errors: dict[str, str] = {}
    lock = threading.Lock()
    began = time.monotonic()

    def merged():
        return {k: merge_runs(v) for k, v in parts.items() if v and k not in errors}

    def work(core):
        while True:
            try:
                contender, shard, mine = jobs.get_nowait()
            except queue.Empty:
                return
            if contender.key in errors:
                continue
            tag = f"{contender.key.replace(':', '-')}-{shard}"
            print(f"running {tag} on {len(mine)} files, core {core} ...", file=sys.stderr)
            try:
                done = run_worker(
                    contender.python,
                    contender.worker,
                    mine,
                    contender.options,
                    scratch / tag,
                    core,
                    logs / f"{tag}.log",
                )
                with lock:
                    parts[contender.key].append(done)
                    if on_done is not None:
                        on_done(merged())
            except Unavailable as err:
                errors[contender.key] = str(err)
            print(f"  {tag} done at {time.monotonic() - began:.0f} s", file=sys.stderr)

    logs.mkdir(parents=True, exist_ok=True)
    threads = [threading.Thread(target=work, args=(core,)) for core in cores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unavailable = {
        ", ".join(c.outputs.values()): errors[c.key] for c in contenders if c.key in errors
    }
    return merged(), unavailable


def save_runs(runs: dict[str, WorkerRun], path: Path, command: str, wall_s: float) -> None:
    """The workers' replies and measurements, so a report can be re-scored without rerunning:
    ``{"command", "date", "wall_s", "runs": {key: WorkerRun fields}}``."""
    data = {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "wall_s": wall_s,
        "runs": {k: vars(r) for k, r in runs.items()},
    }
    path.write_text(json.dumps(data))


def load_runs(path: Path) -> tuple[dict[str, WorkerRun], dict]:
    """What :func:`save_runs` wrote: (runs, the rest: command, date, wall_s)."""
    data = json.loads(Path(path).read_text())
    runs = data.pop("runs")
    return {k: WorkerRun(**v) for k, v in runs.items()}, data


def parse_cores(text: str) -> list[int | None]:
    """``"0,1"`` -> [0, 1]; ``"none"`` -> [None] (no pinning)."""
    if text.strip().lower() == "none":
        return [None]
    return [int(c) for c in text.split(",") if c.strip()]


def run(args, command: str) -> Results:
    began = time.monotonic()
    bundles = bundle_names(args.bundle)
    recorded = recorded_splits(bundles[0][1]) if bundles else {}
    tests = {**fourq_sets(args.fourq, args.split_seed, recorded)}
    tests["emotify"] = emotify_test(args.emotify, args.split_seed)
    tests["emotify-holdout"] = emotify_holdout(args.emotify, args.split_seed)
    if args.sets:
        wanted = [name.strip() for name in args.sets.split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(tests))
        if unknown:
            raise SystemExit(f"--sets: unknown {', '.join(unknown)} (have {', '.join(tests)})")
        tests = {name: tests[name] for name in wanted}
    if args.unseen:
        drop_seen(args.bundle, tests)
    if args.limit:
        for test in tests.values():
            test.subset(np.arange(len(test.ids)) < args.limit)
    files = list(dict.fromkeys(p for test in tests.values() for p in test.paths))
    audio_s = {str(p): audio_seconds(p) for p in files}
    contenders, unavailable = build_contenders(args)
    note = ""
    if args.reuse_runs:
        runs, meta = load_runs(args.reuse_runs)
        note = (
            f"Re-scored from the workers' saved replies (`--reuse-runs`); the workers ran "
            f"{meta.get('date', '?')} as\n\n```\n{meta.get('command', '?')}\n```\n\nin "
            f"{meta.get('wall_s', float('nan')) / 60:.1f} min wall (workers included)."
        )
        args.cores = "as in the workers' command above"
        for contender in contenders:
            if contender.key not in runs:
                unavailable[", ".join(contender.outputs.values())] = "not in --reuse-runs"
    else:
        # Sentio only where it is scored; the peers on those files first, then on the rest
        first = list(dict.fromkeys(p for t in tests.values() if not t.peers_only for p in t.paths))
        rest = [p for p in files if p not in set(first)]
        per_contender = {
            c.key: [first] if c.key.startswith("sentio:") else [first, rest] for c in contenders
        }

        def save(so_far):
            if args.save_runs:
                save_runs(so_far, args.save_runs, command, time.monotonic() - began)

        with tempfile.TemporaryDirectory(prefix="sentio-peers-") as scratch:
            cheap_first = sorted(
                contenders, key=lambda c: (c.key != "vibenet", c.key == "essentia")
            )
            runs, failed = run_contenders(
                cheap_first,
                per_contender,
                parse_cores(args.cores),
                args.shards,
                Path(scratch),
                args.cache_dir / "logs",
                save,
            )
        unavailable.update(failed)
        save(runs)
    contenders = [c for c in contenders if c.key in runs]
    scored_ids, dropped, scores = score_tests(tests, contenders, runs, args.resamples, args.seed)
    return Results(
        command,
        tests,
        contenders,
        runs,
        unavailable,
        audio_s,
        scored_ids,
        dropped,
        scores,
        split_checks(args.bundle, tests),
        time.monotonic() - began,
        args.cores,
        args.resamples,
        args.seed,
        note,
    )


def score_tests(
    tests: dict[str, TestSet],
    contenders: Sequence[Contender],
    runs: dict[str, WorkerRun],
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, list[str]], dict, dict[str, dict[str, dict]]]:
    """Score every model output on every test set, on the songs ALL of them predicted (a
    ``peers_only`` set leaves Sentio out). On 4Q every model is scored median-centred (see
    :func:`score`), and Sentio once more on its own zero (``RAW`` appended to its label): the
    signs a lamp shows.

    Returns:
        (scored song ids per test set; per test set and model, the ids it gave no prediction
        for and those it failed on; per test set and model, :func:`score`'s result).
    """
    scored_ids, dropped, scores = {}, {}, {}
    for name, test in tests.items():
        outputs = [
            (c, key)
            for c in contenders
            if not (test.peers_only and c.key.startswith("sentio:"))
            for key in c.outputs
        ]
        values, keep = {}, np.ones(len(test.ids), bool)
        dropped[name] = {}
        for contender, key in outputs:
            label = contender.outputs[key]
            rows, short, failed = [], [], []
            for i, path in enumerate(test.paths):
                item = runs[contender.key].items.get(str(path), {"error": "no reply"})
                if "error" in item:
                    failed.append(f"{test.ids[i]} ({' '.join(item['error'].split())[:160]})")
                elif not item["outputs"] or key not in item["outputs"]:
                    short.append(test.ids[i])
                else:
                    rows.append(item["outputs"][key])
                    continue
                rows.append([np.nan, np.nan])
                keep[i] = False
            values[label] = np.array(rows, dtype=np.float64).reshape(-1, 2)
            dropped[name][label] = {"no prediction": short, "failed": failed}
        scored_ids[name] = [i for i, k in zip(test.ids, keep, strict=True) if k]
        if test.kind == "4q":
            truth = np.asarray(test.quadrants, dtype=int)[keep]
            artists = [a for a, k in zip(test.artists, keep, strict=True) if k]
            draws = artist_draws(artists, n_resamples, seed)
        else:
            truth = test.labels[keep]
            draws = resamples(int(keep.sum()), n_resamples, seed)
        scores[name] = {}
        for label, v in values.items():
            sentio = label.startswith("Sentio")
            scores[name][label] = score(truth, v[keep], test.kind, sentio, draws)
            if test.kind == "4q" and sentio:
                scores[name][label + RAW] = score(truth, v[keep], "4q", sentio, draws, False)
    return scored_ids, dropped, scores


#: appended to a Sentio label for its scores on its own zero (not median-centred)
RAW = ", own zero"


def split_checks(bundles: Sequence[str | Path], tests: dict[str, TestSet]) -> list[str]:
    """How many songs of each test set were in each bundle's recorded train / val / test
    splits (a song in train or val is one the bundle learned from or was chosen on)."""
    lines = []
    for name, bundle in bundle_names(bundles):
        splits = recorded_splits(bundle)
        if not splits:
            lines.append(f"{name}: records no splits (or is unreadable); overlap not checked")
            continue
        for test_name, test in tests.items():
            counts = {
                split: sum(i in splits.get(split, ()) for i in test.ids)
                for split in ("train", "val", "test")
            }
            lines.append(
                f"{name} on {test_name} ({len(test.ids)} songs): {counts['train']} in its "
                f"recorded train split, {counts['val']} in val, {counts['test']} in test"
                + (", so Sentio is not scored on it" if test.peers_only else "")
            )
    return lines


def drop_seen(bundles: Sequence[str | Path], tests: dict[str, TestSet]) -> None:
    """Keep, in every set, only the songs no bundle learned from or was chosen on (none in a
    bundle's recorded train or val split), so bundles trained on different splits are compared
    on songs all of them are new to."""
    seen: set[str] = set()
    for _, bundle in bundle_names(bundles):
        splits = recorded_splits(bundle)
        seen |= set(splits.get("train", ())) | set(splits.get("val", ()))
    for test in tests.values():
        test.subset([_bare(i) not in seen for i in test.ids])


def _bare(song_id: str) -> str:
    """A recorded id without a dataset prefix (``4q:MT0001`` -> ``MT0001``)."""
    return song_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


# -- cost


def dataset_files(tests: dict[str, TestSet]) -> dict[str, list[str]]:
    """Each dataset's files over all its sets (4Q's sets overlap), in order, once each."""
    out: dict[str, dict[str, None]] = {}
    for test in tests.values():
        out.setdefault(test.kind, {}).update(dict.fromkeys(str(p) for p in test.paths))
    return {kind: list(paths) for kind, paths in out.items()}


def cost_rows(results: Results) -> list[dict]:
    """CPU seconds per audio second of each model output: over every file its worker ran, and
    per test set. A head's cost is its worker's time minus the other heads' own time.

    Where a worker reports its windows and model time (Sentio), ``live_per_audio_s`` is the
    cost of a live stream, which runs a window every hop forever, while a clip of length L has
    only (L - window) / hop + 1 windows: (CPU - model time) / audio + model time per window /
    hop. The model time is the engine's wall clock around inference, which on a shared core is
    at least its CPU time, so the estimate errs high.
    """
    rows = []
    for contender in results.contenders:
        run_ = results.runs[contender.key]
        # the files of the sets scored in this report (a reused run may hold more)
        scored = {p: item for p, item in run_.items.items() if p in results.audio_s}
        total_audio = sum(results.audio_s[p] for p in scored)
        for key, label in contender.outputs.items():
            others = [f"head:{k}" for k in contender.outputs if k != key]

            def cpu_of(items, others=others):
                return sum(
                    item["cpu_s"] - sum(item.get("cpu_parts", {}).get(o, 0.0) for o in others)
                    for item in items
                )

            items = list(scored.values())
            cpu = cpu_of(items)
            row = {
                "label": label,
                "files": len(items),
                "audio_s": total_audio,
                "cpu_s": cpu,
                "per_audio_s": cpu / total_audio,
                "per_test": {},
                "process_cpu_s": run_.process_cpu_s,
                "setup_cpu_s": run_.setup_cpu_s,
                "wall_s": run_.wall_s,
                "max_rss_mb": run_.max_rss_mb,
                "about": run_.about,
            }
            for kind, paths in dataset_files(results.tests).items():
                paths = [p for p in paths if p in run_.items]
                audio = sum(results.audio_s.get(p, 0.0) for p in paths)
                if audio:
                    row["per_test"][kind] = cpu_of([run_.items[p] for p in paths]) / audio
            parts = [item.get("cpu_parts") or {} for item in items]
            windows = sum(part.get("windows", 0) for part in parts)
            hops = [part["hop_s"] for part in parts if "hop_s" in part]
            if windows and hops:
                model_s = sum(part.get("model_s", 0.0) for part in parts)
                row["live_per_audio_s"] = (cpu - model_s) / total_audio + model_s / windows / hops[
                    0
                ]
                row["windows"], row["model_ms_per_window"] = windows, 1e3 * model_s / windows
            rows.append(row)
    return rows


# -- report

#: 4Q ranking metrics (rank-based: the same centred or not)
RANKING_COLUMNS = (
    ("valence_auc", "valence AUC"),
    ("arousal_auc", "arousal AUC"),
    ("happy_vs_angry", "happy vs angry (V AUC, Q1 vs Q2)"),
    ("sad_vs_calm", "sad vs calm (V AUC, Q4 vs Q3)"),
    ("balanced_valence", "balanced valence"),
)
#: 4Q quadrant metrics (signs: these depend on where a model's zero is)
QUADRANT_COLUMNS = (
    ("accuracy", "quadrant accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("recall_happy", "Q1 happy"),
    ("recall_angry", "Q2 angry"),
    ("recall_sad", "Q3 sad"),
    ("recall_calm", "Q4 calm"),
)
#: the paired Sentio-minus-peer table on 4Q
PAIRED_COLUMNS = (
    ("valence_auc", "valence AUC"),
    ("arousal_auc", "arousal AUC"),
    ("balanced_valence", "balanced valence"),
    ("accuracy", "quadrant accuracy"),
)
EMOTIFY_COLUMNS = (
    ("valence_r", "valence r"),
    ("valence_spearman", "valence rho"),
    ("arousal_r", "arousal r"),
    ("arousal_spearman", "arousal rho"),
    ("valence_ccc", "valence CCC"),
    ("arousal_ccc", "arousal CCC"),
)
QUADRANT_LABELS = ("Q1 happy", "Q2 angry", "Q3 sad", "Q4 calm")
TITLES = {
    "4q-all": "4Q, all clips (peers only)",
    "4q-holdout": "4Q, the balanced holdout",
    "4q-recorded-test": "4Q, v2's recorded (old) test split, for reference",
    "emotify": "Emotify test split",
    "emotify-holdout": "Emotify holdout",
}


def _cell(result: dict, metric: str) -> str:
    if metric not in result["point"] or not np.isfinite(result["point"][metric]):
        return "n/a"
    lo, hi = interval(result["draws"][metric])
    return f"{result['point'][metric]:.3f} [{lo:.2f}, {hi:.2f}]"


def _table(scores: dict[str, dict], columns, with_raw: bool = True) -> list[str]:
    lines = [
        "| model | " + " | ".join(title for _, title in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label, result in scores.items():
        if label.endswith(RAW) and not with_raw:
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(result, m) for m, _ in columns) + " |")
    return lines


def _paired(scores: dict[str, dict], columns) -> list[str]:
    """The first Sentio model (median-centred) minus each peer, over the same resamples."""
    sentio = [k for k in scores if k.startswith("Sentio") and not k.endswith(RAW)]
    others = [k for k in scores if not k.startswith("Sentio")]
    if not sentio or not others:
        return []
    base = scores[sentio[0]]
    used = [(m, title) for m, title in columns if m in base["point"]]
    lines = [
        "",
        f"Paired differences, {sentio[0]} minus each peer (same bootstrap resamples; share of "
        "resamples in which Sentio is higher):",
        "",
        "| versus | " + " | ".join(title for _, title in used) + " |",
        "|---|" + "---|" * len(used),
    ]
    for label in others:
        cells = []
        for metric, _ in used:
            if metric not in scores[label]["point"]:
                cells.append("n/a")
                continue
            diff = base["draws"][metric] - scores[label]["draws"][metric]
            lo, hi = interval(diff)
            point = base["point"][metric] - scores[label]["point"][metric]
            cells.append(
                f"{point:+.3f} [{lo:+.2f}, {hi:+.2f}]; {np.mean(diff[np.isfinite(diff)] > 0):.0%}"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _confusions(scores: dict[str, dict]) -> list[str]:
    """Every model's confusion matrix in one table: a row per model and true quadrant."""
    lines = [
        "| model | true | " + " | ".join(f"-> {q}" for q in QUADRANT_LABELS) + " |",
        "|---|---|" + "---:|" * 4,
    ]
    for label, result in scores.items():
        for q, row in enumerate(result["confusion"]):
            name = label if q == 0 else ""
            lines.append(
                f"| {name} | {QUADRANT_LABELS[q]} | " + " | ".join(str(c) for c in row) + " |"
            )
    return lines


def fourq_section(name: str, results: Results) -> list[str]:
    """One 4Q set: ranking table, quadrant table, paired differences, confusion matrices."""
    scores = results.scores[name]
    n = len(results.scored_ids[name])
    lines = [
        f"## {TITLES.get(name, name)} (`{name}`, n = {n}), song level",
        "",
        "Ranking (rank-based, so each model's own scale does not matter):",
        "",
    ]
    lines += _table(scores, RANKING_COLUMNS, with_raw=False)
    lines += [
        "",
        "Quadrants (both signs right; each model median-centred over these clips, and Sentio "
        f"also on its own zero, `{RAW.strip(', ')}`: the quadrant a lamp shows):",
        "",
    ]
    lines += _table(scores, QUADRANT_COLUMNS)
    lines += _paired(scores, PAIRED_COLUMNS)
    lines += ["", "Confusion matrices (rows: the true quadrant; columns: the model's):", ""]
    lines += _confusions(scores)
    return [*lines, ""]


def render(results: Results) -> str:
    today = datetime.date.today().isoformat()
    n_audio = len(results.audio_s)
    total_audio = sum(results.audio_s.values())
    lines = [
        "# Peers side by side: Sentio, Essentia MusiCNN (emoMusic, DEAM heads), vibenet",
        "",
        "```",
        results.command,
        "```",
        "",
        f"Run {today}; this command's wall time {results.wall_s / 60:.1f} min on a shared 2-core "
        "machine. "
        "Made by `benchmarks/peers.py`; reads `../shared/data/` and `../shared/peers/` where they "
        "lie (nothing of them is in the repository). Song level = each model's mean over the "
        f"clip. Intervals: 95% percentile bootstrap, {results.n_resamples} resamples (seed "
        f"{results.seed}), the same resamples for every model (so differences are paired); on "
        "4Q the resamples draw **artists** (all of a drawn artist's clips), on Emotify songs.",
    ]
    if results.note:
        lines += ["", results.note]
    lines += ["", "## Songs", ""]
    for name, test in results.tests.items():
        excluded = len(test.ids) - len(results.scored_ids[name])
        lines.append(
            f"- **{name}**: {test.description}; **{len(results.scored_ids[name])} scored**, "
            f"{excluded} excluded for every model."
        )
        for label, why in results.dropped[name].items():
            for reason, ids in why.items():
                if ids:
                    more = f" and {len(ids) - 12} more" if len(ids) > 12 else ""
                    lines.append(f"  - {label}: {len(ids)} {reason}: {', '.join(ids[:12])}{more}")
    lines += [
        "",
        "A clip any model failed on or gave no prediction for is excluded for EVERY model so "
        "all score the same songs.",
    ]
    if results.split_checks:
        lines += ["", "Overlap with the bundles' recorded splits (from their manifests):", ""]
        lines += [f"- {line}" for line in results.split_checks]
    if results.unavailable:
        lines += ["", "## Not run", ""]
        lines += [f"- {name}: {why}" for name, why in results.unavailable.items()]
    lines += [
        "",
        "## How 4Q is scored",
        "",
        "`sentio.export.evaluation.quadrant_scores`: valence and arousal AUC over the whole set; "
        "valence AUC *within* each arousal half (happy vs angry = Q1 vs Q2, sad vs calm = Q4 vs "
        "Q3) and their mean, the **balanced valence** (it cannot be won by telling loud from "
        "soft songs, which a whole-set valence AUC rewards where valence and arousal are "
        "correlated); quadrant accuracy (both signs right, chance 0.25), balanced accuracy (the "
        "mean of the four recalls) and each quadrant's recall.",
        "",
        "Median-centring still matters for the sign-based columns: the peers' outputs are not "
        "on a [-1, 1] scale around 0 (Essentia ~1..9, vibenet 0..1), so each model's valence "
        "and arousal are centred by its own median over the scored clips (it then calls half "
        "the clips positive on each axis, as a balanced set is). Sentio's outputs are on the "
        "labels' scale; its row on its own zero is what the device shows, and differs from its "
        "centred row where its zero is off (the AUCs are the same).",
        "",
    ]
    for name, test in results.tests.items():
        if test.kind == "4q":
            lines += fourq_section(name, results)
    for name in [n for n in ("emotify", "emotify-holdout") if n in results.scores]:
        lines += [
            f"## {TITLES[name]} (n = {len(results.scored_ids[name])}), song level",
            "",
        ]
        lines += _table(results.scores[name], EMOTIFY_COLUMNS)
        lines += _paired(results.scores[name], EMOTIFY_COLUMNS)
        lines += [
            "",
            "Labels: Emotify's GEMS-derived valence/arousal on [-1, 1] (a proxy, see "
            "export/DATASETS.md). CCC only for Sentio, whose outputs are on the labels' scale: "
            "the peers' are not, and CCC after z-scoring a model's outputs to the labels' mean "
            "and standard deviation is identically Pearson's r, so it would add nothing. "
            "Intervals resample songs (Emotify has no artists here).",
            "",
        ]
    kinds = list(dataset_files(results.tests))
    lines += [
        "## Cost: CPU seconds per audio second, one pinned core",
        "",
        f"Each worker process was pinned with `taskset` to one core (cores {results.cores}, "
        "one worker process per entry at a time), one thread per library. The peers ran over "
        f"all {n_audio} files ({total_audio / 60:.1f} min of audio, every set); Sentio over "
        "the files of the sets it is scored on (the `files` column), so compare the per-dataset "
        "columns. **CPU s per audio s** = the worker's own `process_time` per file (decoding, "
        "resampling, features, inference, all threads) summed, over the audio seconds; model "
        "loading and interpreter start-up are not in it but are in the process total (`wait4` "
        "rusage; a contender split over several worker processes sums them, and its wall is "
        "their sum). The machine was far busier than the cores named (other jobs' load about "
        "8-16 on 2 cores), so wall seconds say nothing about speed.",
        "",
        "| model | CPU s / audio s | x Sentio | "
        + " | ".join(f"on {kind}" for kind in kinds)
        + " | files | CPU s (files) | process CPU s (all) | wall s | peak RSS MB | software |",
        "|---|---:|---:|" + "---:|" * len(kinds) + "---:|---:|---:|---:|---:|---|",
    ]
    rows = cost_rows(results)
    sentio = next((r for r in rows if r["label"].startswith("Sentio")), None)
    for row in rows:
        ratio = f"{row['per_audio_s'] / sentio['per_audio_s']:.1f}" if sentio else "n/a"
        per_test = " | ".join(f"{row['per_test'].get(k, float('nan')):.4f}" for k in kinds)
        lines.append(
            f"| {row['label']} | {row['per_audio_s']:.4f} | {ratio} | {per_test} | "
            f"{row['files']} | {row['cpu_s']:.1f} | {row['process_cpu_s']:.1f} | "
            f"{row['wall_s']:.0f} | {row['max_rss_mb']:.0f} | {row['about']} |"
        )
    essentia = next((r for r in rows if r["label"].startswith("Essentia")), None)
    lines.append("")
    for row in rows:
        if "live_per_audio_s" in row:
            versus = (
                f"; Essentia / this: {essentia['per_audio_s'] / row['live_per_audio_s']:.1f}x"
                if essentia
                else ""
            )
            lines.append(
                f"- {row['label']}, live stream (a window every hop, forever; the clips above "
                f"have fewer windows per second, the 4Q clips fewest): "
                f"**{row['live_per_audio_s']:.4f} CPU s per audio s** "
                f"({row['model_ms_per_window']:.1f} ms of model per window over "
                f"{row['windows']} windows){versus}. The model time in it is the engine's "
                "wall clock around inference, so on a busy machine it errs high, by as much as "
                "the machine is oversubscribed."
            )
    if sentio and essentia:
        lines.append(
            f"- **Essentia / Sentio cost on these clips: "
            f"{essentia['per_audio_s'] / sentio['per_audio_s']:.1f}x** "
            f"({essentia['label']} vs {sentio['label']})."
        )
    lines += [
        "",
        "## Caveats",
        "",
        "- The machine is shared (2 cores, training runs beside this run): CPU seconds are the "
        "workers' own and far steadier than wall time, but cache and frequency effects of the "
        "neighbours remain; wall time is not a speed measure here.",
        "- Sentio's default model (v2) was trained on 4Q: on the old artist split recorded in "
        "its manifest (see the overlap lines above). So it is not scored on all clips, and on "
        "the new balanced holdout most clips were in its training or validation split: its "
        "holdout row flatters it. Its clean numbers are on its own recorded test split, which "
        "is small, unbalanced and clustered by artist. The peers were trained elsewhere (MSD "
        "tags + emoMusic/DEAM; FMA), so no 4Q or Emotify clip is theirs.",
        "- Essentia's two heads share one MusiCNN pass in one worker; each head's cost row is "
        "the whole pass minus the other head's own time. Essentia's emoMusic head outputs are "
        "read as [valence, arousal] and the DEAM head's columns in the same order; measured on "
        "4Q (shared/peers/README.md), both DEAM columns behave like arousal, so its valence "
        "column is expected to rank valence poorly.",
        "- vibenet's `energy` is read as arousal; its labels were Echonest model outputs "
        "(distilled), not human ratings.",
        "- Sentio runs the bundle's default artifact through the runtime path of "
        "`sentio-listen --input` (FileSource -> Listener -> Engine, default hop, no smoothing) "
        "and its clip value is the mean of raw predictions over its windows (a clip shorter "
        "than a window: its one partial estimate).",
        "- 4Q labels are AllMusic editorial quadrants (perceived emotion, signs only); "
        "Emotify's are a GEMS proxy of induced emotion.",
    ]
    return "\n".join(lines) + "\n"


def to_json(results: Results) -> dict:
    """The raw numbers: per-song outputs and point metrics, for plots and later checks."""
    songs = {}
    for name, test in results.tests.items():
        songs[name] = []
        for song_id, path, label, group in zip(
            test.ids,
            test.paths,
            test.labels.tolist(),
            test.groups or [""] * len(test.ids),
            strict=True,
        ):
            row = {"id": song_id, "group": group, "label": label, "outputs": {}}
            for contender in results.contenders:
                item = results.runs[contender.key].items.get(str(path), {})
                for key, display in contender.outputs.items():
                    row["outputs"][display] = (item.get("outputs") or {}).get(key)
            songs[name].append(row)
    return {
        "command": results.command,
        "date": datetime.date.today().isoformat(),
        "scored": results.scored_ids,
        "metrics": {
            name: {label: r["point"] for label, r in by.items()}
            for name, by in results.scores.items()
        },
        "intervals": {
            name: {
                label: {m: interval(d) for m, d in r["draws"].items()} for label, r in by.items()
            }
            for name, by in results.scores.items()
        },
        "confusion": {
            name: {label: r["confusion"] for label, r in by.items() if "confusion" in r}
            for name, by in results.scores.items()
        },
        "cost": cost_rows(results),
        "unavailable": results.unavailable,
        "songs": songs,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--emotify", type=Path, required=True, help="the Emotify folder")
    parser.add_argument("--fourq", type=Path, required=True, help="the 4Q folder")
    parser.add_argument(
        "--bundle",
        action="append",
        help="a Sentio bundle, PATH or NAME=PATH (repeat for several; default: "
        "runtime/default_model)",
    )
    parser.add_argument("--peers", type=Path, default=DEFAULT_PEERS, help="the peer models")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="venvs and logs")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "peers.md")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--cores",
        default="1",
        help="cores the workers are pinned to, one worker per core at a time (e.g. 0,1; none)",
    )
    parser.add_argument(
        "--shards", type=int, default=1, help="worker processes per contender (files split)"
    )
    parser.add_argument("--save-runs", type=Path, help="write the workers' raw replies here")
    parser.add_argument(
        "--reuse-runs", type=Path, help="score the raw replies saved by --save-runs; run nothing"
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--split-seed", type=int, default=0, help="the splits' seed")
    parser.add_argument("--limit", type=int, default=0, help="first N test songs per dataset")
    parser.add_argument(
        "--sets",
        help="only these sets, comma-separated (4q-all, 4q-holdout, 4q-recorded-test, emotify, "
        "emotify-holdout)",
    )
    parser.add_argument(
        "--unseen",
        action="store_true",
        help="score only the songs none of the bundles trained on or was chosen on (in no "
        "bundle's recorded train or val split)",
    )
    parser.add_argument("--no-essentia", action="store_true", help="skip Essentia")
    parser.add_argument("--no-vibenet", action="store_true", help="skip vibenet")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.bundle = args.bundle or [str(REPO / "runtime" / "default_model")]
    command = "python -m benchmarks.peers " + shlex.join(sys.argv[1:] if argv is None else argv)
    results = run(args, command)
    text = render(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
