"""Device copies: seeded device chains, rendering, the cache, attaching to training songs,
batches drawing from them, and the recipe table that turns them on."""

import numpy as np
import pytest
from sentio.export.cli.options import settings_from
from sentio.export.cli.train import build_parser
from sentio.export.data.conditions import Capture, Noise, Room, Speaker
from sentio.export.data.datasets import SkipLog, Song, load_manifest_csv
from sentio.export.data.device_copies import DeviceCopies, fit_length
from sentio.export.data.extract import extract_device_copies, extract_songs
from sentio.export.data.labels import LabelScale
from sentio.export.data.synthetic import synth_song
from sentio.export.data.windows import attach_copies, prepare
from sentio.export.model.batches import WindowBatches
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FeatureSpec

from tests.helpers import write_tone

RATE = 22050


def test_a_copy_is_the_same_chain_every_time_and_copies_differ():
    copies = DeviceCopies(copies=4, seed=3)
    chains = [copies.chain("emotify/7", k)[0] for k in range(4)]
    assert chains[0] == copies.chain("emotify/7", 0)[0]  # seeded by (seed, song, copy)
    assert len({c.description for c in chains}) == 4
    assert copies.chain("emotify/8", 0)[0] != chains[0]
    assert DeviceCopies(copies=4, seed=4).chain("emotify/7", 0)[0] != chains[0]


def test_chains_draw_every_kind_of_step_within_the_ranges():
    copies = DeviceCopies(copies=1, rt60_s=(0.3, 0.5), snr_db=(15.0, 20.0))
    steps = [s for k in range(60) for s in copies.chain(f"song{k}", 0)[0].steps]
    kinds = {type(s) for s in steps}
    assert {Speaker, Room, Noise, Capture} <= kinds
    rooms = {s for s in steps if isinstance(s, Room)}
    assert 1 < len(rooms) <= copies.rooms  # a bank of rooms, reused across songs
    assert all(0.3 <= r.rt60_s <= 0.5 for r in rooms)
    assert all(15 <= s.snr_db <= 20 for s in steps if isinstance(s, Noise))
    assert {s.rate for s in steps if isinstance(s, Capture)} == {44100, 48000}


def test_the_fingerprint_is_what_the_audio_depends_on():
    base = DeviceCopies(copies=1)
    assert DeviceCopies(copies=5, clean_share=0.9).fingerprint() == base.fingerprint()
    assert DeviceCopies(copies=1, seed=1).fingerprint() != base.fingerprint()
    assert DeviceCopies(copies=1, snr_db=(5.0, 30.0)).fingerprint() != base.fingerprint()


def test_a_rendered_copy_keeps_rate_and_length_and_is_not_the_song():
    song = synth_song(0.5, 0.5, 8.0, RATE, seed=1).astype(np.float32)
    copies = DeviceCopies(copies=3, p_capture=1.0, p_noise=1.0)
    for k in range(3):
        out = copies.render(song, RATE, "a", k)
        assert out.dtype == np.float32 and np.all(np.isfinite(out))
        assert abs(out.size - song.size) <= 2  # captured at 44.1/48 kHz and resampled back
        assert np.abs(out[: song.size // 2] - song[: song.size // 2]).max() > 1e-3
        np.testing.assert_array_equal(out, copies.render(song, RATE, "a", k))


@pytest.mark.parametrize(
    "settings",
    [
        {"copies": -1},
        {"rooms": 0},
        {"clean_share": 1.5},
        {"p_room": -0.1},
        {"rt60_s": (0.9, 0.2)},
        {"distance_m": (0.0, 1.0)},
    ],
)
def test_bad_settings_are_refused(settings):
    with pytest.raises(ConfigError):
        DeviceCopies(**settings)


def test_copies_are_extracted_cached_and_bad_files_counted(tmp_path):
    write_tone(tmp_path / "a.wav", seconds=3.0)
    write_tone(tmp_path / "b.wav", seconds=3.0, freq=660.0)
    (tmp_path / "bad.ogg").write_bytes(b"OggS" + b"\x00" * 100)
    songs = [Song(n, tmp_path / n, 0.0, 0.0) for n in ("a.wav", "b.wav", "bad.ogg")]
    spec, cache, copies = FeatureSpec(), tmp_path / "cache", DeviceCopies(copies=2)
    skipped = SkipLog()
    first = extract_device_copies(songs, spec, copies, skipped, cache, workers=2, progress=False)
    assert (first.rendered, first.cache_hits, first.failed) == (4, 0, 2)
    assert sorted(first.features) == ["a.wav", "b.wav"]
    assert len(skipped) == 2 and all("bad.ogg" in item for item, _, _ in skipped.items)
    clean = extract_songs(songs[:1], spec, SkipLog(), cache, workers=1, progress=False)
    assert clean.cache_hits == 0  # copies never stand in for the clean song
    again = extract_device_copies(songs[:2], spec, copies, SkipLog(), cache, 1, progress=False)
    assert (again.rendered, again.cache_hits) == (0, 4)
    for key, arrays in first.features.items():
        for a, b in zip(arrays, again.features[key], strict=True):
            np.testing.assert_array_equal(a, b)
    more = extract_device_copies(
        songs[:1], spec, DeviceCopies(copies=3), SkipLog(), cache, 1, progress=False
    )
    assert (more.rendered, more.cache_hits) == (1, 2)  # copies 0 and 1 are the same audio


def test_only_training_songs_get_copies_normalized_and_cut_to_their_length(synthetic_dataset):
    dataset = load_manifest_csv(synthetic_dataset, LabelScale())
    spec = FeatureSpec()
    features = extract_songs(dataset.songs, spec, SkipLog(), workers=2, progress=False).features
    prepared = prepare(dataset, features, spec, window=200, stride=100)
    train = [s.song for s in prepared.splits["train"]][:3]
    copies = extract_device_copies(train, spec, DeviceCopies(copies=2), SkipLog(), progress=False)
    copies.features[train[0].song_id][0] = copies.features[train[0].song_id][0][:-5]
    assert attach_copies(prepared, copies.features) == 6
    for song in prepared.splits["train"][:3]:
        assert len(song.copies) == 2
        for frames in song.copies:
            assert frames.shape == song.frames.shape
            assert abs(float(frames.mean())) < 1.0  # normalized with the training statistics
    assert all(not s.copies for name in ("val", "test") for s in prepared.splits[name])


def test_fit_length_cuts_or_pads_with_the_last_frame():
    frames = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert fit_length(frames, 4).shape == (4, 2)
    padded = fit_length(frames, 8)
    np.testing.assert_array_equal(padded[6:], frames[[5, 5]])


def _song_with_copy(frames: float, copy: float):
    from sentio.export.data.windows import SongWindows

    song = Song("s", "s.wav", 0.1, 0.2)
    return SongWindows(
        song,
        np.full((40, 3), frames, np.float32),
        np.array([0, 10, 20]),
        [np.full((40, 3), copy, np.float32)],
    )


@pytest.mark.parametrize(("share", "expected"), [(1.0, {0.0}), (0.0, {5.0})])
def test_batches_draw_from_the_clean_song_or_its_copies(share, expected):
    batches = WindowBatches([_song_with_copy(0.0, 5.0)] * 4, 20, 12, clean_share=share)
    x, _ = batches[0]
    assert set(np.unique(x)) == expected


def test_batches_mix_clean_and_copies_at_the_share():
    batches = WindowBatches([_song_with_copy(0.0, 5.0)] * 50, 20, 150, clean_share=0.34)
    x, _ = batches[0]
    share = float(np.mean(x[:, 0, 0] == 0.0))
    assert 0.2 < share < 0.5


def test_the_recipe_table_and_the_option_turn_copies_on(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text("[train.device]\ncopies = 2\nsnr_db = [12, 25]\n")
    args = ["fit", "--config", str(recipe), "--manifest", "m", "--out", "o"]
    config = settings_from(build_parser().parse_args(args)).train
    assert config.device == DeviceCopies(copies=2, snr_db=(12.0, 25.0))
    given = build_parser().parse_args([*args, "--device-copies", "3", "--clean-share", "0.5"])
    config = settings_from(given).train
    assert (config.device.copies, config.device.clean_share) == (3, 0.5)
    assert config.device.snr_db == (12.0, 25.0)  # the option overrides only its own field
    recipe.write_text("[train.device]\ncopies = 2\nreverb = 1\n")
    with pytest.raises(ConfigError, match=r"train\.device\.reverb"):
        settings_from(build_parser().parse_args(args))
