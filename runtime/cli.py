"""``sentio-listen``: live valence/arousal from a microphone (or a file), as JSON lines.

    sentio-listen --device hw:1                 # a USB mic on a Pi
    sentio-listen --list-devices
    sentio-listen --input song.flac --format text
    sentio-listen --device hw:1 --smooth 3 --hop 1 | mosquitto_pub -l -t sentio
    sentio-listen --device hw:1 --osc 192.168.1.50:9000 --mqtt mqtt://homeassistant.local
    sentio-listen --input song.flac --realtime --ui

Outputs (OSC, MQTT) deliver from their own threads: a receiver or broker that is away never
stops listening; its failures are counted in the stats lines at exit.

Exit codes: 0 the input ended or SIGINT/SIGTERM stopped it (the final stats lines go to
stderr); 2 bad input (model bundle, an ambiguous device name, unreadable file, no PortAudio);
3 the microphone is not there, cannot be opened, or failed and did not come back (worth
retrying); 130 interrupted twice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from sentio.runtime.errors import ConfigError, DeviceUnavailableError, SentioError
from sentio.runtime.manifest import DEFAULT_HOP_S

EXIT_BAD_INPUT = 2
#: The microphone is missing, busy or went away: worth retrying (systemd restarts on it).
EXIT_DEVICE_UNAVAILABLE = 3


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
        "--rate", type=int, help="open the device at this rate in Hz (default: its own)"
    )
    parser.add_argument(
        "--realtime", action="store_true", help="with --input: pace it like a live microphone"
    )
    parser.add_argument(
        "--hop",
        type=float,
        help=f"seconds between predictions (default: the bundle's, {DEFAULT_HOP_S:g})",
    )
    parser.add_argument(
        "--smooth",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="exponential smoothing time constant (default 0: off)",
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
        help="also publish to MQTT, mqtt[s]://[USER:PASS@]HOST[:PORT][/PREFIX] "
        "(repeatable; Home Assistant discovery on; needs the mqtt extra)",
    )
    parser.add_argument(
        "--ui",
        action="store_true",
        help="a live view in the terminal instead of lines on stdout",
    )
    parser.add_argument(
        "--record", type=Path, metavar="WAV", help="also save the audio as heard (debugging)"
    )
    parser.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def list_devices() -> int:
    from sentio.runtime.capture import input_devices

    devices = input_devices()
    if not devices:
        print("no input devices (check `arecord -l`)", file=sys.stderr)
        return EXIT_BAD_INPUT
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
    from sentio.runtime.listener import Listener
    from sentio.runtime.model import BundleModel

    if args.ui and not sys.stdout.isatty():
        raise _usage("--ui draws on a terminal, but stdout is not one")
    if args.hop is not None and args.hop <= 0:
        raise _usage("--hop must be positive")
    if args.smooth < 0:
        raise _usage("--smooth must be 0 (off) or a positive number of seconds")
    model = BundleModel(args.model, args.artifact, args.threads)
    options = {"hop_s": args.hop, "smooth_s": args.smooth, "record": args.record}
    if args.input is not None:
        listener = Listener.from_file(args.input, model, realtime=args.realtime, **options)
    else:
        listener = Listener.from_microphone(args.device, model, args.rate, **options)
    _install_signal_handlers(listener)
    logging.getLogger("sentio").info(
        "model %s (%s), hop %.2f s, window %.1f s",
        model.path,
        model.artifact,
        listener.hop_s,
        listener.engine.window_s,
    )
    outputs = open_outputs(args)
    try:
        with outputs, listener:
            summary = listener.run(outputs.emit).line()  # before closing outputs takes time
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
        return 0
    for line in [summary, *outputs.report_lines()]:
        print(line, file=sys.stderr)
    return 0


def open_outputs(args: argparse.Namespace):
    """The sinks the options ask for, as one :class:`~sentio.runtime.sinks.Sinks`."""
    from sentio.runtime.sinks import JsonLinesSink, Sinks, TextSink

    network = []
    try:
        if args.osc:
            from sentio.runtime.osc import OscSink

            network += [OscSink.from_address(address) for address in args.osc]
        if args.mqtt:
            from sentio.runtime.mqtt import MqttSink

            network += [MqttSink.from_url(url) for url in args.mqtt]
    except SentioError:
        Sinks(*network).close()
        raise
    if args.ui:
        from sentio.runtime.live_view import LiveView

        view = LiveView()
        outputs = Sinks(*network, view)
        view.sink_stats = outputs.stats
        view.open()
        return outputs
    local = {"json": JsonLinesSink, "text": TextSink, "none": None}[args.format]
    return Sinks(*network, *([local()] if local else []))


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
