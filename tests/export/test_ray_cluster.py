"""A real two-node Ray cluster on this machine (``ray start --head`` and ``ray start
--address``, one CPU each, each node its own temporary folder), started here and stopped at
the end, also after a failure: analyze and extract on it write what one process writes; a
worker killed mid-run is retried; a node lost mid-run leaves the run to the other; a 2-trial
search runs through Ray Tune."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from sentio.export.analyze.run import AnalyzeConfig, analyze_catalogue  # noqa: E402
from sentio.export.analyze.table import TABLE_JSONL  # noqa: E402
from sentio.export.distributed import RayOptions  # noqa: E402

from benchmarks.ray_cluster import LoopbackCluster, _process_table  # noqa: E402
from tests.helpers import wait_until, write_catalogue  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    # Ray's sockets live under the node's folder: keep the path short (AF_UNIX: 107 bytes)
    root = Path(tempfile.mkdtemp(prefix="sentio-ray-", dir="/tmp"))
    saved = dict(os.environ)
    try:
        with LoopbackCluster(root, nodes=2, cpus=1) as running:
            os.environ.update(running.driver_env)  # how the cluster authenticates
            yield running
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def analyze(music: Path, out: Path, ray_options: RayOptions | None = None):
    return analyze_catalogue(
        AnalyzeConfig((music,), out, workers=1, ray=ray_options, progress=False)
    )


def test_analyze_on_two_nodes_writes_what_one_process_writes(cluster, tmp_path):
    music = tmp_path / "music"
    write_catalogue(music, songs=6)
    (music / "unreadable.wav").write_bytes(b"RIFF\0\0\0\0WAVE")
    analyze(music, tmp_path / "one")
    on_ray = analyze(music, tmp_path / "ray", RayOptions(cluster.address))
    assert on_ray.backend == f"Ray {cluster.address}"
    assert (tmp_path / "ray" / TABLE_JSONL).read_bytes() == (
        tmp_path / "one" / TABLE_JSONL
    ).read_bytes()
    assert len(on_ray.rows) == 6
    assert len(on_ray.nodes) == 2, f"one node did all the work: {on_ray.nodes}"
    ((path, reason),) = on_ray.skipped
    assert path.endswith("unreadable.wav") and "cannot decode" in reason and "node" in reason
    # the re-run resumes: only the unreadable file is tried again
    again = analyze(music, tmp_path / "ray", RayOptions(cluster.address))
    assert (again.resumed, again.analyzed, len(again.skipped)) == (6, 0, 1)


def test_extract_on_two_nodes_equals_one_process(cluster, tmp_path):
    from sentio.export.data.datasets import load_manifest_csv
    from sentio.export.data.extract import extract_songs
    from sentio.export.data.labels import LabelScale
    from sentio.export.data.synthetic import make_synthetic_dataset
    from sentio.runtime.features import FeatureSpec

    dataset = load_manifest_csv(make_synthetic_dataset(tmp_path, 4, 12.0), LabelScale())
    spec = FeatureSpec()
    one = extract_songs(dataset.songs, spec, dataset.skipped, None, workers=1, progress=False)
    on_ray = extract_songs(
        dataset.songs, spec, dataset.skipped, None, progress=False, ray=RayOptions(cluster.address)
    )
    assert list(on_ray.features) == list(one.features)
    for song_id, features in one.features.items():
        np.testing.assert_array_equal(on_ray.features[song_id], features)


def _task_processes(title: str) -> list[int]:
    return [pid for pid, (_, _, cmd) in _process_table().items() if cmd.startswith(title)]


def test_a_worker_killed_mid_run_is_retried_and_the_run_completes(cluster, tmp_path):
    music = tmp_path / "music"
    write_catalogue(music, songs=6, seconds=40.0)
    results = []
    run = threading.Thread(
        target=lambda: results.append(analyze(music, tmp_path / "out", RayOptions(cluster.address)))
    )
    run.start()
    try:
        wait_until(lambda: _task_processes("ray::ray_analyze"), 60, "a running analyze task")
        os.kill(_task_processes("ray::ray_analyze")[0], signal.SIGKILL)
    finally:
        run.join(120)
    (result,) = results
    assert (len(result.rows), result.skipped) == (6, [])


@pytest.mark.slow
def test_a_two_trial_search_runs_through_ray_tune(cluster, tmp_path):
    """Trains two tiny models as Tune trials of one CPU each (the cluster has two). The library
    call, not the CLI: the driver then never imports TensorFlow (only the trials do); the
    CLI's --ray is tested in test_distributed.py."""
    pytest.importorskip("keras")
    from sentio.export.data.sources import DataOptions
    from sentio.export.data.synthetic import make_synthetic_dataset
    from sentio.export.model.config import TrainConfig
    from sentio.export.model.crnn import CRNNConfig
    from sentio.export.model.search import SearchConfig, run_search
    from sentio.runtime.features import FeatureSpec

    songs = make_synthetic_dataset(tmp_path / "data", n_songs=16, duration_s=6.0)
    data = DataOptions("manifest", songs, cache_dir=None, window=100, stride=100, progress=False)
    spec = FeatureSpec()
    model = CRNNConfig(
        window_frames=100,
        n_features=spec.n_features,
        conv_filters=(4, 4, 8, 8),
        lstm_units=(8, 8),
        dense_units=(8, 4),
    )
    search = SearchConfig("grid", trials=2, space={"dropout": [0.0, 0.2]})
    events = []
    result = run_search(
        search,
        data,
        spec,
        model,
        TrainConfig(epochs=1),
        tmp_path / "out",
        lambda event, **details: events.append(event),
        ray=RayOptions(cluster.address),
    )
    assert [r["params"]["dropout"] for r in result.rows] == [0.0, 0.2]
    assert all(np.isfinite(r["score"]) for r in result.rows)
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == result.rows
    assert "| rank |" in result.table and "val CCC V" in result.table
    assert sorted(events) == ["done", "done", "start", "start"]
    assert (tmp_path / "out" / "tune" / "search").is_dir()  # Tune's own record of the trials


def test_a_node_lost_mid_run_leaves_the_run_to_the_other(cluster, tmp_path):
    """Last in this file: the cluster has one node from here on."""
    music = tmp_path / "music"
    write_catalogue(music, songs=8, seconds=40.0)
    results = []
    run = threading.Thread(
        target=lambda: results.append(analyze(music, tmp_path / "out", RayOptions(cluster.address)))
    )
    run.start()
    try:
        journal = tmp_path / "out" / "analysis.journal.jsonl"
        wait_until(lambda: journal.exists() and journal.read_text().strip(), 60, "a row")
        cluster.kill_node(1)
    finally:
        run.join(180)
    (result,) = results
    lost = [path for path, _ in result.skipped]
    assert len(result.rows) + len(lost) == 8
    # whatever Ray could not re-run is for the re-run, which the head alone finishes
    again = analyze(music, tmp_path / "out", RayOptions(cluster.address))
    assert len(again.rows) == 8 and again.skipped == []
