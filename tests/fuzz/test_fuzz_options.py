"""Fuzzing the option parsers: any argv gives a parse result (and typed configs or a
SentioError) or SystemExit(2) with a usage message, never a traceback.

The export CLIs are parsed and their settings built into the typed configs (what every
command does before its work); sentio-listen's parser is parsed (its checks after parsing are
the listen command's)."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sentio.runtime.errors import SentioError

NUMBERS = ["0", "-1", "1", "3", "1e9", "-1e9", "nan", "inf", "-inf", "0.5", "1,2", "x", "", "1 9"]


def _option_strings(parser) -> list[str]:
    found = []
    for action in parser._actions:
        found += [o for o in action.option_strings if o not in ("-h", "--help")]
        for sub in getattr(action, "choices", None) or {}:
            if hasattr(action, "_name_parser_map"):
                found.append(sub)
                found += _option_strings(action._name_parser_map[sub])
    return sorted(set(found))


def _argv(options: list[str]):
    token = st.one_of(st.sampled_from(options), st.sampled_from(NUMBERS), st.text(max_size=12))
    return st.lists(token, max_size=8)


def _parses_or_exits_2(parse, argv) -> object:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return parse(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2), (argv, exc.code, err.getvalue())
            if exc.code == 2:
                assert "error:" in err.getvalue(), (argv, err.getvalue())
            return None


def _export_parsers():
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.cli import export, train

    return {"sentio-train": train.build_parser(), "sentio-export": export.build_parser()}


def _typed(args) -> None:
    """What the export commands build from parsed options before doing anything."""
    from sentio.export.cli import options

    try:
        # settings_from builds every section (data, frame, model, train, export, search,
        # demo) through the codec and checks every number before any work.
        run = options.settings_from(args, base="demo" if args.func.__name__ == "cmd_demo" else None)
        run.data_options(required=False)
    except SentioError as err:
        assert err.message


@pytest.mark.parametrize("command", ["sentio-train", "sentio-export"])
def test_export_option_parsers(command):
    parser = _export_parsers()[command]
    options = _option_strings(parser)

    @given(_argv(options))
    def check(argv):
        args = _parses_or_exits_2(parser.parse_args, argv)
        if args is not None:
            _typed(args)

    check()


def test_listen_option_parser():
    from sentio.runtime import cli

    parser = cli.build_parser()
    options = _option_strings(parser)

    @given(_argv(options))
    def check(argv):
        _parses_or_exits_2(parser.parse_args, argv)

    check()
