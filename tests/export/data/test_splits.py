"""The song-level split: seeded, stratified by quadrant, 70/15/15."""

import numpy as np
from sentio.export.data.datasets import Song
from sentio.export.data.splits import quadrant, split_songs


def fake_songs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [Song(f"s{i}", None, *rng.uniform(-1, 1, 2)) for i in range(n)]


def test_split_is_by_song_seeded_stratified_and_70_15_15():
    songs = fake_songs(200)
    a = split_songs(songs, seed=3)
    assert a == split_songs(songs, seed=3)
    assert a != split_songs(songs, seed=4)
    ids = [s.song_id for part in a.values() for s in part]
    assert sorted(ids) == sorted(s.song_id for s in songs)  # each song exactly once
    assert abs(len(a["train"]) - 140) <= 2 and abs(len(a["test"]) - 30) <= 2
    for part in a.values():  # every split sees every mood quadrant
        assert len({quadrant(s.valence, s.arousal) for s in part}) == 4


def test_tiny_datasets_still_get_val_and_test():
    parts = split_songs(fake_songs(5))
    assert all(parts[name] for name in ("train", "val", "test"))


def test_grouped_split_keeps_each_artist_in_one_split_and_the_shares():
    rng = np.random.default_rng(0)
    songs, groups = [], {}
    for i in range(300):
        v, a = rng.choice([-0.5, 0.5], size=2)
        songs.append(Song(f"s{i:03d}", None, float(v), float(a)))
        groups[f"s{i:03d}"] = f"artist{int(rng.integers(0, 120))}"  # many artists repeat
    parts = split_songs(songs, seed=1, groups=groups)
    artists = {name: {groups[s.song_id] for s in part} for name, part in parts.items()}
    assert not artists["train"] & artists["test"]
    assert not artists["train"] & artists["val"] and not artists["val"] & artists["test"]
    assert sorted(s.song_id for p in parts.values() for s in p) == sorted(groups)
    assert abs(len(parts["test"]) / 300 - 0.15) < 0.04
    assert parts == split_songs(songs, seed=1, groups=groups)


def _clustered_quadrant_songs(seed=0):
    """A 4Q-like set: 4 quadrants x 60 clips, artists of 1-8 clips each, one quadrant each."""
    rng = np.random.default_rng(seed)
    songs, groups = [], {}
    for q, (v, a) in enumerate([(0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5)]):
        left, artist = 60, 0
        while left:
            size = min(left, int(rng.integers(1, 9)))
            for _ in range(size):
                song_id = f"q{q}-s{len(songs):03d}"
                songs.append(Song(song_id, None, v, a))
                groups[song_id] = f"q{q}-artist{artist}"
            left, artist = left - size, artist + 1
    return songs, groups


def _quadrant_counts(part):
    return [
        sum(quadrant(s.valence, s.arousal) == q for s in part)
        for q in sorted({quadrant(s.valence, s.arousal) for s in part})
    ]


def test_grouped_split_holds_every_quadrant_in_proportion():
    songs, groups = _clustered_quadrant_songs()
    for seed in range(5):
        parts = split_songs(songs, seed=seed, groups=groups)
        for name, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
            counts = _quadrant_counts(parts[name])
            assert len(counts) == 4
            # each quadrant within 3 songs (less than one artist) of its share of 60
            assert max(abs(c - share * 60) for c in counts) <= 3, (name, counts)


def test_folds_keep_artists_whole_and_every_quadrant_in_proportion():
    from sentio.export.data.splits import fold_songs

    songs, groups = _clustered_quadrant_songs(seed=1)
    folds = fold_songs(songs, 5, seed=2, groups=groups)
    assert sorted(s.song_id for f in folds for s in f) == sorted(s.song_id for s in songs)
    artists = [{groups[s.song_id] for s in f} for f in folds]
    for i in range(5):
        for j in range(i + 1, 5):
            assert not artists[i] & artists[j]
    for fold in folds:
        assert max(abs(c - 12) for c in _quadrant_counts(fold)) <= 3
    assert folds == fold_songs(songs, 5, seed=2, groups=groups)
    assert folds != fold_songs(songs, 5, seed=3, groups=groups)
