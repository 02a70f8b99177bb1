"""Reading a dataset's files: CSV rows, required columns, a song's audio by its stem.

Shared by the loaders in ``datasets`` and ``quadrants``; every failure is a
:class:`~sentio.runtime.errors.DatasetError` that names the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sentio.runtime.errors import DatasetError

#: The audio a dataset folder may hold, in the order :func:`find_audio` tries them.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV as dicts with stripped header names; yields (line number, row)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise DatasetError(f"{path} is empty", hint="check that it is the right file")
            names = [h.strip() for h in header]
            for line_no, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                yield line_no, dict(zip(names, (v.strip() for v in values), strict=False))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"cannot read {path}: {err}", hint="is it a UTF-8 CSV file?") from err


def require_columns(path: Path, row: dict[str, str], columns: tuple[str, ...]) -> None:
    """A :class:`DatasetError` naming the missing columns unless ``row`` has all of them."""
    missing = [c for c in columns if c not in row]
    if missing:
        raise DatasetError(
            f"{path} lacks column(s) {', '.join(missing)} (has: {', '.join(row)})",
            hint="check that the file is the right one and its header row is intact",
        )


def find_audio(folder: Path, stem: str) -> Path | None:
    """``folder/stem.<ext>`` for the first of :data:`AUDIO_EXTENSIONS` that exists, else None."""
    for ext in AUDIO_EXTENSIONS:
        candidate = folder / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return None
