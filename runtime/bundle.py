"""Writing an artifact bundle: a folder of model files plus ``sentio.json`` (see
:mod:`sentio.runtime.manifest`, the contract), created atomically.

The files are written into a temporary sibling folder, hashed into the manifest, and the folder
is renamed into place: a crash never leaves a half-written bundle that looks valid.

The staging folder is named ``.NAME.partial-<pid>-<random>``. A writer killed outright
(SIGKILL, power loss) cannot remove its own; the next write of the same bundle removes those
whose process is gone (a live writer's are kept). The bundle gets the modes a plain write would:
folders 0777 and files 0666, less the umask (``mkdtemp`` alone gives 0700: a service running as
another user could not read the bundle).

A writer never replaces what the user did not ask it to (:func:`check_out_dir`): it writes
where nothing is, or into an empty folder; it replaces a Sentio bundle only when asked
(``replace``, the CLIs' ``--force``), and only one that holds nothing but the bundle's own
files; a file, a symbolic link, or a folder holding anything else is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sentio.runtime.errors import OutputPathError, SentioError
from sentio.runtime.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    Manifest,
    current_umask,
    read,
    save,
    sha256_file,
)

log = logging.getLogger(__name__)

_LEFTOVER = re.compile(r"\.(?:partial-(\d+)-.+|old-(\d+))")

#: The option of every CLI that writes a bundle or a run: replace what an earlier run wrote.
FORCE_FLAG = "--force"
#: What a folder that may be written into is called in messages.
BUNDLE = "a Sentio bundle"


def bundle_foreign(folder: Path) -> list[str] | None:
    """The entries of ``folder`` that are not its bundle's (``sentio.json`` and the files it
    lists), or None when ``folder`` is not a Sentio bundle (no readable ``sentio.json``)."""
    folder = Path(folder)
    if not (folder / MANIFEST_NAME).is_file():
        return None
    try:
        manifest = read(folder)
    except SentioError:
        return None
    own = {MANIFEST_NAME, *manifest.files}
    return sorted(name for name in os.listdir(folder) if name not in own)


def _names(names: list[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def check_out_dir(
    out_dir: Path,
    replace: bool = False,
    *,
    option: str = "--out",
    what: str = BUNDLE,
    foreign: Callable[[Path], list[str] | None] = bundle_foreign,
) -> Path:
    """``out_dir`` as a folder a writer may create, or an :class:`OutputPathError` saying why
    not (the CLIs exit 2). Nothing is created or removed.

    Allowed: nothing there (the folders above are created), an empty folder, and, with
    ``replace`` (``--force``), ``what`` an earlier run wrote: a folder where ``foreign`` finds
    no entry that is not its own. Refused: a file, a symbolic link, a folder holding anything
    else, a folder that cannot be written in.

    Args:
        option: the option that named ``out_dir``, for the message.
        what: what the writer writes (default: a Sentio bundle).
        foreign: the entries of a folder that ``what`` does not own, or None when the folder
            is not ``what`` at all (default :func:`bundle_foreign`).
    """
    out_dir = Path(out_dir)
    name = f"{option} {out_dir}"
    elsewhere = f"choose another {option}"
    try:
        if out_dir.is_symlink():
            raise OutputPathError(
                f"{name} is a symbolic link (to {os.readlink(out_dir)})",
                hint=f"pass the folder it points to, or {elsewhere}",
            )
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputPathError(
                f"{name} is a file, not a folder, and is never replaced",
                hint=f"{elsewhere}, or move the file away",
            )
        entries = sorted(os.listdir(out_dir)) if out_dir.is_dir() else []
        if entries:
            extra = foreign(out_dir)
            if extra is None:
                raise OutputPathError(
                    f"{name} is not empty and is not {what} (it holds {_names(entries)})",
                    hint=f"{elsewhere} (a new or empty folder): Sentio never deletes files it "
                    "did not write",
                )
            if extra:
                raise OutputPathError(
                    f"{name} holds {what} and also {_names(extra)}, which are not part of it",
                    hint=f"move them out of the folder, or {elsewhere} ({FORCE_FLAG} replaces "
                    f"{what} only)",
                )
            if not replace:
                raise OutputPathError(
                    f"{name} already holds {what}",
                    hint=f"pass {FORCE_FLAG} to replace it, or {elsewhere}",
                )
        _check_writable(out_dir, name, elsewhere)
    except OSError as err:
        raise OutputPathError(
            f"{name}: cannot use it: {err.strerror or err}",
            hint=f"{elsewhere} in a folder you can read and write",
        ) from err
    return out_dir


def _check_writable(out_dir: Path, name: str, elsewhere: str) -> None:
    """The nearest folder above ``out_dir`` that exists must be one this user can write in."""
    folder = out_dir.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(f"{name}: {folder} is a file, not a folder", hint=elsewhere)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"{name}: cannot write in {folder} (permission denied, or a read-only file system)",
            hint=f"{elsewhere} in a folder you can write to",
        )


def staging_prefix(out_dir: Path) -> str:
    """The name prefix of this process's staging folders for ``out_dir``."""
    return f".{Path(out_dir).name}.partial-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_partials(out_dir: Path) -> list[Path]:
    """Remove the staging (``.NAME.partial-<pid>-*``) and retired (``.NAME.old-<pid>``)
    folders of ``out_dir`` left by writers that are gone; returns what was removed.

    Only this bundle's, and only those whose pid is not a live process: a concurrent export of
    the same bundle keeps its staging folder.
    """
    out_dir = Path(out_dir)
    removed = []
    prefix = f".{out_dir.name}."
    try:
        entries = list(out_dir.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        match = _LEFTOVER.fullmatch(entry.name[len(prefix) - 1 :])
        pid = match and (match.group(1) or match.group(2))
        if not pid or pid_alive(int(pid)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
            log.info("removed %s, left by an export that was killed", entry)
    return removed


def _chmod_tree(root: Path, umask: int) -> None:
    """Folders 0777 and files 0666, less ``umask`` (what a plain mkdir/open would give)."""
    dir_mode, file_mode = 0o777 & ~umask, 0o666 & ~umask
    os.chmod(root, dir_mode)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), dir_mode)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)


def write_bundle(
    out_dir: Path,
    manifest: Manifest | Callable[[], Manifest],
    fill: Callable[[Path], None],
    replace: bool = False,
) -> Path:
    """Create a bundle atomically.

    Args:
        out_dir: the bundle folder to create: nothing there, or an empty folder; an earlier
            bundle only with ``replace`` (see :func:`check_out_dir`, checked before ``fill``
            and again before the rename).
        manifest: the manifest, or a function that returns it once ``fill`` has run (for
            fields the files decide); ``files`` (name -> sha256) and ``format_version`` are set
            here.
        fill: writes the bundle's files into the staging folder it is given.
        replace: replace a bundle already at ``out_dir`` (the CLIs' ``--force``).

    Returns:
        ``out_dir``.

    Raises:
        OutputPathError: ``out_dir`` holds what may not be replaced, or cannot be written.
    """
    out_dir = check_out_dir(out_dir, replace)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out_dir)
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=staging_prefix(out_dir)))
    except OSError as err:
        raise OutputPathError(
            f"--out {out_dir}: cannot write in {out_dir.parent}: {err.strerror or err}",
            hint="choose another --out in a folder you can write to",
        ) from err
    try:
        fill(staging)
        files = {
            p.name: sha256_file(p)
            for p in sorted(staging.iterdir())
            if p.is_file() and p.name != MANIFEST_NAME
        }
        final = manifest() if callable(manifest) else manifest
        save(final.replace(files=files, format_version=FORMAT_VERSION), staging)
        _chmod_tree(staging, current_umask())
        check_out_dir(out_dir, replace)  # what appeared there while the files were written
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(retired)
            os.replace(out_dir, retired)
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
