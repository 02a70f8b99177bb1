"""Pool workers die with their parent, killed by SIGKILL or not, in fork and spawn pools,
through the kernel's parent-death signal and through the fallback watchdog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sentio.export.workers import die_with_parent

from tests.helpers import wait_until

#: A parent with a one-worker pool: prints the worker's pid, then waits to be killed.
PARENT = """
import functools, multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from sentio.export.workers import die_with_parent
method, watchdog = sys.argv[1], sys.argv[2] == "watchdog"
init = functools.partial(die_with_parent, os.getpid(), watchdog)
pool = ProcessPoolExecutor(1, multiprocessing.get_context(method), initializer=init)
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie nobody has reaped yet counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("method", "how"), [("fork", "prctl"), ("spawn", "prctl"), ("fork", "watchdog")]
)
def test_a_worker_dies_with_its_killed_parent(method, how):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, method, how], stdout=subprocess.PIPE, text=True
    )
    worker = 0
    try:
        worker = int(parent.stdout.readline())
        assert not _gone(worker)
        parent.kill()
        parent.wait()
        wait_until(lambda: _gone(worker), 3, f"the {method} worker ({how}) to end")
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if worker and not _gone(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_parent_already_gone_ends_the_worker_at_once(monkeypatch):
    exits = []

    def fake_exit(code):
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    with pytest.raises(SystemExit):
        die_with_parent(dead.pid)
    assert exits == [1]
