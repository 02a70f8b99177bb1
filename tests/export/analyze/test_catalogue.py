"""One file -> one row: the numbers are sentio-listen's, the song-level summary is their mean
and spread, bad files say why."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from sentio.export.analyze.catalogue import (
    AnalysisSettings,
    analyze_file,
    analyze_or_skip,
    find_audio,
    identify_bundle,
    load_model,
    read_file_list,
    scan_catalogue,
)
from sentio.runtime.cli import main as listen
from sentio.runtime.color import emotion_color
from sentio.runtime.emotion import quadrant
from sentio.runtime.errors import ConfigError

from tests.helpers import WHOLE_WINDOWS, read_json_lines, write_catalogue, write_tone


@pytest.fixture(scope="module")
def model():
    return load_model(AnalysisSettings())


@pytest.mark.parametrize(("hop", "smooth"), [(None, 0.0), (1.5, 2.0)])
def test_each_window_is_what_sentio_listen_prints(tmp_path, capsys, model, hop, smooth):
    (song,) = write_catalogue(tmp_path, songs=1, seconds=17.0)
    options = ["--hop", str(hop)] if hop else []
    whole = WHOLE_WINDOWS  # a catalogue row: whole windows, one song
    assert listen(["--input", str(song), "--smooth", str(smooth), *whole, *options]) == 0
    printed = read_json_lines(capsys.readouterr().out)
    row = analyze_file(song, model, AnalysisSettings(hop_s=hop, smooth_s=smooth, series=True))
    assert row["windows"] == len(printed) > 1
    for key in ("t", "valence", "arousal"):
        assert row["series"][key] == [p[key] for p in printed]  # exactly: same path, same rounding
    valence = np.array([p["valence"] for p in printed])
    arousal = np.array([p["arousal"] for p in printed])
    assert row["valence_mean"] == pytest.approx(valence.mean(), abs=1e-5)
    assert row["valence_std"] == pytest.approx(valence.std(), abs=1e-5)
    assert row["arousal_mean"] == pytest.approx(arousal.mean(), abs=1e-5)
    assert row["arousal_std"] == pytest.approx(arousal.std(), abs=1e-5)
    assert row["quadrant"] == quadrant(row["valence_mean"], row["arousal_mean"])
    assert row["color"] == emotion_color(row["valence_mean"], row["arousal_mean"]).hex
    assert row["duration_s"] == pytest.approx(17.0, abs=1e-3)
    assert row["artifact"] == model.artifact


def test_a_file_shorter_than_a_window_gets_one_partial_estimate(tmp_path, model):
    short = write_tone(tmp_path / "short.wav", seconds=5.0)
    row = analyze_file(short, model, AnalysisSettings(series=True))
    assert row["windows"] == 1 and row["series"]["t"] == [pytest.approx(4.98, abs=0.02)]


def test_a_file_of_silence_reads_silent_and_silence_has_no_weight(tmp_path, model):
    """Issue 22 (minor): all-zero audio was labelled happy/excited, the quadrant of (0, 0)."""
    import soundfile

    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(14 * 22050, np.float32), 22050)
    row = analyze_file(silence, model, AnalysisSettings())
    assert row["quadrant"] == "silent" and row["valence_mean"] == row["arousal_mean"] == 0.0
    # a song after 14 s of silence: its mean is the song's, not pulled towards (0, 0)
    song = write_tone(tmp_path / "song.wav", seconds=14.0)
    audio, rate = soundfile.read(song, dtype="float32")
    both = tmp_path / "both.wav"
    soundfile.write(both, np.concatenate([np.zeros(14 * rate, np.float32), audio]), rate)
    alone, after = (
        analyze_file(song, model, AnalysisSettings()),
        analyze_file(both, model, AnalysisSettings()),
    )
    assert after["quadrant"] == alone["quadrant"] != "silent"
    assert abs(after["valence_mean"] - alone["valence_mean"]) < 0.2


def test_the_series_is_kept_only_when_asked(tmp_path, model):
    (song,) = write_catalogue(tmp_path, songs=1)
    assert "series" not in analyze_file(song, model, AnalysisSettings())


def test_bad_files_are_skipped_with_the_reason(tmp_path, model):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really")
    empty = tmp_path / "empty.flac"
    empty.touch()
    short = write_tone(tmp_path / "short.wav", seconds=0.5)
    reasons = {
        path.name: analyze_or_skip(str(path), model, AnalysisSettings())
        for path in (corrupt, empty, short, tmp_path / "gone.wav")
    }
    assert all(status == "skip" for status, _ in reasons.values())
    assert "cannot decode" in reasons["corrupt.wav"][1]
    assert "cannot decode" in reasons["empty.flac"][1]
    assert "less than the 1 s an estimate needs" in reasons["short.wav"][1]
    assert "gone.wav" in reasons["gone.wav"][1]


def test_a_folder_walk_finds_audio_sorted_once_and_leaves_hidden_files_out(tmp_path):
    songs = write_catalogue(tmp_path / "music", songs=3, seconds=1.0)
    (tmp_path / "music" / "notes.txt").write_text("not audio")
    (tmp_path / "music" / ".hidden.wav").write_bytes(b"")
    (tmp_path / "music" / ".cache").mkdir()
    (tmp_path / "music" / ".cache" / "x.wav").write_bytes(b"")
    named = tmp_path / "named.dat"  # named on the command line: tried whatever its suffix
    named.write_bytes(b"")
    found = find_audio([tmp_path / "music", named, songs[0]])
    assert found == sorted([p.resolve() for p in songs] + [named.resolve()])


def test_a_missing_input_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        find_audio([tmp_path / "nowhere"])


def test_a_file_list_is_relative_to_its_folder(tmp_path):
    listing = tmp_path / "lists" / "tracks.txt"
    listing.parent.mkdir()
    listing.write_text("# my crate\n\n../a.wav\n/abs/b.flac\n")
    assert read_file_list(listing) == [listing.parent / "../a.wav", listing.parent / "/abs/b.flac"]
    with pytest.raises(ConfigError, match="cannot read the file list"):
        read_file_list(tmp_path / "missing.txt")


def test_the_analysis_id_changes_with_what_changes_the_numbers(model):
    base = identify_bundle(AnalysisSettings(), model).analysis_id
    assert identify_bundle(AnalysisSettings(), model).analysis_id == base
    assert identify_bundle(AnalysisSettings(hop_s=1.0), model).analysis_id != base
    assert identify_bundle(AnalysisSettings(smooth_s=2.0), model).analysis_id != base
    # the series is an output option, not a different analysis
    assert identify_bundle(AnalysisSettings(series=True), model).analysis_id == base


def odd_entries(folder: Path) -> dict[str, str]:
    """A catalogue's worth of entries that are not regular audio files -> what the skip
    reason says of each."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loop.wav").symlink_to("loop.wav")
    (folder / "gone.flac").symlink_to(folder / "nowhere" / "x.flac")
    os.mkfifo(folder / "pipe.wav")
    (folder / "zero.wav").symlink_to("/dev/zero")
    (folder / "linked").symlink_to(folder.parent, target_is_directory=True)
    return {
        "loop.wav": "a symlink loop",
        "gone.flac": "a dangling symlink",
        "pipe.wav": "a named pipe (FIFO), not a regular file",
        "zero.wav": "a character device, not a regular file",
        "linked": "a symlink to a folder: not followed",
    }


def within(seconds: float, call, unblock=None):
    """``call()``'s result, or a failed test if it takes longer than ``seconds`` (a read of a
    FIFO or a device that never ends); ``unblock()`` then frees the stuck thread."""
    result: list = []

    def run():
        try:
            result.append(("ok", call()))
        except BaseException as err:  # raised again in the test's thread
            result.append(("raised", err))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        pytest.fail(f"still reading after {seconds} s")
    how, value = result[0]
    if how == "raised":
        raise value
    return value


def test_entries_that_are_not_regular_files_are_skipped_each_with_its_reason(tmp_path):
    songs = write_catalogue(tmp_path / "music", songs=1, seconds=1.0)
    expected = odd_entries(tmp_path / "music" / "odd")
    catalogue = within(5, lambda: scan_catalogue([tmp_path / "music"]))
    assert catalogue.files == [songs[0].resolve()]
    reasons = {Path(entry).name: reason for entry, reason in catalogue.skipped}
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name]
    # the entry is named, not its target (the target's folder is the only place it shows)
    dangling = dict(catalogue.skipped)[str(tmp_path / "music" / "odd" / "gone.flac")]
    assert dangling.startswith("a dangling symlink (its target")


def test_entries_named_on_the_command_line_are_skipped_not_opened(tmp_path):
    expected = odd_entries(tmp_path / "odd")
    entries = [tmp_path / "odd" / name for name in ("loop.wav", "pipe.wav", "zero.wav")]
    catalogue = within(5, lambda: scan_catalogue(entries))
    assert catalogue.files == []
    assert [(Path(e).name, expected[Path(e).name] in r) for e, r in catalogue.skipped] == [
        ("loop.wav", True), ("pipe.wav", True), ("zero.wav", True),
    ]  # fmt: skip


def test_a_folder_that_cannot_be_listed_is_skipped_not_left_out(tmp_path, monkeypatch):
    write_catalogue(tmp_path / "music", songs=2, seconds=1.0)  # album0/, album1/
    locked = tmp_path / "music" / "album1"
    real_scandir = os.scandir

    def scandir(path="."):  # as chmod 000 does for a user who is not root
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    catalogue = scan_catalogue([tmp_path / "music"])
    assert [p.parent.name for p in catalogue.files] == ["album0"]
    assert catalogue.skipped == [(str(locked), "cannot list this folder: Permission denied")]


def test_a_fifo_or_a_device_is_refused_by_analyze_file_without_being_opened(tmp_path, model):
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "zero.wav").symlink_to("/dev/zero")

    def unblock():  # a writer that comes and goes: the stuck open() returns, then EOF
        fd = os.open(tmp_path / "pipe.wav", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)

    for name, kind in (("pipe.wav", "a named pipe (FIFO)"), ("zero.wav", "a character device")):
        path = str(tmp_path / name)
        status, reason = within(
            5, lambda p=path: analyze_or_skip(p, model, AnalysisSettings()), unblock
        )
        assert status == "skip" and f"is {kind}, not a regular file: not opened" in reason


def test_a_file_list_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "list.txt")
    with pytest.raises(ConfigError, match=r"a named pipe \(FIFO\), not a file"):
        within(5, lambda: read_file_list(tmp_path / "list.txt"))
