"""The catalogue table on disk: ``analysis.csv`` and ``analysis.jsonl`` (written atomically at
the end of a run), the journal a run appends to as files finish (what a re-run resumes from),
``summary.json``, and the lock that gives one run at a time the folder.

One table per folder, whatever catalogues were analysed into it: a run merges its rows into
the rows the folder already holds (:func:`merge_rows`), so analysing a second catalogue into
the same ``--out`` adds to the table and never drops the first one's rows.

Why JSON lines beside the CSV, and not Parquet: Parquet needs pyarrow, a 40 MB dependency the
one-machine install would carry for one file; JSON lines hold the per-window series as lists,
and ``pandas.read_json(path, lines=True)`` or ``pyarrow.json`` turn them into a dataframe or a
Parquet file in one call where those are installed.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import logging
import os
import shlex
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.analyze.catalogue import is_finite_row, not_regular
from sentio.runtime.errors import ConfigError, OutputBusyError
from sentio.runtime.manifest import current_umask, write_json_atomic

log = logging.getLogger("sentio.analyze")

TABLE_CSV = "analysis.csv"
TABLE_JSONL = "analysis.jsonl"
JOURNAL = "analysis.journal.jsonl"
SUMMARY = "summary.json"
#: Held (``flock``) by the run writing in the folder; names that run while it lasts.
LOCK = ".sentio-analyze.lock"

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
    return done_index(read_rows(out_dir), analysis_id)


def read_rows(out_dir: Path) -> list[dict]:
    """Every complete, finite row ``out_dir`` holds, of any analysis: the table, then the
    journal of a run that did not finish."""
    rows = []
    for name in (TABLE_JSONL, JOURNAL):
        rows += [row for row in _read_jsonl(Path(out_dir) / name) if is_finite_row(row)]
    return rows


def done_index(rows: Iterable[dict], analysis_id: str) -> DoneIndex:
    """The rows of ``analysis_id``, for a re-run to reuse."""
    done = DoneIndex()
    for row in rows:
        if row.get("analysis_id") == analysis_id:
            done.add(row)
    return done


def merge_rows(
    earlier: Iterable[dict], rows: Iterable[dict], found: Iterable[str]
) -> tuple[list[dict], int]:
    """The table after a run: ``(rows, how many of them are earlier rows kept)``, sorted by
    path. Every row of this run, and every earlier row (another catalogue's, another
    analysis's) that this run does not replace. An earlier row is replaced where

    - this run has a row for its path;
    - this run found its path but skipped the file, and the file changed since that row
      (size or time): the row no longer describes it. An unchanged file keeps its row;
    - its path is gone and this run has a row with its content (sha256): the file moved.

    A file at two paths (a copy) keeps a row at each. Rows of files that are gone without a
    trace (a deleted file, an unmounted disk) are kept: start another ``--out`` for a fresh
    table.
    """
    rows = list(rows)
    new_paths = {row["path"] for row in rows}
    new_shas = {row["sha256"] for row in rows}
    found = set(found)
    by_path: dict[str, dict] = {}
    for row in earlier:  # the journal after the table: its row of a path is the later one
        by_path[row["path"]] = row
    kept = [
        row
        for path, row in by_path.items()
        if path not in new_paths and _still_true(row, path in found, new_shas)
    ]
    merged = sorted([*rows, *kept], key=lambda row: Path(row["path"]))
    return merged, len(kept)


def _still_true(row: dict, found: bool, new_shas: set[str]) -> bool:
    try:
        stat = os.stat(row["path"])
    except (OSError, ValueError):
        return not found and row["sha256"] not in new_shas  # gone: kept unless it moved
    if found:  # found and skipped by this run: kept while the file is the one it describes
        return (stat.st_size, stat.st_mtime_ns) == (row["size_bytes"], row["mtime_ns"])
    return True


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # a FIFO would block, a device never end: never opened
            raise ConfigError(
                f"{path} is {not_regular(mode)}, not a regular file",
                hint="remove it (a run writes its tables there), or pass another --out",
            )
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
    finish: what survives a crash, Ctrl-C or a full disk. Only the driver writes it.

    Attributes:
        rows: rows this run appended (and flushed) so far.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / JOURNAL
        self.rows = 0
        self._fh = open(self.path, "a+b")  # noqa: SIM115 (kept open for the run, closed in close)
        if self._fh.seek(0, os.SEEK_END) > 0:
            self._fh.seek(-1, os.SEEK_END)
            if self._fh.read(1) != b"\n":  # a line torn by a crash or a full disk: end it, so
                self._fh.write(b"\n")  # that the next row is not glued to it (and lost)

    def append(self, row: dict) -> None:
        """One row, flushed; an ``OSError`` (a full disk) leaves at most a torn last line,
        which the reader ignores."""
        self._fh.write((json.dumps(row) + "\n").encode())
        self._fh.flush()
        self.rows += 1

    def close(self) -> None:
        """Synced and closed; never raises (a row a full disk refused is not in it, and the
        caller has been told by :meth:`append`)."""
        with contextlib.suppress(OSError):
            os.fsync(self._fh.fileno())
        with contextlib.suppress(OSError):  # the row the disk refused, still buffered: dropped
            self._fh.close()  # (the file is closed all the same)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[Path]:
    """The output folder for this run alone, for the ``with`` block: an exclusive, non-blocking
    ``flock`` on ``OUT/.sentio-analyze.lock``, which names this run (pid, host, start time,
    command) while it holds it. The kernel drops the lock when the process ends, however it
    ends, so a killed run never blocks the next one; the file is removed at the end.

    Raises:
        OutputBusyError: another run holds the folder (the message names it).
        ConfigError: the lock file cannot be made.
    """
    path = Path(out_dir) / LOCK
    fd = _lock(path)
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the lock goes: a run that opened this file retries
        os.close(fd)


def _lock(path: Path) -> int:
    """A descriptor of ``path`` holding its lock; see :func:`folder_lock`."""
    for _ in range(100):
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(path, flags, 0o666)
        except OSError as err:
            raise ConfigError(
                f"cannot make the lock file {path}: {err}", hint="pass another --out"
            ) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputBusyError(
                f"--out {path.parent} is in use by another sentio-analyze run: {holder}",
                hint="wait for it to finish (or stop it), or pass another --out: two runs "
                "writing one folder would each lose the other's rows",
            ) from None
        except OSError as err:
            os.close(fd)
            raise ConfigError(
                f"cannot lock {path}: {err}",
                hint="pass an --out on a file system with locks (a local disk, NFSv4)",
            ) from err
        try:  # the run that held it may have removed the file just before it let go
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise ConfigError(f"cannot lock {path}: it keeps changing", hint="pass another --out")


def _holder(fd: int) -> str:
    """The run a lock file names, in words."""
    try:
        info = json.loads(os.pread(fd, 65536, 0).decode())
        return (
            f"pid {info['pid']} on {info['host']}, started {info['started']}, "
            f"command: {info['command']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "one that is starting (it has not written its pid yet)"


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
