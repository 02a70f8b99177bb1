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
#: How long the reachability probe of a cluster address waits.
CONNECT_TIMEOUT_S = 5.0
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
    """Fail fast, with the address in the message, where nothing listens at a cluster address
    (``ray.init`` would otherwise retry for a minute and end in a long traceback)."""
    if address in (LOCAL, "auto"):
        return
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as err:
        raise ClusterUnavailableError(
            f"no Ray cluster answers at {address} ({err})",
            hint="start it (ray start --head on the head node) or check the address and port "
            "`ray start --head` printed; drop the address to run a local Ray",
        ) from err


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
