from pathlib import Path

import pytest
from sentio.export.data.sources import DataOptions
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.pipelines.export import (
    ExportRunConfig,
    check_outputs,
    export_run,
    prepare_source_data,
)
from sentio.export.pipelines.train import TrainRunConfig
from sentio.runtime.errors import ConfigError, OutputPathError
from sentio.runtime.features import FeatureSpec
from sentio.runtime.manifest import read
from sentio.runtime.model import default_bundle


def _train(out: Path) -> TrainRunConfig:
    data = DataOptions(kind="manifest", path=Path("songs.csv"))
    return TrainRunConfig(data, FeatureSpec(), CRNNConfig(), TrainConfig(), out)


def test_out_may_not_be_the_model_or_the_training_run(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(OutputPathError, match=r"is the ExportRunConfig\.model folder"):
        check_outputs(ExportRunConfig(out=run, model=run))
    with pytest.raises(OutputPathError, match=r"is the ExportRunConfig\.train\.out folder"):
        check_outputs(ExportRunConfig(out=run, train=_train(run)))
    with pytest.raises(ConfigError, match="exclude each other"):
        check_outputs(ExportRunConfig(out=run, model=run, train=_train(tmp_path / "t")))


def test_a_model_other_than_the_default_needs_its_data(tmp_path):
    manifest = read(default_bundle())
    config = ExportRunConfig(out=tmp_path / "out")
    with pytest.raises(ConfigError, match="training data is needed"):
        prepare_source_data(config, manifest, tmp_path / "elsewhere", tmp_path)


def test_a_refused_out_stops_the_export_before_any_work(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError):
        export_run(ExportRunConfig(out=tmp_path / "out"))
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
