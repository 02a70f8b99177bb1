"""A training run's manifest: typed, round-trips through JSON, carries what an export needs."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sentio.export.data.datasets import Dataset, SkipLog, Song
from sentio.export.data.labels import LabelScale
from sentio.export.data.sources import DataOptions
from sentio.export.data.windows import prepare
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.predict import Evaluation, SplitEvaluation
from sentio.export.model.run import data_sources, run_manifest, training_report
from sentio.runtime.codec import decode
from sentio.runtime.features import FeatureSpec
from sentio.runtime.manifest import DEFAULT_HOP_S, DataSource, Manifest


def _prepared():
    rng = np.random.default_rng(0)
    songs = [Song(f"s{i}", None, *rng.uniform(-1, 1, 2)) for i in range(12)]
    dataset = Dataset("toy", songs, SkipLog(), LabelScale(), notes=["made up"])
    features = {s.song_id: rng.normal(size=(300, 40)).astype(np.float32) for s in songs}
    return prepare(dataset, features, FeatureSpec(), window=200, stride=37, seed=5)


def _outcome():
    metrics = Evaluation(
        train=SplitEvaluation(), val=SplitEvaluation(), test=SplitEvaluation(groups={})
    )
    result = SimpleNamespace(
        model=SimpleNamespace(count_params=lambda: 1234),
        epochs_run=7,
        best_epoch=3,
        seconds=12.34,
        history={},
    )
    return SimpleNamespace(result=result, metrics=metrics)


def test_run_manifest_is_typed_and_round_trips():
    prepared = _prepared()
    extraction = SimpleNamespace(seconds=1.234, audio_seconds=3600.0)
    source = DataSource("manifest", "songs.csv")
    config = CRNNConfig(window_frames=200, lstm_units=(16, 8))
    manifest = run_manifest(prepared, config, TrainConfig(), _outcome(), extraction, source)
    assert isinstance(manifest, Manifest)
    assert manifest.keras.file == "model.keras" and manifest.keras.format == "keras"
    assert manifest.keras.params == 1234 and manifest.runnable == []
    assert manifest.window.frames == 200 and manifest.window.train_stride_frames == 37
    assert manifest.window.default_hop_s == DEFAULT_HOP_S
    assert manifest.window.seconds == 200 / prepared.spec.frames_per_second
    assert decode(CRNNConfig, manifest.architecture) == config
    assert manifest.training["epochs_run"] == 7 and manifest.training["loss"] == "weighted_mse"
    data = manifest.data
    assert data.source == source and data.split_seed == 5 and data.audio_hours == 1.0
    assert {k: list(v) for k, v in data.splits.items()} == prepared.split_ids()
    assert data.notes == ("made up",)
    again = Manifest.from_dict(manifest.to_dict())
    assert again.to_dict() == manifest.to_dict()
    assert again.metrics == manifest.metrics and list(again.metrics.splits()) == [
        "train",
        "val",
        "test",
    ]
    report = training_report(manifest, _outcome())
    assert "Dataset: toy (12 songs, 1.0 h of audio); 0 item(s) skipped." in report


def test_a_run_records_dataset_kinds_and_hints_never_this_machines_paths(tmp_path, monkeypatch):
    """Issue 23: a bundle is the same on every machine; no absolute path is written."""
    from tests.runtime.test_manifest import absolute_paths

    monkeypatch.chdir(tmp_path)
    options = DataOptions("emotify", Path("/srv/data/emotify"), fourq=tmp_path / "sets" / "4q")
    source, also = data_sources(options)
    assert source == DataSource("emotify", "emotify")
    assert also == (DataSource("4q", "sets/4q"),)
    assert data_sources(DataOptions("manifest", Path("songs.csv")))[1] == ()
    extraction = SimpleNamespace(seconds=1.0, audio_seconds=60.0)
    config = CRNNConfig(window_frames=200, lstm_units=(16, 8))
    manifest = run_manifest(
        _prepared(), config, TrainConfig(), _outcome(), extraction, source, also=also
    )
    assert absolute_paths(json.loads(json.dumps(manifest.to_dict()))) == []
