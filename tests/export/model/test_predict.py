"""Typed scores per window, per song, per group and per dataset, and their tables."""

from pathlib import Path

import numpy as np
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.model.predict import (
    Evaluation,
    datasets_table,
    evaluate_predictions,
    level,
    metrics_table,
)
from sentio.runtime.manifest import Manifest, Metrics, Scores, as_json


def _songs(rng):
    songs, predictions = [], []
    for i in range(12):
        sign_only = i >= 8
        v, a = rng.choice([-1.0, 1.0], 2) if sign_only else rng.uniform(-1, 1, 2)
        song = Song(
            f"s{i}",
            Path(f"s{i}.wav"),
            v,
            a,
            group="rock" if i % 2 else "pop",
            sign_only=sign_only,
            dataset="4q" if sign_only else "emotify",
        )
        songs.append(SongWindows(song, np.zeros((10, 4), np.float32), np.arange(3)))
        predictions.append(np.array([[v, a]] * 3, np.float32) + rng.normal(0, 0.2, (3, 2)))
    return songs, predictions


def test_a_split_is_scored_per_window_song_group_and_dataset():
    songs, predictions = _songs(np.random.default_rng(0))
    split = evaluate_predictions(songs, predictions, threshold=0.5)
    assert (split.windows.n, split.songs.n) == (24, 8)  # the valued songs only
    assert split.songs.dimension("valence").ccc > 0.5 and not split.songs.signs_only
    assert set(split.groups) == {"pop", "rock"}
    assert split.datasets["4q"].signs_only and split.datasets["4q"].n == 4
    assert split.datasets["emotify"].n == 8 and len(split.per_song) == 12
    assert evaluate_predictions([], []).songs == Scores()


def test_the_manifest_records_the_scores_without_groups_or_songs():
    songs, predictions = _songs(np.random.default_rng(1))
    split = evaluate_predictions(songs, predictions)
    evaluation = Evaluation(test=split)
    metrics = evaluation.scores()
    assert type(metrics) is Metrics and list(metrics.splits()) == ["test"]
    plain = as_json(metrics)
    assert set(plain["test"]) == {"windows", "songs", "datasets"}
    assert "groups" in as_json(evaluation)["test"]  # metrics.json keeps them
    from tests.helpers import tiny_manifest

    manifest = tiny_manifest(metrics=metrics)
    assert Manifest.from_dict(manifest.to_dict()).metrics == metrics


def test_tables_show_each_split_and_dataset():
    songs, predictions = _songs(np.random.default_rng(2))
    evaluation = Evaluation(train=evaluate_predictions(songs, predictions), test=Evaluation().test)
    table = metrics_table(level(evaluation, "songs"), title="per song")
    assert table.splitlines()[0] == "per song" and "train" in table
    text = datasets_table(evaluation)
    assert "AUC V" in text and "CCC V" in text
