"""Changes of music: the detector finds the same changes whatever the pieces the frames come
in, a silence and back starts a new estimate, silence holds the output (issue 15)."""

import numpy as np
import pytest
from sentio.export.data.synthetic import synth_song
from sentio.runtime import Engine
from sentio.runtime.changes import ChangeDetector, ChangeSettings, find_changes
from sentio.runtime.engine import offline_predictions
from sentio.runtime.errors import ConfigError
from sentio.runtime.model import BundleModel

from tests.helpers import random_chunks

FPS = 50.0


@pytest.fixture(scope="module")
def model():
    return BundleModel(artifact="model_float32.tflite")


def _three_moods(rng):
    """Frames whose distribution shifts twice (at 600 and 1200), with a silent gap."""
    parts = [rng.normal(m, 1.0, size=(600, 4)) for m in (0.0, 2.5, -2.0)]
    frames = np.concatenate(parts).astype(np.float32)
    silent = np.zeros(len(frames), bool)
    silent[1500:1540] = True
    return frames, silent


@pytest.mark.parametrize("seed", range(3))
def test_the_detector_finds_the_same_changes_in_any_pieces(seed):
    rng = np.random.default_rng(seed)
    frames, silent = _three_moods(rng)
    settings = ChangeSettings(novelty=True)
    whole = find_changes(frames, silent, settings, FPS)
    detector, found, i = ChangeDetector(settings, FPS), [], 0
    while i < len(frames):
        n = int(rng.integers(1, 400))
        found += detector.push(frames[i : i + n], silent[i : i + n])
        i += n
    assert found == whole
    starts = [start for _, start in whole]
    # both shifts found within the 3 s span that reveals them, and the end of the silence
    assert any(500 <= s <= 610 for s in starts) and any(1100 <= s <= 1210 for s in starts)
    assert (1541, 1540) in whole
    assert all(found_at > start for found_at, start in whole)


def test_without_novelty_only_silence_and_back_is_a_change():
    frames, silent = _three_moods(np.random.default_rng(0))
    assert find_changes(frames, silent, ChangeSettings(), FPS) == [(1541, 1540)]
    assert find_changes(frames, silent, ChangeSettings(enabled=False), FPS) == []


@pytest.mark.parametrize(
    "field", [{"recent_s": 0}, {"threshold": float("nan")}, {"persist": 0}, {"min_jump": -1}]
)
def test_settings_that_cannot_work_are_refused(field):
    with pytest.raises(ConfigError):
        ChangeSettings(**field)


@pytest.mark.parametrize("seed", range(2))
def test_a_silence_between_songs_restarts_the_estimate_and_holds_the_output(model, seed):
    rate = model.spec.sample_rate
    a = synth_song(0.7, 0.6, 8.0, rate, seed=1)
    b = synth_song(-0.6, -0.5, 8.0, rate, seed=2)
    audio = np.concatenate([a, np.zeros(2 * rate, np.float32), b]).astype(np.float32)
    engine = Engine(model, smooth_s=2.0)
    got = []
    for block in random_chunks(audio, np.random.default_rng(seed), rate):
        got += engine.process(block, rate)
    got += engine.flush()
    ends, raw = offline_predictions(model, audio)
    assert [round(p.t * 50) for p in got] == [end for end, _ in ends]
    np.testing.assert_allclose([[p.valence_raw, p.arousal_raw] for p in got], raw, atol=1e-5)
    silent = [p for p in got if p.silent]
    assert silent, "2 s of digital silence gives silent predictions"
    before = [p for p in got if p.t <= 8.0][-1]
    assert all((p.valence, p.arousal) == (before.valence, before.arousal) for p in silent)
    (change,) = [p for p in got if p.change]
    assert 10.0 < change.t <= 13.5 and change.partial and change.window_s <= 3.5
    # the new estimate starts from the change: smoothing does not carry song A over
    assert (change.valence, change.arousal) == (change.valence_raw, change.arousal_raw)


def test_room_tone_under_the_silence_level_holds_the_output(model):
    """The level-free frame reads quiet room noise as music; a silence level above it makes
    it silence: held output, and the music after it starts a new estimate."""
    rate = model.spec.sample_rate
    rng = np.random.default_rng(0)
    song = synth_song(0.6, 0.5, 8.0, rate, seed=3).astype(np.float32)
    tone = (10 ** (-60 / 20) * rng.normal(size=3 * rate)).astype(np.float32)  # ~-60 dBFS RMS
    audio = np.concatenate([song, tone, song])
    default = Engine(model).process(audio, rate)
    assert not any(p.silent for p in default) and not any(p.change for p in default)
    quiet = Engine(model, silence_dbfs=-40.0).process(audio, rate)
    assert any(p.silent for p in quiet)
    held = [p for p in quiet if p.silent]
    assert len({(p.valence, p.arousal) for p in held}) == 1
    assert [p.t > 11.0 for p in quiet if p.change] == [True]


@pytest.mark.parametrize("level", [1.0, -200.0, float("nan")])
def test_a_silence_level_that_cannot_work_is_refused(model, level):
    with pytest.raises(ConfigError, match="silence"):
        Engine(model, silence_dbfs=level)
