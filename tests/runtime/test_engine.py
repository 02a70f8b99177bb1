"""The push-audio engine: whatever the block sizes, its predictions are the listener's and the
offline pipeline's; sample rates, integer PCM, the end of a stream and level flags behave."""

import numpy as np
import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime import Engine, Listener
from sentio.runtime.audio import to_mono
from sentio.runtime.engine import offline_predictions as whole_signal
from sentio.runtime.errors import ConfigError
from sentio.runtime.model import BundleModel

from tests.helpers import offline_predictions, random_chunks

RATE = 44100


@pytest.fixture(scope="module")
def model():
    return BundleModel(artifact="model_float32.tflite")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """15 s of generated music at 44.1 kHz stereo (the engine must resample and mix)."""
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    left = synth_song(0.6, -0.4, 7.5, RATE, seed=1)
    right = synth_song(-0.5, 0.7, 7.5, RATE, seed=2)
    stereo = np.stack([np.concatenate([left, right]), np.concatenate([right, left])], axis=1)
    soundfile.write(path, 0.8 * stereo, RATE, subtype="FLOAT")
    return path


def pushed(engine, blocks, rate=RATE):
    out = []
    for block in blocks:
        out += engine.process(block, rate)
    return out + engine.flush()


def as_dicts(predictions):
    return [p.to_dict() | {"compute_ms": 0} for p in predictions]


@pytest.mark.parametrize("seed", range(3))
def test_any_block_sizes_give_the_offline_predictions(model, song, seed):
    audio, rate = soundfile.read(song, dtype="float32")
    engine = Engine(model)
    blocks = random_chunks(audio, np.random.default_rng(seed), 2 * rate)
    got = pushed(engine, blocks, rate)
    starts, expected = offline_predictions(model, song, engine.hop_frames)
    assert len(got) == len(starts) == 24  # partial from 3 s, whole windows from 12 s
    np.testing.assert_allclose([[p.valence_raw, p.arousal_raw] for p in got], expected, atol=1e-5)
    np.testing.assert_allclose(
        [p.t for p in got], (starts + model.window) / model.spec.frames_per_second
    )
    assert engine.stats.windows == 24 and engine.stats.audio_s == pytest.approx(15.0)


def test_the_listener_is_a_source_feeding_the_engine(model, song):
    """Fed the blocks the listener's file source reads, the engine gives the listener's output
    field by field (levels included: they are kept per block)."""
    listener = Listener.from_file(song, model, hop_s=1.0, smooth_s=2.0)
    from_listener = list(listener)
    engine = Engine(model, hop_s=1.0, smooth_s=2.0)
    with soundfile.SoundFile(str(song)) as fh:
        blocks = [to_mono(b) for b in fh.blocks(listener.source.block, dtype="float32")]
    assert as_dicts(pushed(engine, blocks)) == as_dicts(from_listener)
    assert listener.stats.windows == engine.stats.windows == 12


def test_integer_pcm_and_float_give_the_same_predictions(model):
    pcm = (synth_song(0.3, 0.3, 13.0, 16000, seed=4) * 20000).astype(np.int16)
    as_int = pushed(Engine(model), np.array_split(pcm, 7), 16000)
    as_float = pushed(Engine(model), np.array_split(pcm / np.float32(32768), 7), 16000)
    assert len(as_int) == 20 and as_dicts(as_int) == as_dicts(as_float)  # 18 partial, 2 whole


def test_flush_yields_the_last_window(model):
    """A signal whose last frame ends on its last sample: the resampler holds the end back
    until the stream is flushed."""
    spec = model.spec
    samples = (model.window - 1) * spec.frame_step + spec.frame_length  # at 22,050 Hz
    audio = synth_song(-0.2, 0.5, 2 * samples / RATE, RATE, seed=6)[: 2 * samples]
    assert audio.size == 2 * samples
    engine = Engine(model, first_s=None, changes=False)
    assert engine.process(audio, RATE) == []
    (last,) = engine.flush()
    assert last.t == pytest.approx(engine.window_s) == pytest.approx(12.0)
    assert engine.flush() == []
    # at the model's own rate nothing is held back
    direct = Engine(model, first_s=None, changes=False)
    assert len(direct.process(audio[::2], spec.sample_rate)) == 1 and direct.flush() == []


def test_the_rate_is_fixed_per_stream_and_reset_starts_a_new_one(model):
    engine = Engine(model)
    engine.process(np.zeros(1000, np.float32), 48000)
    assert engine.sample_rate == 48000
    with pytest.raises(ConfigError, match="48000 Hz to 44100 Hz") as info:
        engine.process(np.zeros(1000, np.float32), 44100)
    assert "reset()" in info.value.hint
    engine.flush()
    with pytest.raises(ConfigError, match="flush"):
        engine.process(np.zeros(10, np.float32), 48000)
    engine.reset()
    assert engine.sample_rate is None and engine.stats.windows == 0
    first = engine.process(np.zeros(13 * 44100, np.float32), 44100)
    assert first[0].t == pytest.approx(3.0)  # times start again from 0 (first estimate: 3 s)


@pytest.mark.parametrize("rate", [0, -8000, 44100.5, True])
def test_a_bad_rate_is_a_clear_error(model, rate):
    with pytest.raises(ConfigError, match="sample rate"):
        Engine(model).process(np.zeros(10, np.float32), rate)


@pytest.mark.parametrize(
    "samples", [np.zeros((2, 2, 2), np.float32), np.zeros(10, np.uint8), np.array(["a"])]
)
def test_what_is_not_audio_is_refused(model, samples):
    with pytest.raises(ConfigError):
        Engine(model).process(samples, 22050)


def test_silence_and_clipping_are_flagged(model):
    rate = model.spec.sample_rate
    loud = np.clip(4 * synth_song(0.5, 0.9, 13.0, rate, seed=7), -1, 1)
    engine = Engine(model, hop_s=1.0)
    quiet = engine.process(np.zeros(13 * rate, np.float32), rate)
    assert quiet[0].silent and quiet[0].peak_dbfs == -120.0 and quiet[0].clipped == 0
    engine.reset()
    clipped = engine.process(loud, rate)
    assert not clipped[0].silent and clipped[0].clipped > 0 and clipped[0].peak_dbfs > -0.1


def test_silence_before_any_sound_reads_silent_not_a_mood(model):
    """Issue 22 (minor): all-zero audio was labelled happy/excited, the quadrant of (0, 0)."""
    rate = model.spec.sample_rate
    engine = Engine(model, hop_s=1.0)
    quiet = engine.process(np.zeros(14 * rate, np.float32), rate)
    assert quiet and all(p.silent and p.quadrant == "silent" for p in quiet)
    assert all(p.valence == p.arousal == 0.0 for p in quiet)
    # music, then silence: the output holds the music's value and its quadrant
    engine.reset()
    music = engine.process(synth_song(-0.7, -0.7, 13.0, rate, seed=2), rate)
    after = music + engine.process(np.zeros(4 * rate, np.float32), rate)
    last_heard = [p for p in after if not p.silent][-1]
    held = [p for p in after if p.silent]
    assert held and {p.quadrant for p in held} == {last_heard.quadrant} != {"silent"}


def test_hop_and_model_defaults():
    engine = Engine()  # the bundled model, its hop
    assert engine.model.path == BundleModel().path
    assert engine.hop_s == engine.model.manifest.window.default_hop_s == 0.5
    assert Engine(engine.model, hop_s=0.31).hop_frames == 16  # rounded to whole frames
    with pytest.raises(ConfigError, match="hop"):
        Engine(engine.model, hop_s=0)
    with pytest.raises(ConfigError, match="smoothing"):
        Engine(engine.model, smooth_s=-1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hop_s": float("inf")}, "hop_s must be finite"),  # was an OverflowError traceback
        ({"hop_s": float("nan")}, "hop_s must be finite"),
        ({"hop_s": -1.0}, "hop must be positive"),
        ({"hop_s": "fast"}, "hop_s must be a number"),
        ({"smooth_s": float("inf")}, "smooth_s must be finite"),  # froze the output
        ({"smooth_s": float("nan")}, "smooth_s must be finite"),  # printed "valence": NaN
        ({"smooth_s": -0.5}, "smoothing must be 0"),
        # issue 22 (minor): 1e-9 gave an estimate on 0.5 s of audio, a 0.5 s file none
        ({"first_s": 1e-9}, "at least 1 s of audio"),
        ({"first_s": 0.5}, "at least 1 s of audio"),
    ],
)
def test_a_hop_or_smoothing_that_cannot_work_is_refused_before_the_model_loads(
    tmp_path, options, message
):
    # a folder that is no bundle: the options must be refused before anything loads it
    with pytest.raises(ConfigError, match=message):
        Engine(tmp_path / "not-a-bundle", **options)
    with pytest.raises(ConfigError, match=message):
        Listener.from_file(tmp_path / "never-opened.wav", tmp_path / "not-a-bundle", **options)


def test_non_finite_samples_are_refused(model):
    samples = np.zeros(22050, np.float32)
    samples[100] = np.nan
    engine = Engine(model)
    with pytest.raises(ConfigError, match="NaN or infinite"):
        engine.process(samples, 22050)


def test_a_model_that_returns_nan_is_an_error_never_a_nan_prediction(model, monkeypatch):
    from sentio.runtime.errors import BundleError

    engine = Engine(model, smooth_s=2.0)
    monkeypatch.setattr(engine.model, "predict", lambda window: np.array([np.nan, 0.1]))
    with pytest.raises(BundleError, match="returned valence nan"):
        engine.process(np.zeros(13 * 22050, np.float32), 22050)


@pytest.mark.parametrize(
    ("seconds", "first_s", "times"),
    [(5.0, 3.0, [3.0, 3.5, 4.0, 4.5]), (2.0, 3.0, [1.98]), (5.0, None, [4.98])],
)
def test_a_short_array_gets_partial_estimates(model, seconds, first_s, times):
    """The Python API on a clip shorter than a window: partial estimates from ``first_s``, or
    one on all of it when the stream ends first; each equals the offline estimate."""
    rate = model.spec.sample_rate
    clip = synth_song(0.4, -0.3, seconds, rate, seed=9).astype(np.float32)
    engine = Engine(model, first_s=first_s)
    got = engine.process(clip, rate) + engine.flush()
    assert [p.t for p in got] == pytest.approx(times, abs=0.01)
    assert all(p.partial and p.window_s == pytest.approx(p.t) for p in got)
    _, raw = whole_signal(model, clip, first_s)
    np.testing.assert_allclose([[p.valence_raw, p.arousal_raw] for p in got], raw, atol=1e-6)
