"""Where labelled audio comes from and how it becomes prepared windows: a dataset kind and
path (``DataOptions``) -> songs -> cached features -> split, normalized windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.data.datasets import Dataset, load_deam, load_emotify, load_manifest_csv
from sentio.export.data.extract import Extraction, default_cache_dir, extract_songs
from sentio.export.data.labels import LabelScale
from sentio.export.data.windows import PreparedData, prepare
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FeatureSpec, FeatureStats


@dataclass
class DataOptions:
    """Where the labelled audio is and how it becomes windows.

    Attributes:
        kind: ``emotify``, ``deam`` or ``manifest``.
        path: dataset folder (emotify, deam) or CSV file (manifest).
        label_scale: the manifest's label scale.
        fix_deam_swap: correct DEAM's valence/arousal swap for ids <= 1000.
        cache_dir: feature cache root (None: no cache).
        workers: extraction processes (None: all cores).
        window: frames per window.
        stride: frames between training windows of a song.
        short: ``skip`` or ``pad`` songs shorter than a window.
        split_seed: seed of the song-level split.
        limit: use only the first N songs (quick trials).
        progress: show progress bars.
    """

    kind: str
    path: Path
    label_scale: LabelScale = field(default_factory=LabelScale)
    fix_deam_swap: bool = True
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    workers: int | None = None
    window: int = 600
    stride: int = 150
    short: str = "skip"
    split_seed: int = 0
    limit: int | None = None
    progress: bool = True


def load_dataset(options: DataOptions) -> Dataset:
    if options.kind == "emotify":
        dataset = load_emotify(options.path)
    elif options.kind == "deam":
        dataset = load_deam(options.path, fix_swap=options.fix_deam_swap)
    elif options.kind == "manifest":
        dataset = load_manifest_csv(options.path, options.label_scale)
    else:
        raise ConfigError(
            f"unknown dataset kind {options.kind!r}", hint="use emotify, deam or manifest"
        )
    if options.limit is not None:
        dataset.songs = dataset.songs[: options.limit]
    if not dataset.songs:
        raise ConfigError(
            f"no usable songs in {options.path}",
            hint="check the path; the warnings above say what was skipped and why",
        )
    return dataset


def load_features(options: DataOptions, spec: FeatureSpec) -> tuple[Dataset, Extraction]:
    dataset = load_dataset(options)
    extraction = extract_songs(
        dataset.songs, spec, dataset.skipped, options.cache_dir, options.workers, options.progress
    )
    return dataset, extraction


def load_prepared(
    options: DataOptions,
    spec: FeatureSpec,
    stats: FeatureStats | None = None,
    split_ids: dict[str, list[str]] | None = None,
) -> tuple[PreparedData, Extraction]:
    """Songs -> features -> normalized, split windows (``stats`` given: one ``all`` split,
    or the recorded ``split_ids``)."""
    dataset, extraction = load_features(options, spec)
    prepared = prepare(
        dataset,
        extraction.features,
        spec,
        options.window,
        options.stride,
        options.short,
        options.split_seed,
        stats=stats,
        split_ids=split_ids,
    )
    return prepared, extraction
