"""``sentio-export`` under faults (issue 16): a run trained on a CSV with its own label scale
exports with no data given; SIGTERM leaves nothing behind (exit 143); a later export removes
what a killed one left (its own bundle's only, never a live writer's); bundles get the umask's
modes; the converters' native stderr lines stay hidden without -v."""

import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.runtime.manifest import load as load_manifest  # noqa: E402

from tests.helpers import TINY  # noqa: E402

pytestmark = pytest.mark.slow

EXPORT = "import sys; from sentio.export.cli.entry import export_main; sys.exit(export_main())"


def _scaled_dataset(root):
    """24 generated songs whose labels are written on a 1..9 scale (as DEAM's are)."""
    from sentio.export.data.synthetic import make_synthetic_dataset

    csv_path = make_synthetic_dataset(root, n_songs=24, duration_s=12.0, seed=3)
    rows = list(csv.reader(csv_path.open()))
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(rows[0])
        for path, v, a in rows[1:]:
            writer.writerow([path, f"{5 + 4 * float(v):.4f}", f"{5 + 4 * float(a):.4f}"])
    return csv_path


@pytest.fixture(scope="module")
def scaled_run(tmp_path_factory):
    """``sentio-train fit --manifest m.csv --label-scale 1 9`` (tiny model, 2 epochs)."""
    from sentio.export.cli.train import main

    root = tmp_path_factory.mktemp("scaled")
    csv_path = _scaled_dataset(root / "data")
    out = root / "run"
    args = ["fit", "--manifest", str(csv_path), "--label-scale", "1", "9", *TINY]
    assert main([*args, "--epochs", "2", "--seed", "1", "--out", str(out)]) == 0
    return out, csv_path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _export(args, tmp, **kwargs):
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", EXPORT, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        **kwargs,
    )


def test_a_run_on_a_1_to_9_csv_exports_int8_with_its_csv_given_again(scaled_run, tmp_path):
    """Issue 16 #3: this failed with "label 2.13 is outside the declared scale -1..1". (The
    CSV is given again without --label-scale: the scale is the run's, the path never is.)"""
    run, csv_path = scaled_run
    out = tmp_path / "bundle"
    dead, live = _dead_pid(), os.getpid()
    stale = tmp_path / f".bundle.partial-{dead}-a1b2c3"
    busy = tmp_path / f".bundle.partial-{live}-d4e5f6"  # "another export, still writing"
    for folder in (stale, busy):
        folder.mkdir()
        (folder / "model_float32.tflite").write_bytes(b"half")
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    old = os.umask(0o022)
    try:
        done = _export(
            [
                "--model",
                str(run),
                "--manifest",
                str(csv_path),
                "--int8",
                "--calibration-size",
                "20",
                "--quiet",
                "--out",
                str(out),
            ],
            system_tmp,
        )
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = load_manifest(out)
    assert manifest.data.label_scale == (1.0, 9.0)
    assert manifest.export.evaluated_on.startswith("test split")
    assert "model_int8.tflite" in manifest.files
    # leftovers: the dead export's partial is gone, the live one's kept; no TF temp files
    assert not stale.exists() and busy.exists()
    assert list(system_tmp.iterdir()) == []
    # modes: what a plain write gives under umask 022
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "sentio.json").stat().st_mode) == 0o644
    # the converters' native lines are hidden without -v
    assert "fully_quantize" not in done.stderr, done.stderr
    assert "XNNPACK" not in done.stderr, done.stderr


def test_the_csv_given_again_without_label_scale_uses_the_recorded_scale(
    scaled_run, tmp_path, capsys
):
    """--manifest m.csv without --label-scale: the scale the run was trained with;
    --label-scale given overrides it (here wrongly, so the labels are refused)."""
    from sentio.export.cli.train import main

    run, csv_path = scaled_run
    code = main(
        ["evaluate", "--model", str(run), "--manifest", str(csv_path), "--no-cache", "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
    code = main(
        [
            "evaluate",
            "--model",
            str(run),
            "--manifest",
            str(csv_path),
            "--no-cache",
            "--quiet",
            "--label-scale",
            "-1",
            "1",
        ]
    )
    assert code == 2
    assert "outside the declared scale" in capsys.readouterr().err


def test_sigterm_mid_conversion_leaves_nothing_and_exits_143(scaled_run, tmp_path):
    """Issue 16 #5: SIGTERM cleans up like Ctrl-C: no .OUT.partial-*, no TF temp files."""
    run, csv_path = scaled_run
    out = tmp_path / "bundle"
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    given = ["--model", str(run), "--manifest", str(csv_path), "--quiet", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-c", EXPORT, *given],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 300
    converting = []
    while time.monotonic() < deadline and proc.poll() is None and not converting:
        converting = [p for p in tmp_path.glob(".bundle.partial-*/.tmp/*")]
        time.sleep(0.05)
    assert converting, "the export never reached the conversion"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["system-tmp"]
    assert list(system_tmp.iterdir()) == []


def test_default_model_on_generated_music_says_so(tmp_path, monkeypatch):
    """With no labelled data, evaluated_on and report.md say the music was generated."""
    from sentio.export.conversion.exporter import GENERATED_NOTE, _evaluated_on
    from sentio.export.conversion.gate import DropLimits
    from sentio.export.conversion.report import write_report_md
    from sentio.runtime.manifest import ExportInfo, read
    from sentio.runtime.model import default_bundle

    class Song:
        def __init__(self, n):
            import numpy as np

            self.starts = np.arange(n)

    text = _evaluated_on([Song(3), Song(4)], generated=True)
    assert text == f"{GENERATED_NOTE} (2 songs, 7 windows)"
    assert _evaluated_on([Song(3)], generated=False) == "test split: 1 songs, 3 windows"
    manifest = read(default_bundle())
    manifest = manifest.replace(export=ExportInfo(source="x", evaluated_on=text))
    write_report_md(tmp_path / "report.md", manifest, {}, DropLimits())
    report = (tmp_path / "report.md").read_text()
    assert "Evaluated on generated music" in report and "**Generated music:**" in report
    assert json.dumps(text)
