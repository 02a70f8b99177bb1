"""Writing an artifact bundle: a folder of model files plus ``sentio.json`` (see
:mod:`sentio.runtime.manifest`, the contract), created atomically.

The files are written into a temporary sibling folder, hashed into the manifest, and the folder
is renamed into place: a crash never leaves a half-written bundle that looks valid.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sentio.runtime.manifest import FORMAT_VERSION, MANIFEST_NAME, Manifest, save, sha256_file


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
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    try:
        fill(staging)
        files = {
            p.name: sha256_file(p)
            for p in sorted(staging.iterdir())
            if p.is_file() and p.name != MANIFEST_NAME
        }
        final = manifest() if callable(manifest) else manifest
        save(final.replace(files=files, format_version=FORMAT_VERSION), staging)
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, retired)
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
