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
