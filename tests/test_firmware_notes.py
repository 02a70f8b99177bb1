"""The device notes' shipped files agree with the code: the systemd unit (checked by systemd
itself), the example options file, and the per-window compute quoted in the notes."""

from __future__ import annotations

import configparser
import importlib.util
import shlex
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sentio.runtime.cli import EXIT_BAD_INPUT, EXIT_DEVICE_UNAVAILABLE, build_parser

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "firmware_notes"
UNIT = NOTES / "sentio-listen.service"


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    # systemd units are INI-like; repeated keys (Environment=) are legal, the last one wins here
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(UNIT)
    return parser


def test_unit_runs_sentio_listen_as_a_normal_user_in_the_audio_group(unit):
    service = unit["Service"]
    assert service["User"] not in ("", "root", "0")
    assert "audio" in service["SupplementaryGroups"].split()
    program = Path(shlex.split(service["ExecStart"])[0])
    assert program.name == "sentio-listen"
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("sentio-listen") == "sentio.runtime.cli:main"
    assert service["StandardOutput"] == service["StandardError"] == "journal"


def test_restart_policy_matches_the_cli_exit_codes(unit):
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert float(service["RestartSec"]) > 0
    prevented = service["RestartPreventExitStatus"].split()
    assert prevented == [str(EXIT_BAD_INPUT)]  # configuration errors: a restart cannot help
    assert str(EXIT_DEVICE_UNAVAILABLE) not in prevented  # a missing or lost microphone is retried
    assert int(unit["Unit"]["StartLimitBurst"]) > 0
    assert int(unit["Unit"]["StartLimitIntervalSec"]) > 0


def test_hardening_leaves_alsa_devices_reachable(unit):
    service = unit["Service"]
    assert service.get("PrivateDevices", "no") == "no"  # would hide /dev/snd
    if service.get("DevicePolicy") in ("closed", "strict"):
        assert "char-alsa" in service["DeviceAllow"]
    assert service["NoNewPrivileges"] == "yes"


def test_systemd_accepts_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: apt-get install systemd (as .ci/run does)"
    program = shutil.which("sentio-listen")
    assert program, "sentio-listen is not on PATH: install the package first"
    # `verify` insists that ExecStart exists: point a copy at this machine's sentio-listen
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace("/opt/sentio/bin/sentio-listen", program))
    out = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert UNIT.name not in out.stderr, out.stderr


def test_example_options_are_valid_sentio_listen_options():
    lines = (NOTES / "sentio-listen.env").read_text().splitlines()
    values = [line.split("=", 1)[1] for line in lines if line.startswith("SENTIO_ARGS=")]
    assert len(values) == 1
    args = build_parser().parse_args(values[0].split())  # systemd splits $SENTIO_ARGS at spaces
    assert args.device and args.input is None


def test_notes_quote_the_models_real_compute():
    spec = importlib.util.spec_from_file_location(
        "model_compute", REPO / "benchmarks" / "model_compute.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.model_macs(REPO / "runtime" / "default_model" / "model_int8.tflite")
    total = sum(macs for _, macs, _ in rows)
    assert f"{total:,} MACs" in (NOTES / "README.md").read_text()
    ops = {name for name, _, _ in rows}
    assert {"CONV_2D", "UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED"} <= ops
