"""MQTT output (paho-mqtt 2.x, ``pip install ".[mqtt]"``): retained state, per-value
topics, an availability topic with a last will, and Home Assistant MQTT discovery.

``--mqtt mqtt://[USER:PASS@]HOST[:PORT][/PREFIX][?discovery=homeassistant|off&client_id=ID]``
(``mqtts://`` for TLS with the system's CA certificates; default ports 1883 / 8883; default
prefix ``sentio``). Topics, all retained:

=========================  ====================================================================
topic                      payload
=========================  ====================================================================
PREFIX/availability        ``online`` while connected; ``offline`` on a clean exit, and as the
                           last will when the connection dies (the broker publishes it)
PREFIX/state               JSON: the prediction (``Prediction.to_dict()``) plus ``"color":
                           {"hex": "#rrggbb", "rgb": [r, g, b] 0..255, "hsv": [h°, s, v]}``
PREFIX/valence, /arousal   the value as text, e.g. ``0.3125``
PREFIX/quadrant            happy/excited, tense/angry, sad/depressed or calm/content
PREFIX/color               ``#rrggbb``
PREFIX/rgb                 ``r,g,b`` (0..255)
=========================  ====================================================================

Home Assistant discovery: ``homeassistant/sensor/<device>/<key>/config`` (retained) for the
keys valence, arousal, quadrant and color, one device per prefix (``<device>`` is the prefix
made a slug: ``sentio``, ``sentio_living_room``), each sensor reading ``PREFIX/state`` through a
``value_template`` and going unavailable with ``PREFIX/availability``.

The connection is made and remade by paho's network thread with exponential backoff; on every
(re)connect the discovery configs, ``online`` and the latest state are published again (a
broker without persistence forgets retained messages when it restarts).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from sentio.runtime.about import installed_version
from sentio.runtime.emotion import QUADRANTS, Prediction
from sentio.runtime.errors import OutputError
from sentio.runtime.sinks import BackgroundSink, import_extra

log = logging.getLogger("sentio.mqtt")

DEFAULT_PREFIX = "sentio"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
ONLINE, OFFLINE = "online", "offline"
PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class MqttTarget:
    """Where and how to publish (parsed from an ``mqtt://`` URL by :func:`parse_mqtt_url`).

    Attributes:
        host, port: the broker.
        prefix: topic prefix (no leading or trailing slash).
        username, password: credentials, or None.
        tls: connect with TLS (``mqtts://``).
        discovery_prefix: Home Assistant's discovery prefix, or None for no discovery.
        client_id: MQTT client id (default: ``sentio-<device>-<random>``).
    """

    host: str
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = None
    tls: bool = False
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX
    client_id: str | None = None

    @property
    def device_id(self) -> str:
        """The Home Assistant device (and unique_id stem): the prefix as a slug."""
        return re.sub(r"[^a-z0-9]+", "_", self.prefix.lower()).strip("_") or DEFAULT_PREFIX

    def topic(self, leaf: str) -> str:
        return f"{self.prefix}/{leaf}"

    def describe(self) -> str:
        """For reports: scheme, broker and prefix, never the password."""
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}/{self.prefix}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt[s]://[user:pass@]host[:port][/prefix][?discovery=..&client_id=..]``."""
    bad = OutputError(
        f"--mqtt {url!r}: expected mqtt://[USER:PASS@]HOST[:PORT][/PREFIX]",
        hint="e.g. --mqtt mqtt://homeassistant.local or "
        "--mqtt mqtts://me:secret@broker:8883/sentio/living-room",
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise bad from err
    if parts.scheme not in PORTS or not parts.hostname:
        raise bad
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"discovery", "client_id"}
    if unknown:
        raise OutputError(
            f"--mqtt: unknown option(s) {', '.join(sorted(unknown))}",
            hint="the URL takes ?discovery=PREFIX|off and ?client_id=ID",
        )
    discovery = query.get("discovery", DEFAULT_DISCOVERY_PREFIX)
    return MqttTarget(
        host=parts.hostname,
        port=port or PORTS[parts.scheme],
        prefix=unquote(parts.path).strip("/") or DEFAULT_PREFIX,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "mqtts",
        discovery_prefix=None if discovery == "off" else discovery.strip("/"),
        client_id=query.get("client_id"),
    )


def state_messages(target: MqttTarget, prediction: Prediction) -> list[tuple[str, str]]:
    """(topic, payload) of one prediction: the JSON state and the per-value topics."""
    color = prediction.color
    state = prediction.to_dict() | {"color": color.to_dict()}
    return [
        (target.topic("state"), json.dumps(state)),
        (target.topic("valence"), f"{prediction.valence:.4f}"),
        (target.topic("arousal"), f"{prediction.arousal:.4f}"),
        (target.topic("quadrant"), prediction.quadrant),
        (target.topic("color"), color.hex),
        (target.topic("rgb"), ",".join(str(c) for c in color.rgb8)),
    ]


SENSORS = {
    "valence": {
        "name": "Valence",
        "value_template": "{{ value_json.valence }}",
        "state_class": "measurement",
        "suggested_display_precision": 2,
        "icon": "mdi:emoticon-happy-outline",
    },
    "arousal": {
        "name": "Arousal",
        "value_template": "{{ value_json.arousal }}",
        "state_class": "measurement",
        "suggested_display_precision": 2,
        "icon": "mdi:lightning-bolt",
    },
    "quadrant": {
        "name": "Mood",
        "value_template": "{{ value_json.quadrant }}",
        "device_class": "enum",
        "options": list(QUADRANTS),
        "icon": "mdi:drama-masks",
    },
    "color": {
        "name": "Colour",
        "value_template": "{{ value_json.color.hex }}",
        "json_attributes_template": "{{ value_json.color | tojson }}",
        "icon": "mdi:palette",
    },
}


def discovery_messages(target: MqttTarget, version: str) -> list[tuple[str, str]]:
    """(topic, payload) of the Home Assistant discovery configs; empty if discovery is off."""
    if target.discovery_prefix is None:
        return []
    device = {
        "identifiers": [target.device_id],
        "name": "Sentio" if target.prefix == DEFAULT_PREFIX else f"Sentio {target.prefix}",
        "manufacturer": "Sentio",
        "model": "sentio-listen",
        "sw_version": version,
    }
    messages = []
    for key, sensor in SENSORS.items():
        config = {
            **sensor,
            "unique_id": f"{target.device_id}_{key}",
            "state_topic": target.topic("state"),
            "availability_topic": target.topic("availability"),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
            "origin": {"name": "sentio", "sw_version": version},
        }
        if key == "color":
            config["json_attributes_topic"] = target.topic("state")
        topic = f"{target.discovery_prefix}/sensor/{target.device_id}/{key}/config"
        messages.append((topic, json.dumps(config)))
    return messages


class MqttSink(BackgroundSink):
    """Publishes each prediction to an MQTT broker (topics: module docstring).

    Connecting happens in paho's network thread (``connect_async`` + ``loop_start``) with
    exponential backoff between ``reconnect_delay`` seconds; while the broker is away each
    prediction counts as failed, and the latest one is published when the connection is back.

    Args:
        target: broker, prefix, credentials (see :func:`parse_mqtt_url`).
        reconnect_delay: (first, longest) wait between connection attempts, seconds.
        keepalive: seconds between pings; a dead connection is noticed within 1.5 x this.
        queue_size: predictions waiting at most before the oldest is dropped.
    """

    def __init__(
        self,
        target: MqttTarget,
        reconnect_delay: tuple[float, float] = (1.0, 30.0),
        keepalive: int = 30,
        queue_size: int = 32,
    ) -> None:
        mqtt = import_extra("paho.mqtt.client", "mqtt", "MQTT output")
        self._mqtt = mqtt
        self.target = target
        self.connected = threading.Event()
        self._latest: Prediction | None = None
        self._latest_unsent = False
        self._lock = threading.Lock()
        self._version = installed_version()
        self._client = self._make_client(reconnect_delay)
        super().__init__(target.describe(), queue_size)
        self._client.connect_async(target.host, target.port, keepalive)
        self._client.loop_start()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> MqttSink:
        """From an ``mqtt://`` / ``mqtts://`` URL as given to ``sentio-listen --mqtt``."""
        return cls(parse_mqtt_url(url), **kwargs)

    def _make_client(self, reconnect_delay: tuple[float, float]):
        mqtt, target = self._mqtt, self.target
        client_id = target.client_id or f"sentio-{target.device_id}-{uuid.uuid4().hex[:8]}"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if target.username is not None:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set()
        client.will_set(target.topic("availability"), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(*reconnect_delay)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        return client

    def deliver(self, prediction: Prediction) -> None:
        with self._lock:
            self._latest, self._latest_unsent = prediction, True
        if not self._client.is_connected():
            raise ConnectionError("not connected to the broker")
        self._publish(state_messages(self.target, prediction), qos=0)
        with self._lock:
            self._latest_unsent = self._latest is not prediction

    def _publish(self, messages: list[tuple[str, str]], qos: int) -> None:
        for topic, payload in messages:
            info = self._client.publish(topic, payload, qos=qos, retain=True)
            if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(self._mqtt.error_string(info.rc))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:  # e.g. bad credentials: paho tries again, the user must act
            log.warning("%s: broker refused the connection: %s", self.stats.name, reason_code)
            return
        log.info("%s: connected", self.stats.name)
        with self._lock:
            latest = self._latest
        try:
            self._publish(discovery_messages(self.target, self._version), qos=1)
            self._publish([(self.target.topic("availability"), ONLINE)], qos=1)
            if latest is not None:
                self._publish(state_messages(self.target, latest), qos=0)
                with self._lock:
                    self._latest_unsent = self._latest is not latest
        except ConnectionError as err:  # lost again at once: the next connect repeats this
            log.warning("%s: %s", self.stats.name, err)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected.is_set():
            log.warning("%s: disconnected (%s); reconnecting", self.stats.name, reason_code)
        self.connected.clear()

    def shutdown(self, timeout: float = 2.0) -> None:
        """Say ``offline`` (a clean exit sends no last will), disconnect, stop paho's thread.

        If the latest state has not gone out yet (a short ``--input`` run that ended before
        the first connection), wait up to ``timeout`` s for a connection to carry it."""
        if self._latest_unsent:
            self.connected.wait(timeout)
        if self._client.is_connected():
            info = self._client.publish(self.target.topic("availability"), OFFLINE, 1, True)
            if info.rc == self._mqtt.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout)
        self._client.disconnect()
        # paho's thread may sit in a connect attempt to a dead host: do not wait for it long
        stopper = threading.Thread(target=self._client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(timeout)
