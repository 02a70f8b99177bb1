"""A manifest -> prepared data, the one way: the bundle's window AND training stride, its
normalization, its own splits or one ``all`` split."""

import dataclasses

import numpy as np
import pytest
from sentio.export.data.sources import DataOptions, prepare_for_model
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FeatureSpec, FeatureStats
from sentio.runtime.manifest import DataProvenance, Manifest, Window


def _manifest(splits=None):
    spec = FeatureSpec()
    stats = FeatureStats(np.zeros(spec.n_features), np.ones(spec.n_features))
    window = Window(frames=200, seconds=4.0, train_stride_frames=37)
    data = DataProvenance(dataset="synthetic", splits=splits or {})
    return Manifest(spec, stats, window, data=data)


def test_prepare_for_model_restores_window_and_stride(synthetic_dataset):
    options = DataOptions("manifest", synthetic_dataset, cache_dir=None, workers=1)
    options = dataclasses.replace(options, progress=False)  # window 600, stride 150
    prepared, _ = prepare_for_model(_manifest(), options, own_splits=False)
    assert (prepared.window, prepared.stride) == (200, 37)
    assert list(prepared.splits) == ["all"]
    song = prepared.splits["all"][0]
    assert np.all(np.diff(song.starts) == 37)
    with pytest.raises(ConfigError, match="no song split"):
        prepare_for_model(_manifest(), options, own_splits=True)
    ids = [s.song.song_id for s in prepared.splits["all"]]
    splits = {"train": tuple(ids[:40]), "val": tuple(ids[40:50]), "test": tuple(ids[50:])}
    own, _ = prepare_for_model(_manifest(splits), options, own_splits=True)
    assert {k: tuple(v) for k, v in own.split_ids().items()} == splits
