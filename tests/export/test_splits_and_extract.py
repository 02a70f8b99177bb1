import numpy as np
import pytest
from sentio.export.data.datasets import Dataset, SkipLog, Song, load_manifest_csv
from sentio.export.data.extract import extract_songs
from sentio.export.data.labels import LabelScale
from sentio.export.data.splits import quadrant, split_songs
from sentio.export.data.windows import prepare
from sentio.runtime.features import FeatureSpec

from tests.conftest import write_tone


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


def test_no_song_spans_two_splits_at_window_level(synthetic_dataset):
    spec = FeatureSpec()
    dataset = load_manifest_csv(synthetic_dataset)
    extraction = extract_songs(dataset.songs, spec, dataset.skipped, workers=1, progress=False)
    prepared = prepare(dataset, extraction.features, spec, window=200, stride=50)
    owners = {}
    for split, songs in prepared.splits.items():
        for sw in songs:
            assert sw.starts.size > 0
            owners.setdefault(sw.song.song_id, set()).add(split)
    assert all(len(splits) == 1 for splits in owners.values())
    assert len(owners) == 60
    # normalization comes from the training split only
    train_frames = np.concatenate([s.frames for s in prepared.splits["train"]])
    np.testing.assert_allclose(train_frames.mean(axis=0), 0, atol=1e-3)


def test_short_songs_are_skipped_or_padded_deliberately(tmp_path):
    for i in range(4):
        write_tone(tmp_path / f"{i}.wav", seconds=1.0 if i == 0 else 3.0, freq=300 + 50 * i)
    (tmp_path / "m.csv").write_text(
        "path,valence,arousal\n0.wav,0.5,0.5\n1.wav,-0.5,0.5\n2.wav,0.5,-0.5\n3.wav,-0.5,-0.5\n"
    )
    spec = FeatureSpec()
    for short in ("skip", "pad"):
        dataset = load_manifest_csv(tmp_path / "m.csv")
        ex = extract_songs(dataset.songs, spec, dataset.skipped, workers=1, progress=False)
        prepared = prepare(dataset, ex.features, spec, window=100, stride=50, short=short)
        kept = {s.song.song_id for part in prepared.splits.values() for s in part}
        if short == "skip":
            assert "0.wav" not in kept and dataset.skipped.counts() == {"shorter than a window": 1}
        else:
            assert "0.wav" in kept and prepared.padded == ["0.wav"]


def test_bad_files_are_skipped_counted_and_cached_results_reused(tmp_path):
    write_tone(tmp_path / "good.wav", seconds=2.0)
    write_tone(tmp_path / "quiet.wav", seconds=2.0, amplitude=0.0)
    (tmp_path / "corrupt.ogg").write_bytes(b"OggS" + b"\x00" * 200)
    write_tone(tmp_path / "trunc.flac", seconds=2.0)
    data = (tmp_path / "trunc.flac").read_bytes()
    (tmp_path / "trunc.flac").write_bytes(data[: len(data) // 3])
    songs = [
        Song(n, tmp_path / n, 0.0, 0.0)
        for n in ("good.wav", "quiet.wav", "corrupt.ogg", "trunc.flac")
    ]
    spec, cache = FeatureSpec(), tmp_path / "cache"
    skipped = SkipLog()
    first = extract_songs(songs, spec, skipped, cache_dir=cache, workers=2, progress=False)
    assert "good.wav" in first.features and "quiet.wav" not in first.features
    assert "corrupt.ogg" not in first.features
    reasons = {item.split(" ")[1]: reason for item, reason, _ in skipped.items}
    assert "silent" in reasons["quiet.wav"]
    assert len(first.features) + len(skipped) == 4  # nothing silently dropped
    second = extract_songs(songs, spec, SkipLog(), cache_dir=cache, workers=1, progress=False)
    assert second.cache_hits == len(first.features)
    for key, value in first.features.items():
        np.testing.assert_array_equal(value, second.features[key])
    other = extract_songs(
        songs[:1], FeatureSpec(n_filters=48), SkipLog(), cache_dir=cache, workers=1, progress=False
    )
    assert other.cache_hits == 0  # a different spec never reads another spec's cache


def test_parallel_extraction_equals_serial(synthetic_dataset):
    dataset = load_manifest_csv(synthetic_dataset, LabelScale())
    songs = dataset.songs[:6]
    serial = extract_songs(songs, FeatureSpec(), SkipLog(), workers=1, progress=False)
    parallel = extract_songs(songs, FeatureSpec(), SkipLog(), workers=2, progress=False)
    assert list(serial.features) == list(parallel.features)
    for key in serial.features:
        np.testing.assert_array_equal(serial.features[key], parallel.features[key])


def test_prepare_needs_three_usable_songs():
    from sentio.runtime.errors import DatasetError

    songs = fake_songs(2)
    dataset = Dataset("x", songs, SkipLog(), LabelScale())
    feats = {s.song_id: np.zeros((700, 40), np.float32) for s in songs}
    with pytest.raises(DatasetError, match="need at least 3"):
        prepare(dataset, feats, FeatureSpec())
