"""MQTT output against a real mosquitto broker started on loopback by the tests: Home
Assistant discovery, retained state for late subscribers, availability with a last will, a
broker restart mid-run, and a broker that is not there at all."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sentio.runtime.cli import main
from sentio.runtime.emotion import QUADRANTS
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.mqtt import MqttSink, MqttTarget, parse_mqtt_url

from tests.helpers import (
    WHOLE_WINDOWS,
    Mosquitto,
    Subscriber,
    fake_prediction,
    free_port,
    sink_counts,
    wait_until,
    write_song,
)

SENSORS = {"valence", "arousal", "quadrant", "color"}
STATE_TOPICS = ("availability", "state", "valence", "arousal", "quadrant", "color", "rgb")


@pytest.fixture
def broker(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture
def subscribers():
    made = []

    def subscribe(port, topics=("#",)):
        made.append(Subscriber(port, list(topics)))
        return made[-1]

    yield subscribe
    for subscriber in made:
        subscriber.close()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_song(tmp_path_factory.mktemp("mqtt") / "song.wav")


def fast_sink(port: int, prefix: str = "sentio") -> MqttSink:
    """A sink that retries fast (the defaults wait 1-30 s between attempts)."""
    return MqttSink(MqttTarget("127.0.0.1", port, prefix), reconnect_delay=(0.1, 0.5))


def test_cli_publishes_discovery_state_and_availability(broker, subscribers, song, capsys):
    early = subscribers(broker.port)
    code = main(
        ["--input", str(song), *WHOLE_WINDOWS, "--hop", "1",
         "--format", "none", "--mqtt", f"mqtt://127.0.0.1:{broker.port}/sentio/living-room"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # --format none
    prefix = "sentio/living-room"
    configs = {
        topic: json.loads(early.last(topic))
        for topic, _, _ in early.messages
        if topic.startswith("homeassistant/")
    }
    assert set(configs) == {
        f"homeassistant/sensor/sentio_living_room/{key}/config" for key in SENSORS
    }
    assert len({c["unique_id"] for c in configs.values()}) == 4
    for config in configs.values():
        assert config["state_topic"] == f"{prefix}/state"
        assert config["availability_topic"] == f"{prefix}/availability"
        assert config["device"]["identifiers"] == ["sentio_living_room"]
        assert config["value_template"].startswith("{{ value_json.")
    mood = next(c for c in configs.values() if c["unique_id"].endswith("_quadrant"))
    assert mood["device_class"] == "enum" and mood["options"] == [*QUADRANTS, "silent"]
    # connecting takes a moment and --input is fast: the first windows may have failed,
    # but the latest state goes out on connect and every window is accounted for
    sent, failed, dropped = sink_counts(captured.err, f"mqtt://127.0.0.1:{broker.port}/{prefix}")
    assert sent + failed + dropped == 5
    wait_until(lambda: early.last(f"{prefix}/availability") == "offline", 5, "offline at exit")
    assert early.payloads(f"{prefix}/availability")[0] == "online"

    late = subscribers(broker.port, [f"{prefix}/#", "homeassistant/#"])
    retained = [f"{prefix}/{leaf}" for leaf in STATE_TOPICS] + list(configs)
    wait_until(lambda: all(late.last(t) for t in retained), 5, "every retained message")
    state = json.loads(late.last(f"{prefix}/state"))
    assert state["t"] == 16.0  # the last window, retained
    assert late.last(f"{prefix}/valence") == f"{state['valence']:.4f}"
    assert late.last(f"{prefix}/quadrant") == state["quadrant"]
    assert late.last(f"{prefix}/color") == state["color"]["hex"]
    assert late.last(f"{prefix}/rgb") == ",".join(map(str, state["color"]["rgb"]))
    assert late.last(f"{prefix}/availability") == "offline"
    assert all(retained for _, _, retained in late.messages)
    assert len([t for t, _, _ in late.messages if t.startswith("homeassistant/")]) == 4


def test_broker_restart_mid_run_reconnects_and_republishes(broker, subscribers):
    sink = fast_sink(broker.port)
    try:
        assert sink.connected.wait(10)
        first = subscribers(broker.port, ["sentio/state"])
        sink.emit(fake_prediction(1.0))
        wait_until(lambda: first.states("sentio"), 5, "state t=1")

        broker.stop()
        wait_until(lambda: not sink.connected.is_set(), 10, "the sink to notice")
        started = time.perf_counter()
        for t in (2.0, 3.0, 4.0):
            sink.emit(fake_prediction(t, valence=-0.5))
        assert time.perf_counter() - started < 0.1  # emit never waits for the broker
        wait_until(lambda: sink.stats.failed == 3, 5, "3 failed deliveries")

        broker.start()  # same port, no persistence: every retained message is gone
        assert sink.connected.wait(10), "the sink did not reconnect"
        after = subscribers(broker.port, ["sentio/#", "homeassistant/#"])
        # what a restarted broker knows, it learnt from the reconnect
        wait_until(
            lambda: after.last("sentio/state") and after.last("sentio/availability"),
            5,
            "the latest state and availability again",
        )
        assert json.loads(after.last("sentio/state"))["t"] == 4.0
        assert after.last("sentio/availability") == "online"
        wait_until(
            lambda: sum(t.startswith("homeassistant/") for t, _, _ in after.messages) == 4,
            5,
            "the discovery configs again",
        )
        sink.emit(fake_prediction(5.0))
        wait_until(
            lambda: (
                after.last("sentio/state") and json.loads(after.last("sentio/state"))["t"] == 5.0
            ),
            5,
            "state t=5",
        )
    finally:
        sink.close()
    assert (sink.stats.sent, sink.stats.failed, sink.stats.dropped) == (2, 3, 0)


def test_last_will_says_offline_when_the_process_dies(broker, subscribers, song):
    watcher = subscribers(broker.port, ["sentio/availability"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentio.runtime.cli", "--input", str(song), "--realtime",
         *WHOLE_WINDOWS, "--mqtt", f"mqtt://127.0.0.1:{broker.port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )  # fmt: skip
    try:
        wait_until(lambda: watcher.last("sentio/availability") == "online", 20, "online")
        proc.send_signal(signal.SIGKILL)  # no clean exit: only the broker can say it
        proc.wait(10)
        wait_until(lambda: watcher.last("sentio/availability") == "offline", 10, "the will")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_an_absent_broker_never_stops_listening(song, capsys):
    port = free_port()  # nothing listens there
    code = main(
        ["--input", str(song), *WHOLE_WINDOWS, "--hop", "1",
         "--mqtt", f"mqtt://127.0.0.1:{port}"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert sum(line.startswith("{") for line in captured.out.splitlines()) == 5
    sent, failed, dropped = sink_counts(captured.err, f"mqtt://127.0.0.1:{port}/sentio")
    assert sent == 0 and failed + dropped == 5 and failed >= 1
    assert "not connected to the broker" in captured.err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker", MqttTarget("broker")),
        (
            "mqtts://me:p%40ss@broker:8884/sentio/living-room/?discovery=off&client_id=pi",
            MqttTarget("broker", 8884, "sentio/living-room", "me", "p@ss", True, None, "pi"),
        ),
        (
            "mqtts://broker?discovery=ha",
            MqttTarget("broker", 8883, discovery_prefix="ha", tls=True),
        ),
    ],
)
def test_mqtt_urls_parse(url, expected):
    assert parse_mqtt_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("broker:1883", "expected mqtt://"),
        ("http://broker", "expected mqtt://"),
        ("mqtt://broker:99999", "expected mqtt://"),
        ("mqtt://broker?qos=2", "unknown option(s) qos"),
    ],
)
def test_a_bad_mqtt_url_is_a_clear_error(url, message, song, capsys):
    with pytest.raises(OutputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mqtt_url(url)
    assert main(["--input", str(song), "--mqtt", url]) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err and "Traceback" not in err


def test_the_password_never_appears_in_reports():
    target = parse_mqtt_url("mqtt://me:secret@broker/x")
    assert "secret" not in target.describe() and "me" not in target.describe()
