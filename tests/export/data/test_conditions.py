"""Live conditions: each is deterministic for a seed and does what its name says."""

import numpy as np
import pytest
from scipy import signal as sps
from sentio.export.data.conditions import (
    CONDITIONS,
    DEFAULT_SET,
    FULL_SET,
    Capture,
    Condition,
    Level,
    Noise,
    Room,
    Speaker,
    colored_noise,
    resolve,
    rms,
    room_impulse_response,
)
from sentio.export.data.synthetic import synth_song
from sentio.runtime.audio import resample
from sentio.runtime.errors import ConfigError

RATE = 22050


@pytest.fixture(scope="module")
def song():
    return synth_song(0.4, 0.6, 4.0, RATE, seed=3)


def _db(a, b):
    return 20 * np.log10(rms(a) / rms(b))


def _band_energy(x, rate, lo, hi):
    freqs, power = sps.welch(x, rate, nperseg=4096)
    return float(power[(freqs >= lo) & (freqs < hi)].sum())


@pytest.mark.parametrize(
    "name", ["level-24dB", "speaker", "room-rt0.3s-2m", "noise-pink-20dB", "capture-48000"]
)
def test_a_condition_is_the_same_for_the_same_seed_and_song(song, name):
    condition = CONDITIONS[name]
    a = condition.render(song, RATE, seed=5, song=2)
    b = condition.render(song, RATE, seed=5, song=2)
    assert a.rate == b.rate and np.array_equal(a.samples, b.samples)
    assert a.samples.dtype == np.float32 and np.isfinite(a.samples).all()


def test_noise_differs_per_song_and_seed_but_a_room_is_shared_by_every_song(song):
    noise = CONDITIONS["noise-pink-20dB"]
    base = noise.render(song, RATE, seed=0, song=0).samples
    assert not np.array_equal(base, noise.render(song, RATE, seed=0, song=1).samples)
    assert not np.array_equal(base, noise.render(song, RATE, seed=1, song=0).samples)
    room = CONDITIONS["room-rt0.3s-2m"]
    assert np.array_equal(
        room.render(song, RATE, seed=0, song=0).samples,
        room.render(song, RATE, seed=0, song=7).samples,
    )


@pytest.mark.parametrize("gain", [0, -12, -24, -36])
def test_level_scales_the_rms_by_its_gain(song, gain):
    out = CONDITIONS[f"level{gain:+d}dB"].render(song, RATE)
    assert out.rate == RATE and out.samples.size == song.size
    assert _db(out.samples, song) == pytest.approx(gain, abs=0.01)


def test_a_positive_gain_clips_at_full_scale(song):
    out = Condition("loud", (Level(40.0),)).render(song, RATE).samples
    assert np.abs(out).max() == pytest.approx(1.0)


def test_the_small_speaker_removes_the_bass_and_keeps_the_middle():
    white = np.random.default_rng(0).standard_normal(4 * RATE).astype(np.float32)
    out = Condition("s", (Speaker(),)).render(white, RATE).samples
    bass = _band_energy(out, RATE, 20, 100) / _band_energy(white, RATE, 20, 100)
    middle = _band_energy(out, RATE, 500, 1500) / _band_energy(white, RATE, 500, 1500)
    assert 10 * np.log10(bass) < -12
    assert abs(10 * np.log10(middle)) < 1.5


@pytest.mark.parametrize("rt60", [0.3, 0.6])
def test_a_rooms_impulse_response_has_the_rt60_asked(rt60):
    pra = pytest.importorskip("pyroomacoustics")
    rir, direct = room_impulse_response(Room(rt60, 2.0), RATE, 0)
    assert pra.experimental.measure_rt60(rir, RATE) == pytest.approx(rt60, rel=0.06)
    assert abs(int(np.argmax(np.abs(rir))) - direct) <= 2  # aligned on the direct sound


def test_a_longer_rt60_or_distance_leaves_more_energy_in_the_tail(song):
    pytest.importorskip("pyroomacoustics")

    def tail_share(room):
        rir, direct = room_impulse_response(room, RATE, 0)
        late = direct + int(0.05 * RATE)  # after 50 ms: reverberation, not the direct sound
        return float(np.sum(rir[late:] ** 2) / np.sum(rir**2))

    assert tail_share(Room(0.3, 2.0)) < tail_share(Room(0.6, 2.0))
    assert tail_share(Room(0.3, 0.5)) < tail_share(Room(0.3, 4.0))
    out = Condition("r", (Room(0.3, 2.0),)).render(song, RATE)
    assert out.samples.size == song.size and _db(out.samples, song) == pytest.approx(0, abs=0.01)


def test_a_distance_that_does_not_fit_the_room_is_a_config_error(song):
    with pytest.raises(ConfigError, match="does not fit"):
        Condition("far", (Room(0.3, 30.0),)).render(song, RATE)


@pytest.mark.parametrize("snr", [10.0, 20.0, 30.0])
@pytest.mark.parametrize("color", ["pink", "brown"])
def test_noise_is_added_at_the_snr_asked(song, snr, color):
    out = Condition("n", (Noise(snr, color),)).render(song, RATE, seed=1).samples
    assert 20 * np.log10(rms(song) / rms(out - song)) == pytest.approx(snr, abs=0.5)


def test_noise_colours_fall_with_frequency_and_have_no_rumble():
    rng = np.random.default_rng(0)
    slopes = {}
    for color in ("white", "pink", "brown"):
        noise = colored_noise(8 * RATE, RATE, color, rng)
        assert rms(noise) == pytest.approx(1.0)
        low, high = _band_energy(noise, RATE, 200, 400), _band_energy(noise, RATE, 3200, 6400)
        slopes[color] = 10 * np.log10(high / low) / 4  # per octave: the bands are 4 apart
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(noise.size, 1 / RATE)
        assert spectrum[freqs < 19].sum() < 1e-9 * spectrum.sum()
    # energy per octave band: white +3 dB/octave, pink flat, brown -3 dB/octave
    assert slopes["white"] == pytest.approx(3, abs=0.5)
    assert slopes["pink"] == pytest.approx(0, abs=0.5)
    assert slopes["brown"] == pytest.approx(-3, abs=0.5)
    with pytest.raises(ConfigError, match="noise colour"):
        Noise(20.0, "purple")


@pytest.mark.parametrize("rate", [44100, 48000])
def test_capture_changes_the_rate_not_the_duration_and_resamples_back(song, rate):
    out = Condition("c", (Capture(rate),)).render(song, RATE)
    assert out.rate == rate
    assert out.seconds == pytest.approx(song.size / RATE, abs=1e-3)
    back = resample(out.samples, rate, RATE)
    n = min(back.size, song.size)
    assert np.corrcoef(back[:n], song[:n])[0, 1] > 0.99


def test_the_device_chain_is_48k_and_about_20_db_down(song):
    out = CONDITIONS["device"].render(song, RATE)
    assert out.rate == 48000
    assert -24 < _db(out.samples, song) < -17
    assert "room RT60 0.45 s" in CONDITIONS["device"].description


def test_sets_and_names_resolve_and_an_unknown_name_lists_the_known_ones():
    assert [c.name for c in resolve("default")] == list(DEFAULT_SET)
    assert [c.name for c in resolve("full")] == list(FULL_SET) == list(CONDITIONS)
    assert resolve("none") == ()
    assert [c.name for c in resolve(" speaker, device ")] == ["speaker", "device"]
    assert len(FULL_SET) >= 20 and set(DEFAULT_SET) <= set(FULL_SET)
    with pytest.raises(ConfigError, match="unknown live condition") as err:
        resolve("speaker,hall")
    assert "room-rt0.9s-4m" in err.value.hint
