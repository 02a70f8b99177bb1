"""``sentio-listen --web [HOST:]PORT``: a small live page served by the listener itself.

Standard library only: :class:`http.server.ThreadingHTTPServer` in a thread, one thread per
browser, updates pushed as Server-Sent Events. The page (``web_static/``: HTML, JS, CSS, no
CDN) shows the valence/arousal circumplex with a trail, the colour as a swatch, the mood, a
history chart of the last minutes with partial, silent and change marks, and the device,
artifact and counters.

==================  ===================================================================
path                what
==================  ===================================================================
``/``               the page (``index.html``, ``app.js``, ``style.css``)
``/api/state``      JSON: the latest prediction (with its colour), the source, model and
                    artifact, the counters, the other outputs' report lines, browsers
``/api/history``    JSON: the predictions of the last ``history_s`` seconds of audio
``/events``         ``text/event-stream``: a ``snapshot`` event (state and history), then a
                    ``prediction`` event per window, a comment every 15 s to keep it open
==================  ===================================================================

Read-only: GET and HEAD only; anything else is answered 405. Nothing on the page changes
what the listener does.

Why it never holds up listening: ``emit`` is :class:`BackgroundSink`'s (a bounded queue,
never blocks); the sink's thread updates the state and appends each event to every browser's
own bounded queue (the oldest waiting event makes room, counted per browser); each browser
is written to by its own server thread, with a send timeout, so a slow browser only falls
behind (it keeps the newest events) and a vanished one is dropped when a write fails.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sentio.runtime.emotion import Prediction
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.sinks import BackgroundSink, SinkStats

log = logging.getLogger("sentio.web")

DEFAULT_HOST = "127.0.0.1"
#: Seconds of audio the history keeps (and the page's chart shows).
HISTORY_S = 300.0
#: Points the history holds at most, whatever the hop.
HISTORY_POINTS = 3000
#: Events waiting for one browser at most; the oldest makes room.
CLIENT_QUEUE = 64
#: A browser that takes longer than this to take one write is dropped.
SEND_TIMEOUT_S = 10.0
KEEPALIVE_S = 15.0
#: The files the page is made of: name -> content type (nothing else is served).
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


def parse_web_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` (IPv6 as ``[::1]:8080``) -> (host, port); the host defaults to
    127.0.0.1 (this machine only). Port 0 takes any free port.

    Raises:
        ValueError: not a port, or a port out of range (the message says which).
    """
    text = text.strip()
    if text.isdigit():
        host, port_text = DEFAULT_HOST, text
    else:
        try:
            parts = urlsplit("http://" + text)
            host, port = parts.hostname, parts.port
        except ValueError:  # a port that is no number or out of range
            host = port = None
        if not host or port is None or parts.path or parts.query:
            raise ValueError(f"expected [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080, got {text!r}")
        port_text = str(port)
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"the port must be from 0 to 65535, got {text!r}")
    return host, port


def point(p: Prediction) -> dict:
    """One history point: what the chart and the trail need."""
    return {
        "t": round(p.t, 3),
        "valence": round(p.valence, 4),
        "arousal": round(p.arousal, 4),
        "quadrant": p.quadrant,
        "color": p.color.hex,
        "partial": p.partial,
        "silent": p.silent,
        "change": p.change,
    }


class WebState:
    """What the page shows, updated by the sink's thread and read by the server's threads
    (under one lock; readers get copies)."""

    def __init__(self, info: dict | None = None, history_s: float = HISTORY_S) -> None:
        self.info = dict(info or {})
        self.history_s = history_s
        self.history: deque[dict] = deque(maxlen=HISTORY_POINTS)
        self.latest: dict | None = None
        self.windows = 0
        self.compute_ms_total = 0.0
        self.compute_ms_max = 0.0
        self.started = time.time()
        self.lock = threading.Lock()

    def add(self, p: Prediction) -> dict:
        """Record a prediction; returns its event payload."""
        latest = {**p.to_dict(), "color": p.color.to_dict()}
        with self.lock:
            self.latest = latest
            self.windows += 1
            self.compute_ms_total += p.compute_ms
            self.compute_ms_max = max(self.compute_ms_max, p.compute_ms)
            if self.history and p.t < self.history[-1]["t"]:
                self.history.clear()  # a new stream (time went back): a new chart
            self.history.append(point(p))
            while self.history and self.history[0]["t"] < p.t - self.history_s:
                self.history.popleft()
            return {"prediction": latest, "stats": self._stats()}

    def _stats(self) -> dict:
        mean = self.compute_ms_total / self.windows if self.windows else 0.0
        latest = self.latest or {}
        return {
            "windows": self.windows,
            "compute_ms_mean": round(mean, 3),
            "compute_ms_max": round(self.compute_ms_max, 3),
            "overflows": latest.get("overflows", 0),
            "dropped_samples": latest.get("dropped", 0),
            "uptime_s": round(time.time() - self.started, 1),
        }

    def state(self) -> dict:
        with self.lock:
            return {
                "prediction": self.latest,
                "info": dict(self.info),
                "stats": self._stats(),
            }

    def history_dict(self) -> dict:
        with self.lock:
            return {"history_s": self.history_s, "points": list(self.history)}


class Client:
    """One browser's event stream: a bounded queue the sink's thread fills and the browser's
    server thread empties."""

    def __init__(self, address: str, size: int = CLIENT_QUEUE) -> None:
        self.address = address
        self.events: deque[bytes] = deque()
        self.size = size
        self.dropped = 0
        self.sent = 0
        self.closed = False
        self.wake = threading.Condition()

    def push(self, event: bytes) -> None:
        """Queue an event; never blocks (the oldest waiting one makes room)."""
        with self.wake:
            if self.closed:
                return
            if len(self.events) >= self.size:
                self.events.popleft()
                self.dropped += 1
            self.events.append(event)
            self.wake.notify()

    def next_events(self, timeout: float) -> list[bytes] | None:
        """What is waiting (an empty list after ``timeout`` s of nothing); None once closed."""
        with self.wake:
            if not self.events and not self.closed:
                self.wake.wait(timeout)
            if self.closed:
                return None
            events = list(self.events)
            self.events.clear()
            return events

    def close(self) -> None:
        with self.wake:
            self.closed = True
            self.wake.notify_all()


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: WebSink


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "sentio"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # access log at debug level only
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"read-only\n", "text/plain", allow="GET, HEAD")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def _answer(self, head: bool) -> None:
        path = urlsplit(self.path).path
        sink = self.server.sink
        if path in ("/", "/index.html"):
            path = "/index.html"
        name = path.lstrip("/")
        if name in STATIC:
            body = sink.static(name)
            self._send(HTTPStatus.OK, body, STATIC[name], head=head)
        elif path == "/api/state":
            self._json(sink.state_dict(), head)
        elif path == "/api/history":
            self._json(sink.state.history_dict(), head)
        elif path == "/events" and not head:
            self._events()
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head=head)

    def _json(self, data: dict, head: bool) -> None:
        body = json.dumps(data, separators=(",", ":")).encode()
        self._send(HTTPStatus.OK, body, "application/json", head=head)

    def _send(self, status, body: bytes, ctype: str, head: bool = False, **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in headers.items():
            self.send_header(key.title(), value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self) -> None:
        sink = self.server.sink
        client = sink.add_client(self.address_string())
        try:
            self.connection.settimeout(SEND_TIMEOUT_S)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            snapshot = {**sink.state_dict(), "history": sink.state.history_dict()}
            self.wfile.write(b"retry: 2000\n" + sse("snapshot", snapshot))
            self.wfile.flush()
            while True:
                events = client.next_events(KEEPALIVE_S)
                if events is None:
                    return
                self.wfile.write(b"".join(events) or b": keep-alive\n\n")
                self.wfile.flush()
                client.sent += len(events)
        except OSError:  # the browser went away or stopped reading: drop it
            pass
        finally:
            self.close_connection = True
            sink.remove_client(client)


class WebSink(BackgroundSink):
    """The ``--web`` output: serves the live page and pushes each prediction to every
    connected browser.

    Args:
        host, port: where to listen (port 0: any free port; :attr:`url` says which).
        info: what the page shows about the run (``source``, ``model``, ``artifact``,
            ``hop_s``, ...).
        history_s: seconds of audio the history keeps.
        sink_stats: the other outputs' counters (e.g. ``Sinks.stats``), for the page.
        client_queue: events waiting for one browser at most.
        queue_size: predictions waiting for the sink's thread at most.

    Raises:
        OutputError: the address cannot be listened on (in use, not this machine's).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 8080,
        info: dict | None = None,
        history_s: float = HISTORY_S,
        sink_stats: Callable[[], list[SinkStats]] | None = None,
        client_queue: int = CLIENT_QUEUE,
        queue_size: int = 32,
    ) -> None:
        self.state = WebState(info, history_s)
        self.sink_stats = sink_stats
        self._clients: set[Client] = set()
        self._clients_lock = threading.Lock()
        self._client_queue = client_queue
        self.clients_seen = 0
        self._static_cache: dict[str, bytes] = {}
        server_class = _Server
        if ":" in host:
            server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        try:
            self._server = server_class((host, port), _Handler)
        except OSError as err:
            raise OutputError(
                f"--web {_show(host, port)}: cannot listen there: {err.strerror or err}",
                hint="pick another port (another program may hold it), or a host address "
                "of this machine (127.0.0.1, 0.0.0.0 for every interface)",
            ) from err
        self._server.sink = self
        bound = self._server.server_address
        self.host, self.port = host, int(bound[1])
        super().__init__(f"web {self.url}", queue_size)
        self._serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sentio web server",
            daemon=True,
        )
        self._serve.start()

    @property
    def url(self) -> str:
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{_show(shown, self.port)}/"

    @classmethod
    def from_address(cls, address: str, **kwargs) -> WebSink:
        try:
            host, port = parse_web_address(address)
        except ValueError as err:
            raise OutputError(f"--web: {err}", hint="e.g. --web 8080") from None
        return cls(host, port, **kwargs)

    def static(self, name: str) -> bytes:
        if name not in self._static_cache:
            files = importlib.resources.files("sentio.runtime.outputs") / "web_static"
            self._static_cache[name] = (files / name).read_bytes()
        return self._static_cache[name]

    def state_dict(self) -> dict:
        state = self.state.state()
        with self._clients_lock:
            clients = list(self._clients)
        state["browsers"] = {
            "connected": len(clients),
            "seen": self.clients_seen,
            "events_dropped": sum(c.dropped for c in clients),
        }
        state["outputs"] = [s.line().removeprefix("sentio: ") for s in self._other_stats()]
        return state

    def _other_stats(self) -> list[SinkStats]:
        if self.sink_stats is None:
            return [self.stats]
        try:
            return list(self.sink_stats())
        except Exception:  # the page must never fail on a counter
            return [self.stats]

    def add_client(self, address: str) -> Client:
        client = Client(address, self._client_queue)
        with self._clients_lock:
            self._clients.add(client)
            self.clients_seen += 1
        log.debug("web: browser %s connected", address)
        return client

    def remove_client(self, client: Client) -> None:
        client.close()
        with self._clients_lock:
            self._clients.discard(client)
        log.debug("web: browser %s gone (%d events dropped)", client.address, client.dropped)

    def clients(self) -> list[Client]:
        with self._clients_lock:
            return list(self._clients)

    def deliver(self, prediction: Prediction) -> None:
        event = sse("prediction", self.state.add(prediction))
        for client in self.clients():
            client.push(event)

    def shutdown(self) -> None:
        for client in self.clients():
            client.close()
        self._server.shutdown()
        self._server.server_close()


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
