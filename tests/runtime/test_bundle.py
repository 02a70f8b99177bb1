import pytest
from sentio.runtime.bundle import MANIFEST_NAME, load_manifest, write_bundle
from sentio.runtime.errors import BundleError


def _fill(staging):
    (staging / "model.bin").write_bytes(b"weights")


def test_bundle_is_written_with_checksums_and_verifies(tmp_path):
    out = write_bundle(tmp_path / "b", {"hello": 1}, _fill)
    manifest = load_manifest(out)
    assert manifest["hello"] == 1 and "model.bin" in manifest["files"]
    (out / "model.bin").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="sha256 mismatch"):
        load_manifest(out)


def test_a_failed_write_leaves_no_bundle_and_keeps_the_old_one(tmp_path):
    write_bundle(tmp_path / "b", {"v": 1}, _fill)

    def crash(staging):
        _fill(staging)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path / "b", {"v": 2}, crash)
    assert load_manifest(tmp_path / "b")["v"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no partial folder left


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=MANIFEST_NAME):
        load_manifest(tmp_path)
