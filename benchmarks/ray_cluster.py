"""A real multi-node Ray cluster on this machine, for the cluster test and the throughput
benchmark: a head and further nodes, each a ``ray start`` with its own temporary folder and
CPU count, and stopped by process group (never ``ray stop``, which stops every Ray of the
machine, other programs' too).

Ray replaces a loopback ``--node-ip-address`` with the machine's own address (its nodes must
reach each other), so the nodes advertise that; the head is joined at ``127.0.0.1:PORT``,
which its GCS also answers on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Object store per node: Ray's minimum is 75 MB; a test needs a few MB (the bundle).
OBJECT_STORE_BYTES = 100 * 1024 * 1024
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """``nodes`` Ray nodes of ``cpus`` CPUs each on this machine, under ``root``.

    Use as a context manager (stopped on the way out, also after a failure)::

        with LoopbackCluster(tmp_path, nodes=2) as cluster:
            analyze(..., RayOptions(cluster.address))
    """

    def __init__(self, root: Path, nodes: int = 2, cpus: int = 1) -> None:
        if shutil.which("ray") is None:
            raise RuntimeError("the `ray` command is not installed (pip install 'ray[tune]')")
        self.root = Path(root)
        self.nodes, self.cpus = nodes, cpus
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        #: what a driver of this cluster needs in its environment. Token authentication is off
        #: on this loopback cluster, explicitly: a ``~/.ray/auth_token`` left by any local
        #: ``ray.init()`` would otherwise turn it on for the head alone, and the second node
        #: could not join (a real cluster shares one token, firmware_notes/cluster.md).
        self.driver_env = {"RAY_AUTH_MODE": "disabled"}
        self.env = {**os.environ, **self.driver_env, "RAY_USAGE_STATS_ENABLED": "0"}

    def node_dir(self, index: int) -> Path:
        return self.root / f"node{index}"

    def __enter__(self) -> LoopbackCluster:
        try:
            self._start(0, ["--head", "--port", str(self.port), *self._head_ports()])
            for index in range(1, self.nodes):
                self._start(index, ["--address", self.address])
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _head_ports(self) -> list[str]:
        # free ports, so that this head never collides with another Ray on the machine
        return [
            "--include-dashboard",
            "false",
            "--ray-client-server-port",
            str(free_port()),
            "--dashboard-port",
            str(free_port()),
        ]

    def _start(self, index: int, role: list[str]) -> None:
        command = [
            "ray",
            "start",
            *role,
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            str(self.cpus),
            "--temp-dir",
            str(self.node_dir(index)),
            "--object-store-memory",
            str(OBJECT_STORE_BYTES),
            "--disable-usage-stats",
        ]
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    # -- processes

    def pids(self, index: int | None = None) -> set[int]:
        """The processes of node ``index`` (every node: None): those naming its folder (or,
        for the whole cluster, the head's port), the rest of their process groups, and their
        descendants (Ray's workers). Never this process's own group: ``ray start`` run from
        here may leave its daemons in it."""
        folders = [self.node_dir(i) for i in (range(self.nodes) if index is None else [index])]
        marks = [str(folder) for folder in folders]
        if index is None:
            marks.append(f":{self.port} ")  # the client server names only the head's address
        table = _process_table()
        marked = {pid for pid, (_, _, cmd) in table.items() if any(m in cmd for m in marks)}
        groups = {table[pid][1] for pid in marked} - {os.getpgrp()}
        found = marked | {pid for pid, (_, pgid, _) in table.items() if pgid in groups}
        grew = True
        while grew:  # descendants
            more = {pid for pid, (ppid, _, _) in table.items() if ppid in found} - found
            found |= more
            grew = bool(more)
        return found - _ancestors()

    def kill_node(self, index: int) -> None:
        """SIGKILL every process of one node, as a machine that loses power."""
        _signal_all(self.pids(index), signal.SIGKILL)

    def stop(self, grace_s: float = 3.0) -> None:
        """SIGTERM every process of the cluster, SIGKILL what is left after ``grace_s``."""
        pids = self.pids()
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        _signal_all(self.pids() | {p for p in pids if _alive(p)}, signal.SIGKILL)


def _process_table() -> dict[int, tuple[int, int, str]]:
    """``pid -> (parent pid, process group, command line)`` of every process (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), cmd)
    return table


def _ancestors() -> set[int]:
    """This process and its parents (never signalled)."""
    table = _process_table()
    pid, found = os.getpid(), set()
    while pid > 1 and pid not in found:
        found.add(pid)
        pid = table.get(pid, (1, 0, ""))[0]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/stat")
    try:
        return state.read_text().split(") ", 1)[1][0] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        return False


def _signal_all(pids: set[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
