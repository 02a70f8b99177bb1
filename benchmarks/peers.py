"""Sentio beside the peer models a user could pick instead, on the same test songs, with the
same scoring, and their CPU cost on one pinned core measured in the same run.

    python -m benchmarks.peers --emotify ../shared/data/emotify --fourq ../shared/data/4q \\
        [--bundle runtime/default_model --bundle runs/mixed-bundle] [--out experiments/peers.md]

Songs: the TEST splits only. Emotify: ``split_songs(songs, seed=0)`` (the default model's
70/15/15 split by song); 4Q: the same with ``groups`` = artist (artist-disjoint). Every
contender runs in its own worker process (``benchmarks/peer_workers/``: a request file of
audio paths in, a JSON reply of clip-level [valence, arousal] out), pinned with ``taskset`` to
one core, one contender after the other. Sentio runs the runtime path of ``sentio-listen
--input``; Essentia (MusiCNN + emoMusic / DEAM heads) and vibenet run in their own venvs under
``--cache-dir`` (made on first use, never a dependency of the package). The peer models and
the data are read where they lie (``../shared/``), never copied into the repository.

Scoring: 4Q valence-sign and arousal-sign AUC (rank-based), quadrant accuracy of each model's
outputs centred by its own median over the test songs; Emotify Pearson r and Spearman rho per
dimension, and CCC for Sentio only (its scale is the labels'). 95% intervals: 1,000 bootstrap
resamples of the songs, seeded, the same resamples for every contender (so differences are
paired).
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
    """One dataset's test songs: ids, audio paths, labels (n, 2) and a description."""

    name: str
    ids: list[str]
    paths: list[Path]
    labels: np.ndarray
    description: str
    groups: list[str] = field(default_factory=list)


def emotify_test(root: Path, seed: int = 0) -> TestSet:
    """Emotify's test split as the default model's run makes it (70/15/15 by song, seed 0)."""
    from sentio.export.data.datasets import load_emotify
    from sentio.export.data.splits import split_songs

    dataset = load_emotify(root)
    test = sorted(split_songs(dataset.songs, seed=seed)["test"], key=lambda s: s.song_id)
    return TestSet(
        "emotify",
        [s.song_id for s in test],
        [Path(s.path).resolve() for s in test],
        np.array([[s.valence, s.arousal] for s in test]),
        f"{len(test)} of {len(dataset.songs)} songs (70/15/15 by song, seed {seed}, stratified "
        "by quadrant of the GEMS-derived labels)",
        [s.group for s in test],
    )


def fourq_test(root: Path, seed: int = 0) -> TestSet:
    """4Q's artist-disjoint test split (70/15/15 by artist, seed 0); labels are +-1 signs."""
    from sentio.export.data.quadrants import load_4q
    from sentio.export.data.splits import split_songs

    dataset = load_4q(root)
    groups = {s.song_id: dataset.clips[s.song_id].artist for s in dataset.songs}
    test = sorted(
        split_songs(dataset.songs, seed=seed, groups=groups)["test"], key=lambda s: s.song_id
    )
    artists = {groups[s.song_id] for s in test}
    return TestSet(
        "4q",
        [s.song_id for s in test],
        [Path(s.path).resolve() for s in test],
        np.array([[s.valence, s.arousal] for s in test]),
        f"{len(test)} of {len(dataset.songs)} clips by {len(artists)} artists (70/15/15 by "
        f"artist, seed {seed}, stratified by the artist's majority quadrant)",
        [f"Q{dataset.clips[s.song_id].quadrant}" for s in test],
    )


def audio_seconds(path: Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate


# -- scoring


def centred(values: np.ndarray) -> np.ndarray:
    """Each column minus its median (a model's outputs centred over the test songs)."""
    values = np.asarray(values, dtype=np.float64)
    return values - np.median(values, axis=0)


def quadrant_accuracy(signs: np.ndarray, centred_values: np.ndarray) -> float:
    """Share of songs whose centred valence AND arousal fall on their label's side (a centred
    value of exactly 0 counts as negative)."""
    return float(np.mean(np.all((centred_values > 0) == (np.asarray(signs) > 0), axis=1)))


def fourq_metrics(signs: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Valence/arousal-sign AUC and the quadrant accuracy of median-centred ``values``
    (``values`` must already be centred for the accuracy to mean that)."""
    from sentio.export.model.metrics import auc

    return {
        "valence_auc": auc(signs[:, 0], values[:, 0]),
        "arousal_auc": auc(signs[:, 1], values[:, 1]),
        "quadrant_accuracy": quadrant_accuracy(signs, values),
    }


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
    labels: np.ndarray, values: np.ndarray, kind: str, with_ccc: bool, draws: Sequence[np.ndarray]
) -> dict:
    """Point metrics and their bootstrap draws for one contender on one dataset."""
    if kind == "4q":
        values = centred(values)  # once, over all test songs; resamples keep that centring

        def metrics(idx):
            return fourq_metrics(labels[idx], values[idx])
    else:

        def metrics(idx):
            return emotify_metrics(labels[idx], values[idx], with_ccc)

    return {"point": metrics(np.arange(len(labels))), "draws": bootstrap(metrics, draws)}


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
    core: int | None
    n_resamples: int
    seed: int


def build_contenders(args) -> tuple[list[Contender], dict[str, str]]:
    contenders, unavailable = [], {}
    for bundle in args.bundle:
        bundle = Path(bundle)
        name = bundle.resolve().name
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


def run(args, command: str) -> Results:
    began = time.monotonic()
    tests = {
        "4q": fourq_test(args.fourq, args.split_seed),
        "emotify": emotify_test(args.emotify, args.split_seed),
    }
    if args.limit:
        for test in tests.values():
            keep = slice(0, args.limit)
            test.ids, test.paths, test.labels = test.ids[keep], test.paths[keep], test.labels[keep]
            test.groups = test.groups[keep]
    files = [p for test in tests.values() for p in test.paths]
    audio_s = {str(p): audio_seconds(p) for p in files}
    contenders, unavailable = build_contenders(args)
    runs: dict[str, WorkerRun] = {}
    with tempfile.TemporaryDirectory(prefix="sentio-peers-") as scratch:
        for contender in contenders:
            log = args.cache_dir / "logs" / f"{contender.key.replace(':', '-')}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            print(f"running {contender.key} on {len(files)} files ...", file=sys.stderr)
            try:
                runs[contender.key] = run_worker(
                    contender.python,
                    contender.worker,
                    files,
                    contender.options,
                    Path(scratch) / contender.key.replace(":", "-"),
                    args.core,
                    log,
                )
            except Unavailable as err:
                unavailable[", ".join(contender.outputs.values())] = str(err)
            print(f"  done in {time.monotonic() - began:.0f} s", file=sys.stderr)
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
        args.core,
        args.resamples,
        args.seed,
    )


def score_tests(
    tests: dict[str, TestSet],
    contenders: Sequence[Contender],
    runs: dict[str, WorkerRun],
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, list[str]], dict, dict[str, dict[str, dict]]]:
    """Score every model output on every test set, on the songs ALL of them predicted.

    Returns:
        (scored song ids per test set; per test set and model, the ids it gave no prediction
        for and those it failed on; per test set and model, :func:`score`'s result).
    """
    outputs = [(c, key) for c in contenders for key in c.outputs]
    scored_ids, dropped, scores = {}, {}, {}
    for name, test in tests.items():
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
        labels = test.labels[keep]
        draws = resamples(int(keep.sum()), n_resamples, seed)
        scores[name] = {
            label: score(labels, v[keep], name, label.startswith("Sentio"), draws)
            for label, v in values.items()
        }
    return scored_ids, dropped, scores


def split_checks(bundles: Sequence[Path], tests: dict[str, TestSet]) -> list[str]:
    """Whether any test song was in a bundle's recorded training or validation split (a
    leak), from the splits its manifest recorded."""
    from sentio.runtime.manifest import load

    lines = []
    for bundle in bundles:
        try:
            splits = load(Path(bundle), verify=False).data.splits
        except Exception as err:  # a report line, not a failure
            lines.append(f"{Path(bundle).name}: manifest unreadable ({err})")
            continue
        if not splits:
            lines.append(f"{Path(bundle).name}: records no splits; leakage not checked")
            continue
        seen = {_bare(i) for name in ("train", "val") for i in splits.get(name, ())}
        recorded_test = {_bare(i) for i in splits.get("test", ())}
        for name, test in tests.items():
            leaked = [i for i in test.ids if i in seen]
            same = sum(i in recorded_test for i in test.ids)
            lines.append(
                f"{Path(bundle).name} on {name}: {len(leaked)} of the {len(test.ids)} test songs "
                f"are in its recorded train/val splits; {same} are in its recorded test split"
            )
    return lines


def _bare(song_id: str) -> str:
    """A recorded id without a dataset prefix (``4q:MT0001`` -> ``MT0001``)."""
    return song_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


# -- cost


def cost_rows(results: Results) -> list[dict]:
    """CPU seconds per audio second of each model output: over every file its worker ran, and
    per test set. A head's cost is its worker's time minus the other heads' own time.

    Where a worker reports its windows and model time (Sentio), ``live_per_audio_s`` is the
    cost of a live stream, which runs a window every hop forever, while a clip of length L has
    only (L - window) / hop + 1 windows: (CPU - model time) / audio + model time per window /
    hop. The model time is the engine's wall clock around inference, which on a shared core is
    at least its CPU time, so the estimate errs high.
    """
    total_audio = sum(results.audio_s.values())
    rows = []
    for contender in results.contenders:
        run_ = results.runs[contender.key]
        for key, label in contender.outputs.items():
            others = [f"head:{k}" for k in contender.outputs if k != key]

            def cpu_of(items, others=others):
                return sum(
                    item["cpu_s"] - sum(item.get("cpu_parts", {}).get(o, 0.0) for o in others)
                    for item in items
                )

            items = list(run_.items.values())
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
            for name, test in results.tests.items():
                paths = [str(p) for p in test.paths if str(p) in run_.items]
                audio = sum(results.audio_s.get(p, 0.0) for p in paths)
                if audio:
                    row["per_test"][name] = cpu_of([run_.items[p] for p in paths]) / audio
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

FOURQ_COLUMNS = (
    ("valence_auc", "valence-sign AUC"),
    ("arousal_auc", "arousal-sign AUC"),
    ("quadrant_accuracy", "quadrant accuracy (median-centred)"),
)
EMOTIFY_COLUMNS = (
    ("valence_r", "valence r"),
    ("valence_spearman", "valence rho"),
    ("arousal_r", "arousal r"),
    ("arousal_spearman", "arousal rho"),
    ("valence_ccc", "valence CCC"),
    ("arousal_ccc", "arousal CCC"),
)


def _cell(result: dict, metric: str) -> str:
    if metric not in result["point"]:
        return "n/a"
    lo, hi = interval(result["draws"][metric])
    return f"{result['point'][metric]:.3f} [{lo:.2f}, {hi:.2f}]"


def _table(scores: dict[str, dict], columns) -> list[str]:
    lines = [
        "| model | " + " | ".join(title for _, title in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label, result in scores.items():
        lines.append(f"| {label} | " + " | ".join(_cell(result, m) for m, _ in columns) + " |")
    return lines


def _paired(scores: dict[str, dict], columns) -> list[str]:
    """Sentio's first bundle minus each other model, over the same resamples."""
    labels = list(scores)
    if not labels or not labels[0].startswith("Sentio") or len(labels) < 2:
        return []
    base = scores[labels[0]]
    lines = [
        "",
        f"Paired differences, {labels[0]} minus each model (same bootstrap resamples; "
        "share of resamples in which Sentio is higher):",
        "",
        "| versus | " + " | ".join(title for m, title in columns if m in base["point"]) + " |",
        "|---|" + "---|" * sum(m in base["point"] for m, _ in columns),
    ]
    for label in labels[1:]:
        cells = []
        for metric, _ in columns:
            if metric not in base["point"]:
                continue
            if metric not in scores[label]["point"]:
                cells.append("n/a")
                continue
            diff = base["draws"][metric] - scores[label]["draws"][metric]
            lo, hi = interval(diff)
            point = base["point"][metric] - scores[label]["point"][metric]
            cells.append(f"{point:+.3f} [{lo:+.2f}, {hi:+.2f}]; {np.mean(diff > 0):.0%}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


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
        f"Run {today}; wall time {results.wall_s / 60:.1f} min on a shared 2-core machine. "
        "Made by `benchmarks/peers.py`; reads `../shared/data/` and `../shared/peers/` where they "
        "lie (nothing of them is in the repository). Song level = each model's mean over the "
        "clip. Intervals: 95% percentile bootstrap, "
        f"{results.n_resamples} resamples of the songs (seed {results.seed}), the same resamples "
        "for every model.",
        "",
        "## Songs",
        "",
    ]
    for name, test in results.tests.items():
        excluded = len(test.ids) - len(results.scored_ids[name])
        lines.append(
            f"- **{name}** test split: {test.description}; **{len(results.scored_ids[name])} "
            f"scored**, {excluded} excluded for every model."
        )
        for label, why in results.dropped[name].items():
            for reason, ids in why.items():
                if ids:
                    lines.append(f"  - {label}: {len(ids)} {reason}: {', '.join(ids)}")
    lines += [
        "",
        "A clip shorter than Sentio's 12 s window gets no Sentio prediction (the runtime path "
        "emits none); such clips, and any clip a model failed on, are excluded for EVERY model "
        "so all score the same songs.",
    ]
    if results.split_checks:
        lines += ["", "Split check against the bundles' recorded splits:", ""]
        lines += [f"- {line}" for line in results.split_checks]
    if results.unavailable:
        lines += ["", "## Not run", ""]
        lines += [f"- {name}: {why}" for name, why in results.unavailable.items()]

    lines += ["", f"## 4Q test split (n = {len(results.scored_ids['4q'])}), song level", ""]
    lines += _table(results.scores["4q"], FOURQ_COLUMNS)
    lines += _paired(results.scores["4q"], FOURQ_COLUMNS)
    lines += [
        "",
        "AUCs are rank-based, so each model's own scale does not matter. Quadrant accuracy: "
        "each model's valence and arousal are centred by its own median over these test songs "
        "(so every model calls about half the songs positive on each axis, as the balanced "
        "labels are); a song counts when both signs are right (chance 0.25).",
        "",
        f"## Emotify test split (n = {len(results.scored_ids['emotify'])}), song level",
        "",
    ]
    lines += _table(results.scores["emotify"], EMOTIFY_COLUMNS)
    lines += _paired(results.scores["emotify"], EMOTIFY_COLUMNS)
    lines += [
        "",
        "Labels: Emotify's GEMS-derived valence/arousal on [-1, 1] (a proxy, see "
        "export/DATASETS.md). CCC only for Sentio, whose outputs are on the labels' scale: the "
        "peers' are not (Essentia ~1..9, vibenet 0..1), and CCC after z-scoring a model's "
        "outputs to the labels' mean and standard deviation is identically Pearson's r, so it "
        "would add nothing.",
        "",
        "## Cost: CPU seconds per audio second, one pinned core",
        "",
        f"Each worker ran alone, pinned with `taskset -c {results.core}`, one thread per "
        f"library, over the same {n_audio} files ({total_audio / 60:.1f} min of audio, both "
        "test splits). **CPU s per audio s** = the worker's own `process_time` per file "
        "(decoding, resampling, features, inference, all threads) summed, over the audio "
        "seconds; model loading and interpreter start-up are not in it but are in the "
        "process total (`wait4` rusage of the worker).",
        "",
        "| model | CPU s / audio s | x Sentio | "
        + " | ".join(f"on {name}" for name in results.tests)
        + " | CPU s (files) | process CPU s (all) | wall s | peak RSS MB | software |",
        "|---|---:|---:|" + "---:|" * len(results.tests) + "---:|---:|---:|---:|---|",
    ]
    rows = cost_rows(results)
    sentio = next((r for r in rows if r["label"].startswith("Sentio")), None)
    for row in rows:
        ratio = f"{row['per_audio_s'] / sentio['per_audio_s']:.1f}" if sentio else "n/a"
        per_test = " | ".join(f"{row['per_test'].get(n, float('nan')):.4f}" for n in results.tests)
        lines.append(
            f"| {row['label']} | {row['per_audio_s']:.4f} | {ratio} | {per_test} | "
            f"{row['cpu_s']:.1f} | {row['process_cpu_s']:.1f} | {row['wall_s']:.0f} | "
            f"{row['max_rss_mb']:.0f} | {row['about']} |"
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
                f"{row['windows']} windows){versus}."
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
        "- The machine is shared (2 cores, a training run and other workers beside this run): "
        "CPU seconds are the workers' own and far steadier than wall time, but cache and "
        "frequency effects of the neighbours remain; wall time is not a speed measure here. "
        "Repeat the run before trusting a cost ratio close to a target.",
        "- The 4Q test split is dealt by artist (few artists, several clips each), so its "
        "scores move when the split does; compare models within one run (the paired tables), "
        "not across runs made with different splits.",
        "- Essentia's two heads share one MusiCNN pass in one worker; each head's cost row is "
        "the whole pass minus the other head's own time. Essentia's emoMusic head outputs are "
        "read as [valence, arousal] and the DEAM head's columns in the same order; measured on "
        "4Q (shared/peers/README.md), both DEAM columns behave like arousal, so its valence "
        "column is expected to rank valence poorly.",
        "- vibenet's `energy` is read as arousal; its labels were Echonest model outputs "
        "(distilled), not human ratings.",
        "- Sentio runs the bundle's default artifact through the runtime path of "
        "`sentio-listen --input` (FileSource -> Listener -> Engine, default hop, no smoothing) "
        "and its clip value is the mean of raw predictions over its windows. Emotify is the "
        "default model's training dataset (these are its held-out test songs); 4Q is not in "
        "its training data. Peers were trained elsewhere (MSD tags + emoMusic/DEAM; FMA), so "
        "neither test set is theirs.",
        "- 4Q labels are AllMusic editorial quadrants (signs only); Emotify's are a GEMS proxy "
        "of induced emotion. Both test sets are small; read the intervals.",
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
        type=Path,
        action="append",
        help="a Sentio bundle (repeat for several; default: runtime/default_model)",
    )
    parser.add_argument("--peers", type=Path, default=DEFAULT_PEERS, help="the peer models")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="venvs and logs")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "peers.md")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--core", type=int, default=1, help="the core each worker is pinned to")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--split-seed", type=int, default=0, help="the splits' seed")
    parser.add_argument("--limit", type=int, default=0, help="first N test songs per dataset")
    parser.add_argument("--no-essentia", action="store_true", help="skip Essentia")
    parser.add_argument("--no-vibenet", action="store_true", help="skip vibenet")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.bundle = args.bundle or [REPO / "runtime" / "default_model"]
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
