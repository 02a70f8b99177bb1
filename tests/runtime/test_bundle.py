"""Writing a bundle: atomically, with every file's sha256 in the manifest."""

import pytest
from sentio.runtime.bundle import write_bundle
from sentio.runtime.errors import BundleError
from sentio.runtime.manifest import FORMAT_VERSION, ModelEntry, load

from tests.helpers import tiny_manifest


def _fill(staging):
    (staging / "model.bin").write_bytes(b"weights")


def test_bundle_is_written_with_checksums_and_verifies(tmp_path):
    out = write_bundle(tmp_path / "b", tiny_manifest(metrics={"hello": 1}), _fill)
    manifest = load(out)
    assert manifest.metrics == {"hello": 1} and set(manifest.files) == {"model.bin"}
    assert manifest.format_version == FORMAT_VERSION
    (out / "model.bin").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="sha256 mismatch"):
        load(out)


def test_the_manifest_may_depend_on_the_written_files(tmp_path):
    def manifest():
        size = (staging_seen[0] / "model.bin").stat().st_size
        return tiny_manifest(models=(ModelEntry("model.bin", "tflite", bytes=size),))

    staging_seen = []

    def fill(staging):
        staging_seen.append(staging)
        _fill(staging)

    out = write_bundle(tmp_path / "b", manifest, fill)
    assert load(out).model("model.bin").bytes == len(b"weights")


def test_a_failed_write_leaves_no_bundle_and_keeps_the_old_one(tmp_path):
    write_bundle(tmp_path / "b", tiny_manifest(metrics={"v": 1}), _fill)

    def crash(staging):
        _fill(staging)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path / "b", tiny_manifest(metrics={"v": 2}), crash)
    assert load(tmp_path / "b").metrics == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no partial folder left
