"""``sentio-listen``: live valence/arousal from a microphone (or a file), as JSON lines.

    sentio-listen --device hw:1                 # a USB mic on a Pi
    sentio-listen --list-devices
    sentio-listen --input song.flac --format text
    sentio-listen --device hw:1 --smooth 3 --hop 1 | mosquitto_pub -l -t sentio
    sentio-listen --device hw:1 --osc 192.168.1.50:9000 --mqtt mqtt://homeassistant.local
    sentio-listen --input song.flac --realtime --ui
    sentio-listen --device hw:1 --mqtt mqtts://me@broker.lan --mqtt-password-file ~/.mqtt-pw

Outputs (OSC, MQTT) deliver from their own threads: a receiver or broker that is away never
stops listening; its failures are counted in the stats lines at exit. MQTT credentials: the
URL's USER, else $SENTIO_MQTT_USERNAME; the URL's PASS, else the first line of
--mqtt-password-file, else $SENTIO_MQTT_PASSWORD (a password in the URL is visible in the
process list and the shell history). Reports and errors never show the password.

Exit codes: 0 the input ended or SIGINT/SIGTERM stopped it (the final stats lines go to
stderr; an input shorter than one model window gives no prediction, and stderr says so);
2 bad input or options (a value out of range, model bundle, an ambiguous device name,
unreadable file, a --record path that cannot be written, that is the --input file, or that
exists, without --force; no PortAudio); 3 no input device is there now: the microphone is
missing, cannot be opened, or failed and did not come back (worth retrying), and
--list-devices found no input device; 130 interrupted twice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from sentio.runtime.changes import OFF, ChangeSettings
from sentio.runtime.engine import FIRST_S, SHORTEST_S, SILENCE_DBFS
from sentio.runtime.errors import ConfigError, DeviceUnavailableError, SentioError
from sentio.runtime.manifest import DEFAULT_HOP_S
from sentio.runtime.option_values import (
    HOP_RANGE_S,
    RATE_RANGE_HZ,
    SMOOTH_RANGE_S,
    THREADS_RANGE,
    capture_rate,
    first_seconds,
    hop_seconds,
    silence_level,
    smooth_seconds,
    thread_count,
)
from sentio.runtime.outputs.options import add_arguments as add_output_arguments
from sentio.runtime.outputs.options import check as check_output_options
from sentio.runtime.outputs.options import open_sinks as open_output_sinks

EXIT_BAD_INPUT = 2
#: No input device now: the microphone is missing, busy or went away (systemd restarts on
#: it), or ``--list-devices`` found none.
EXIT_DEVICE_UNAVAILABLE = 3

#: ``--changes``: what each choice watches for.
CHANGES = {"novelty": ChangeSettings(novelty=True), "silence": ChangeSettings(), "off": OFF}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-listen",
        description="Live valence/arousal of the music a microphone hears.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", type=Path, help="bundle folder or a model file in it (default: bundled model)"
    )
    parser.add_argument(
        "--artifact", help="which model file of the bundle to run (default: the export's pick)"
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--device", help="input device: index, hw:1, hw:1,0, plughw:1, or part of its name"
    )
    src.add_argument("--input", type=Path, metavar="FILE", help="stream a file instead")
    src.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    parser.add_argument(
        "--rate",
        type=capture_rate,
        metavar="HZ",
        help="open the device at this rate, {}-{} Hz (default: its own)".format(*RATE_RANGE_HZ),
    )
    parser.add_argument(
        "--realtime", action="store_true", help="with --input: pace it like a live microphone"
    )
    parser.add_argument(
        "--hop",
        type=hop_seconds,
        metavar="SECONDS",
        help=f"seconds between predictions, up to {HOP_RANGE_S[1]:g} (default: the bundle's, "
        f"{DEFAULT_HOP_S:g})",
    )
    parser.add_argument(
        "--smooth",
        type=smooth_seconds,
        default=0.0,
        metavar="SECONDS",
        help=f"exponential smoothing time constant, 0-{SMOOTH_RANGE_S[1]:g} (default 0: off)",
    )
    parser.add_argument(
        "--first",
        type=first_seconds,
        default=FIRST_S,
        metavar="SECONDS",
        help=f"seconds of audio before the first estimate, which is partial (made on the "
        f'audio so far, marked "partial": true) until a whole window is in; at least '
        f"{SHORTEST_S:g} (the shortest file that gets an estimate); 'full': only whole windows "
        f"(default {FIRST_S:g})",
    )
    parser.add_argument(
        "--changes",
        choices=("silence", "novelty", "off"),
        default="silence",
        help="start the estimate again when the music changes: silence (silence and back), "
        "novelty (also a change in the sound; experimental: more false changes than it "
        "helps, see experiments/responsive_output.md), off (default silence)",
    )
    parser.add_argument(
        "--silence-below",
        type=silence_level,
        default=SILENCE_DBFS,
        metavar="DBFS",
        help=f"audio quieter than this is silence: the output holds, and sound after it starts "
        f"a new estimate (default {SILENCE_DBFS:g}: digital silence; about -45 catches a quiet "
        f"room's tone through a microphone)",
    )
    parser.add_argument(
        "--skip-partial",
        action="store_true",
        help="send only estimates made on a whole window to the outputs",
    )
    parser.add_argument(
        "--format",
        choices=("json", "text", "none"),
        default="json",
        help="what goes to stdout: JSON lines, readable lines, or nothing (default json)",
    )
    parser.add_argument(
        "--osc",
        action="append",
        default=[],
        metavar="HOST:PORT[/PREFIX]",
        help="also send OSC messages over UDP (repeatable; needs the osc extra)",
    )
    parser.add_argument(
        "--mqtt",
        action="append",
        default=[],
        metavar="URL",
        help="also publish to MQTT, mqtt[s]://[USER@]HOST[:PORT][/PREFIX] "
        "(repeatable; Home Assistant discovery on; needs the mqtt extra; credentials: see "
        "below)",
    )
    parser.add_argument(
        "--mqtt-password-file",
        type=Path,
        metavar="FILE",
        help="read the MQTT password from this file's first line (keep it mode 0600; "
        "default: $SENTIO_MQTT_PASSWORD)",
    )
    parser.add_argument(
        "--mqtt-ca",
        type=Path,
        metavar="FILE",
        help="with mqtts://: trust this CA certificate (PEM) instead of the system's",
    )
    parser.add_argument(
        "--ui",
        action="store_true",
        help="a live view in the terminal instead of lines on stdout",
    )
    add_output_arguments(parser)  # --web, --sacn (runtime/outputs/options.py)
    parser.add_argument(
        "--record",
        type=Path,
        metavar="WAV",
        help="also save the audio as heard (debugging); a new file: one that exists is "
        "refused without --force, the --input file always. A write that fails mid-run (a "
        "full disk) stops the recording, not the listening: one warning, the file kept "
        "valid with what was written, the stats line says so",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="let --record overwrite a file that exists (never the --input file)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=1,
        help="inference threads, {}-{} (default 1)".format(*THREADS_RANGE),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def list_devices() -> int:
    from sentio.runtime.capture import input_devices

    devices = input_devices()
    if not devices:  # the same state as listening with no microphone: it may pass
        print(
            "no audio input device found (exit 3, as when listening without one): plug in a "
            "microphone; on Linux check `arecord -l` and membership of the 'audio' group",
            file=sys.stderr,
        )
        return EXIT_DEVICE_UNAVAILABLE
    for device in devices:
        print(device.describe())
    return 0


def _install_signal_handlers(listener) -> None:
    def handle(signum, frame):
        if listener.stopping:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        listener.stop()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def listen(args: argparse.Namespace) -> int:
    from sentio.runtime.listener import Listener, check_record_path
    from sentio.runtime.model import BundleModel

    if args.ui and not sys.stdout.isatty():
        raise _usage("--ui draws on a terminal, but stdout is not one")
    # everything that can be checked without the model or the microphone, first
    if args.record is not None:
        check_record_path(args.record, args.input, args.force)
    mqtt_targets = _mqtt_targets(args)
    check_output_options(args)
    if args.input is None:  # no microphone: say so before the model loads
        from sentio.runtime.capture import find_input_device

        find_input_device(args.device)
    model = BundleModel(args.model, args.artifact, args.threads)
    options = {
        "hop_s": args.hop,
        "smooth_s": args.smooth,
        "record": args.record,
        "overwrite_record": args.force,
        "first_s": args.first,
        "changes": CHANGES[args.changes],
        "silence_dbfs": args.silence_below,
    }
    if args.input is not None:
        listener = Listener.from_file(args.input, model, realtime=args.realtime, **options)
    else:
        listener = Listener.from_microphone(args.device, model, args.rate, **options)
    _install_signal_handlers(listener)
    logging.getLogger("sentio").info(
        "model %s, running %s (%s), hop %.2f s, window %.1f s",
        model.path,
        model.artifact,
        model.artifact_reason,
        listener.hop_s,
        listener.engine.window_s,
    )
    info = {
        "source": str(args.input) if args.input is not None else (args.device or "default input"),
        "model": str(model.path),
        "artifact": model.artifact,
        "hop_s": listener.hop_s,
        "window_s": listener.engine.window_s,
    }
    outputs = open_outputs(args, mqtt_targets, info)
    whole = _WholeWindows(outputs.emit)
    try:
        with outputs, listener:
            stats = listener.run(whole if args.skip_partial else outputs.emit)
            summary = stats.line()  # before closing outputs takes time
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
        return 0
    lines = [summary, *outputs.report_lines()]
    if stats.windows == 0:
        lines.insert(1, _no_window_line(args, listener, stats.audio_s))
    elif args.skip_partial and whole.sent == 0:
        lines.insert(1, _all_partial_line(args, listener, stats))
    for line in lines:
        print(line, file=sys.stderr)
    return 0


class _WholeWindows:
    """``--skip-partial``: passes on only estimates made on a whole window, counting them."""

    def __init__(self, emit) -> None:
        self.emit, self.sent = emit, 0

    def __call__(self, prediction) -> None:
        if not prediction.partial:
            self.sent += 1
            self.emit(prediction)


def _all_partial_line(args: argparse.Namespace, listener, stats) -> str:
    """Why ``--skip-partial`` sent nothing: every estimate was made on less than a window."""
    source = f"{args.input}" if args.input is not None else "the input"
    held = f"{stats.windows} partial estimate{'s' if stats.windows != 1 else ''}"
    window = f"the {listener.engine.window_s:g} s window a whole estimate needs"
    if listener.stopping and stats.audio_s < listener.engine.window_s:
        why = f"stopped after {stats.audio_s:.1f} s of audio, less than {window}"
    elif stats.audio_s < listener.engine.window_s:
        why = f"{source} holds {stats.audio_s:.1f} s of audio, less than {window}"
    else:
        why = f"the music changed each time before {window} was in"
    return (
        f"sentio: no prediction sent: --skip-partial held back {held}; {why} (without "
        "--skip-partial they are sent, marked partial)"
    )


def _no_window_line(args: argparse.Namespace, listener, audio_s: float) -> str:
    """Why a run made no prediction: an estimate needs some audio (a whole window, with
    ``--first full``, unless the stream ends first)."""
    from sentio.runtime.engine import SHORTEST_S

    engine = listener.engine
    first_s = engine.first_frames / engine.model.spec.frames_per_second
    if listener.stopping:
        return (
            f"sentio: no prediction: stopped after {audio_s:.1f} s of audio, before the first "
            f"estimate at {first_s:.1f} s"
        )
    source = f"{args.input}" if args.input is not None else "the input"
    return (
        f"sentio: no prediction: {source} holds {audio_s:.1f} s of audio, shorter than the "
        f"{SHORTEST_S:g} s an estimate needs"
    )


def _mqtt_targets(args: argparse.Namespace) -> list:
    """Every ``--mqtt`` URL parsed, with the credentials from the environment or the password
    file filled in (before the model loads: a mistake here is reported at once)."""
    if not args.mqtt:
        if args.mqtt_password_file is not None or args.mqtt_ca is not None:
            raise _usage("--mqtt-password-file and --mqtt-ca need an --mqtt URL")
        return []
    from sentio.runtime.outputs.mqtt import mqtt_targets

    return mqtt_targets(args.mqtt, password_file=args.mqtt_password_file, ca_file=args.mqtt_ca)


def open_outputs(
    args: argparse.Namespace, mqtt_targets: list | None = None, info: dict | None = None
):
    """The sinks the options ask for, as one :class:`~sentio.runtime.outputs.sinks.Sinks`
    (``info``: the run as ``--web``'s page shows it)."""
    from sentio.runtime.outputs.sinks import JsonLinesSink, Sinks, TextSink

    network = []
    try:
        if args.osc:
            from sentio.runtime.outputs.osc import OscSink

            network += [OscSink.from_address(address) for address in args.osc]
        if mqtt_targets is None:
            mqtt_targets = _mqtt_targets(args)
        if mqtt_targets:
            from sentio.runtime.outputs.mqtt import MqttSink

            network += [MqttSink(target) for target in mqtt_targets]
        network += open_output_sinks(args, info)  # --sacn, --web
    except SentioError:
        Sinks(*network).close()
        raise
    if args.ui:
        from sentio.runtime.outputs.live_view import LiveView

        view = LiveView()
        outputs = Sinks(*network, view)
        view.sink_stats = outputs.stats
        _show_all_outputs(outputs)
        view.open()
        return outputs
    local = {"json": JsonLinesSink, "text": TextSink, "none": None}[args.format]
    outputs = Sinks(*network, *([local()] if local else []))
    _show_all_outputs(outputs)
    return outputs


def _show_all_outputs(outputs) -> None:
    """The live page shows every output's counters."""
    from sentio.runtime.outputs.web import WebSink

    for sink in outputs.sinks:
        if isinstance(sink, WebSink):
            sink.sink_stats = outputs.stats
            logging.getLogger("sentio").info("live page at %s", sink.url)


def _usage(message: str) -> SentioError:
    return ConfigError(message, hint="see sentio-listen --help")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return list_devices() if args.list_devices else listen(args)
    except DeviceUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DEVICE_UNAVAILABLE
    except SentioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
