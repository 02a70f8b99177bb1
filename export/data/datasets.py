"""Labelled songs from DEAM as distributed, Emotify, or a user's CSV manifest.

Each loader returns the songs it could use and records every item it could not in a
:class:`SkipLog`, so a long run never dies on one bad row and nothing is dropped silently.
Labels come out on [-1, 1].
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.data.labels import (
    GEMS_CATEGORIES,
    QUADRANT_SIGNS,
    LabelScale,
    gems_to_valence_arousal,
    parse_quadrant,
)
from sentio.export.data.tables import find_audio, read_csv, require_columns
from sentio.runtime.errors import DatasetError, LabelScaleError

log = logging.getLogger("sentio.datasets")

DEAM_SCALE = LabelScale(1.0, 9.0)
DEAM_SWAPPED_UP_TO = 1000  # official song-level file swaps valence/arousal for ids <= 1000


@dataclass(frozen=True)
class Song:
    """One labelled audio file.

    Attributes:
        song_id: unique within the dataset (splits are made over these).
        path: the audio file.
        valence: label on [-1, 1].
        arousal: label on [-1, 1].
        group: an optional grouping for reports (Emotify's genre) and, for sign-only
            datasets, for splits (4Q's artist: an artist's clips stay in one split).
        sign_only: the labels are only the signs of valence and arousal (+-1, a Russell
            quadrant), not values: training scores the side of zero, not the distance.
        dataset: which dataset the song came from, when several are trained on at once.
        artist: the performer, where known: splits keep an artist's songs together.
    """

    song_id: str
    path: Path
    valence: float
    arousal: float
    group: str = ""
    sign_only: bool = False
    dataset: str = ""
    artist: str = ""


@dataclass
class SkipLog:
    """Items a run could not use, each with the reason and a short kind.

    The first few items of each kind are logged as they happen; the rest are counted, and
    :meth:`summary` reports every kind with its count (the full list goes in the run's JSON).
    """

    items: list[tuple[str, str, str]] = field(default_factory=list)
    _per_kind: Counter = field(default_factory=Counter, repr=False)

    LOGGED_PER_KIND = 5

    def skip(self, item: str, reason: str, kind: str = "") -> None:
        kind = kind or reason
        seen = self._per_kind[kind]
        self._per_kind[kind] += 1
        self.items.append((item, reason, kind))
        if seen < self.LOGGED_PER_KIND:
            log.warning("skipped %s: %s", item, reason)
        elif seen == self.LOGGED_PER_KIND:
            log.warning("more items skipped for: %s (counted in the summary)", kind)

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        return dict(self._per_kind)

    def summary(self) -> str:
        if not self.items:
            return "nothing skipped"
        lines = [f"{len(self.items)} item(s) skipped:"]
        for kind, count in self.counts().items():
            examples = [i for i, _, k in self.items if k == kind][:3]
            more = ", ..." if count > len(examples) else ""
            lines.append(f"  - {count} x {kind} ({', '.join(examples)}{more})")
        return "\n".join(lines)

    def to_list(self) -> list[dict[str, str]]:
        return [{"item": i, "reason": r, "kind": k} for i, r, k in self.items]


@dataclass
class Dataset:
    """Songs plus provenance: where they came from and what was corrected or skipped."""

    name: str
    songs: list[Song]
    skipped: SkipLog
    label_scale: LabelScale
    notes: list[str] = field(default_factory=list)


def _parse_label(raw: str, scale: LabelScale, where: str, skipped: SkipLog) -> float | None:
    """A label as a float on [-1, 1]; None (and a skip) for blank/NaN; error off-scale."""
    try:
        value = float(raw)
    except ValueError:
        skipped.skip(where, f"label {raw!r} is not a number", "label not a number")
        return None
    if math.isnan(value):
        skipped.skip(where, "label is NaN", "label is NaN")
        return None
    if not scale.contains(value):
        raise LabelScaleError(
            f"{where}: label {value:g} is outside the declared scale {scale}",
            hint="declare the scale the labels really use: data.label_scale, e.g. 1 9",
        )
    return scale.to_unit(value)


# --------------------------------------------------------------------------- DEAM


def _find_one(root: Path, pattern: str, what: str, is_dir: bool = False) -> list[Path]:
    found = sorted(p for p in root.rglob(pattern) if p.is_dir() == is_dir)
    if not found:
        raise DatasetError(
            f"no {what} ({pattern}) under {root}",
            hint="point data.path at the folder that holds DEAM_audio/ and DEAM_Annotations/",
        )
    return found


def load_deam(root: Path, fix_swap: bool = True) -> Dataset:
    """DEAM as distributed: ``DEAM_audio/MEMD_audio/<id>.mp3`` + the song-level CSVs.

    Args:
        root: folder holding the DEAM download (searched recursively for both parts).
        fix_swap: swap valence and arousal back for song ids <= 1000, where DEAM's official
            song-level file has them swapped (see export/DATASETS.md for the evidence).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"DEAM folder not found: {root}", hint="check data.path")
    csvs = _find_one(root, "static_annotations_averaged_songs_*.csv", "song-level annotations")
    audio_dirs = [p for p in root.rglob("MEMD_audio") if p.is_dir()] or _find_one(
        root, "audio", "audio folder (MEMD_audio)", is_dir=True
    )
    audio_dir = audio_dirs[0]
    skipped = SkipLog()
    songs: dict[str, Song] = {}
    swapped = 0
    for csv_path in csvs:
        for line_no, row in read_csv(csv_path):
            require_columns(csv_path, row, ("song_id", "valence_mean", "arousal_mean"))
            where = f"{csv_path.name} row {line_no}"
            song_id = row["song_id"]
            if not song_id.isdigit():
                skipped.skip(where, f"song_id {song_id!r} is not a number")
                continue
            valence = _parse_label(row["valence_mean"], DEAM_SCALE, where, skipped)
            arousal = _parse_label(row["arousal_mean"], DEAM_SCALE, where, skipped)
            if valence is None or arousal is None:
                continue
            if fix_swap and int(song_id) <= DEAM_SWAPPED_UP_TO:
                valence, arousal = arousal, valence
                swapped += 1
            if song_id in songs:
                skipped.skip(where, f"song {song_id} is listed twice; kept the first")
                continue
            songs[song_id] = Song(song_id, audio_dir / f"{song_id}.mp3", valence, arousal)
    notes = []
    if fix_swap:
        note = (
            f"corrected DEAM's valence/arousal column swap for {swapped} song(s) with id <= "
            f"{DEAM_SWAPPED_UP_TO} (--no-deam-swap-fix keeps the file as it is)"
        )
        log.info(note)
        notes.append(note)
    present = _keep_present(songs.values(), skipped)
    return Dataset("deam", present, skipped, DEAM_SCALE, notes)


def _keep_present(songs, skipped: SkipLog) -> list[Song]:
    present = []
    for song in songs:
        if song.path.is_file():
            present.append(song)
        else:
            skipped.skip(
                f"song {song.song_id}", f"audio file missing: {song.path}", "audio file missing"
            )
    return present


# --------------------------------------------------------------------------- Emotify


def load_emotify(root: Path) -> Dataset:
    """Emotify: ``audio/<genre>/<track id>.<ext>`` + per-listener GEMS ``ratings.csv``.

    Valence/arousal are a proxy derived from the share of listeners who ticked each GEMS
    feeling (:func:`sentio.export.labels.gems_to_valence_arousal`).
    """
    root = Path(root)
    ratings = root / "ratings.csv"
    if not ratings.is_file():
        raise DatasetError(
            f"no ratings.csv in {root}",
            hint="point data.path at the folder with audio/ and ratings.csv",
        )
    skipped = SkipLog()
    votes: dict[str, list[dict[str, int]]] = defaultdict(list)
    genres: dict[str, str] = {}
    for line_no, row in read_csv(ratings):
        require_columns(ratings, row, ("track id", "genre", *GEMS_CATEGORIES))
        where = f"ratings.csv row {line_no}"
        try:
            ticks = {k: int(row[k]) for k in GEMS_CATEGORIES}
        except (TypeError, ValueError):
            skipped.skip(where, "a GEMS column is not 0 or 1")
            continue
        if any(v not in (0, 1) for v in ticks.values()):
            raise LabelScaleError(
                f"{where}: GEMS ratings must be 0 or 1, got {ticks}",
                hint="Emotify's ratings.csv holds 0/1 ticks per listener; is this that file?",
            )
        track = row["track id"]
        votes[track].append(ticks)
        genres[track] = row["genre"]
    songs = []
    for track, listeners in sorted(votes.items(), key=lambda kv: _numeric_key(kv[0])):
        shares = {k: sum(t[k] for t in listeners) / len(listeners) for k in GEMS_CATEGORIES}
        labels = gems_to_valence_arousal(shares)
        if labels is None:
            skipped.skip(f"track {track}", "no listener ticked any GEMS feeling")
            continue
        path = find_audio(root / "audio" / genres[track], track)
        if path is None:
            skipped.skip(
                f"track {track}",
                f"no audio file audio/{genres[track]}/{track}.*",
                "audio file missing",
            )
            continue
        songs.append(Song(track, path, labels[0], labels[1], group=genres[track]))
    notes = ["valence/arousal derived from GEMS ratings (a proxy; see export/DATASETS.md)"]
    return Dataset("emotify", songs, skipped, LabelScale(-1.0, 1.0), notes)


def combine(datasets: list[Dataset]) -> Dataset:
    """Several datasets trained on at once: each song tagged with its dataset (ids prefixed
    ``<dataset>/`` so two datasets' ids cannot collide), skips and notes kept per dataset."""
    if len(datasets) == 1:
        only = datasets[0]
        only.songs = [dataclasses.replace(s, dataset=only.name) for s in only.songs]
        return only
    songs: list[Song] = []
    skipped = SkipLog()
    notes: list[str] = []
    for data in datasets:
        tag = data.name
        songs += [
            dataclasses.replace(s, song_id=f"{tag}/{s.song_id}", dataset=tag) for s in data.songs
        ]
        for item, reason, kind in data.skipped.items:
            skipped.items.append((f"{tag}: {item}", reason, kind))
            skipped._per_kind[kind] += 1
        notes += [f"{tag}: {note}" for note in data.notes]
    name = "+".join(d.name for d in datasets)
    return Dataset(name, songs, skipped, datasets[0].label_scale, notes)


def _numeric_key(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (math.inf, text)  # type: ignore[return-value]


# --------------------------------------------------------------------------- CSV manifest


def load_manifest_csv(path: Path, scale: LabelScale | None = None) -> Dataset:
    """A user's CSV: ``path,valence,arousal`` (optional ``id``, ``group``), paths relative to it;
    or ``path,quadrant`` (``Q1``..``Q4``; optional ``id``, ``artist``): sign-only labels, split
    by artist when the column is there.

    Args:
        path: the CSV file.
        scale: the scale its labels are on (default -1..1).
    """
    path = Path(path)
    scale = scale or LabelScale()
    if not path.is_file():
        raise DatasetError(f"manifest not found: {path}", hint="check data.path")
    skipped = SkipLog()
    songs: dict[str, Song] = {}
    rows = list(read_csv(path))
    if rows and "quadrant" in rows[0][1] and "valence" not in rows[0][1]:
        return _quadrant_csv(path, rows, skipped)
    for line_no, row in rows:
        require_columns(path, row, ("path", "valence", "arousal"))
        where = f"{path.name} row {line_no}"
        if not row["path"]:
            skipped.skip(where, "empty path")
            continue
        valence = _parse_label(row["valence"], scale, where, skipped)
        arousal = _parse_label(row["arousal"], scale, where, skipped)
        if valence is None or arousal is None:
            continue
        audio = Path(row["path"])
        audio = audio if audio.is_absolute() else path.parent / audio
        song_id = row.get("id") or row["path"]
        if song_id in songs:
            skipped.skip(where, f"{song_id} is listed twice; kept the first")
            continue
        songs[song_id] = Song(song_id, audio, valence, arousal, group=row.get("group", ""))
    present = _keep_present(songs.values(), skipped)
    return Dataset(f"manifest:{path.name}", present, skipped, scale)


def _quadrant_csv(path: Path, rows: list[tuple[int, dict[str, str]]], skipped: SkipLog) -> Dataset:
    songs: dict[str, Song] = {}
    notes = ["labels are the signs of valence and arousal from the quadrant column (+-1)"]
    if "artist" not in rows[0][1]:
        note = "no artist column: split by song (an artist's songs may land in train and test)"
        log.warning("%s: %s", path.name, note)
        notes.append(note)
    for line_no, row in rows:
        require_columns(path, row, ("path", "quadrant"))
        where = f"{path.name} row {line_no}"
        quadrant = parse_quadrant(row["quadrant"])
        if not row["path"] or quadrant is None:
            reason = "empty path" if not row["path"] else f"unknown quadrant {row['quadrant']!r}"
            skipped.skip(where, f"{reason} (expected a path and Q1..Q4)", reason.split(" '")[0])
            continue
        audio = Path(row["path"])
        audio = audio if audio.is_absolute() else path.parent / audio
        song_id = row.get("id") or row["path"]
        if song_id in songs:
            skipped.skip(where, f"{song_id} is listed twice; kept the first", "song listed twice")
            continue
        valence, arousal = QUADRANT_SIGNS[quadrant]
        artist = row.get("artist", "")
        songs[song_id] = Song(
            song_id, audio, valence, arousal, group=artist, sign_only=True, artist=artist
        )
    present = _keep_present(songs.values(), skipped)
    return Dataset(f"manifest:{path.name}", present, skipped, LabelScale(-1.0, 1.0), notes)
