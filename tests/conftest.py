"""Shared fixtures: every test makes its own audio (never the shared data folder)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as the console entry points set it

from tests.helpers import TINY


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """60 generated songs of 12 s whose valence/arousal are known functions of the sound."""
    from sentio.export.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(
        tmp_path_factory.mktemp("synth"), n_songs=60, duration_s=12.0, seed=0
    )


@pytest.fixture(scope="session")
def trained_run(synthetic_dataset, tmp_path_factory):
    """A run bundle of ``sentio-train fit`` (window 200, small layers, 25 epochs)."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli.train import main

    out = tmp_path_factory.mktemp("run") / "bundle"
    code = main(
        [
            "fit",
            "--manifest",
            str(synthetic_dataset),
            *TINY,
            "--epochs",
            "25",
            "--patience",
            "8",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="session")
def mixed_bundle(synthetic_dataset, tmp_path_factory):
    """A tiny model on the mixed, level-free frame (``--spec mixed``), trained and exported
    with ``--int8``: the exported bundle's folder."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli.export import main as export_main
    from sentio.export.cli.train import main as train_main

    root = tmp_path_factory.mktemp("mixed")
    fit = ["fit", "--manifest", str(synthetic_dataset), "--spec", "mixed", *TINY]
    assert train_main([*fit, "--epochs", "6", "--seed", "1", "--out", str(root / "run")]) == 0
    export = ["--model", str(root / "run"), "--manifest", str(synthetic_dataset), "--int8"]
    export += ["--calibration-size", "20", "--quiet"]
    assert export_main([*export, "--no-cache", "--out", str(root / "bundle")]) == 0
    return root / "bundle"


@pytest.fixture(scope="session")
def exported(trained_run, synthetic_dataset, tmp_path_factory):
    """``sentio-export --int8`` of ``trained_run``: ``<root>/bundle`` and ``<root>/cal.npz``."""
    from sentio.export.cli.export import main

    root = tmp_path_factory.mktemp("export")
    code = main(
        [
            "--model",
            str(trained_run),
            "--manifest",
            str(synthetic_dataset),
            "--int8",
            "--c-array",
            "--calibration-size",
            "40",
            "--calibration-study",
            "10,40",
            "--save-calibration",
            str(root / "cal.npz"),
            "--no-cache",
            "--quiet",
            "--out",
            str(root / "bundle"),
        ]
    )
    assert code == 0
    return root
