"""benchmarks/cv_seeds: seed spread and the seeds' mean from CV reports."""

import json

import numpy as np
from sentio.export.data.datasets import Song

from benchmarks.cv_seeds import recipe_rows, scores


def _truth_and_reports(tmp_path):
    rng = np.random.default_rng(0)
    truth, seeds = {}, {0: {}, 1: {}}
    for q, (v, a) in enumerate([(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        for i in range(10):
            song = Song(f"4q/{q}-{i}", None, v, a, sign_only=True, dataset="4q")
            truth[song.song_id] = song
            for seed in seeds:  # right signs, seed noise
                seeds[seed][song.song_id] = [0.3 * v + rng.normal(0, 0.2), 0.3 * a]
    for i in range(10):
        song = Song(f"emotify/{i}", None, i / 10 - 0.5, 0.5 - i / 10, dataset="emotify")
        truth[song.song_id] = song
        for seed in seeds:
            seeds[seed][song.song_id] = [song.valence + rng.normal(0, 0.1), song.arousal]
    paths = []
    for seed, pooled in seeds.items():
        path = tmp_path / f"run_s{seed}.json"
        path.write_text(json.dumps({"pooled": {str(seed): pooled}}))
        paths.append(path)
    return truth, paths


def test_each_seed_the_spread_and_the_mean_are_reported(tmp_path):
    truth, paths = _truth_and_reports(tmp_path)
    rows = recipe_rows("r", paths, truth)
    assert [r.split(" | ")[0] for r in rows[:2]] == ["| r, run_s0:0", "| r, run_s1:1"]
    assert "seed spread" in rows[2] and "mean of 2 seeds" in rows[3]
    assert "per-song |seed difference|" in rows[4]
    spread = [float(x) for x in rows[2].strip("| ").split(" | ")[1:]]
    assert all(x >= 0 for x in spread)
    assert spread[1] == 0.0  # arousal predictions identical across seeds


def test_scores_read_signs_for_4q_and_values_for_emotify(tmp_path):
    truth, paths = _truth_and_reports(tmp_path)
    pooled = json.loads(paths[0].read_text())["pooled"]["0"]
    s = scores({k: np.asarray(v) for k, v in pooled.items()}, truth)
    assert s["arousal_auc"] == 1.0 and s["ccc_arousal"] > 0.99
    assert 0.5 < s["valence_auc"] <= 1.0 and s["ccc_valence"] > 0.8
