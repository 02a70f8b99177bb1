"""The catalogue table on disk: ``analysis.csv`` and ``analysis.jsonl`` (written atomically at
the end of a run), the journal a run appends to as files finish (what a re-run resumes from)
and ``summary.json``.

Why JSON lines beside the CSV, and not Parquet: Parquet needs pyarrow, a 40 MB dependency the
one-machine install would carry for one file; JSON lines hold the per-window series as lists,
and ``pandas.read_json(path, lines=True)`` or ``pyarrow.json`` turn them into a dataframe or a
Parquet file in one call where those are installed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.analyze.catalogue import is_finite_row
from sentio.runtime.errors import ConfigError
from sentio.runtime.manifest import current_umask, write_json_atomic

log = logging.getLogger("sentio.analyze")

TABLE_CSV = "analysis.csv"
TABLE_JSONL = "analysis.jsonl"
JOURNAL = "analysis.journal.jsonl"
SUMMARY = "summary.json"

#: The table's columns, in order (``series`` only in JSON lines, and only with ``--series``).
COLUMNS = (
    "path",
    "duration_s",
    "windows",
    "valence_mean",
    "valence_std",
    "arousal_mean",
    "arousal_std",
    "quadrant",
    "color",
    "artifact",
    "bundle",
    "analysis_id",
    "sha256",
    "size_bytes",
    "mtime_ns",
)


@dataclass
class DoneIndex:
    """Rows an earlier run of the same analysis finished, for a re-run to reuse.

    Attributes:
        by_sha: content sha256 -> row.
        by_stat: (path, size, mtime_ns) -> sha256: a file unchanged since is not even hashed.
    """

    by_sha: dict[str, dict] = field(default_factory=dict)
    by_stat: dict[tuple[str, int, int], str] = field(default_factory=dict)

    def add(self, row: dict) -> None:
        self.by_sha[row["sha256"]] = row
        self.by_stat[(row["path"], row["size_bytes"], row["mtime_ns"])] = row["sha256"]

    def __len__(self) -> int:
        return len(self.by_sha)


def load_done(out_dir: Path, analysis_id: str) -> DoneIndex:
    """What ``out_dir`` holds for ``analysis_id``: the last complete table, then the journal
    of a run that did not finish (a torn last line, from a crash mid-write, is ignored)."""
    done = DoneIndex()
    for name in (TABLE_JSONL, JOURNAL):
        for row in _read_jsonl(Path(out_dir) / name):
            if row.get("analysis_id") == analysis_id and is_finite_row(row):
                done.add(row)
    return done


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        with open(path) as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s:%d: not a complete row, ignored (a run was cut)", path, number)
                    continue
                if isinstance(row, dict) and {"sha256", "path", "size_bytes"} <= row.keys():
                    rows.append(row)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}", hint="check --out") from err
    return rows


class Journal:
    """The rows of a running analysis, one JSON line each, appended and flushed as files
    finish: what survives a crash or Ctrl-C. Only the driver writes it."""

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / JOURNAL
        self._fh = open(self.path, "a")  # noqa: SIM115 (kept open for the run, closed in close)

    def append(self, row: dict) -> None:
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.fsync(self._fh.fileno())
        self._fh.close()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def write_tables(out_dir: Path, rows: Iterable[dict]) -> tuple[Path, Path]:
    """``analysis.csv`` (the columns, no series) and ``analysis.jsonl`` (every field),
    each through a temporary file and a rename: never half-written."""
    rows = list(rows)
    out_dir = Path(out_dir)
    csv_text = io.StringIO()
    writer = csv.DictWriter(csv_text, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    jsonl = "".join(json.dumps(row) + "\n" for row in rows)
    return (
        write_text_atomic(out_dir / TABLE_CSV, csv_text.getvalue()),
        write_text_atomic(out_dir / TABLE_JSONL, jsonl),
    )


def write_summary(out_dir: Path, summary: dict) -> Path:
    path = Path(out_dir) / SUMMARY
    write_json_atomic(path, summary)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """``text`` into ``path`` through a temporary sibling and a rename, with the mode a plain
    ``open(path, "w")`` gives (as ``manifest.write_json_atomic`` does for JSON)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
