"""MQTT output (paho-mqtt 2.x, ``pip install ".[mqtt]"``): retained state, per-value
topics, an availability topic with a last will, and Home Assistant MQTT discovery.

``--mqtt mqtt://[USER:PASS@]HOST[:PORT][/PREFIX][?discovery=homeassistant|off&client_id=ID]``
(``mqtts://`` for TLS with the system's CA certificates, or ``--mqtt-ca FILE``'s; default
ports 1883 / 8883; default prefix ``sentio``). Credentials need not be in the URL (where the
process list and the shell history show them): :func:`mqtt_targets` fills in the user name
from ``$SENTIO_MQTT_USERNAME`` and the password from a file (``--mqtt-password-file``) or
``$SENTIO_MQTT_PASSWORD``. No report, log line or error shows the password. Topics, all
retained:

=========================  ====================================================================
topic                      payload
=========================  ====================================================================
PREFIX/availability        ``online`` while connected; ``offline`` on a clean exit, and as the
                           last will when the connection dies (the broker publishes it)
PREFIX/state               JSON: the prediction (``Prediction.to_dict()``: ``partial``,
                           ``window_s`` and ``change`` included) plus ``"color": {"hex":
                           "#rrggbb", "rgb": [r, g, b] 0..255, "hsv": [h°, s, v]}``
PREFIX/valence, /arousal   the value as text, e.g. ``0.3125``
PREFIX/quadrant            happy/excited, tense/angry, sad/depressed or calm/content (silent)
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
import os
import re
import stat
import sys
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sentio.runtime.about import installed_version
from sentio.runtime.emotion import QUADRANTS, SILENT, Prediction
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.sinks import BackgroundSink, import_extra

log = logging.getLogger("sentio.mqtt")

DEFAULT_PREFIX = "sentio"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
ONLINE, OFFLINE = "online", "offline"
PORTS = {"mqtt": 1883, "mqtts": 8883}
#: Where credentials come from when the URL has none.
USERNAME_ENV, PASSWORD_ENV = "SENTIO_MQTT_USERNAME", "SENTIO_MQTT_PASSWORD"


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
        ca_file: with TLS, the CA certificate(s) to trust (PEM) instead of the system's.
    """

    host: str
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX
    client_id: str | None = None
    ca_file: Path | None = None

    @property
    def device_id(self) -> str:
        """The Home Assistant device (and unique_id stem): the prefix as a slug."""
        return re.sub(r"[^a-z0-9]+", "_", self.prefix.lower()).strip("_") or DEFAULT_PREFIX

    def topic(self, leaf: str) -> str:
        return f"{self.prefix}/{leaf}"

    def describe(self) -> str:
        """For reports: scheme, broker and prefix, never the password."""
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}/{self.prefix}"


def redact_url(url: str) -> str:
    """``url`` with its user information (everything from after ``://`` to the *last* ``@``)
    as ``***``: what an error may show of a URL that did not parse. Errs on the side of
    hiding too much: a password may hold unescaped ``/``, ``?``, ``#``, ``:`` or ``@``, and a
    user name may be a token."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt[s]://[user:pass@]host[:port][/prefix][?discovery=..&client_id=..]``, split by
    the standard library's rules (:func:`urllib.parse.urlsplit`).

    An ``@`` after the host part is refused: ``mqtt://alice:12/pw@host`` is, by those rules,
    host ``alice``, port 12 and prefix ``pw@host``, which is never what was meant (a password
    holding ``/``, ``?`` or ``#``); the error shows the URL with its user information hidden.
    """
    bad = OutputError(
        f"--mqtt {redact_url(url)!r}: expected mqtt://[USER:PASS@]HOST[:PORT][/PREFIX]",
        hint="e.g. --mqtt mqtt://homeassistant.local or --mqtt "
        f"mqtts://me@broker:8883/sentio/living-room with the password in ${PASSWORD_ENV} "
        "or --mqtt-password-file",
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise bad from err
    if parts.scheme not in PORTS or not parts.hostname:
        raise bad
    if "@" in url.partition("://")[2][len(parts.netloc) :]:  # in the path, query or fragment
        raise OutputError(
            f"--mqtt {redact_url(url)!r}: an '@' after the host is ambiguous (a password "
            "holding '/', '?' or '#' ends the host part early)",
            hint=f"put the password in ${PASSWORD_ENV} or --mqtt-password-file, or write those "
            "characters in the URL as %2F, %3F, %23 (and '@' as %40)",
        )
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


def mqtt_targets(
    urls: list[str],
    password_file: Path | None = None,
    ca_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> list[MqttTarget]:
    """``--mqtt`` URLs as targets, with the credentials a URL leaves out filled in.

    The user name: the URL's, else ``$SENTIO_MQTT_USERNAME``. The password: the URL's (a
    warning says where it shows), else ``password_file``'s first line, else
    ``$SENTIO_MQTT_PASSWORD``; only given to a target that has a user name. ``ca_file``: the
    CA to trust for the ``mqtts://`` targets.

    Raises:
        OutputError: a bad URL, an unreadable password or CA file, a CA file without any
            ``mqtts://`` URL, or a password without a user name.
    """
    environ = os.environ if environ is None else environ
    targets = [parse_mqtt_url(url) for url in urls]
    if any(t.password is not None for t in targets):
        log.warning(
            "the MQTT password in --mqtt is visible in the process list and the shell history; "
            "use $%s or --mqtt-password-file instead",
            PASSWORD_ENV,
        )
    username = environ.get(USERNAME_ENV) or None
    password = _read_password(password_file) if password_file else environ.get(PASSWORD_ENV) or None
    if ca_file is not None:
        ca_file = _check_ca_file(ca_file)
        if not any(t.tls for t in targets):
            raise OutputError(
                "--mqtt-ca is for TLS connections, but no --mqtt URL is mqtts://",
                hint="use mqtts://HOST (port 8883 by default) with --mqtt-ca",
            )
    filled = []
    for target in targets:
        user = target.username or username
        secret = target.password if target.password is not None else password
        if secret and not user:
            raise OutputError(
                f"--mqtt {target.describe()}: a password but no user name",
                hint=f"set ${USERNAME_ENV} or put the user in the URL (mqtt://USER@HOST)",
            )
        filled.append(
            replace(
                target,
                username=user,
                password=secret if user else None,
                ca_file=ca_file if target.tls else None,
            )
        )
    return filled


def _read_password(path: Path) -> str:
    path = Path(path)
    hint = "write the password as the file's first line, readable by this user only (chmod 600)"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise OutputError(
            f"--mqtt-password-file {path}: cannot read it ({type(err).__name__}: "
            f"{getattr(err, 'strerror', None) or 'not UTF-8 text'})",
            hint=hint,
        ) from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise OutputError(f"--mqtt-password-file {path}: the first line is empty", hint=hint)
    if sys.platform != "win32" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users: chmod 600 %s", path, path)
    return password


def _check_ca_file(path: Path) -> Path:
    import ssl

    path = Path(path)
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as err:
        raise OutputError(
            f"--mqtt-ca {path}: not a readable PEM CA certificate ({err})",
            hint="pass the certificate of the CA that signed the broker's certificate (PEM)",
        ) from None
    return path


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
        "options": [*QUADRANTS, SILENT],
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
        self._refused: str | None = None  # why the broker refused the last login, if it did
        self._connect_error: str | None = None  # why the last connection attempt failed
        self._shutting_down = False
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
            try:
                client.tls_set(ca_certs=str(target.ca_file) if target.ca_file else None)
            except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
                raise OutputError(
                    f"{target.describe()}: cannot set up TLS: {err}",
                    hint="check --mqtt-ca (a PEM CA certificate) and the system's CA store",
                ) from None
        client.will_set(target.topic("availability"), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(*reconnect_delay)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        return client

    def deliver(self, prediction: Prediction) -> None:
        with self._lock:
            self._latest, self._latest_unsent = prediction, True
        if not self._client.is_connected():
            raise ConnectionError(self._why_not_connected())
        self._publish(state_messages(self.target, prediction), qos=0)
        with self._lock:
            self._latest_unsent = self._latest is not prediction

    def _publish(self, messages: list[tuple[str, str]], qos: int) -> None:
        for topic, payload in messages:
            info = self._client.publish(topic, payload, qos=qos, retain=True)
            if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(self._mqtt.error_string(info.rc))

    def _why_not_connected(self) -> str:
        if self._refused:
            return f"not connected to the broker: it refused the login ({self._refused})"
        if self._connect_error:
            return f"not connected to the broker ({self._connect_error})"
        return "not connected to the broker"

    def _on_connect_fail(self, client, userdata) -> None:
        # paho calls this inside its `except OSError` (refused, unreachable, TLS handshake)
        err = sys.exc_info()[1]
        reason = f"{type(err).__name__}: {err}" if err is not None else "connection failed"
        if reason != self._connect_error:  # log the change, not every retry
            log.warning("%s: cannot connect: %s (retrying)", self.stats.name, reason)
        self._connect_error = reason

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:  # e.g. bad credentials: paho tries again, the user must act
            reason = str(reason_code)
            if reason != self._refused:  # once per reason, not at every retry
                log.warning(
                    "%s: broker refused the connection: %s (check the user name and password: "
                    "$%s, --mqtt-password-file / $%s; retrying)",
                    self.stats.name,
                    reason,
                    USERNAME_ENV,
                    PASSWORD_ENV,
                )
            self._refused = reason
            return
        self._refused = self._connect_error = None
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
        if self.connected.is_set() and not self._shutting_down:
            log.warning("%s: disconnected (%s); reconnecting", self.stats.name, reason_code)
        self.connected.clear()

    def shutdown(self, timeout: float = 2.0) -> None:
        """Say ``offline`` (a clean exit sends no last will), disconnect, stop paho's thread.

        If the latest state has not gone out yet (a short ``--input`` run that ended before
        the first connection), wait up to ``timeout`` s for a connection to carry it."""
        if self._latest_unsent:
            self.connected.wait(timeout)
        self._shutting_down = True  # the disconnect below is ours: no "reconnecting" warning
        if self._client.is_connected():
            info = self._client.publish(self.target.topic("availability"), OFFLINE, 1, True)
            if info.rc == self._mqtt.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout)
        self._client.disconnect()
        # paho's thread may sit in a connect attempt to a dead host: do not wait for it long
        stopper = threading.Thread(target=self._client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(timeout)
