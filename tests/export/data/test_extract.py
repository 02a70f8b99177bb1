"""Feature extraction: bad files skipped and counted, the cache, parallel = serial."""

import numpy as np
from sentio.export.data.datasets import SkipLog, Song, load_manifest_csv
from sentio.export.data.extract import extract_songs
from sentio.export.data.labels import LabelScale
from sentio.runtime.features import FeatureSpec

from tests.helpers import write_tone


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
