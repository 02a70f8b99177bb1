"""Where labelled audio comes from and how it becomes prepared windows: a dataset kind and
path (``DataOptions``) -> songs -> cached features -> split, normalized windows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.data.datasets import (
    Dataset,
    combine,
    load_deam,
    load_emotify,
    load_manifest_csv,
)
from sentio.export.data.device_copies import DeviceCopies
from sentio.export.data.extract import (
    CopyExtraction,
    Extraction,
    default_cache_dir,
    extract_device_copies,
    extract_songs,
)
from sentio.export.data.labels import LabelScale
from sentio.export.data.quadrants import load_4q
from sentio.export.data.windows import PreparedData, attach_copies, prepare
from sentio.export.distributed import RayOptions
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FeatureStats, FrameSpec
from sentio.runtime.manifest import Manifest


@dataclass
class DataOptions:
    """Where the labelled audio is and how it becomes windows.

    Attributes:
        kind: ``emotify``, ``deam`` or ``manifest``.
        path: dataset folder (emotify, deam) or CSV file (manifest); None: not given yet (a
            recipe names the kind, the command line the folder).
        label_scale: the manifest's label scale.
        fix_deam_swap: correct DEAM's valence/arousal swap for ids <= 1000.
        cache_dir: feature cache root (None: no cache).
        workers: extraction processes (None: all cores).
        window: frames per window.
        stride: frames between training windows of a song.
        short: ``skip`` or ``pad`` songs shorter than a window.
        split_seed: seed of the song-level split.
        split: how train/val/test are dealt: ``holdout`` (test = each dataset's untouched
            holdout, the songs ``sentio-train cv`` never sees) or ``plain`` (the v1/v2
            models' 70/15/15 split).
        fourq: a 4Q-layout folder (``annotations.csv`` + ``audio/Q<n>/``) to train on beside
            ``kind``'s data: quadrant labels, scored by their signs, split by artist.
        limit: use only the first N songs of each dataset (quick trials).
        progress: show progress bars.
    """

    kind: str = "manifest"
    path: Path | None = None
    label_scale: LabelScale = field(default_factory=LabelScale)
    fix_deam_swap: bool = True
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    workers: int | None = None
    window: int = 600
    stride: int = 150
    short: str = "skip"
    split_seed: int = 0
    split: str = "plain"
    limit: int | None = None
    progress: bool = True
    fourq: Path | None = None


def load_dataset(options: DataOptions) -> Dataset:
    """The labelled songs of ``options``: its dataset, plus 4Q when ``fourq`` is set (then
    every song id is prefixed with its dataset's name)."""
    if options.path is None:
        raise ConfigError(
            f"no {options.kind} data given", hint="set DataOptions.path: the dataset folder or CSV"
        )
    datasets = [_load_one(options.kind, options.path, options)]
    if options.fourq is not None:
        datasets.append(_load_one("4q", options.fourq, options))
    return combine(datasets)


def _load_one(kind: str, path: Path, options: DataOptions) -> Dataset:
    if kind == "emotify":
        dataset = load_emotify(path)
    elif kind == "deam":
        dataset = load_deam(path, fix_swap=options.fix_deam_swap)
    elif kind == "manifest":
        dataset = load_manifest_csv(path, options.label_scale)
    elif kind == "4q":
        dataset = load_4q(path)
    else:
        raise ConfigError(
            f"unknown dataset kind {kind!r}", hint="use emotify, deam, manifest or 4q"
        )
    if options.limit is not None:
        dataset.songs = dataset.songs[: options.limit]
    if not dataset.songs:
        raise ConfigError(
            f"no usable songs in {path}",
            hint="check the path; the warnings above say what was skipped and why",
        )
    return dataset


def load_features(
    options: DataOptions, spec: FrameSpec, ray: RayOptions | None = None
) -> tuple[Dataset, Extraction]:
    """The dataset's songs and their features (``ray``: extracted as Ray tasks there)."""
    dataset = load_dataset(options)
    extraction = extract_songs(
        dataset.songs,
        spec,
        dataset.skipped,
        options.cache_dir,
        options.workers,
        options.progress,
        ray=ray,
    )
    return dataset, extraction


def load_prepared(
    options: DataOptions,
    spec: FrameSpec,
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
        split=options.split,
    )
    return prepared, extraction


def load_training_data(
    options: DataOptions, spec: FrameSpec, device: DeviceCopies
) -> tuple[PreparedData, Extraction, CopyExtraction | None]:
    """:func:`load_prepared`, then ``device``'s renderings of every training song attached
    (None when device copies are off)."""
    prepared, extraction = load_prepared(options, spec)
    if not device.enabled:
        return prepared, extraction, None
    train = [s.song for s in prepared.splits["train"]]
    copies = extract_device_copies(
        train,
        spec,
        device,
        prepared.skipped,
        options.cache_dir,
        options.workers,
        options.progress,
    )
    attach_copies(prepared, copies.features)
    return prepared, extraction, copies


def with_model_window(options: DataOptions, manifest: Manifest) -> DataOptions:
    """``options`` with the window and training stride the bundle's model was trained with."""
    stride = manifest.window.train_stride_frames or options.stride
    return dataclasses.replace(options, window=manifest.window.frames, stride=stride)


def model_label_scale(options: DataOptions, manifest: Manifest) -> DataOptions:
    """``options`` reading a CSV manifest on the scale the model's training CSV was declared
    on (``fit --manifest m.csv --label-scale 1 9`` needs no scale again); other data as is."""
    source = manifest.data.source
    if options.kind != "manifest" or source is None or source.kind != "manifest":
        return options
    return dataclasses.replace(options, label_scale=LabelScale(*manifest.data.label_scale))


def prepare_for_model(
    manifest: Manifest, options: DataOptions, own_splits: bool = True
) -> tuple[PreparedData, Extraction]:
    """Labelled data prepared exactly as a bundle's model expects it: the bundle's feature spec,
    normalization, window and training stride; its own song splits (``own_splits``, songs not
    in the data left out) or every song in one ``all`` split.

    This is the one place a manifest turns into prepared data (export, check, evaluate and
    compare all come through here).
    """
    options = with_model_window(options, manifest)
    splits = manifest.data.splits
    split_ids = {name: list(ids) for name, ids in splits.items()} if own_splits else None
    if own_splits and not split_ids:
        raise ConfigError(
            "the model's manifest records no song split",
            hint="evaluate it on all songs of a labelled set (sentio-train evaluate) instead",
        )
    return load_prepared(options, manifest.feature_spec, manifest.normalization, split_ids)
