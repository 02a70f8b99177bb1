"""Train/validation/test splits made over songs, never over windows.

Windows of one song overlap and share its label: splitting windows would put near-copies of a
test window in training and flatter every metric. Splits are stratified by valence/arousal
quadrant so each split sees all four moods, and seeded so a run can be repeated.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from sentio.export.data.datasets import Song
from sentio.runtime.emotion import quadrant

SPLITS = ("train", "val", "test")


def split_songs(
    songs: list[Song],
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    seed: int = 0,
    groups: Mapping[str, str] | None = None,
) -> dict[str, list[Song]]:
    """Stratified, seeded song-level split.

    Args:
        songs: songs with unique ``song_id``.
        fractions: train/val/test shares, summing to 1.
        seed: random seed.
        groups: ``song_id -> group`` (4Q: the artist): the songs of one group all land in one
            split, so no artist is in both training and test. Songs missing from it are
            their own group.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``; every song in exactly one.
    """
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    if groups is not None:
        return _split_groups(songs, fractions, seed, groups)
    rng = np.random.default_rng(seed)
    strata: dict[str, list[Song]] = defaultdict(list)
    for song in sorted(songs, key=lambda s: s.song_id):
        strata[quadrant(song.valence, song.arousal)].append(song)
    out: dict[str, list[Song]] = {name: [] for name in SPLITS}
    for name in sorted(strata):
        members = [strata[name][i] for i in rng.permutation(len(strata[name]))]
        n_train = round(len(members) * fractions[0])
        n_val = round(len(members) * (fractions[0] + fractions[1])) - n_train
        out["train"] += members[:n_train]
        out["val"] += members[n_train : n_train + n_val]
        out["test"] += members[n_train + n_val :]
    _fill_empty_splits(out, fractions)
    return out


def _split_groups(
    songs: list[Song],
    fractions: tuple[float, float, float],
    seed: int,
    groups: Mapping[str, str],
) -> dict[str, list[Song]]:
    """Whole groups to splits: groups are stratified by the quadrant most of their songs are
    in, shuffled within their stratum, interleaved across strata, and dealt out until each
    split holds its share of the *songs*; a split left empty takes a whole group from train."""
    rng = np.random.default_rng(seed)
    members: dict[str, list[Song]] = defaultdict(list)
    for song in sorted(songs, key=lambda s: s.song_id):
        members[groups.get(song.song_id) or f"song:{song.song_id}"].append(song)
    strata: dict[str, list[str]] = defaultdict(list)
    for name in sorted(members):
        quadrants = [quadrant(s.valence, s.arousal) for s in members[name]]
        strata[max(sorted(set(quadrants)), key=quadrants.count)].append(name)
    shuffled = [[strata[k][i] for i in rng.permutation(len(strata[k]))] for k in sorted(strata)]
    order = [name for row in itertools.zip_longest(*shuffled) for name in row if name]
    bounds = np.cumsum(fractions)[:2] * len(songs)
    dealt_to: dict[str, list[str]] = {name: [] for name in SPLITS}
    dealt = 0
    for name in order:
        size = len(members[name])
        dealt_to[SPLITS[int(np.searchsorted(bounds, dealt + size / 2))]].append(name)
        dealt += size
    for split, share in zip(SPLITS[1:], fractions[1:], strict=True):
        if share > 0 and not dealt_to[split] and len(dealt_to["train"]) > 1:
            dealt_to[split].append(dealt_to["train"].pop())
    return {split: [s for n in names for s in members[n]] for split, names in dealt_to.items()}


def _fill_empty_splits(out: dict[str, list[Song]], fractions: tuple[float, float, float]) -> None:
    """Rounding inside small strata can leave val or test empty: move one song over from train."""
    for name, share in zip(SPLITS[1:], fractions[1:], strict=True):
        if share > 0 and not out[name] and len(out["train"]) > 1:
            out[name].append(out["train"].pop())
