"""The live-conditions harness: scores, the sign AUC, the gate, and the device path it runs."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sentio.export.data.conditions import CONDITIONS
from sentio.export.data.datasets import Song
from sentio.export.data.synthetic import synth_song
from sentio.export.evaluation.robustness import (
    CLEAN,
    LiveLimits,
    RobustnessConfig,
    bundle_songs,
    device_prediction,
    generated_songs,
    score,
    score_bundle,
)
from sentio.export.model.metrics import auc
from sentio.runtime.errors import ConfigError, DatasetError
from sentio.runtime.features import FeatureSpec

RATE = 22050


class LevelModel:
    """A stand-in model whose valence follows the log energy (c0: the level) and whose
    arousal follows the spectral tilt (c1): level and EQ both move it, as they move the MFCC
    frame of the shipped model."""

    spec = FeatureSpec()
    window = 100  # frames: 2 s
    artifact = "fake.tflite"

    def predict(self, features):
        return np.tanh([features[:, 0].mean() / 20 + 0.5, features[:, 1].mean() / 20])


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    rng = np.random.default_rng(0)
    out = []
    for i in range(6):
        valence, arousal = rng.uniform(-1, 1, 2)
        path = folder / f"s{i}.wav"
        soundfile.write(path, synth_song(valence, arousal, 4.5, RATE, seed=i), RATE)
        out.append(Song(f"s{i}", path, float(valence), float(arousal)))
    return out


def test_auc_matches_counting_pairs_with_ties_as_half():
    rng = np.random.default_rng(1)
    signs = rng.choice([-1.0, 1.0], 40)
    scores = np.round(rng.normal(0, 1, 40) + 0.5 * signs, 1)  # rounded: ties
    pos, neg = scores[signs > 0], scores[signs < 0]
    pairs = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    assert auc(signs, scores) == pytest.approx(pairs)
    assert np.isnan(auc(np.ones(5), np.arange(5.0)))


def test_level_moves_a_level_dependent_model_and_clean_is_the_reference(songs):
    config = RobustnessConfig(conditions="level+0dB,level-24dB,capture-48000", hop_s=1.0)
    result = score(LevelModel(), songs, config, data="six songs")
    assert result.songs == 6 and not result.skipped and result.artifact == "fake.tflite"
    assert result.metric == {"valence": "ccc", "arousal": "ccc"}
    assert result.clean.shift == {"valence": 0.0, "arousal": 0.0}
    rows = {r.name: r for r in result.conditions}
    assert rows["level+0dB"].shift["valence"] == 0.0  # 0 dB is the clean signal again
    level = rows["level-24dB"]
    assert level.shift["valence"] > 0.2 and level.bias["valence"] < 0  # quieter: lower c0
    assert level.drop["valence"] == pytest.approx(
        result.clean.accuracy["valence"] - level.accuracy["valence"]
    )
    assert rows["capture-48000"].correlation["valence"] > 0.9
    assert result.passed  # no limits: report only
    assert set(result.predictions) == {CLEAN, *rows}
    assert all(p.shape == (6, 2) for p in result.predictions.values())
    text = result.markdown()
    assert "| level-24dB |" in text and "every 1 s" in text and "report only" in text
    json.dumps(result.to_dict())  # NaN-free, plain JSON


def test_the_gate_fails_a_condition_over_its_limits_and_passes_within_them(songs):
    strict = RobustnessConfig("level-24dB", limits=LiveLimits(accuracy=0.03, shift=0.06))
    result = score(LevelModel(), songs, strict)
    assert not result.passed
    assert any("valence moved" in f for f in result.failures)
    assert "FAIL" in result.table() and result.to_dict()["gate"] == "fail"
    loose = score(LevelModel(), songs, RobustnessConfig("level-24dB", limits=LiveLimits(9, 9)))
    assert loose.passed and "| pass |" in loose.table()


def test_sign_labels_are_scored_by_auc(songs):
    signs = [Song(s.song_id, s.path, np.sign(s.valence), s.arousal) for s in songs]
    result = score(LevelModel(), signs, RobustnessConfig("level-12dB"))
    assert result.metric == {"valence": "auc", "arousal": "ccc"}
    assert "V AUC" in result.table() and "A CCC" in result.table()


def test_several_datasets_are_scored_each_on_its_own_metric(songs):
    """Emotify's values by CCC, 4Q's signs by AUC: never one metric over both."""
    mixed = [
        Song(s.song_id, s.path, s.valence, s.arousal, dataset="emotify") for s in songs[:3]
    ] + [
        Song(
            s.song_id, s.path, np.sign(s.valence), np.sign(s.arousal), sign_only=True, dataset="4q"
        )
        for s in songs[3:]
    ]
    result = score(LevelModel(), mixed, RobustnessConfig("level-24dB", hop_s=1.0))
    assert result.dataset_metric == {
        "4q": {"valence": "auc", "arousal": "auc"},
        "emotify": {"valence": "ccc", "arousal": "ccc"},
    }
    assert result.metric == {"valence": "mean", "arousal": "mean"}
    level = result.conditions[0]
    per = {name: rows[1] for name, rows in result.by_dataset.items()}
    for dim in ("valence", "arousal"):
        values = [r.accuracy[dim] for r in per.values() if not np.isnan(r.accuracy[dim])]
        assert level.accuracy[dim] == pytest.approx(np.mean(values))
        drops = [r.drop[dim] for r in per.values() if not np.isnan(r.drop[dim])]
        assert level.drop[dim] == pytest.approx(max(drops))
    emotify = score(LevelModel(), mixed[:3], RobustnessConfig("level-24dB", hop_s=1.0))
    assert per["emotify"].accuracy == pytest.approx(emotify.conditions[0].accuracy)
    text = result.markdown()
    assert "Per dataset" in text and "| 4q | level-24dB | 3 |" in text
    assert (
        json.loads(json.dumps(result.to_dict()))["by_dataset"]["4q"]["metric"]["valence"] == "auc"
    )


def test_songs_shorter_than_a_window_or_undecodable_are_skipped_and_counted(songs, tmp_path):
    short = tmp_path / "short.wav"
    soundfile.write(short, synth_song(0, 0, 1.0, RATE, seed=9), RATE)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    extra = [Song("short", short, 0.0, 0.0), Song("bad", bad, 0.0, 0.0)]
    result = score(LevelModel(), [*songs[:3], *extra], RobustnessConfig("speaker"))
    assert result.songs == 3
    assert [s for s, _ in result.skipped] == ["short", "bad"]
    assert "shorter than a window" in result.markdown()
    with pytest.raises(DatasetError, match="no song to score"):
        score(LevelModel(), extra, RobustnessConfig("speaker"))
    with pytest.raises(ConfigError, match="unknown live condition"):
        score(LevelModel(), songs, RobustnessConfig("hall"))
    with pytest.raises(ConfigError, match="hop"):
        score(LevelModel(), songs, RobustnessConfig("speaker", hop_s=0))


def test_live_limits_parse_like_max_drop():
    assert LiveLimits.parse("shift=0.1") == LiveLimits(accuracy=0.03, shift=0.1)
    with pytest.raises(ConfigError, match=r"bad export\.live_limits item"):
        LiveLimits.parse("ccc=0.1")
    with pytest.raises(ConfigError, match=r"bad export\.live_limits value"):
        LiveLimits.parse("shift=x")


# ------------------------------------------------------------------ a real exported bundle


def test_the_harness_predicts_what_the_engine_predicts(exported, songs):
    """The device path (resample from the capture rate, features, windows, BundleModel) is
    the runtime's: a 48 kHz capture pushed through Engine gives the same song mean."""
    from sentio.runtime.audio import load_audio
    from sentio.runtime.engine import Engine
    from sentio.runtime.model import BundleModel

    model = BundleModel(exported / "bundle")
    hop_s = 1.0
    rendered = CONDITIONS["capture-48000"].render(load_audio(songs[0].path, RATE), RATE)
    engine = Engine(model, hop_s=hop_s, first_s=None, changes=False)  # whole windows
    raw = engine.process(rendered.samples, rendered.rate) + engine.flush()
    via_engine = np.mean([[p.valence_raw, p.arousal_raw] for p in raw], axis=0)
    hop_frames = round(hop_s * model.spec.frames_per_second)
    np.testing.assert_allclose(
        device_prediction(model, rendered, hop_frames), via_engine, atol=2e-3
    )


def test_a_bundle_is_scored_on_its_test_split(exported, trained_run, synthetic_dataset):
    from sentio.export.data.sources import DataOptions
    from sentio.runtime.manifest import load

    manifest = load(exported / "bundle")
    options = DataOptions("manifest", synthetic_dataset, cache_dir=None, progress=False)
    chosen, data = bundle_songs(manifest, options)
    assert {s.song_id for s in chosen} == set(manifest.data.splits["test"])
    assert data.endswith("test split")
    result = score_bundle(exported / "bundle", chosen, RobustnessConfig("level-12dB"), data)
    assert result.artifact == manifest.default_artifact and result.songs == len(chosen)


def test_generated_songs_are_two_and_a_half_windows_long(tmp_path):
    made = generated_songs(FeatureSpec(), 4.0, Path(tmp_path), n_songs=3)
    assert len(made) == 3
    info = soundfile.info(made[0].path)
    assert info.samplerate == RATE and info.duration == pytest.approx(10.0, abs=0.01)
