"""Prepared windows: no song in two splits, train-only normalization, short songs."""

import numpy as np
import pytest
from sentio.export.data.datasets import Dataset, SkipLog, Song, load_manifest_csv
from sentio.export.data.extract import extract_songs
from sentio.export.data.labels import LabelScale
from sentio.export.data.windows import prepare
from sentio.runtime.features import FeatureSpec

from tests.helpers import write_tone


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


def test_prepare_needs_three_usable_songs():
    from sentio.runtime.errors import DatasetError

    songs = [Song("s0", None, 0.3, -0.2), Song("s1", None, -0.6, 0.4)]
    dataset = Dataset("x", songs, SkipLog(), LabelScale())
    feats = {s.song_id: np.zeros((700, 40), np.float32) for s in songs}
    with pytest.raises(DatasetError, match="need at least 3"):
        prepare(dataset, feats, FeatureSpec())
