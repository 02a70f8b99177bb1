"""The demo pipeline: generated music with known moods -> a trained run -> an exported bundle
``sentio-listen --model OUT`` runs. No data needed."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sentio.export.conversion.exporter import (
    ExportOptions,
    ExportResult,
    export_bundle,
    load_source,
)
from sentio.export.data.sources import prepare_for_model
from sentio.export.data.synthetic import make_synthetic_dataset, synthetic_foreign
from sentio.export.pipelines.train import TrainRun, TrainRunConfig, train_run
from sentio.runtime.bundle import check_out_dir
from sentio.runtime.manifest import Scores

log = logging.getLogger("sentio.export")


@dataclass(frozen=True)
class DemoConfig:
    """The generated music of ``sentio-train demo``.

    Attributes:
        songs: songs to generate, each with a random valence and arousal.
        duration_s: seconds per song.
    """

    songs: int = 60
    duration_s: float = 12.0


@dataclass(frozen=True)
class DemoRunConfig:
    """One demo.

    Attributes:
        demo: the music to generate.
        train: the training run (its ``out`` is the run folder; its data, the generated songs'
            manifest, is set here).
        out: the exported bundle.
        data_dir: where the generated songs go (kept: an export or evaluation of the run
            finds them there).
    """

    demo: DemoConfig
    train: TrainRunConfig
    out: Path
    data_dir: Path

    @classmethod
    def beside(cls, out: Path, demo: DemoConfig, train: TrainRunConfig) -> DemoRunConfig:
        """The demo's usual layout: the run at ``OUT-training``, the songs at ``OUT-data``."""
        run_dir = out.with_name(f"{out.name}-training")
        return cls(demo, dataclasses.replace(train, out=run_dir), out, demo_data_dir(out))


@dataclass
class DemoRun:
    """A finished demo: the training run, the export and the time both took."""

    trained: TrainRun
    exported: ExportResult
    out: Path
    seconds: float

    @property
    def test_songs(self) -> Scores:
        """The run's test-split song scores."""
        test = self.trained.metrics.test
        return test.songs if test is not None else Scores()


def demo_data_dir(out: Path) -> Path:
    """Where the demo at ``out`` keeps its generated songs."""
    return out.with_name(f"{out.name}-data")


def demo_manifest(data_dir: Path) -> Path:
    """The CSV the generated songs are listed in."""
    return data_dir / "manifest.csv"


def demo_run(config: DemoRunConfig) -> DemoRun:
    """Generate the songs, train on them, export the run (TFLite, ONNX; verified against the
    float model) to ``config.out``."""
    start = time.perf_counter()
    replace = config.train.replace
    check_demo_outputs(config.out, config.train.out, config.data_dir, replace)
    log.info(
        "generating %d synthetic songs of %g s with known valence/arousal into %s/...",
        config.demo.songs,
        config.demo.duration_s,
        config.data_dir,
    )
    csv = make_synthetic_dataset(
        config.data_dir, config.demo.songs, config.demo.duration_s, seed=config.train.train.seed
    )
    data = dataclasses.replace(config.train.data, kind="manifest", path=csv)
    trained = train_run(dataclasses.replace(config.train, data=data))
    log.info(
        "exporting %s to %s/ (TFLite, ONNX; verified against the float model)",
        trained.out,
        config.out,
    )
    source = load_source(trained.out)
    prepared, _ = prepare_for_model(source.manifest, data, own_splits=True)
    exported = export_bundle(source, prepared, ExportOptions(), config.out, replace)
    return DemoRun(trained, exported, config.out, time.perf_counter() - start)


def check_demo_outputs(out: Path, run_dir: Path, data_dir: Path, force: bool) -> None:
    """The demo's three outputs, checked before anything is generated (see
    :func:`~sentio.runtime.bundle.check_out_dir`); with ``force``, an earlier demo's songs
    are removed (the check proved the folder holds nothing else)."""
    check_out_dir(out, force)
    check_out_dir(run_dir, force, option="--out (its training run)")
    songs = "the demo's generated songs"
    option = "--out (its generated songs)"
    check_out_dir(data_dir, force, option=option, what=songs, foreign=synthetic_foreign)
    if force and data_dir.is_dir() and any(data_dir.iterdir()):
        shutil.rmtree(data_dir)
