"""Ray, for work that outgrows one machine: a session (a local Ray or an existing cluster) and
a bounded map of one function over many items, as Ray tasks.

Ray is an optional extra (``pip install "sentio-mer[ray]"``); nothing imports it until a
command is given ``--ray``. One machine stays the default path (a process pool) and needs no
Ray. Used by ``sentio-analyze --ray`` (:mod:`sentio.export.analyze`), ``sentio-train extract
--ray`` (:mod:`sentio.export.data.extract`) and ``sentio-train search --ray``
(:mod:`sentio.export.model.search_ray`, through Ray Tune).

Why tasks and not Ray Data: each item is one audio file whose work (decode, features, the
model) is independent, so plain tasks with Ray's own retries are the whole need; a worker
process or node that dies has its tasks re-run elsewhere (``max_retries``), and what a run
already finished stays with the driver, which alone writes the output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sentio.runtime.errors import ClusterError, ClusterUnavailableError, MissingExtraError

log = logging.getLogger("sentio.distributed")

#: ``--ray`` given without an address: start a Ray for this run on this machine.
LOCAL = "local"
#: The extra that brings Ray, as the hint names it.
RAY_EXTRA_HINT = (
    'pip install "sentio-mer[ray]" (in a Sentio checkout: pip install ".[ray]"; '
    'or directly: pip install "ray[tune]>=2.9")'
)
#: How long the reachability probe of a cluster address waits (the TCP connect, then the
#: one gRPC call that asks the head for its cluster id).
CONNECT_TIMEOUT_S = 5.0
#: The call the probe makes: a Ray head's GCS answers it; anything else (a proxy, another
#: server, a firewall that accepts every connection) does not.
GCS_PROBE = "/ray.rpc.NodeInfoGcsService/GetClusterId"
#: Ray's default GCS port, when an address names only a host.
DEFAULT_RAY_PORT = 6379


@dataclass(frozen=True)
class RayOptions:
    """Where and how to run on Ray.

    Attributes:
        address: ``local`` (start a Ray on this machine for the run, stopped after it),
            ``auto`` (the cluster this machine is part of, as ``ray start`` left it),
            ``HOST:PORT`` (a cluster's head, the address ``ray start --head`` printed), or
            ``ray://HOST:PORT`` (Ray Client).
        num_cpus: CPUs of a ``local`` Ray (None: all cores); ignored for a cluster.
        max_retries: times a task is re-run when its worker process or node dies.
        in_flight: tasks submitted at once (None: twice the cluster's CPUs), so that a
            catalogue of 100k files does not become 100k pending tasks.
    """

    address: str = LOCAL
    num_cpus: int | None = None
    max_retries: int = 3
    in_flight: int | None = None


@dataclass(frozen=True)
class TaskLost:
    """An item whose task failed even after Ray's retries (its worker or node died each
    time), or raised: the reason, for the run's skip list."""

    reason: str


def require_ray():
    """The ``ray`` module, or :class:`MissingExtraError` naming the extra to install."""
    try:
        import ray
    except ImportError as err:
        raise MissingExtraError(
            f"--ray needs Ray, which is not installed ({err})", hint=RAY_EXTRA_HINT
        ) from err
    return ray


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, with the address in the message, where no Ray head answers at a cluster
    address: nothing listens (a TCP connect), or what listens is not a Ray head (one gRPC call
    to its GCS; an address behind a proxy or a firewall that accepts every connection).
    ``ray.init`` would otherwise retry for 20 s to a minute, printing a C++ log line a second.
    """
    if address in (LOCAL, "auto"):
        return
    host, port = split_address(address)
    hint = (
        "start it (ray start --head on the head node) or check the address and port "
        "`ray start --head` printed; drop the address to run a local Ray"
    )
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as err:
        raise ClusterUnavailableError(
            f"no Ray cluster answers at {address} ({err})", hint=hint
        ) from err
    if not address.startswith("ray://"):  # Ray Client's server speaks another protocol
        why = not_a_ray_head(host, port, timeout_s)
        if why is not None:
            raise ClusterUnavailableError(
                f"no Ray cluster answers at {address}: something accepts connections there, "
                f"but it is not a Ray head ({why})",
                hint=hint,
            )


def not_a_ray_head(host: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why what listens at ``host:port`` is not a Ray head's GCS, or None where it is one (or
    where the probe cannot tell: grpc missing, TLS configured, a login refused)."""
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return None  # the probe speaks plain gRPC; ray.init itself says what is wrong
    try:
        import grpc
    except ImportError:
        return None
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    channel = grpc.insecure_channel(target)
    try:
        channel.unary_unary(GCS_PROBE)(b"", timeout=timeout_s)
    except grpc.RpcError as err:
        codes = grpc.StatusCode
        if err.code() in (codes.UNIMPLEMENTED, codes.UNAVAILABLE, codes.DEADLINE_EXCEEDED):
            return f"{err.code().name}: {err.details()}"
    finally:
        channel.close()
    return None


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST[:PORT]`` or ``ray://HOST[:PORT]``."""
    bare = address.split("://", 1)[1] if "://" in address else address
    host, _, port = bare.rpartition(":") if ":" in bare else (bare, "", "")
    if not host:
        raise ClusterError(
            f"cannot read the Ray address {address!r}", hint="pass HOST:PORT, e.g. 10.0.0.5:6379"
        )
    if not port:
        return host, DEFAULT_RAY_PORT
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ClusterError(
            f"the port of the Ray address {address!r} is not a number",
            hint="pass HOST:PORT, e.g. 10.0.0.5:6379",
        ) from None


@contextlib.contextmanager
def ray_session(options: RayOptions) -> Iterator[Any]:
    """Ray, connected for the ``with`` block: a local Ray started for it, or the cluster at
    ``options.address``. A Ray this process had already initialised is used as it is and left
    running (a program embedding Sentio owns its session)."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    check_reachable(options.address)
    # Ray reads this before connecting; a run should never block on a usage-stats prompt.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "configure_logging": True}
    if options.address == LOCAL:
        kwargs.update(num_cpus=options.num_cpus, include_dashboard=False)
    else:
        kwargs["address"] = options.address
    try:
        with _native_stderr_to_debug_log(quiet=options.address != LOCAL):
            ray.init(**kwargs)
    except (ConnectionError, RuntimeError, TimeoutError) as err:
        raise ClusterUnavailableError(
            f"cannot join the Ray cluster at {options.address}: {err}",
            hint="check that this machine runs the cluster's Ray and Python versions "
            "(ray --version on the head) and can reach every port the head uses",
        ) from err
    try:
        log.info("Ray %s: %s CPUs", options.address, int(ray.cluster_resources().get("CPU", 0)))
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _native_stderr_to_debug_log(quiet: bool) -> Iterator[None]:
    """File descriptor 2 into a scratch file for the block, then into the debug log: the C++
    lines Ray's core worker prints while it joins a cluster (one a second while it retries)
    never reach the terminal; ``-v`` shows them. Only around joining a cluster: a local Ray's
    daemons, started inside the block, would keep the scratch file as their stderr."""
    if not quiet or logging.getLogger("sentio").isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded)
        yield
        return
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            scratch.seek(0)
            text = scratch.read(1 << 16).decode(errors="replace").strip()
            if text:
                log.debug("Ray's native log while joining the cluster:\n%s", text)


def ray_map(
    ray: Any,
    function: Callable[..., Any],
    calls: Iterable[tuple],
    options: RayOptions,
    num_cpus: float = 1,
) -> Iterator[tuple[int, Any]]:
    """``function(*call)`` for every call, as Ray tasks; yields ``(index, result)`` as each
    finishes (not in order). A task lost for good yields a :class:`TaskLost` as its result,
    so one bad node never ends a long run.

    ``function`` must be importable by name on every node (a module-level function of an
    installed package): Ray ships it by reference.
    """
    remote = ray.remote(num_cpus=num_cpus, max_retries=options.max_retries)(function)
    limit = options.in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    queue = iter(enumerate(calls))
    pending: dict[Any, int] = {}

    def submit() -> None:
        for index, call in queue:
            pending[remote.remote(*call)] = index
            if len(pending) >= limit:
                return

    submit()
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            index = pending.pop(ref)
            yield index, _result(ray, ref)
        submit()


def _result(ray: Any, ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        # after max_retries: the worker (or its node) died every time, or the task raised
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return TaskLost(f"the Ray task failed: {type(err).__name__}: {reason}")
