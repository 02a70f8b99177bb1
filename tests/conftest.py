"""Shared fixtures: every test makes its own audio (never the shared data folder)."""

from __future__ import annotations

import fcntl
import os
import shutil

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as the console entry points set it

from tests.helpers import TINY

# ----------------------------------------------------------------------------- pytest-xdist
# CI runs the suite on 2 workers (``-n 2``, .ci/run). Each module runs whole on one worker
# (its module fixtures, a Ray cluster, a PulseAudio server or converted models, are built
# once), except the SPREAD modules: their tests need only the session fixtures below, which
# are built once for the whole run (``_built_once``), so their slow tests run side by side.
# The longest go first (LONG_FIRST), so that no worker is left with one at the end.

#: Modules whose tests the workers share out one by one.
SPREAD = ("tests/export/cli/test_export.py", "tests/export/cli/test_train.py")
#: Scheduled first, in this order (node id prefixes): the test that builds the trained and
#: exported bundles, then what needs neither (the other worker's work meanwhile: the
#: 2-minute soak, the Ray cluster, the demo, the full-size conversions), then what needs them.
LONG_FIRST = (
    "tests/export/cli/test_export.py::test_bundle_holds_every_artifact_verified",
    "tests/test_soak.py",
    "tests/export/test_ray_cluster.py",
    "tests/export/cli/test_train.py::test_demo_ends_in_a_bundle_sentio_listen_runs",
    "tests/export/conversion/test_tflite.py",
    "tests/export/cli/test_export_faults.py",
    "tests/export/cli/test_export.py",
    "tests/export/cli/test_train.py",
    "tests/test_mixed_frame_end_to_end.py",
)


def pytest_configure(config):
    # ``-n N`` means ``--dist load``; schedule by the groups below, in the order given.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    def rank(item):
        first = (i for i, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix))
        return next(first, len(LONG_FIRST))

    items.sort(key=rank)  # stable: collection order within a module and among the rest
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        module = item.nodeid.split("::")[0]
        if module not in SPREAD and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(module))


def _built_once(tmp_path_factory, name: str, build):
    """``build(folder)``, a path inside ``folder``, made once per run: under pytest-xdist the
    first worker to ask builds it in the run's common temporary folder while the others wait,
    then every worker uses it; without xdist, in a ``mktemp`` folder."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    common = tmp_path_factory.getbasetemp().parent
    folder, done = common / f"shared-{name}", common / f"shared-{name}.done"
    with open(common / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if done.exists():
            return folder / done.read_text()
        shutil.rmtree(folder, ignore_errors=True)  # what a failed try left
        folder.mkdir()
        result = build(folder)
        done.write_text(str(result.relative_to(folder)))
        return result


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """60 generated songs of 12 s whose valence/arousal are known functions of the sound."""
    from sentio.export.data.synthetic import make_synthetic_dataset

    return _built_once(
        tmp_path_factory,
        "synth",
        lambda folder: make_synthetic_dataset(folder, n_songs=60, duration_s=12.0, seed=0),
    )


@pytest.fixture(scope="session")
def trained_run(synthetic_dataset, tmp_path_factory):
    """A run bundle of ``sentio-train fit`` (window 200, small layers, 25 epochs)."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli.train import main

    def build(folder):
        out = folder / "bundle"
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

    return _built_once(tmp_path_factory, "run", build)


@pytest.fixture(scope="session")
def mixed_bundle(synthetic_dataset, tmp_path_factory):
    """A tiny model on the mixed, level-free frame (``--spec mixed``), trained and exported
    with ``--int8`` (TFLite dynamic and int8, ONNX float and int8; no live conditions): the
    exported bundle's folder."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli.export import main as export_main
    from sentio.export.cli.train import main as train_main

    def build(root):
        fit = ["fit", "--manifest", str(synthetic_dataset), "--spec", "mixed", *TINY]
        assert train_main([*fit, "--epochs", "6", "--seed", "1", "--out", str(root / "run")]) == 0
        export = ["--model", str(root / "run"), "--manifest", str(synthetic_dataset), "--int8"]
        export += ["--calibration-size", "20", "--quiet"]
        export += ["--tflite", "dynamic", "--live-conditions", "none"]  # what the tests read
        assert export_main([*export, "--no-cache", "--out", str(root / "bundle")]) == 0
        return root / "bundle"

    return _built_once(tmp_path_factory, "mixed", build)


@pytest.fixture(scope="session")
def exported(trained_run, synthetic_dataset, tmp_path_factory):
    """``sentio-export --int8`` of ``trained_run``: ``<root>/bundle`` and ``<root>/cal.npz``."""
    from sentio.export.cli.export import main

    def build(root):
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

    return _built_once(tmp_path_factory, "export", build)
