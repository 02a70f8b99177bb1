"""The 4Q audio emotion dataset (Panda, Malheiro & Paiva 2018): clips labelled by Russell quadrant.

Layout: ``annotations.csv`` (``Song, Quadrant, PQuad, Artist, ...``) beside
``audio/Q<n>/<Song>.<ext>``. The labels are categorical, the SIGN of valence and of arousal, so
each song's label is +-1 per dimension:

====  =======  =======
Q     valence  arousal
====  =======  =======
Q1    +1       +1
Q2    -1       +1
Q3    -1       -1
Q4    +1       -1
====  =======  =======

Several artists have more than one clip, so a split must keep an artist's clips together: each
:class:`Song`'s ``group`` is its artist, and :attr:`QuadrantDataset.clips` keeps the quadrant,
``PQuad`` (the share of the song's mood tags that agree with its quadrant), artist and title.
Rows that cannot be used (unknown quadrant, missing audio, a song listed twice) are skipped and
counted in the :class:`SkipLog`, never dropped silently.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.data.datasets import Dataset, SkipLog, Song
from sentio.export.data.labels import QUADRANT_SIGNS, LabelScale, parse_quadrant
from sentio.export.data.tables import find_audio, read_csv, require_columns
from sentio.runtime.errors import DatasetError

log = logging.getLogger("sentio.datasets")


@dataclass(frozen=True)
class QuadrantClip:
    """What 4Q says about one clip beyond its +-1 labels.

    Attributes:
        quadrant: 1..4 (Russell quadrant, see the module table).
        pquad: share of the song's mood tags that agree with its quadrant (NaN if unreadable).
        artist: the artist ("" when the file has no Artist column).
        title: the title ("" when absent).
    """

    quadrant: int
    pquad: float
    artist: str
    title: str = ""


@dataclass
class QuadrantDataset(Dataset):
    """A :class:`Dataset` plus each song's :class:`QuadrantClip`, keyed by song id."""

    clips: dict[str, QuadrantClip] = field(default_factory=dict)

    def quadrants(self) -> list[int]:
        """The quadrant of each song, in the order of :attr:`songs`."""
        return [self.clips[s.song_id].quadrant for s in self.songs]


def _parse_pquad(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        return math.nan
    return value if 0.0 <= value <= 1.0 else math.nan


def load_4q(root: Path) -> QuadrantDataset:
    """4Q: ``annotations.csv`` + ``audio/Q<n>/<Song>.<ext>``; labels are the quadrant's signs.

    Args:
        root: the folder holding ``annotations.csv`` and ``audio/``.

    Raises:
        DatasetError: no ``annotations.csv``, or it lacks the ``Song`` or ``Quadrant`` column.

    A file without an ``Artist`` column still loads (each song becomes its own group), but the
    missing column is recorded in the skip log and the notes: artist-disjoint splits are then
    impossible and a report must say so.
    """
    root = Path(root)
    annotations = root / "annotations.csv"
    if not annotations.is_file():
        raise DatasetError(
            f"no annotations.csv in {root}",
            hint="point data.fourq at the 4Q folder that holds annotations.csv and audio/Q1..Q4",
        )
    skipped = SkipLog()
    notes = ["labels are the signs of valence and arousal from the Russell quadrant (+-1)"]
    songs: list[Song] = []
    clips: dict[str, QuadrantClip] = {}
    checked_header = False
    for line_no, row in read_csv(annotations):
        where = f"annotations.csv row {line_no}"
        if not checked_header:
            require_columns(annotations, row, ("Song", "Quadrant"))
            if "Artist" not in row:
                message = (
                    "no Artist column: each song is its own group, so splits cannot keep an "
                    "artist's clips together"
                )
                skipped.skip("annotations.csv", message, "Artist column missing")
                notes.append(message)
            checked_header = True
        song_id = row["Song"]
        if not song_id:
            skipped.skip(where, "empty Song", "empty song id")
            continue
        quadrant = parse_quadrant(row["Quadrant"])
        if quadrant is None:
            skipped.skip(
                where,
                f"unknown quadrant {row['Quadrant']!r} for {song_id} (expected Q1..Q4)",
                "unknown quadrant",
            )
            continue
        if song_id in clips:
            skipped.skip(
                where,
                f"song {song_id} is listed twice; kept the first (Q{clips[song_id].quadrant})",
                "song listed twice",
            )
            continue
        path = find_audio(root / "audio" / f"Q{quadrant}", song_id)
        if path is None:
            skipped.skip(
                where,
                f"no audio file audio/Q{quadrant}/{song_id}.*",
                "audio file missing",
            )
            continue
        artist = row.get("Artist", "")
        valence, arousal = QUADRANT_SIGNS[quadrant]
        clips[song_id] = QuadrantClip(
            quadrant, _parse_pquad(row.get("PQuad", "")), artist, row.get("Title", "")
        )
        group = artist or song_id
        songs.append(Song(song_id, path, valence, arousal, group, sign_only=True, artist=artist))
    if not checked_header:
        raise DatasetError(f"{annotations} has no rows", hint="check that it is the right file")
    return QuadrantDataset("4q", songs, skipped, LabelScale(-1.0, 1.0), notes, clips=clips)
