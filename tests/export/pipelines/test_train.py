import json
from pathlib import Path

import pytest
from sentio.export.data.sources import DataOptions
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.pipelines.train import TrainRunConfig, train_run
from sentio.runtime.errors import OutputPathError
from sentio.runtime.features import FeatureSpec
from sentio.runtime.manifest import as_json, load


def test_a_refused_out_stops_the_run_before_the_data_is_read(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    data = DataOptions(kind="manifest", path=tmp_path / "no-such.csv")
    config = TrainRunConfig(data, FeatureSpec(), CRNNConfig(), TrainConfig(), tmp_path / "run")
    with pytest.raises(OutputPathError):
        train_run(config)
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_a_run_trains_writes_its_bundle_and_reports(tmp_path):
    """The whole pipeline on a few generated songs, called as a notebook would."""
    from sentio.export.data.synthetic import make_synthetic_dataset

    csv = make_synthetic_dataset(tmp_path / "songs", 8, 6.0, seed=1)
    data = DataOptions(
        kind="manifest", path=csv, window=100, stride=50, cache_dir=None, progress=False
    )
    spec = FeatureSpec()
    model = CRNNConfig(
        window_frames=100,
        n_features=spec.n_features,
        conv_filters=(4, 4, 8, 8),
        lstm_units=(8, 4),
        dense_units=(4,),
    )
    out = tmp_path / "run"
    run = train_run(TrainRunConfig(data, spec, model, TrainConfig(epochs=1), out))
    assert (out / "model.keras").is_file() and (out / "sentio.json").is_file()
    assert run.manifest.data.songs == 8 and set(run.metrics.splits()) >= {"train", "test"}
    assert "per song" in run.report() and f"wrote {out}/" in run.report()
    assert not Path(f"{out}.checkpoint.keras").exists()
    written, scored = load(out).metrics, run.metrics.scores()  # NaN CCCs: compare the JSON
    assert json.dumps(as_json(written)) == json.dumps(as_json(scored))
