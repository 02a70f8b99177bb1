"""Writing a bundle: atomically, with every file's sha256 in the manifest."""

import os
import shutil
import stat
import subprocess
import sys

import pytest
from sentio.runtime.bundle import check_out_dir, write_bundle
from sentio.runtime.errors import BundleError, OutputPathError
from sentio.runtime.manifest import (
    FORMAT_VERSION,
    Metrics,
    ModelEntry,
    Scores,
    SplitScores,
    current_umask,
    load,
)

from tests.helpers import as_another_user, tiny_manifest, world_dir


def _metrics(n: int) -> Metrics:
    return Metrics(test=SplitScores(songs=Scores(n=n)))


def _fill(staging):
    (staging / "model.bin").write_bytes(b"weights")


def test_bundle_is_written_with_checksums_and_verifies(tmp_path):
    out = write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(1)), _fill)
    manifest = load(out)
    assert manifest.metrics == _metrics(1) and set(manifest.files) == {"model.bin"}
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
    write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(1)), _fill)

    def crash(staging):
        _fill(staging)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(2)), crash, replace=True)
    assert load(tmp_path / "b").metrics == _metrics(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no partial folder left


# ------------------------------------------------------------------------ what --out may replace


def _untouched(tmp_path):
    """Every path under ``tmp_path`` with its bytes: what a refused write must leave as is."""
    return {p: p.read_bytes() if p.is_file() else None for p in sorted(tmp_path.rglob("*"))}


def test_a_folder_that_is_not_a_bundle_is_never_replaced(tmp_path):
    """Was: the folder and everything in it went, with no warning (issue 22)."""
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    before = _untouched(tmp_path)
    for replace in (False, True):
        with pytest.raises(OutputPathError, match="is not empty and is not a Sentio bundle") as e:
            write_bundle(keep, tiny_manifest(), _fill, replace=replace)
        assert "notes.txt" in e.value.message and "never deletes" in e.value.hint
        assert _untouched(tmp_path) == before  # no staging folder left either


def test_a_file_is_never_replaced(tmp_path):
    target = tmp_path / "model"
    target.write_text("a file of the user's")
    for replace in (False, True):
        with pytest.raises(OutputPathError, match="is a file, not a folder"):
            write_bundle(target, tiny_manifest(), _fill, replace=replace)
    assert target.read_text() == "a file of the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_symlink_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputPathError, match="symbolic link"):
        write_bundle(tmp_path / "link", tiny_manifest(), _fill, replace=True)
    assert (tmp_path / "link").is_symlink()


def test_an_empty_folder_is_written_into(tmp_path):
    (tmp_path / "b").mkdir()
    assert load(write_bundle(tmp_path / "b", tiny_manifest(), _fill)).files


def test_a_bundle_is_replaced_only_when_asked(tmp_path):
    write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(1)), _fill)
    with pytest.raises(OutputPathError, match="already holds a Sentio bundle") as e:
        write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(2)), _fill)
    assert "--force" in e.value.hint
    assert load(tmp_path / "b").metrics == _metrics(1)
    write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(2)), _fill, replace=True)
    assert load(tmp_path / "b").metrics == _metrics(2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_bundle_holding_a_users_file_is_not_replaced_even_when_asked(tmp_path):
    bundle = write_bundle(tmp_path / "b", tiny_manifest(metrics=_metrics(1)), _fill)
    (bundle / "my-notes.md").write_text("mine")
    with pytest.raises(OutputPathError, match=r"my-notes\.md, which are not part of it"):
        write_bundle(bundle, tiny_manifest(metrics=_metrics(2)), _fill, replace=True)
    assert (bundle / "my-notes.md").read_text() == "mine"
    assert load(bundle).metrics == _metrics(1)


def test_what_appears_at_out_while_writing_is_kept(tmp_path):
    """Checked again before the rename: a folder made there during a long export stays."""
    out = tmp_path / "b"

    def fill(staging):
        _fill(staging)
        out.mkdir()
        (out / "notes.txt").write_text("mine")

    with pytest.raises(OutputPathError):
        write_bundle(out, tiny_manifest(), fill)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def _refusal(out):
    def attempt():
        try:
            check_out_dir(out)
            return "allowed"
        except OutputPathError as err:
            return f"OutputPathError: {err}"

    return attempt


def test_a_read_only_folder_is_a_clear_error(tmp_path):
    """Was: a PermissionError traceback from mkdir/mkdtemp (issue 22 item 10)."""
    root = world_dir(tmp_path)
    locked = root / "locked"
    try:
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        result, _ = as_another_user(_refusal(locked / "deeper" / "b"))
        assert "OutputPathError" in result and f"cannot write in {locked}" in result, result
        assert "a folder you can write to" in result
    finally:
        shutil.rmtree(root)


def test_a_failed_mkdir_is_an_output_path_error(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(OutputPathError, match="Permission denied") as e:
        write_bundle(tmp_path / "b", tiny_manifest(), _fill)
    assert "folder you can write to" in e.value.hint


# ----------------------------------------------------------------------------- modes, leftovers


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_bundle_gets_the_modes_a_plain_write_gives(tmp_path, umask):
    """mkdtemp/mkstemp alone made every bundle 0700/0600: unreadable by a service's User=."""
    old = os.umask(umask)
    try:
        out = write_bundle(tmp_path / "b", tiny_manifest(), _fill)
    finally:
        os.umask(old)
    assert _mode(out) == 0o777 & ~umask
    assert _mode(out / "model.bin") == 0o666 & ~umask
    assert _mode(out / "sentio.json") == 0o666 & ~umask


def test_current_umask_is_read_without_changing_it():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(old)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_later_write_removes_stale_partials_of_its_own_bundle_only(tmp_path):
    """A writer killed by SIGKILL leaves .NAME.partial-<pid>-*; the next write of that bundle
    removes those whose process is gone, keeps a live writer's, and leaves other bundles'."""
    dead = _dead_pid()
    stale = tmp_path / f".b.partial-{dead}-abc123"
    stale_old = tmp_path / f".b.old-{dead}"
    live = tmp_path / f".b.partial-{os.getpid()}-xyz789"
    other = tmp_path / f".other.partial-{dead}-abc123"
    legacy = tmp_path / ".b.partial-k2j3h4g5"  # a name without a pid: not ours to judge
    for folder in (stale, stale_old, live, other, legacy):
        folder.mkdir()
        (folder / "model.bin").write_bytes(b"half")
    write_bundle(tmp_path / "b", tiny_manifest(), _fill)
    assert not stale.exists() and not stale_old.exists()
    assert live.exists() and other.exists() and legacy.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"b", live.name, other.name, legacy.name}


def test_staging_folder_is_named_with_the_writers_pid(tmp_path):
    seen = []
    write_bundle(tmp_path / "b", tiny_manifest(), lambda s: (seen.append(s.name), _fill(s)))
    assert seen[0].startswith(f".b.partial-{os.getpid()}-")


# ----------------------------------------------------------------------------- unreadable


def _load_or_error(bundle):
    def attempt():
        try:
            load(bundle)
            return "loaded"
        except BundleError as err:
            return f"BundleError: {err.message} | {err.hint}"

    return attempt


@pytest.mark.parametrize("locked", ["folder", "sentio.json", "model.bin"])
def test_an_unreadable_bundle_is_a_clear_bundle_error(tmp_path, locked):
    """The systemd unit runs as User=sentio: a bundle it may not read must say so, not crash
    with a PermissionError traceback."""
    root = world_dir(tmp_path)
    try:
        bundle = write_bundle(root / "b", tiny_manifest(), _fill)
        target = bundle if locked == "folder" else bundle / locked
        target.chmod(0o000 if os.geteuid() != 0 else (0o700 if locked == "folder" else 0o600))
        result, _ = as_another_user(_load_or_error(bundle))
        assert "permission denied" in result, result
        assert "BundleError" in result and "chmod -R a+rX" in result
    finally:
        for p in (root, *root.rglob("*")):
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(root)


def test_a_bundle_written_with_umask_022_is_readable_by_another_user(tmp_path):
    root = world_dir(tmp_path)
    old = os.umask(0o022)
    try:
        bundle = write_bundle(root / "b", tiny_manifest(), _fill)
        result, _ = as_another_user(_load_or_error(bundle))
        assert result in ("'loaded'", "loaded"), result
    finally:
        os.umask(old)
        shutil.rmtree(root)


def test_the_listener_cli_says_an_unreadable_bundle_and_exits_2(tmp_path):
    """sentio-listen on a bundle written before the fix (0700/0600), as another user."""
    import sentio.runtime.cli as cli
    from sentio.runtime.model import default_bundle

    from tests.helpers import write_tone

    root = world_dir(tmp_path)
    try:
        bundle = root / "model"
        shutil.copytree(default_bundle(), bundle)
        bundle.chmod(0o700 if os.geteuid() == 0 else 0o000)
        wav = write_tone(root / "x.wav", seconds=1.0)
        os.chmod(wav, 0o644)
        result, err = as_another_user(
            lambda: cli.main(["--model", str(bundle), "--input", str(wav)])
        )
        assert result == "2", (result, err)
        assert "permission denied" in err and "Traceback" not in err, err
    finally:
        bundle.chmod(0o755)
        shutil.rmtree(root)
