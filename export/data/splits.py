"""Train/validation/test splits made over songs, never over windows.

Windows of one song overlap and share its label: splitting windows would put near-copies of a
test window in training and flatter every metric. Splits are stratified by valence/arousal
quadrant so each split sees all four moods, and seeded so a run can be repeated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from sentio.export.data.datasets import Song
from sentio.runtime.emotion import QUADRANTS, quadrant

SPLITS = ("train", "val", "test")

#: How ``train``/``val``/``test`` are dealt. ``holdout``: the test split is each dataset's
#: untouched holdout, the one ``sentio-train cv`` never sees (:func:`development_and_test`),
#: so a model chosen by cross-validation is scored on songs no choice has looked at;
#: ``plain``: the three shares dealt at once (the v1 and v2 models' splits).
SPLIT_SCHEMES = ("plain", "holdout")


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
    """Whole groups to splits, each split holding its share of every quadrant's songs (see
    :func:`deal_groups`); a split left empty takes a whole group from train."""
    members = _members(songs, groups)
    bins = deal_groups(members, fractions, seed)
    dealt_to = dict(zip(SPLITS, bins, strict=True))
    for split, share in zip(SPLITS[1:], fractions[1:], strict=True):
        if share > 0 and not dealt_to[split] and len(dealt_to["train"]) > 1:
            dealt_to[split].append(dealt_to["train"].pop())
    return {split: [s for n in names for s in members[n]] for split, names in dealt_to.items()}


def fold_songs(
    songs: list[Song], folds: int, seed: int = 0, groups: Mapping[str, str] | None = None
) -> list[list[Song]]:
    """``folds`` disjoint parts for cross-validation: every song in exactly one, whole groups
    (4Q: the artist) in one part, each part holding about ``1/folds`` of every quadrant.

    Without ``groups`` every song is its own group (Emotify)."""
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    members = _members(songs, groups or {})
    bins = deal_groups(members, tuple([1.0 / folds] * folds), seed)
    return [[s for name in names for s in members[name]] for names in bins]


def _members(songs: list[Song], groups: Mapping[str, str]) -> dict[str, list[Song]]:
    """Group name -> its songs (sorted by id; a song with no group is its own)."""
    members: dict[str, list[Song]] = defaultdict(list)
    for song in sorted(songs, key=lambda s: s.song_id):
        members[groups.get(song.song_id) or f"song:{song.song_id}"].append(song)
    return members


def deal_groups(
    members: Mapping[str, list[Song]], shares: tuple[float, ...], seed: int
) -> list[list[str]]:
    """Deal whole groups to bins so that each bin holds ``share`` of every quadrant's songs.

    Greedy, largest group first (ties in a seeded random order): each group goes to the bin
    where it most reduces the squared gap between the bin's quadrant counts and its targets
    (``share * songs of that quadrant``). Dealing strata one after another instead would leave
    one stratum's tail in the last bin, which is how an earlier split ended up with 46 tense
    and 10 sad test clips.
    """
    names = sorted(members)
    counts = {n: _quadrant_counts(members[n]) for n in names}
    totals = np.sum([counts[n] for n in names], axis=0)
    targets = np.outer(np.asarray(shares, dtype=np.float64), totals)
    held = np.zeros_like(targets)
    rng = np.random.default_rng(seed)
    order = [names[i] for i in rng.permutation(len(names))]
    order.sort(key=lambda n: -int(counts[n].sum()))  # stable: the shuffle breaks ties
    dealt: list[list[str]] = [[] for _ in shares]
    for name in order:
        gain = ((held + counts[name] - targets) ** 2).sum(axis=1) - ((held - targets) ** 2).sum(
            axis=1
        )
        gain[np.asarray(shares) <= 0] = np.inf
        best = int(np.argmin(gain))
        held[best] += counts[name]
        dealt[best].append(name)
    return dealt


def _quadrant_counts(songs: list[Song]) -> np.ndarray:
    counts = np.zeros(len(QUADRANTS))
    for song in songs:
        counts[QUADRANTS.index(quadrant(song.valence, song.arousal))] += 1
    return counts


def _fill_empty_splits(out: dict[str, list[Song]], fractions: tuple[float, float, float]) -> None:
    """Rounding inside small strata can leave val or test empty: move one song over from train."""
    for name, share in zip(SPLITS[1:], fractions[1:], strict=True):
        if share > 0 and not out[name] and len(out["train"]) > 1:
            out[name].append(out["train"].pop())


def by_dataset(songs: Sequence[Song]) -> dict[str, list[Song]]:
    """The songs of each dataset, in their order."""
    out: dict[str, list[Song]] = {}
    for song in songs:
        out.setdefault(song.dataset, []).append(song)
    return out


def artist_groups(songs: Sequence[Song]) -> dict[str, list[Song]]:
    """Songs by artist; a song without one is its own group."""
    out: dict[str, list[Song]] = {}
    for song in sorted(songs, key=lambda s: s.song_id):
        out.setdefault(song.artist or f"song:{song.song_id}", []).append(song)
    return out


def development_and_test(
    songs: Sequence[Song], holdout: float, seed: int
) -> tuple[list[Song], list[Song]]:
    """Each dataset's untouched test split (``holdout`` of it, whole artists, quadrants in
    proportion) and the development songs the folds are made from."""
    development: list[Song] = []
    test: list[Song] = []
    for members in by_dataset(songs).values():
        groups = artist_groups(members)
        keep, held = deal_groups(groups, (1.0 - holdout, holdout), seed)
        development += [s for g in keep for s in groups[g]]
        test += [s for g in held for s in groups[g]]
    return development, test


def holdout_splits(
    songs: Sequence[Song], fractions: tuple[float, float, float], seed: int
) -> dict[str, list[Song]]:
    """The ``holdout`` scheme: ``test`` is each dataset's untouched holdout (``fractions[2]``
    of it, as ``sentio-train cv`` deals it with the same seed); ``train`` and ``val`` are
    dealt from the development songs the same way, whole artists, quadrants in proportion."""
    train_share, val_share, test_share = fractions
    if test_share <= 0 or train_share <= 0:
        raise ValueError(f"the holdout scheme needs train and test shares > 0, got {fractions}")
    development, test = development_and_test(songs, test_share, seed)
    train, val = development_and_test(development, val_share / (train_share + val_share), seed)
    return {"train": train, "val": val, "test": test}
