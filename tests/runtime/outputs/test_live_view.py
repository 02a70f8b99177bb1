"""``--ui``: the frame for a given state (no timing involved), the LiveView sink, and
``sentio-listen --input --ui`` on a real pseudo-terminal (the CLI's other formats:
test_cli.py)."""

import io
import os
import pty
import re
import subprocess
import sys

from sentio.runtime.outputs.live_view import LiveView, ViewState, render
from sentio.runtime.outputs.sinks import SinkStats

from tests.helpers import WHOLE_WINDOWS, fake_prediction, write_song

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def state_with(*points, sinks=()):
    state = ViewState()
    for i, (v, a) in enumerate(points):
        state.add(fake_prediction(12.0 + i, valence=v, arousal=a))
    state.sinks = list(sinks)
    return state


def grid_rows(frame: str) -> list[str]:
    """The cells inside the border, without colours."""
    lines = ANSI.sub("", frame).split("\n")
    return [line[1:42] for line in lines[1:16]]


def test_the_point_and_its_trail_sit_where_valence_and_arousal_put_them():
    frame = render(state_with((-1.0, -1.0), (0.0, 0.0), (1.0, 1.0)), color=False)
    rows = grid_rows(frame)
    assert rows[0][40] == "@"  # the current point: top right (valence +1, arousal +1)
    assert rows[7][20] == "o"  # the previous one at the centre
    assert rows[14][0] == "o"  # the first bottom left
    assert rows[0].startswith("tense") and rows[14].endswith("calm")
    assert "happy/excited" in frame and "windows 3" in frame
    assert "valence +1.00" in frame and "arousal +1.00" in frame


def test_old_points_fade_to_dots_and_the_trail_is_bounded():
    points = [(-0.9 + 0.05 * i, 0.5) for i in range(30)]
    state = ViewState()
    state.history = type(state.history)(maxlen=10)
    for i, (v, a) in enumerate(points):
        state.add(fake_prediction(float(i), v, a))
    rows = grid_rows(render(state, color=False))
    marks = "".join(rows)
    assert marks.count("@") == 1 and marks.count("o") == 3 and marks.count(".") <= 6
    assert state.windows == 30


def test_colour_swatch_and_plain_text_mode():
    state = state_with((-0.7, 0.7))  # tense: red #e20202
    coloured = render(state, color=True)
    assert "\x1b[48;2;226;2;2m" in coloured  # the swatch's background colour
    assert "\x1b[1;38;2;226;2;2m@" in coloured  # the point drawn in its colour
    plain = render(state, color=False)
    assert "\x1b" not in plain and "[#e20202] #e20202" in plain
    assert "hue   0°" in plain and "tense/angry" in plain


def test_counters_and_outputs_are_shown():
    p = fake_prediction(20.0)
    p.overflows, p.dropped, p.silent = 2, 480, True
    state = ViewState()
    state.add(p)
    state.sinks = [SinkStats("osc 10.0.0.2:9000/sentio", sent=3, failed=4, last_error="boom")]
    frame = render(state, color=False)
    assert "overflows 2" in frame and "dropped samples 480" in frame and "SILENT" in frame
    assert "compute 1.5 ms mean" in frame
    assert "osc 10.0.0.2:9000/sentio: 3 sent, 4 failed, 0 dropped (last error: boom)" in frame


def test_waiting_frame_before_the_first_window():
    frame = render(ViewState(), color=False)
    assert "waiting for the first window" in frame and "@" not in frame


def test_live_view_draws_on_its_stream_and_leaves_the_last_frame():
    out = io.StringIO()
    with LiveView(out, sink_stats=lambda: [SinkStats("mqtt x")], color=False) as view:
        view.emit(fake_prediction(12.0))
        view.emit(fake_prediction(13.0, valence=-0.5))
    text = out.getvalue()
    assert text.startswith("\x1b[?1049h") and "\x1b[?1049l" in text  # alternate screen
    final = text.rsplit("\x1b[?1049l", 1)[1]
    assert "13.0 s" in final and "windows 2" in final and "mqtt x: 0 sent" in final


def test_cli_ui_runs_on_a_terminal_with_input(tmp_path):
    song = write_song(tmp_path / "song.wav")
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentio.runtime.cli",
            "--input",
            str(song),
            *WHOLE_WINDOWS,
            "--hop",
            "1",
            "--ui",
        ],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(terminal)
    output = b""
    while True:  # read until the child closes the terminal
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child is gone
            break
        if not chunk:
            break
        output += chunk
    _, err = proc.communicate(timeout=60)
    os.close(controller)
    assert proc.returncode == 0, err.decode()
    final = ANSI.sub("", output.decode().rsplit("\x1b[?1049l", 1)[1])
    assert "16.0 s" in final and "windows 5" in final and "@" in final
    assert "5 windows over" in err.decode()
