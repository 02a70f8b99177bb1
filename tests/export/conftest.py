"""Fixtures of the export tests: one small CRNN trained on generated music, shared."""

import pytest

TINY = [
    "--window",
    "200",
    "--stride",
    "50",
    "--conv-filters",
    "16,16,32,32",
    "--lstm-units",
    "32,16",
    "--dense-units",
    "16,8",
    "--dropout",
    "0.1",
    "--l2",
    "0",
    "--batch-size",
    "16",
    "--quiet",
    "--no-cache",
]


@pytest.fixture(scope="session")
def trained_run(synthetic_dataset, tmp_path_factory):
    """A run bundle of ``sentio-train fit`` (window 200, small layers, 25 epochs)."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli import main

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
