"""The wheel a Raspberry Pi user installs (issue 27, item 4): ``python -m build`` makes a wheel
and an sdist, ``twine check`` passes them, the wheel holds every module and data file of the
two halves, and installed alone into a fresh venv (the base install, no extras) it runs
``sentio-listen --input`` with no TensorFlow there.

One test, slow: it builds, then installs the wheel and its dependencies into a new venv from
the configured package index (tens of seconds to minutes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.helpers import write_song

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> its place in the wheel (pyproject's package-dir)
HALVES = {"runtime": "sentio/runtime", "export": "sentio/export"}
DATA = ("runtime/default_model", "runtime/outputs/web_static", "export/recipes")


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)


def _expected_files() -> set[str]:
    """Every module of the two halves and every data file the runtime reads, as wheel paths."""
    files = set()
    for folder, target in HALVES.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                files.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    for folder in DATA:
        for path in (ROOT / folder).iterdir():
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                top, rest = path.relative_to(ROOT).as_posix().split("/", 1)
                files.add(f"{HALVES[top]}/{rest}")
    return files


def test_the_wheel_builds_checks_and_listens_in_a_fresh_venv_without_tensorflow(tmp_path):
    dist = tmp_path / "dist"
    built = _run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("sentio_mer-*-py3-none-any.whl")
    (sdist,) = dist.glob("sentio_mer-*.tar.gz")
    checked = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_expected_files() - names)
    assert not missing, f"the wheel leaves out {missing}"
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    began = time.perf_counter()
    installed = _run(bin_dir / "pip", "install", "--no-cache-dir", wheel, env=env)
    install_s = time.perf_counter() - began
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    print(f"wheel {wheel.stat().st_size / 2**20:.1f} MiB; pip install in {install_s:.0f} s")

    # the base install only: no TensorFlow, and the package comes from the venv, not this clone
    probe = _run(
        bin_dir / "python",
        "-c",
        "import importlib.util as u, sentio.runtime as r; "
        "print(u.find_spec('tensorflow') is None, u.find_spec('tf_keras') is None, r.__file__)",
        cwd=tmp_path,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    no_tf, no_tf_keras, where = probe.stdout.split()
    assert no_tf == no_tf_keras == "True"
    assert Path(where).is_relative_to(venv)

    song = write_song(tmp_path / "song.wav", seconds=14.0)
    listened = _run(
        bin_dir / "sentio-listen", "--input", song, "--format", "json", cwd=tmp_path, env=env
    )
    assert listened.returncode == 0, listened.stderr
    lines = [json.loads(line) for line in listened.stdout.splitlines()]
    assert lines and all(-1 <= ln["valence"] <= 1 and -1 <= ln["arousal"] <= 1 for ln in lines)
    assert not lines[-1]["partial"] and "Traceback" not in listened.stderr
