"""``python -m benchmarks.soak``: a long run of ``sentio-listen`` on a virtual microphone, with
its outputs under stress, checked for leaks and lost windows.

    python -m benchmarks.soak --minutes 60                  # the soak in BENCHMARKS.md
    python -m benchmarks.soak --minutes 2 --restart-every 35 --warmup 30   # tests/test_soak.py

What it sets up (no sound card needed: PortAudio through a user-space sound server):

- a PulseAudio server of its own (null sink at 48 kHz, mono, s16le, and a microphone remapped
  from the sink's monitor, exposed to ALSA and hence to PortAudio as ``sentio_soak_mic``), fed
  with generated music (a happy and a sad half) played into the sink over and over by
  ``paplay``;
- a mosquitto broker on a free loopback port, **restarted** every ``--restart-every`` seconds
  (down for ``--down`` seconds each time, no persistence);
- ``sentio-listen --device sentio_soak_mic --mqtt mqtt://127.0.0.1:PORT/soak --osc
  127.0.0.1:PORT2 --format json``, where nobody listens on PORT2 (UDP).

While it runs it samples the listener's RSS (``VmRSS`` of /proc/PID/status) every
``--sample-every`` seconds and reads every JSON line. At the end it stops the listener with
SIGTERM and reads the final stats lines. It prints a summary and exits 1 when:

- RSS after the warm-up grows by more than ``--max-growth-mb`` (the largest sample after the
  warm-up minus the first one), or
- any overflow is reported (a JSON line's ``overflows``/``dropped`` or the final stats line), or
- windows are missing: the JSON lines are fewer than the audio seconds allow
  (``(audio_s - window_s) / hop_s + 1``, ±1 at the edges), or two consecutive windows are
  more than one hop apart (a window lost in the middle), or
- the listener did not exit 0 on SIGTERM, or the MQTT output never delivered after a restart.

``--json FILE`` also writes every RSS sample and the summary, for the record.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

DEVICE_RATE = 48000
SINK, SOURCE, PCM = "sentio_soak_sink", "sentio_soak_source", "sentio_soak_mic"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


# --------------------------------------------------------------------------------------------
# The pieces: sound server, music player, broker


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PulseMic:
    """A PulseAudio server of our own with a virtual microphone (capture-rig notes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        runtime_dir = root / "run"
        runtime_dir.mkdir(mode=0o700)
        (root / "config" / "alsa").mkdir(parents=True)
        (root / "config" / "alsa" / "asoundrc").write_text(
            f'pcm.{PCM} {{ type pulse device "{SOURCE}" }}\n'
        )
        self.script = root / "server.pa"
        self.script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={root}/native\n"
            f"load-module module-null-sink sink_name={SINK} rate={DEVICE_RATE} channels=1 "
            "format=s16le\n"
            f"load-module module-remap-source source_name={SOURCE} master={SINK}.monitor\n"
            f"set-default-sink {SINK}\nset-default-source {SOURCE}\n"
        )
        self.env = {
            **os.environ,
            "PULSE_SERVER": f"unix:{root}/native",
            "HOME": str(root),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_RUNTIME_DIR": str(runtime_dir),
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> PulseMic:
        missing = [b for b in ("pulseaudio", "paplay") if shutil.which(b) is None]
        if missing:
            raise RuntimeError(
                f"{missing} not installed: apt-get install pulseaudio pulseaudio-utils "
                "libasound2-plugins"
            )
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(self.script), "--daemonize=no",
             "--exit-idle-time=-1", "--disallow-exit", "--log-level=error"],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not (self.root / "native").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Player:
    """Plays ``wav`` into the sink again and again (``paplay`` in a loop) until stopped."""

    def __init__(self, wav: Path, env: dict) -> None:
        self.wav, self.env = wav, env
        self.plays = 0
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._loop, name="player", daemon=True)

    def start(self) -> Player:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._proc = subprocess.Popen(
                ["paplay", f"--device={SINK}", str(self.wav)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._proc.wait()
            self.plays += 1

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._thread.join(timeout=10)


class Broker:
    """mosquitto on 127.0.0.1:``port``, no persistence; ``restart()`` stops and starts it."""

    def __init__(self, workdir: Path, port: int) -> None:
        if not Path(MOSQUITTO).exists():
            raise RuntimeError(f"{MOSQUITTO} not found: apt-get install mosquitto")
        self.port = port
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited at start")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


class StateCounter:
    """A paho subscriber to ``PREFIX/state``: counts the states each broker life received
    (a new subscriber per broker start), so a restart after which nothing arrives shows."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.count = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, 0)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        if not message.retain:
            self.count += 1

    def close(self) -> int:
        self.client.disconnect()
        self.client.loop_stop()
        return self.count


def write_music(path: Path, seconds: float) -> Path:
    """Generated music at the sink's rate, 16-bit: a happy half, then a sad half."""
    import soundfile
    from sentio.export.data.synthetic import synth_song

    half = seconds / 2
    music = np.concatenate(
        [
            synth_song(0.7, 0.7, half, DEVICE_RATE, seed=1),
            synth_song(-0.7, -0.7, half, DEVICE_RATE, seed=2),
        ]
    )
    soundfile.write(path, np.round(music * 0.5 * 32767).astype(np.int16), DEVICE_RATE)
    return path


def rss_mb(pid: int) -> float | None:
    """VmRSS of ``pid`` in MB (10^6 bytes), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 / 1e6 if match else None


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class SoakConfig:
    minutes: float = 60.0
    restart_every_s: float = 180.0  # broker restart period
    down_s: float = 5.0  # how long the broker stays away each time
    sample_every_s: float = 10.0  # RSS sampling period
    warmup_s: float = 60.0  # RSS before this (from the first window) is not judged
    max_growth_mb: float = 5.0
    music_s: float = 60.0
    hop_s: float | None = None  # sentio-listen --hop (None: the bundle's)
    model: str | None = None
    workdir: Path | None = None
    pythonpath: str | None = None  # run the listener from another tree (e.g. a git archive)


@dataclass
class SoakResult:
    command: list[str]
    wall_s: float = 0.0
    returncode: int | None = None
    rss: list[tuple[float, float]] = field(default_factory=list)  # (s since start, MB)
    windows: int = 0
    stats_windows: int | None = None
    audio_s: float | None = None
    window_s: float | None = None
    hop_s: float | None = None
    max_gap_s: float = 0.0
    span_t_s: float = 0.0  # last t - first t of the JSON lines
    span_wall_s: float = 0.0  # wall time between the first and last JSON line
    overflows: int = 0
    dropped: int = 0
    bad_lines: int = 0
    restarts: int = 0
    states_per_life: list[int] = field(default_factory=list)
    mqtt: tuple[int, int, int] | None = None  # sent, failed, dropped
    osc: tuple[int, int, int] | None = None
    mqtt_connects: int = 0
    mqtt_disconnects: int = 0
    plays: int = 0
    stderr_tail: str = ""

    # -- judgements ------------------------------------------------------------------------
    def after_warmup(self, warmup_s: float) -> list[tuple[float, float]]:
        start = self.rss[0][0] if self.rss else 0.0
        return [(t, mb) for t, mb in self.rss if t - start >= warmup_s]

    def expected_windows(self) -> int | None:
        if self.audio_s is None or not self.window_s or not self.hop_s:
            return None
        if self.audio_s < self.window_s:
            return 0
        return math.floor((self.audio_s - self.window_s) / self.hop_s + 1e-6) + 1

    def rss_summary(self, warmup_s: float) -> dict:
        samples = self.after_warmup(warmup_s)
        if len(samples) < 2:
            return {"samples": len(samples)}
        t = np.array([s[0] for s in samples])
        mb = np.array([s[1] for s in samples])
        slope = float(np.polyfit(t, mb, 1)[0]) * 3600 if np.ptp(t) > 0 else 0.0
        return {
            "samples": len(samples),
            "first_mb": round(float(mb[0]), 2),
            "last_mb": round(float(mb[-1]), 2),
            "max_mb": round(float(mb.max()), 2),
            "min_mb": round(float(mb.min()), 2),
            "growth_mb": round(float(mb.max() - mb[0]), 2),
            "slope_mb_per_h": round(slope, 3),
        }

    def failures(self, config: SoakConfig) -> list[str]:
        problems = []
        if self.returncode != 0:
            problems.append(f"sentio-listen exited {self.returncode} on SIGTERM")
        rss = self.rss_summary(config.warmup_s)
        if rss.get("samples", 0) < 2:
            problems.append("fewer than 2 RSS samples after the warm-up")
        elif rss["growth_mb"] > config.max_growth_mb:
            problems.append(
                f"RSS grew {rss['growth_mb']} MB after the warm-up "
                f"(limit {config.max_growth_mb} MB)"
            )
        if self.overflows or self.dropped:
            problems.append(f"{self.overflows} overflows, {self.dropped} dropped samples")
        expected = self.expected_windows()
        if expected is None:
            problems.append("no final stats line: cannot tell how many windows to expect")
        elif self.windows < expected - 1:
            problems.append(f"{self.windows} windows emitted, {expected} expected")
        if self.stats_windows is not None and self.stats_windows != self.windows:
            problems.append(
                f"{self.windows} JSON lines but the stats line counts {self.stats_windows}"
            )
        if self.hop_s and self.max_gap_s > self.hop_s * 1.5:
            problems.append(f"a gap of {self.max_gap_s:.2f} s between windows (hop {self.hop_s})")
        if self.bad_lines:
            problems.append(f"{self.bad_lines} stdout lines were not valid JSON")
        if self.states_per_life and min(self.states_per_life) == 0:
            problems.append(f"a broker life received no state: {self.states_per_life}")
        return problems

    def summary(self, config: SoakConfig) -> dict:
        return {
            "wall_s": round(self.wall_s, 1),
            "returncode": self.returncode,
            "rss_after_warmup": self.rss_summary(config.warmup_s),
            "rss_all": {
                "samples": len(self.rss),
                "first_mb": round(self.rss[0][1], 2) if self.rss else None,
                "max_mb": round(max(mb for _, mb in self.rss), 2) if self.rss else None,
            },
            "windows": self.windows,
            "windows_expected": self.expected_windows(),
            "stats_windows": self.stats_windows,
            "audio_s": self.audio_s,
            "window_s": self.window_s,
            "hop_s": self.hop_s,
            "max_gap_s": round(self.max_gap_s, 3),
            "span_t_s": round(self.span_t_s, 2),
            "span_wall_s": round(self.span_wall_s, 2),
            "overflows": self.overflows,
            "dropped": self.dropped,
            "broker_restarts": self.restarts,
            "states_per_broker_life": self.states_per_life,
            "mqtt_sent_failed_dropped": self.mqtt,
            "osc_sent_failed_dropped": self.osc,
            "mqtt_connects": self.mqtt_connects,
            "mqtt_disconnects": self.mqtt_disconnects,
            "music_plays": self.plays,
        }


def listener_command(config: SoakConfig, mqtt_port: int, osc_port: int) -> list[str]:
    command = [
        sys.executable, "-m", "sentio.runtime.cli",
        "--device", PCM,
        "--mqtt", f"mqtt://127.0.0.1:{mqtt_port}/soak",
        "--osc", f"127.0.0.1:{osc_port}",
        "--format", "json",
        # a window every hop from the first full one: the count and the gaps tell a lost
        # window; the music loops with silent gaps, which would restart the estimate
        "--first", "full", "--changes", "off",
    ]  # fmt: skip
    if config.model:
        command += ["--model", config.model]
    if config.hop_s is not None:
        command += ["--hop", str(config.hop_s)]
    return command


def run_soak(config: SoakConfig, log=print) -> SoakResult:
    """Set everything up, run for ``config.minutes``, tear down; the result says what held."""
    with tempfile.TemporaryDirectory(prefix="sentio-soak-", dir=config.workdir) as tmp:
        root = Path(tmp)
        (root / "pulse").mkdir()
        (root / "broker").mkdir()
        mic = PulseMic(root / "pulse").start()
        broker = None
        try:
            broker = Broker(root / "broker", free_port()).start()
            wav = write_music(root / "music.wav", config.music_s)
            return _run(config, mic, broker, wav, log)
        finally:
            if broker is not None:
                broker.stop()
            mic.stop()


def _run(config: SoakConfig, mic: PulseMic, broker: Broker, wav: Path, log) -> SoakResult:
    osc_port = free_port(socket.SOCK_DGRAM)  # free now, and nobody will listen
    command = listener_command(config, broker.port, osc_port)
    result = SoakResult(command=command)
    counter = StateCounter(broker.port, "soak/state")
    env = dict(mic.env)
    if config.pythonpath:
        env["PYTHONPATH"] = config.pythonpath
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    started = time.monotonic()
    first_line = threading.Event()
    stderr_lines: list[str] = []
    times: dict[str, float] = {}

    def read_stdout() -> None:
        last_t = None
        for line in proc.stdout:
            now = time.monotonic()
            try:
                item = json.loads(line)
            except ValueError:
                result.bad_lines += 1
                continue
            result.windows += 1
            result.overflows = max(result.overflows, int(item.get("overflows", 0)))
            result.dropped = max(result.dropped, int(item.get("dropped", 0)))
            t = float(item["t"])
            if last_t is None:
                times["first_t"], times["first_wall"] = t, now
                first_line.set()
            else:
                result.max_gap_s = max(result.max_gap_s, t - last_t)
            times["last_t"], times["last_wall"] = t, now
            last_t = t

    def read_stderr() -> None:
        for line in proc.stderr:
            stderr_lines.append(line.rstrip("\n"))
            del stderr_lines[:-2000]  # keep the tail (reconnect warnings can be many)
            if re.search(r"mqtt\S*: connected", line):
                result.mqtt_connects += 1
            elif re.search(r"mqtt\S*: disconnected", line):
                result.mqtt_disconnects += 1

    readers = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(target=read_stderr, daemon=True),
    ]
    for reader in readers:
        reader.start()
    player = None
    try:
        # PortAudio's first stream takes ~2 s to deliver; start the music once it listens.
        time.sleep(3.0)
        player = Player(wav, mic.env).start()
        end = started + config.minutes * 60
        next_sample = time.monotonic()
        next_restart = started + config.restart_every_s
        while time.monotonic() < end:
            if proc.poll() is not None:
                log(f"sentio-listen exited early with {proc.returncode}")
                break
            now = time.monotonic()
            if now >= next_sample:
                mb = rss_mb(proc.pid)
                if mb is not None and first_line.is_set():  # sample from the first window on
                    result.rss.append((round(now - started, 1), mb))
                    if len(result.rss) % max(1, int(300 / config.sample_every_s)) == 1:
                        log(f"[{now - started:7.0f} s] RSS {mb:.1f} MB, {result.windows} windows")
                next_sample += config.sample_every_s
            if now >= next_restart and now + config.down_s + 5 < end:
                result.states_per_life.append(counter.close())
                broker.stop()
                time.sleep(config.down_s)
                broker.start()
                result.restarts += 1
                counter = StateCounter(broker.port, "soak/state")
                log(f"[{time.monotonic() - started:7.0f} s] broker restarted ({result.restarts})")
                next_restart += config.restart_every_s
            time.sleep(max(0.0, min(next_sample, next_restart, end) - time.monotonic()))
        time.sleep(0.5)
        result.states_per_life.append(counter.close())
    finally:
        if player is not None:
            player.stop()
            result.plays = player.plays
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            result.returncode = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            result.returncode = proc.wait()
        for reader in readers:
            reader.join(timeout=10)
    result.wall_s = time.monotonic() - started
    if "first_t" in times:
        result.span_t_s = times["last_t"] - times["first_t"]
        result.span_wall_s = times["last_wall"] - times["first_wall"]
    _read_stats(result, "\n".join(stderr_lines))
    result.stderr_tail = "\n".join(stderr_lines[-30:])
    return result


def _read_stats(result: SoakResult, stderr: str) -> None:
    final = re.search(
        r"sentio: (\d+) windows over ([\d.]+) s of audio .*overflows (\d+), "
        r"dropped samples (\d+)",
        stderr,
    )
    if final:
        result.stats_windows, result.audio_s = int(final.group(1)), float(final.group(2))
        result.overflows = max(result.overflows, int(final.group(3)))
        result.dropped = max(result.dropped, int(final.group(4)))
    setup = re.search(r"hop ([\d.]+) s, window ([\d.]+) s", stderr)
    if setup:
        result.hop_s, result.window_s = float(setup.group(1)), float(setup.group(2))
    for name in ("mqtt", "osc"):
        sink = re.search(
            rf"sentio: {name}\S*( \S+)?: (\d+) sent, (\d+) failed, (\d+) dropped", stderr
        )
        if sink:
            setattr(result, name, tuple(int(n) for n in sink.groups()[1:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0]
    )
    defaults = SoakConfig()
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument(
        "--restart-every",
        type=float,
        default=defaults.restart_every_s,
        help="seconds between broker restarts (default %(default)s)",
    )
    parser.add_argument(
        "--down",
        type=float,
        default=defaults.down_s,
        help="seconds the broker stays away each restart (default %(default)s)",
    )
    parser.add_argument(
        "--sample-every",
        type=float,
        default=defaults.sample_every_s,
        help="RSS sampling period, seconds (default %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=defaults.warmup_s,
        help="seconds after the first window before RSS is judged (default %(default)s)",
    )
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=defaults.max_growth_mb,
        help="RSS growth allowed after the warm-up (default %(default)s)",
    )
    parser.add_argument(
        "--music",
        type=float,
        default=defaults.music_s,
        help="seconds of generated music, looped (default %(default)s)",
    )
    parser.add_argument("--hop", type=float, default=None, help="sentio-listen --hop")
    parser.add_argument("--model", default=None, help="sentio-listen --model")
    parser.add_argument(
        "--pythonpath",
        default=None,
        help="PYTHONPATH for the listener: soak another tree, e.g. DIR/sentio/runtime "
        "from `git archive --prefix=sentio/ HEAD runtime` (the editable install yields to it)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the RSS samples and the summary here"
    )
    args = parser.parse_args(argv)  # fmt: skip
    config = SoakConfig(
        minutes=args.minutes,
        restart_every_s=args.restart_every,
        down_s=args.down,
        sample_every_s=args.sample_every,
        warmup_s=args.warmup,
        max_growth_mb=args.max_growth_mb,
        music_s=args.music,
        hop_s=args.hop,
        model=args.model,
        pythonpath=args.pythonpath,
    )

    def log(message: str) -> None:
        print(message, flush=True)

    log(f"soak: {config}")
    result = run_soak(config, log)
    summary = result.summary(config)
    problems = result.failures(config)
    log("command: " + " ".join(result.command))
    log(json.dumps(summary, indent=2))
    log("listener stderr (tail):\n" + result.stderr_tail)
    if args.json is not None:
        record = {"config": {k: str(v) for k, v in asdict(config).items()},
                  "command": result.command, "summary": summary, "problems": problems,
                  "rss": result.rss}  # fmt: skip
        args.json.write_text(json.dumps(record, indent=1))
    for problem in problems:
        log(f"FAIL: {problem}")
    log("soak: PASS" if not problems else "soak: FAIL")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
