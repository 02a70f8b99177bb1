"""``--web``: the live page's endpoints, its event stream, a browser that never reads (it
must not hold up ``emit`` or the other browsers), the option, and the page in a real
headless Chromium."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from sentio.runtime.cli import build_parser
from sentio.runtime.outputs.web import WebSink, parse_web_address

from tests.helpers import fake_prediction, wait_until
from tests.runtime.outputs.browser import Browser


@pytest.fixture
def web():
    sink = WebSink("127.0.0.1", 0, info={"source": "song.wav", "artifact": "model.tflite"})
    yield sink
    sink.close()


def get(sink: WebSink, path: str):
    with urllib.request.urlopen(sink.url.rstrip("/") + path, timeout=5) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read()


def test_address_parsing():
    assert parse_web_address("8080") == ("127.0.0.1", 8080)
    assert parse_web_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_web_address("[::1]:9000") == ("::1", 9000)
    for bad in ("", "http", "host:", "70000", "h:99999", "h:8/x"):
        with pytest.raises(ValueError):
            parse_web_address(bad)


def test_bad_option_value_exits_2_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--web", "localhost:99999"])
    assert exit_.value.code == 2
    assert "--web" in capsys.readouterr().err


def test_endpoints(web):
    status, ctype, body = get(web, "/")
    assert status == 200 and ctype.startswith("text/html") and b"app.js" in body
    assert b"http" not in body.replace(b"http-equiv", b"")  # nothing from a CDN
    for name in ("/app.js", "/style.css"):
        assert get(web, name)[0] == 200
    state = json.loads(get(web, "/api/state")[2])
    assert state["prediction"] is None and state["info"]["source"] == "song.wav"
    for i in range(5):
        web.emit(fake_prediction(i * 0.5, valence=0.6, arousal=-0.4))
    wait_until(lambda: web.stats.sent == 5, what="the predictions delivered")
    state = json.loads(get(web, "/api/state")[2])
    assert state["prediction"]["t"] == 2.0 and state["prediction"]["quadrant"] == "calm/content"
    assert state["prediction"]["color"]["hex"].startswith("#")
    assert state["stats"]["windows"] == 5
    history = json.loads(get(web, "/api/history")[2])
    assert [p["t"] for p in history["points"]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(web, "/../etc/passwd")
    assert missing.value.code == 404
    request = urllib.request.Request(web.url + "api/state", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405  # read-only


def test_history_keeps_the_last_minutes():
    sink = WebSink("127.0.0.1", 0, history_s=10.0)
    try:
        for i in range(60):
            sink.emit(fake_prediction(i * 0.5))
        wait_until(lambda: sink.stats.sent + sink.stats.dropped == 60, what="handled")
        points = sink.state.history_dict()["points"]
        assert points[0]["t"] >= 29.5 - 10.0 and points[-1]["t"] == 29.5
    finally:
        sink.close()


def read_events(response, count: int) -> list[tuple[str, dict]]:
    events, name = [], None
    while len(events) < count:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def test_events_stream_a_snapshot_then_each_prediction(web):
    web.emit(fake_prediction(0.5))
    wait_until(lambda: web.stats.sent == 1, what="delivered")
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.headers["Content-Type"] == "text/event-stream"
    ((name, snapshot),) = read_events(response, 1)
    assert name == "snapshot" and snapshot["history"]["points"][0]["t"] == 0.5
    web.emit(fake_prediction(1.0, valence=-0.5, arousal=0.5))
    ((name, event),) = read_events(response, 1)
    assert name == "prediction" and event["prediction"]["quadrant"] == "tense/angry"
    connection.close()


def test_a_browser_that_never_reads_blocks_nothing():
    # every prediction reaches the sink's thread (a deep queue): ~10 MB of events for a
    # browser that reads none, far past what the sockets buffer
    web = WebSink("127.0.0.1", 0, queue_size=100_000, client_queue=16)
    stuck = socket.create_connection(("127.0.0.1", web.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
    wait_until(lambda: len(web.clients()) == 1, what="the stuck browser connected")
    start = time.perf_counter()
    slowest = 0.0
    for i in range(20_000):
        t0 = time.perf_counter()
        web.emit(fake_prediction(i * 0.5))
        slowest = max(slowest, time.perf_counter() - t0)
    # a wait on the browser would take the send timeout (10 s) per write, or forever; a busy
    # CI machine may still switch threads mid-emit for a second or so (1.14 s seen at load 20),
    # so the bound is the timeout, not a speed
    assert slowest < 5.0 and time.perf_counter() - start < 60.0
    # the sink's thread kept up (it never waits on a browser) ...
    wait_until(lambda: web.stats.sent == 20_000, what="all delivered")
    client = web.clients()[0]
    assert client.dropped > 0  # ... the stuck browser's queue dropped its oldest events
    # ... and another browser gets the newest state at once
    state = json.loads(get(web, "/api/state")[2])
    assert state["prediction"]["t"] == 9999.5
    assert state["browsers"]["connected"] == 1
    closing = time.perf_counter()
    web.close()
    assert time.perf_counter() - closing < 5.0  # closing does not wait for the stuck one
    stuck.close()


def test_a_browser_that_goes_away_is_dropped(web):
    gone = socket.create_connection(("127.0.0.1", web.port))
    gone.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_until(lambda: len(web.clients()) == 1, what="connected")
    gone.close()
    for i in range(50):  # a write to the closed socket fails: the browser is forgotten
        web.emit(fake_prediction(i * 0.5))
        time.sleep(0.01)
    wait_until(lambda: not web.clients(), what="the browser dropped")
    assert web.stats.failed == 0


def test_port_in_use_is_an_output_error(web):
    from sentio.runtime.errors import OutputError

    with pytest.raises(OutputError, match=r"--web 127\.0\.0\.1:.*cannot listen"):
        WebSink("127.0.0.1", web.port)


def test_the_page_in_headless_chromium_updates_as_predictions_arrive(web, tmp_path):
    for i in range(6):
        web.emit(fake_prediction(i * 0.5, valence=0.6, arousal=0.6))
    with Browser() as browser:
        browser.open(web.url)
        quadrant = "document.getElementById('quadrant').textContent"
        assert browser.wait_for(f"{quadrant}.includes('/') && {quadrant}") == "happy/excited"
        assert browser.evaluate("document.getElementById('conn').textContent") == "live"
        for i in range(10):  # pushed after the page loaded
            web.emit(fake_prediction(100 + i * 0.5, valence=-0.6, arousal=0.7))
        time_text = "document.getElementById('time').textContent"
        browser.wait_for(f"{time_text}.startsWith('104.5')")
        assert browser.evaluate(quadrant) == "tense/angry"
        swatch = browser.evaluate("getComputedStyle(document.getElementById('swatch')).background")
        assert "rgb(" in swatch
        assert browser.evaluate("document.querySelectorAll('#chart polyline').length") >= 2
        assert browser.evaluate("document.getElementById('trail').getAttribute('points')")
        shot = browser.screenshot(tmp_path / "live.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
