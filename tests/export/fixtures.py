"""Dataset trees shaped like the real downloads, built from generated audio."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_tone

DEAM_CSV_1 = (
    "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
    "2,3.1,0.94,7,0.63\n"  # id <= 1000: columns swapped in the official file
    "3,nan,1.75,3.3,1.62\n"  # NaN label: skipped with a warning
    "5,4.0,1.0,5.0,1.0\n"  # audio missing: skipped
    "1001,8.0,1.0,2.0,1.0\n"  # id > 1000: columns as labelled
)
DEAM_CSV_2 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std\n"
    "2001,6.4,0.49,8.2,0.98,5.0,1.1,5.2,1.17,7.4,1.36,2.2,1.17\n"
)


def make_deam_tree(root: Path, csv_1: str = DEAM_CSV_1) -> Path:
    audio = root / "DEAM_audio" / "MEMD_audio"
    audio.mkdir(parents=True)
    for song_id in (2, 3, 1001, 2001):
        write_tone(audio / f"{song_id}.mp3", seconds=1.0, rate=44100, freq=200.0 + song_id % 500)
    ann = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song" / "song_level"
    ann.mkdir(parents=True)
    (ann / "static_annotations_averaged_songs_1_2000.csv").write_text(csv_1)
    (ann / "static_annotations_averaged_songs_2000_2058.csv").write_text(DEAM_CSV_2)
    return root


EMOTIFY_HEADER = (
    "track id, genre, amazement, solemnity, tenderness, nostalgia, calmness, power, "
    "joyful_activation, tension, sadness, mood, liked, disliked, age, gender, mother tongue\n"
)


def make_emotify_tree(root: Path) -> Path:
    rows = [
        # track 1 classical: two listeners, both only "joyful_activation" -> valence 1, arousal 1
        "1,classical,0,0,0,0,0,0,1,0,0,3,1,0,30,1,Dutch",
        "1,classical,0,0,0,0,0,0,1,0,0,4,1,0,22,0,English",
        # track 101 rock: sadness only -> valence -1, arousal -1
        "101,rock,0,0,0,0,0,0,0,0,1,2,0,1,40,1,Dutch",
        # track 102 rock: tension + calmness -> valence (-1 + .5)/1.5, arousal (1 - 1)/2 = 0
        "102,rock,0,0,0,0,1,0,0,1,0,3,0,0,35,0,Dutch",
        "102,rock,0,0,0,0,x,0,0,1,0,3,0,0,35,0,Dutch",  # malformed: skipped, counted
        # track 201 electronic: has ratings but no audio -> skipped
        "201,electronic,0,0,0,0,0,1,0,0,0,3,0,0,35,0,Dutch",
    ]
    (root / "ratings.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "ratings.csv").write_text(EMOTIFY_HEADER + "\n".join(rows) + "\n")
    for genre, track in (("classical", 1), ("rock", 101), ("rock", 102)):
        (root / "audio" / genre).mkdir(parents=True, exist_ok=True)
        write_tone(root / "audio" / genre / f"{track}.ogg", seconds=1.0, rate=22050)
    return root
