"""The live-conditions harness: how far a bundle's song-level predictions move, and how much
accuracy they lose, when the songs reach it through a level change, a small speaker, a room,
background noise or a capture card (:mod:`sentio.export.data.conditions`).

Every rendering goes through the device's own path: the capture rate resampled to the model's
(soxr HQ, as :func:`sentio.runtime.audio.resample`), the runtime's feature extraction, windows
and the bundle's model (normalization + the exported artifact, as
:meth:`sentio.runtime.model.BundleModel.predict`). A song's prediction is the mean over its
windows taken every ``hop_s`` seconds (3 s by default rather than the device's 0.5 s: six
times fewer model calls, and a song-level mean over 12 s windows moves little with the hop).

    result = score(BundleModel(bundle), songs, RobustnessConfig(conditions="full"))
    print(result.markdown())

Accuracy is CCC against the labels where labels are continuous, and the AUC of the valence /
arousal sign where a dimension's labels are all +-1 (quadrant datasets); the drop is clean
minus condition, per dimension.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sentio.export.data.conditions import Condition, Rendered, resolve
from sentio.export.data.datasets import Song, load_manifest_csv
from sentio.export.data.sources import DataOptions, load_dataset
from sentio.export.data.synthetic import make_synthetic_dataset
from sentio.export.model.metrics import DIMENSIONS, auc, ccc
from sentio.export.quiet import native_stderr_quiet
from sentio.runtime.audio import load_audio, resample
from sentio.runtime.errors import ConfigError, DatasetError, SentioError
from sentio.runtime.features import FeatureStats, extract_features
from sentio.runtime.manifest import Manifest
from sentio.runtime.model import BundleModel, open_runner
from sentio.runtime.windows import window_starts

log = logging.getLogger("sentio.export")

#: The name of the clean reference row.
CLEAN = "clean"
#: Generated songs used when a bundle's labelled data is not here.
GENERATED_SONGS = 24


@dataclass(frozen=True)
class LiveLimits:
    """How much a condition may cost, per dimension (the live-conditions gate; same form as
    ``--max-drop``'s :class:`~sentio.export.conversion.gate.DropLimits`).

    Attributes:
        accuracy: largest fall in accuracy (CCC, or sign AUC) from clean to the condition.
        shift: largest mean |condition - clean| song-level prediction.
    """

    accuracy: float = 0.03
    shift: float = 0.06

    @classmethod
    def parse(cls, text: str) -> LiveLimits:
        """``accuracy=0.03,shift=0.06``; unnamed limits keep their defaults."""
        values = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name not in cls.__dataclass_fields__ or not value:
                raise ConfigError(
                    f"bad export.live_limits item {part!r}",
                    hint=f"use NAME=VALUE with NAME in {sorted(cls.__dataclass_fields__)}",
                )
            try:
                values[name] = float(value)
            except ValueError as err:
                raise ConfigError(
                    f"bad export.live_limits value {part!r}", hint="a number"
                ) from err
        return cls(**values)


@dataclass(frozen=True)
class RobustnessConfig:
    """What the harness renders and how strictly it judges.

    Attributes:
        conditions: ``default`` (the export report's six), ``full`` (every condition) or
            comma-separated names (conditions.CONDITIONS).
        seed: seeds every rendering (room geometry, noise).
        hop_s: seconds between the windows averaged into a song's prediction.
        excerpt_s: score only the first this many seconds of each song (None: all of it;
            a song-level mean over an excerpt, the same excerpt for clean and every condition).
        limits: the gate; None reports without gating.
    """

    conditions: str = "default"
    seed: int = 0
    hop_s: float = 3.0
    excerpt_s: float | None = None
    limits: LiveLimits | None = None


class WindowModel(Protocol):
    """What the harness runs: a bundle's feature spec, window and ``predict`` of one raw
    feature window (:class:`sentio.runtime.model.BundleModel` is one)."""

    spec: Any
    window: int

    def predict(self, features: np.ndarray) -> np.ndarray: ...


class ArtifactModel:
    """One model file with a feature spec, normalization and window, before the bundle around
    it has a manifest (the export's staging folder): ``predict`` is
    :meth:`BundleModel.predict`'s normalization then the runner."""

    def __init__(
        self, path: Path, spec: Any, stats: FeatureStats, window: int, num_threads: int = 1
    ) -> None:
        self.spec, self.stats, self.window = spec, stats, window
        self.artifact = Path(path).name
        with native_stderr_quiet():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate"
            self.runner = open_runner(Path(path), num_threads)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.runner.predict(self.stats.apply(features))


@dataclass
class ConditionScore:
    """One condition's effect on the song-level predictions.

    Attributes:
        name: the condition (or ``clean``).
        description: its chain of steps.
        shift: mean |condition - clean| per dimension.
        bias: mean (condition - clean) per dimension (which way it moves).
        correlation: Pearson r of clean vs condition across songs, per dimension.
        accuracy: CCC or sign AUC against the labels, per dimension.
        drop: clean accuracy minus this accuracy, per dimension.
        failures: the limits it broke (empty: passed, or not gated).
    """

    name: str
    description: str
    shift: dict[str, float]
    bias: dict[str, float]
    correlation: dict[str, float]
    accuracy: dict[str, float]
    drop: dict[str, float]
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: _rounded(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class RobustnessResult:
    """The harness's result (render it with :meth:`markdown`).

    Attributes:
        clean: the clean reference (accuracy only; shift 0).
        conditions: one score per condition, in the order asked.
        metric: per dimension, ``ccc`` or ``auc`` (labels that are signs).
        songs: songs scored.
        skipped: songs left out, with why (shorter than a window, undecodable).
        spread: standard deviation of the clean song-level predictions per dimension (the
            scale a shift is small or large against).
        data: what the songs were.
        generated: the songs are generated music (the accuracy means nothing, shifts do).
        artifact: the model file that ran.
        config: the harness settings.
        seconds: wall time.
        predictions: song-level predictions, (songs, 2) per condition name and ``clean``.
        labels: (songs, 2) labels.
        by_dataset: with songs from several datasets (Emotify's values, 4Q's signs), the
            clean and condition rows of each on its own metric; the overall rows then hold the
            shifts over all songs, the mean accuracy over datasets and the largest drop.
        datasets: each song's dataset, in song order.
    """

    clean: ConditionScore
    conditions: list[ConditionScore]
    metric: dict[str, str]
    songs: int
    skipped: list[tuple[str, str]]
    spread: dict[str, float]
    data: str
    generated: bool
    artifact: str
    config: RobustnessConfig
    seconds: float
    predictions: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    labels: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 2)))
    by_dataset: dict[str, list[ConditionScore]] = field(default_factory=dict)
    dataset_metric: dict[str, dict[str, str]] = field(default_factory=dict)
    datasets: list[str] = field(repr=False, default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(c.failures for c in self.conditions)

    @property
    def failures(self) -> list[str]:
        return [f"{c.name}: {f}" for c in self.conditions for f in c.failures]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``live_conditions.json``; predictions per song included)."""
        limits = self.config.limits
        return {
            "artifact": self.artifact,
            "data": self.data,
            "generated": self.generated,
            "songs": self.songs,
            "skipped": [{"song": s, "reason": r} for s, r in self.skipped],
            "hop_s": self.config.hop_s,
            "excerpt_s": self.config.excerpt_s,
            "seed": self.config.seed,
            "conditions_asked": self.config.conditions,
            "metric": self.metric,
            "spread": _rounded(self.spread),
            "limits": None if limits is None else dataclasses.asdict(limits),
            "gate": "report only" if limits is None else ("pass" if self.passed else "fail"),
            "seconds": round(self.seconds, 1),
            "clean": self.clean.to_dict(),
            "conditions": [c.to_dict() for c in self.conditions],
            "by_dataset": {
                name: {"metric": self.dataset_metric[name], "rows": [r.to_dict() for r in rows]}
                for name, rows in self.by_dataset.items()
            },
            "datasets": self.datasets,
            "labels": np.round(self.labels, 4).tolist(),
            "predictions": {k: np.round(v, 4).tolist() for k, v in self.predictions.items()},
        }

    def table(self) -> str:
        """The markdown table: one row per condition, clean first."""
        names = {d: _METRIC_NAMES[self.metric[d]] for d in DIMENSIONS}
        gated = self.config.limits is not None
        head = (
            "| condition | mean abs dV | mean abs dA | r V | r A | "
            f"V {names['valence']} | A {names['arousal']} | drop V | drop A |"
            + (" gate |" if gated else "")
        )
        lines = [head, "|---" + "|---:" * 8 + "|" + ("---|" if gated else "")]
        for row in (self.clean, *self.conditions):
            cells = [
                row.name,
                *(_cell(row.shift[d]) for d in DIMENSIONS),
                *(_cell(row.correlation[d]) for d in DIMENSIONS),
                *(_cell(row.accuracy[d]) for d in DIMENSIONS),
                *(_cell(row.drop[d]) for d in DIMENSIONS),
            ]
            if gated:
                cells.append("-" if row is self.clean else ("FAIL" if row.failures else "pass"))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def dataset_table(self) -> str:
        """One row per dataset and condition: accuracy and drop on the dataset's metric."""
        lines = [
            "| dataset | condition | n | V | A | drop V | drop A | mean abs dV | mean abs dA |",
            "|---|---|---:" + "|---:" * 6 + "|",
        ]
        counts = {name: self.datasets.count(name) for name in self.by_dataset}
        for name, rows in self.by_dataset.items():
            metric = self.dataset_metric[name]
            for row in rows:
                cells = [
                    name,
                    row.name,
                    str(counts[name]),
                    *(f"{_cell(row.accuracy[d])} {metric[d].upper()}" for d in DIMENSIONS),
                    *(_cell(row.drop[d]) for d in DIMENSIONS),
                    *(_cell(row.shift[d]) for d in DIMENSIONS),
                ]
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def markdown(self) -> str:
        """The table with what it was measured on and how, and what each condition is."""
        limits = self.config.limits
        metric = ", ".join(
            f"{d} {self.metric[d].upper()}" if self.metric[d] != "mean" else f"{d} per dataset"
            for d in DIMENSIONS
        )
        excerpt = self.config.excerpt_s
        excerpt = "" if excerpt is None else f" over each song's first {excerpt:g} s"
        lines = [
            f"{self.songs} songs ({self.data}); artifact {self.artifact}; song-level "
            f"prediction = mean of windows every {self.config.hop_s:g} s{excerpt}; seed "
            f"{self.config.seed}; accuracy: {metric} against the labels. Spread of the clean "
            f"song-level predictions (sd): valence {self.spread['valence']:.3f}, arousal "
            f"{self.spread['arousal']:.3f}. {self.seconds:.0f} s.",
        ]
        if self.generated:
            lines.append(
                "**Generated music:** the labelled data was not here; the shifts and "
                "correlations are real, the accuracy columns are against the generator's labels."
            )
        if self.skipped:
            lines.append(f"{len(self.skipped)} song(s) skipped: " + _skip_summary(self.skipped))
        lines.append(
            "Gate: report only (no limits)."
            if limits is None
            else f"Gate: accuracy drop <= {limits.accuracy}, mean shift <= {limits.shift} "
            f"per dimension: {'pass' if self.passed else 'FAIL'}."
        )
        lines += ["", self.table(), ""]
        if self.by_dataset:
            lines += [
                "Per dataset (each on its own metric; the table above averages the accuracy "
                "over datasets and takes the largest drop):",
                "",
                self.dataset_table(),
                "",
            ]
        lines += [f"- `{c.name}`: {c.description}" for c in self.conditions]
        for failure in self.failures:
            lines.append(f"- FAIL {failure}")
        return "\n".join(lines) + "\n"


_METRIC_NAMES = {"auc": "AUC", "ccc": "CCC", "mean": "mean acc"}


def _cell(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 5)
    return value


def _skip_summary(skipped: list[tuple[str, str]]) -> str:
    reasons: dict[str, list[str]] = {}
    for song, reason in skipped:
        reasons.setdefault(reason, []).append(song)
    return "; ".join(
        f"{len(s)} x {r} ({', '.join(s[:3])}{', ...' if len(s) > 3 else ''})"
        for r, s in reasons.items()
    )


# ----------------------------------------------------------------------------- scoring


def device_prediction(model: WindowModel, rendered: Rendered, hop_frames: int) -> np.ndarray:
    """The song-level prediction of what the device hears: resampled from the capture rate to
    the model's, features, windows every ``hop_frames``, the model, mean over windows: (2,).

    Raises:
        DatasetError: the audio is shorter than one window.
    """
    spec = model.spec
    samples = resample(rendered.samples, rendered.rate, spec.sample_rate)
    features = extract_features(samples, spec)
    starts = window_starts(len(features), model.window, hop_frames)
    if not starts.size:
        raise DatasetError(
            f"{rendered.seconds:.1f} s of audio is shorter than one model window",
            hint="use songs at least as long as the model's window",
        )
    return np.mean([model.predict(features[s : s + model.window]) for s in starts], axis=0)


def score(
    model: WindowModel,
    songs: Sequence[Song],
    config: RobustnessConfig = RobustnessConfig(),
    data: str = "",
    generated: bool = False,
) -> RobustnessResult:
    """Render every song under every condition, predict through the device path, score.

    Args:
        model: the bundle's model (``BundleModel``, or :class:`ArtifactModel` mid-export).
        songs: labelled songs (a test split), at any rate (decoded at the model's).
        config: conditions, seed, hop and limits.
        data: what the songs are, for the report.
        generated: the songs are generated music.

    Raises:
        ConfigError: an unknown condition name, or a hop that is not positive.
        DatasetError: no song is as long as a window (nothing to score).
    """
    start = time.perf_counter()
    conditions = resolve(config.conditions)
    if not (config.hop_s > 0 and math.isfinite(config.hop_s)):
        raise ConfigError(f"hop must be positive, got {config.hop_s}", hint="e.g. 3.0")
    spec = model.spec
    hop_frames = max(1, round(config.hop_s * spec.frames_per_second))
    rows: dict[str, list[np.ndarray]] = {CLEAN: [], **{c.name: [] for c in conditions}}
    labels, skipped, datasets = [], [], []
    for index, song in enumerate(songs):
        try:
            clean = load_audio(song.path, spec.sample_rate)
        except SentioError as err:
            skipped.append((song.song_id, f"cannot decode ({err.message})"))
            continue
        if config.excerpt_s is not None:
            clean = clean[: round(config.excerpt_s * spec.sample_rate)]
        if spec.n_frames(clean.size) < model.window:
            skipped.append((song.song_id, "shorter than a window"))
            continue
        rendered = {CLEAN: Rendered(clean, spec.sample_rate)}
        rendered.update(
            {c.name: c.render(clean, spec.sample_rate, config.seed, index) for c in conditions}
        )
        for name, audio in rendered.items():
            rows[name].append(device_prediction(model, audio, hop_frames))
        labels.append((song.valence, song.arousal))
        datasets.append(song.dataset)
        log.debug("live conditions: song %d/%d done", index + 1, len(songs))
    if not labels:
        raise DatasetError(
            f"no song to score under live conditions ({len(skipped)} skipped: "
            f"{_skip_summary(skipped) if skipped else 'none given'})",
            hint="use songs at least as long as the model's window",
        )
    y = np.asarray(labels, dtype=np.float64)
    predictions = {name: np.stack(p) for name, p in rows.items()}
    clean_row, scored, metric = _score_rows(predictions, y, conditions)
    by_dataset: dict[str, list[ConditionScore]] = {}
    dataset_metric: dict[str, dict[str, str]] = {}
    if len(set(datasets)) > 1:
        for name in sorted(set(datasets)):
            keep = np.array([d == name for d in datasets])
            subset = {k: v[keep] for k, v in predictions.items()}
            clean_d, rows_d, metric_d = _score_rows(subset, y[keep], conditions)
            by_dataset[name], dataset_metric[name] = [clean_d, *rows_d], metric_d
        metric = {d: "mean" for d in DIMENSIONS}
        _average_over_datasets([clean_row, *scored], by_dataset)
    if config.limits is not None:
        for row in scored:
            _gate(row, config.limits)
    return RobustnessResult(
        clean=clean_row,
        conditions=scored,
        metric=metric,
        songs=len(labels),
        skipped=skipped,
        spread={d: float(predictions[CLEAN][:, i].std()) for i, d in enumerate(DIMENSIONS)},
        data=data,
        generated=generated,
        artifact=str(getattr(model, "artifact", "")),
        config=config,
        seconds=time.perf_counter() - start,
        predictions=predictions,
        labels=y,
        by_dataset=by_dataset,
        dataset_metric=dataset_metric,
        datasets=datasets,
    )


def _score_rows(
    predictions: dict[str, np.ndarray], y: np.ndarray, conditions: Sequence[Condition]
) -> tuple[ConditionScore, list[ConditionScore], dict[str, str]]:
    """The clean row and one row per condition; AUC for labels that are signs, else CCC."""
    metric = {d: "auc" if _signs(y[:, i]) else "ccc" for i, d in enumerate(DIMENSIONS)}
    clean_p = predictions[CLEAN]
    clean_row = _score_row(CLEAN, "clean", clean_p, clean_p, y, metric, None)
    scored = [
        _score_row(c.name, c.description, predictions[c.name], clean_p, y, metric, clean_row)
        for c in conditions
    ]
    return clean_row, scored, metric


def _average_over_datasets(
    rows: list[ConditionScore], by_dataset: dict[str, list[ConditionScore]]
) -> None:
    """Overall rows over several datasets: the mean accuracy and the largest drop (the gate
    fails a condition that costs any one dataset too much)."""
    for i, row in enumerate(rows):
        for dim in DIMENSIONS:
            row.accuracy[dim] = _nan_reduce(
                np.nanmean, [d[i].accuracy[dim] for d in by_dataset.values()]
            )
            row.drop[dim] = _nan_reduce(np.nanmax, [d[i].drop[dim] for d in by_dataset.values()])


def _nan_reduce(reduce, values: list[float]) -> float:
    """``reduce`` over the values that are not NaN (a dataset of one class has no AUC)."""
    return math.nan if all(math.isnan(v) for v in values) else float(reduce(values))


def _signs(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values) == 1.0))


def _accuracy(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    return auc(y, p) if metric == "auc" else ccc(y, p)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _score_row(
    name: str,
    description: str,
    p: np.ndarray,
    clean: np.ndarray,
    y: np.ndarray,
    metric: dict[str, str],
    reference: ConditionScore | None,
) -> ConditionScore:
    row = ConditionScore(name, description, {}, {}, {}, {}, {})
    for i, dim in enumerate(DIMENSIONS):
        delta = p[:, i] - clean[:, i]
        row.shift[dim] = float(np.mean(np.abs(delta)))
        row.bias[dim] = float(np.mean(delta))
        row.correlation[dim] = _pearson(clean[:, i], p[:, i])
        row.accuracy[dim] = _accuracy(metric[dim], y[:, i], p[:, i])
        row.drop[dim] = 0.0 if reference is None else reference.accuracy[dim] - row.accuracy[dim]
    return row


def _gate(row: ConditionScore, limits: LiveLimits) -> None:
    for dim in DIMENSIONS:
        if row.drop[dim] > limits.accuracy:  # NaN (one class only) never fails
            row.failures.append(f"{dim} accuracy fell {row.drop[dim]:.3f} > {limits.accuracy}")
        if row.shift[dim] > limits.shift:
            row.failures.append(f"{dim} moved {row.shift[dim]:.3f} on average > {limits.shift}")


def score_bundle(
    bundle: Path,
    songs: Sequence[Song],
    config: RobustnessConfig = RobustnessConfig(),
    data: str = "",
    generated: bool = False,
    artifact: str | None = None,
) -> RobustnessResult:
    """:func:`score` for an exported bundle's ``artifact`` (default: the one it chose), run
    as the runtime runs it (:class:`~sentio.runtime.model.BundleModel`)."""
    with native_stderr_quiet():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate"
        model = BundleModel(bundle, artifact)
    return score(model, songs, config, data, generated)


# ----------------------------------------------------------------------------- songs


def bundle_songs(
    manifest: Manifest, options: DataOptions, split: str = "test"
) -> tuple[list[Song], str]:
    """The songs of ``options``' dataset that the bundle's ``split`` names (its test split by
    default; ``val`` to compare candidates without looking at test songs), every song when the
    bundle records no such split or the data is not the dataset it was trained on, and a
    description. No features are extracted: the harness computes its own per rendering."""
    dataset = load_dataset(options)
    source = manifest.data.source
    named = set(manifest.data.splits.get(split, ()))
    trained_on = source is not None and source.kind == options.kind
    if named and trained_on and dataset.name == manifest.data.dataset:
        songs = [s for s in dataset.songs if s.song_id in named]
        if songs:
            missing = len(named) - len(songs)
            gone = f", {missing} of its songs not found" if missing else ""
            return songs, f"{dataset.name} {split} split{gone}"
    return dataset.songs, f"{dataset.name}, all songs"


def generated_songs(
    spec: Any, window_s: float, folder: Path, n_songs: int = GENERATED_SONGS, seed: int = 0
) -> list[Song]:
    """Generated music (:mod:`sentio.export.data.synthetic`) of 2.5 windows per song, for a
    bundle whose labelled data is not here: the shifts are real, the accuracy is against the
    generator's labels."""
    csv = make_synthetic_dataset(folder, n_songs, 2.5 * window_s, spec.sample_rate, seed=seed)
    return load_manifest_csv(csv).songs
