"""From extracted features to normalized, split, windowed training data.

Order matters: songs are split first, normalization statistics are fitted on the training
split only, then every split is normalized with them (no test information leaks in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sentio.export.data.datasets import Dataset, SkipLog, Song
from sentio.export.data.device_copies import fit_length
from sentio.export.data.splits import SPLIT_SCHEMES, holdout_splits, split_songs
from sentio.runtime.errors import DatasetError
from sentio.runtime.features import FeatureStats, FrameSpec
from sentio.runtime.windows import window_starts

SHORT_POLICIES = ("skip", "pad")


@dataclass
class SongWindows:
    """One song's normalized frames and the first frame of each of its windows."""

    song: Song
    frames: np.ndarray
    starts: np.ndarray
    copies: list[np.ndarray] = field(default_factory=list)  # device renderings, normalized

    @property
    def label(self) -> np.ndarray:
        return np.array([self.song.valence, self.song.arousal], dtype=np.float32)


@dataclass
class PreparedData:
    """Everything training and evaluation need, plus what the bundle must carry."""

    spec: FrameSpec
    stats: FeatureStats
    window: int
    stride: int
    splits: dict[str, list[SongWindows]]
    skipped: SkipLog
    dataset: Dataset
    padded: list[str] = field(default_factory=list)
    split_seed: int = 0

    def n_windows(self, split: str) -> int:
        return sum(s.starts.size for s in self.splits[split])

    def split_ids(self) -> dict[str, list[str]]:
        return {name: [s.song.song_id for s in songs] for name, songs in self.splits.items()}

    def summary(self) -> str:
        parts = [
            f"{n}: {len(v)} songs / {self.n_windows(n)} windows" for n, v in self.splits.items()
        ]
        return "; ".join(parts)


def _fit_to_window(
    song: Song, frames: np.ndarray, window: int, short: str, skipped: SkipLog, padded: list[str]
) -> np.ndarray | None:
    """Frames of a song, tiled up to one window when it is shorter and ``short == 'pad'``."""
    if frames.shape[0] >= window:
        return frames
    if short == "pad" and frames.shape[0] > 0:
        padded.append(song.song_id)
        return np.resize(frames, (window, frames.shape[1]))  # repeats the song from its start
    skipped.skip(
        f"song {song.song_id}",
        f"{frames.shape[0]} frames, shorter than one {window}-frame window (--short pad keeps it)",
        "shorter than a window",
    )
    return None


def split_by_dataset(
    songs: list[Song], fractions: tuple[float, float, float], seed: int, scheme: str = "plain"
) -> dict[str, list[Song]]:
    """Each dataset split on its own (so each has its own test songs), by artist where a
    dataset's artists repeat (4Q), by song otherwise; the splits then joined. ``scheme``:
    one of :data:`~sentio.export.data.splits.SPLIT_SCHEMES`."""
    if scheme == "holdout":
        return holdout_splits(songs, fractions, seed)
    by_dataset: dict[str, list[Song]] = {}
    for song in songs:
        by_dataset.setdefault(song.dataset, []).append(song)
    out: dict[str, list[Song]] = {}
    for members in by_dataset.values():
        artists = [s.artist for s in members if s.artist]
        repeat = len(set(artists)) < len(artists)
        groups = {s.song_id: s.artist for s in members} if repeat else None
        for name, part in split_songs(members, fractions, seed, groups).items():
            out.setdefault(name, []).extend(part)
    return out


def prepare(
    dataset: Dataset,
    features: dict[str, np.ndarray],
    spec: FrameSpec,
    window: int = 600,
    stride: int = 150,
    short: str = "skip",
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    stats: FeatureStats | None = None,
    split_ids: dict[str, list[str]] | None = None,
    split: str = "plain",
) -> PreparedData:
    """Split by song, fit z-score statistics on train, and index every split's windows.

    Args:
        dataset: the labelled songs (those without features were already skipped).
        features: song id -> raw (n_frames, n_features) features.
        spec: the spec the features were computed with.
        window: frames per window.
        stride: frames between consecutive windows of a song.
        short: what to do with songs shorter than a window: ``skip`` or ``pad`` (tile).
        seed: split seed.
        fractions: train/val/test shares.
        stats: a trained model's statistics; given, no split is made and every song lands
            in one split named ``all`` (evaluating a model on a labelled dataset).
        split_ids: with ``stats``, the splits a model was trained with (song ids per split),
            to evaluate it on its own test split; songs not in the data are left out.
        split: how a new split is dealt, one of
            :data:`~sentio.export.data.splits.SPLIT_SCHEMES`.
    """
    if short not in SHORT_POLICIES:
        raise DatasetError(
            f"unknown short-song policy {short!r}", hint=f"use one of {SHORT_POLICIES}"
        )
    if split not in SPLIT_SCHEMES:
        raise DatasetError(
            f"unknown split scheme {split!r}", hint=f"data.split: use one of {SPLIT_SCHEMES}"
        )
    padded: list[str] = []
    usable: dict[str, np.ndarray] = {}
    for song in dataset.songs:
        if song.song_id not in features:
            continue
        frames = _fit_to_window(
            song, features[song.song_id], window, short, dataset.skipped, padded
        )
        if frames is not None:
            usable[song.song_id] = frames
    songs = [s for s in dataset.songs if s.song_id in usable]
    if len(songs) < (3 if stats is None else 1):
        raise DatasetError(
            f"only {len(songs)} usable song(s): need at least 3 for train/val/test splits",
            hint="check the run summary for skipped songs, or give more data",
        )
    if stats is None:
        by_split = split_by_dataset(songs, fractions, seed, split)
        stats = FeatureStats.fit([usable[s.song_id] for s in by_split["train"]])
    elif split_ids is not None:  # a trained model's own splits
        by_id = {s.song_id: s for s in songs}
        by_split = {name: [by_id[i] for i in ids if i in by_id] for name, ids in split_ids.items()}
    else:  # evaluating a trained model: its statistics, every song in one split
        by_split = {"all": songs}
    splits = {
        name: [song_windows(s, usable[s.song_id], stats, window, stride) for s in members]
        for name, members in by_split.items()
    }
    return PreparedData(spec, stats, window, stride, splits, dataset.skipped, dataset, padded, seed)


def song_windows(
    song: Song, frames: np.ndarray, stats: FeatureStats, window: int, stride: int
) -> SongWindows:
    """A song's normalized frames with the start of each of its windows."""
    return SongWindows(song, stats.apply(frames), window_starts(frames.shape[0], window, stride))


def attach_copies(prepared: PreparedData, copies: dict[str, list[np.ndarray]]) -> int:
    """Give the training songs their device copies (raw features per song id), normalized with
    the training statistics and cut to each clean song's length; returns how many attached.

    Only the training split gets copies: validation chooses the model on clean songs and the
    live-conditions harness scores the test songs through devices it has not trained on.
    """
    attached = 0
    for song in prepared.splits.get("train", []):
        rendered = copies.get(song.song.song_id, [])
        n_frames = song.frames.shape[0]
        song.copies = [prepared.stats.apply(fit_length(f, n_frames)) for f in rendered]
        attached += len(song.copies)
    return attached
