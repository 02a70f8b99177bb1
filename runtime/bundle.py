"""Writing an artifact bundle: a folder of model files plus ``sentio.json`` (see
:mod:`sentio.runtime.manifest`, the contract), created atomically.

The files are written into a temporary sibling folder, hashed into the manifest, and the folder
is renamed into place: a crash never leaves a half-written bundle that looks valid.

The staging folder is named ``.NAME.partial-<pid>-<random>``. A writer killed outright
(SIGKILL, power loss) cannot remove its own; the next write of the same bundle removes those
whose process is gone (a live writer's are kept). The bundle gets the modes a plain write would:
folders 0777 and files 0666, less the umask (``mkdtemp`` alone gives 0700: a service running as
another user could not read the bundle).
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

from sentio.runtime.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    Manifest,
    current_umask,
    save,
    sha256_file,
)

log = logging.getLogger(__name__)

_LEFTOVER = re.compile(r"\.(?:partial-(\d+)-.+|old-(\d+))")


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
    out_dir: Path, manifest: Manifest | Callable[[], Manifest], fill: Callable[[Path], None]
) -> Path:
    """Create a bundle atomically.

    Args:
        out_dir: the bundle folder to create (replaced if it exists).
        manifest: the manifest, or a function that returns it once ``fill`` has run (for
            fields the files decide); ``files`` (name -> sha256) and ``format_version`` are set
            here.
        fill: writes the bundle's files into the staging folder it is given.

    Returns:
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=staging_prefix(out_dir)))
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
