from pathlib import Path

import pytest
from sentio.export.data.sources import DataOptions
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.pipelines.demo import (
    DemoConfig,
    DemoRunConfig,
    check_demo_outputs,
    demo_data_dir,
    demo_manifest,
)
from sentio.export.pipelines.train import TrainRunConfig
from sentio.runtime.errors import OutputPathError
from sentio.runtime.features import FeatureSpec


def _keep(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    return keep


def test_the_demo_lays_out_its_run_and_songs_beside_the_bundle(tmp_path):
    out = tmp_path / "demo"
    data = DataOptions(kind="manifest", path=demo_manifest(demo_data_dir(out)))
    train = TrainRunConfig(data, FeatureSpec(), CRNNConfig(), TrainConfig(), Path("anywhere"))
    config = DemoRunConfig.beside(out, DemoConfig(songs=4), train)
    assert config.train.out == tmp_path / "demo-training"
    assert config.data_dir == tmp_path / "demo-data"
    assert config.train.data.path == tmp_path / "demo-data" / "manifest.csv"


def test_the_demo_checks_its_run_and_songs_too(tmp_path):
    """OUT-training and OUT-data are outputs as well: a user's folder there is refused; an
    earlier demo's are replaced with --force (its songs removed first)."""
    out, run, data = (tmp_path / n for n in ("demo", "demo-training", "demo-data"))
    (data / "audio").mkdir(parents=True)
    (data / "manifest.csv").write_text("path,valence,arousal\n")
    (data / "audio" / "song0000.wav").write_bytes(b"RIFF")
    with pytest.raises(OutputPathError, match="already holds the demo's generated songs"):
        check_demo_outputs(out, run, data, force=False)
    (data / "audio" / "mine.wav").write_bytes(b"RIFF")
    with pytest.raises(OutputPathError, match=r"audio/mine\.wav"):
        check_demo_outputs(out, run, data, force=True)
    (data / "audio" / "mine.wav").unlink()
    check_demo_outputs(out, run, data, force=True)
    assert not data.exists()  # an earlier demo's songs: regenerated
    _keep(tmp_path).rename(run)
    with pytest.raises(OutputPathError, match=r"--out \(its training run\)"):
        check_demo_outputs(out, run, data, force=True)
