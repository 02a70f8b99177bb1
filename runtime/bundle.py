"""The artifact bundle: a folder of model files plus ``sentio.json``, the contract between halves.

The manifest holds everything the runtime needs to reproduce the training features and read
the outputs (feature spec, normalization, window, label scale) and a sha256 per file.
Bundles are written into a temporary sibling folder and renamed into place, so a crash never
leaves a half-written bundle that looks valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentio.runtime.errors import BundleError
from sentio.runtime.features import FeatureSpec

MANIFEST_NAME = "sentio.json"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bundle(out_dir: Path, manifest: dict[str, Any], fill: Callable[[Path], None]) -> Path:
    """Create a bundle atomically.

    Args:
        out_dir: the bundle folder to create (replaced if it exists).
        manifest: manifest fields; ``files`` (name -> sha256) and ``format_version`` are added.
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
        write_json_atomic(
            staging / MANIFEST_NAME,
            {"format_version": FORMAT_VERSION, **manifest, "files": files},
        )
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


def load_manifest(bundle_dir: Path, verify: bool = True) -> dict[str, Any]:
    """Read a bundle's manifest and (by default) check every listed file's sha256.

    Raises:
        BundleError: no manifest, unreadable JSON, a missing file or a checksum mismatch.
    """
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(
            f"{bundle_dir} is not a Sentio bundle (no {MANIFEST_NAME})",
            hint="point at the folder written by sentio-train / sentio-export",
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BundleError(f"cannot read {path}: {err}", hint="re-export the bundle") from err
    if verify:
        for name, expected in manifest.get("files", {}).items():
            file = bundle_dir / name
            if not file.is_file():
                raise BundleError(f"bundle file missing: {file}", hint="re-export the bundle")
            if sha256_file(file) != expected:
                raise BundleError(
                    f"sha256 mismatch for {file}: the file changed after export",
                    hint="re-export the bundle, or restore the file it was exported with",
                )
    return manifest


def manifest_spec(manifest: dict[str, Any]) -> FeatureSpec:
    """The feature spec a bundle's model was trained with, checked against its fingerprint.

    Raises:
        BundleError: the spec is missing, or does not match its recorded fingerprint.
    """
    if "feature_spec" not in manifest:
        raise BundleError("the bundle's manifest has no feature spec", hint="re-export the bundle")
    fields = dict(manifest["feature_spec"])
    fingerprint = fields.pop("fingerprint", None)
    spec = FeatureSpec.from_dict(fields)
    if fingerprint and fingerprint != spec.fingerprint():
        raise BundleError(
            "the bundle's feature spec does not match its recorded fingerprint",
            hint="the manifest was edited or comes from another Sentio version; re-export",
        )
    return spec
