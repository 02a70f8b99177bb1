"""``sentio-listen``'s options for the live page (``--web``) and the lighting output
(``--sacn``): their argparse definitions (every value checked when parsed: argparse exits 2
naming the option), the checks across options, and the sinks they ask for."""

from __future__ import annotations

import argparse
import math

from sentio.runtime.errors import ConfigError
from sentio.runtime.outputs.e131 import (
    BRIGHTNESS,
    FADE_S,
    FPS,
    FPS_RANGE,
    FixtureLayout,
    parse_sacn_address,
)
from sentio.runtime.outputs.web import parse_web_address

FADE_RANGE_S = (0.0, 60.0)
FIXTURES_RANGE = (1, 170)  # 170 x 3 channels fill a universe


def web_address(text: str) -> tuple[str, int]:
    try:
        return parse_web_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def sacn_address(text: str) -> tuple[str, int]:
    try:
        return parse_sacn_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _ranged(kind: type, low: float, high: float, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{what}: expected a finite number, got {text!r}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{what} must be from {low:g} to {high:g}, got {text!r}"
            )
        return value

    parse.__name__ = "whole number" if kind is int else "number"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--web`` and the ``--sacn`` options."""
    parser.add_argument(
        "--web",
        type=web_address,
        metavar="[HOST:]PORT",
        help="serve a live page at http://HOST:PORT/ (default host 127.0.0.1: this machine "
        "only; 0.0.0.0 opens it to the network, read-only, without a password)",
    )
    parser.add_argument(
        "--sacn",
        type=sacn_address,
        metavar="HOST[:UNIVERSE]",
        help="drive lights over E1.31/sACN: unicast to HOST (or 'multicast'), universe 1 by "
        "default; needs the sacn extra",
    )
    parser.add_argument(
        "--sacn-fixtures",
        type=_ranged(int, *FIXTURES_RANGE, "--sacn-fixtures"),
        default=1,
        metavar="N",
        help="fixtures (or LEDs) showing the colour, one after another (default 1)",
    )
    parser.add_argument(
        "--sacn-channels-per-fixture",
        type=int,
        choices=(3, 4),
        default=3,
        help="3: red, green, blue; 4: red, green, blue, white (default 3)",
    )
    parser.add_argument(
        "--sacn-start",
        type=_ranged(int, 1, 512, "--sacn-start"),
        default=1,
        metavar="CHANNEL",
        help="the first fixture's first DMX channel, 1-512 (default 1)",
    )
    parser.add_argument(
        "--sacn-brightness",
        choices=BRIGHTNESS,
        default="arousal",
        help="arousal: brightness follows arousal, as the colour on every output; full: the "
        "colour at full brightness (default arousal)",
    )
    parser.add_argument(
        "--sacn-fade",
        type=_ranged(float, *FADE_RANGE_S, "--sacn-fade"),
        default=FADE_S,
        metavar="SECONDS",
        help=f"fade to each new colour over this long (default {FADE_S:g}; 0: jump)",
    )
    parser.add_argument(
        "--sacn-fps",
        type=_ranged(float, *FPS_RANGE, "--sacn-fps"),
        default=FPS,
        metavar="FPS",
        help=f"frames per second, sent steadily (default {FPS:g})",
    )
    parser.add_argument(
        "--sacn-blackout-on-silence",
        action="store_true",
        help="fade to black while the input is silent (default: hold the last colour)",
    )


def check(args: argparse.Namespace) -> FixtureLayout | None:
    """The cross-option checks (before the model loads); the fixture layout with ``--sacn``.

    Raises:
        ConfigError: a ``--sacn-*`` option without ``--sacn``, or fixtures past channel 512.
    """
    if args.sacn is None:
        given = [
            name
            for name, default in (
                ("fixtures", 1),
                ("channels_per_fixture", 3),
                ("start", 1),
                ("brightness", "arousal"),
                ("fade", FADE_S),
                ("fps", FPS),
                ("blackout_on_silence", False),
            )
            if getattr(args, f"sacn_{name}") != default
        ]
        if given:
            options = ", ".join("--sacn-" + name.replace("_", "-") for name in given)
            raise ConfigError(f"{options} set(s) up --sacn, which is not given")
        return None
    return FixtureLayout(args.sacn_fixtures, args.sacn_channels_per_fixture, args.sacn_start)


def open_sinks(args: argparse.Namespace, info: dict | None = None) -> list:
    """The sinks ``--web`` and ``--sacn`` ask for (the web page last: it shows the others'
    counters through ``sink_stats``, set by the caller)."""
    sinks = []
    layout = check(args)
    if args.sacn is not None:
        from sentio.runtime.outputs.e131 import SacnSink

        host, universe = args.sacn
        sinks.append(
            SacnSink(
                host,
                universe,
                layout,
                brightness=args.sacn_brightness,
                blackout_on_silence=args.sacn_blackout_on_silence,
                fps=args.sacn_fps,
                fade_s=args.sacn_fade,
            )
        )
    if args.web is not None:
        from sentio.runtime.outputs.web import WebSink

        try:
            sinks.append(WebSink(*args.web, info=info))
        except Exception:
            for sink in sinks:
                sink.close()
            raise
    return sinks
