"""Cross-validation: the holdout is never trained on or scored, folds are artist-disjoint,
every song is scored once out of fold per seed, and label choices change training only."""

import numpy as np
import pytest
from sentio.export.data.datasets import Dataset, SkipLog, Song
from sentio.export.data.labels import LabelScale
from sentio.export.data.windows import prepare
from sentio.export.evaluation.cv import (
    CVConfig,
    LabelConfig,
    cross_validate,
    cv_report,
    development_and_test,
    training_labels,
)
from sentio.export.evaluation.probe import ridge_probe
from sentio.runtime.errors import DatasetError
from sentio.runtime.features import FeatureSpec

WINDOW = 20


def _dataset(seed=0):
    """4Q-like songs (signs, artists of 1-4 clips) and Emotify-like songs (values, offset
    +0.3 in valence); feature 0 carries valence, feature 1 arousal, plus noise columns."""
    rng = np.random.default_rng(seed)
    songs, features = [], {}
    for q, (v, a) in enumerate([(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        for artist in range(12):
            for clip in range(int(rng.integers(1, 5))):
                song_id = f"4q/q{q}a{artist}c{clip}"
                songs.append(
                    Song(song_id, None, v, a, sign_only=True, dataset="4q", artist=f"q{q}a{artist}")
                )
                features[song_id] = _frames(rng, v, a)
    for i in range(80):
        v, a = rng.uniform(-0.6, 0.6, 2)
        songs.append(
            Song(f"emotify/{i}", None, float(np.clip(v + 0.3, -1, 1)), a, dataset="emotify")
        )
        features[f"emotify/{i}"] = _frames(rng, v, a)
    return Dataset("emotify+4q", songs, SkipLog(), LabelScale()), features


def _frames(rng, v, a):
    frames = rng.normal(0, 1, (WINDOW * 2, 4)).astype(np.float32)
    frames[:, 0] += 2.0 * v
    frames[:, 1] += 2.0 * a
    return frames


CONFIG = CVConfig(folds=4, seeds=(0,), window=WINDOW, stride=WINDOW)


def test_holdout_is_balanced_and_never_in_a_fold():
    dataset, features = _dataset()
    development, test = development_and_test(dataset.songs, 0.2, seed=0)
    assert {s.song_id for s in development}.isdisjoint(s.song_id for s in test)
    artists_test = {s.artist for s in test if s.artist}
    assert artists_test.isdisjoint(s.artist for s in development if s.artist)
    result = cross_validate(
        dataset, features, ridge_probe, CVConfig(**{**CONFIG.__dict__, "holdout": 0.2})
    )
    scored = set(result.pooled[0])
    assert scored == {s.song_id for s in development}  # every development song once, no test song
    assert len(result.folds) == 4


def test_probe_under_cv_learns_the_signs_and_reports_per_quadrant_recall():
    dataset, features = _dataset()
    result = cross_validate(dataset, features, ridge_probe, CONFIG)
    assert np.mean(result.values("valence_auc")) > 0.9
    assert np.mean(result.values("recall_sad")) > 0.7
    assert np.mean(result.values("recall_sad", in_sample=True)) > 0.7
    assert np.mean(result.values("ccc_arousal")) > 0.5
    pooled, intervals = result.pooled_fourq(seed=0, n_resamples=100)
    low, high = intervals["sad_vs_calm"]
    assert low <= pooled.sad_vs_calm <= high


def test_a_second_seed_doubles_the_folds():
    dataset, features = _dataset()
    result = cross_validate(
        dataset, features, ridge_probe, CVConfig(**{**CONFIG.__dict__, "seeds": (0, 1)})
    )
    assert [f.seed for f in result.folds] == [0] * 4 + [1] * 4


def test_centering_removes_a_valued_datasets_offset_and_leaves_signs():
    dataset, _ = _dataset()
    centred = training_labels(dataset.songs, LabelConfig(center=True))
    emotify = [s.valence for s in centred if s.dataset == "emotify"]
    assert abs(np.mean(emotify)) < 0.02
    assert np.mean([s.valence for s in dataset.songs if s.dataset == "emotify"]) > 0.2
    signs = [(s.valence, s.arousal) for s in centred if s.sign_only]
    assert signs == [(s.valence, s.arousal) for s in dataset.songs if s.sign_only]


def test_fewer_than_two_folds_is_refused():
    dataset, features = _dataset()
    with pytest.raises(ValueError, match="at least 2 folds"):
        cross_validate(dataset, features, ridge_probe, CVConfig(folds=1, window=WINDOW))


def test_songs_left_out_are_scored_through_their_device_copies_and_first_seconds():
    dataset, features = _dataset()
    same = {k: [f.copy()] for k, f in features.items()}
    result = cross_validate(dataset, features, ridge_probe, CONFIG, copies=same)
    live = result.folds[0].live
    assert live.shift_valence == pytest.approx(0.0, abs=1e-6)
    assert live.r_arousal == pytest.approx(1.0)
    assert live.accuracy_drop == pytest.approx(0.0, abs=1e-9)
    assert 0.0 <= live.short_within <= 1.0 and live.short_gap >= 0.0

    rng = np.random.default_rng(1)
    noisy = {k: [f + rng.normal(0, 3.0, f.shape).astype(np.float32)] for k, f in features.items()}
    moved = cross_validate(dataset, features, ridge_probe, CONFIG, copies=noisy)
    assert moved.values("shift_valence").mean() > 0.05
    assert moved.values("r_valence").mean() < 0.99
    assert np.isnan(moved.values("shift_valence", in_sample=True)).all()  # out of fold only
    assert "device shift V" in cv_report("noisy", moved, 1.0, n_resamples=20)


def test_without_copies_only_the_first_seconds_are_scored():
    dataset, features = _dataset()
    result = cross_validate(dataset, features, ridge_probe, CONFIG)
    live = result.folds[0].live
    assert np.isnan(live.shift_valence) and np.isfinite(live.short_within)


def test_the_holdout_split_scheme_tests_on_the_songs_cv_never_sees():
    """``data.split = "holdout"``: a fit's test split is exactly CV's untouched holdout, so a
    recipe chosen under CV is scored on songs no choice looked at; train and val are dealt
    from the development songs by artist, and every song lands in one split."""
    dataset, features = _dataset()
    development, held = development_and_test(dataset.songs, 0.15, seed=3)
    prepared = prepare(dataset, features, FeatureSpec(), WINDOW, WINDOW, seed=3, split="holdout")
    splits = {name: [w.song for w in part] for name, part in prepared.splits.items()}
    assert {s.song_id for s in splits["test"]} == {s.song_id for s in held}
    assert {s.song_id for s in splits["train"] + splits["val"]} == {s.song_id for s in development}
    train_artists = {s.artist for s in splits["train"] if s.artist}
    assert train_artists.isdisjoint(s.artist for s in splits["val"] if s.artist)
    assert sum(len(p) for p in splits.values()) == len(dataset.songs)
    plain = prepare(dataset, features, FeatureSpec(), WINDOW, WINDOW, seed=3)
    assert {w.song.song_id for w in plain.splits["test"]} != {s.song_id for s in held}
    with pytest.raises(DatasetError, match="split scheme"):
        prepare(dataset, features, FeatureSpec(), WINDOW, WINDOW, split="random")
