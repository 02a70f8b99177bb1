"""Pool workers that die with the process that started them.

A ``ProcessPoolExecutor``'s workers wait on a pipe for work. When their parent is killed
(SIGKILL, the OOM killer) nothing tells them: they finish the files already queued, then wait
for more for ever, each holding a model in memory. :func:`die_with_parent`, called first in
every pool's initializer (``sentio-analyze``'s, the feature extraction's), ends a worker with
its parent: on Linux by the kernel's parent-death signal (``prctl(PR_SET_PDEATHSIG,
SIGKILL)``), elsewhere (or where ``prctl`` is not there) by a daemon thread that watches the
parent's pid. Fork and spawn pools alike: the initializer runs in the worker either way.

The parent-death signal fires when the *thread* that started the worker ends; the pools here
start their workers from the thread that submits the work and reads the results, which lives
as long as the pool.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: ``prctl`` option: the signal this process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: How often the fallback watchdog looks at the parent.
WATCH_INTERVAL_S = 0.5
#: The signal the kernel sends (SIGKILL: a worker holds nothing to clean up; the driver
#: alone writes the output).
KILL = getattr(signal, "SIGKILL", 9)
#: Exit status of a worker that ends itself because its parent is gone.
ORPHANED = 1


def die_with_parent(parent_pid: int, force_watchdog: bool = False) -> str:
    """End this process when ``parent_pid`` (the process that made the pool) ends.

    Call it first in a pool's initializer, with the parent's ``os.getpid()`` passed from the
    parent (``initargs``): a parent that died before the worker got here is then noticed too.

    Returns:
        ``"prctl"`` (the kernel sends SIGKILL) or ``"watchdog"`` (a thread checks every
        :data:`WATCH_INTERVAL_S` s), how this worker is tied to its parent.
    """
    direct = os.getppid() == parent_pid  # False under a fork server: its child, not ours
    if not direct and not _alive(parent_pid):
        os._exit(ORPHANED)
    if direct and not force_watchdog and _set_parent_death_signal(KILL):
        if os.getppid() != parent_pid:  # it died between the two checks: no signal will come
            os._exit(ORPHANED)
        return "prctl"
    thread = threading.Thread(
        target=_watch, args=(parent_pid, direct), name="sentio-parent-watchdog", daemon=True
    )
    thread.start()
    return "watchdog"


def _set_parent_death_signal(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def _watch(parent_pid: int, direct: bool) -> None:
    while True:
        time.sleep(WATCH_INTERVAL_S)
        orphaned = os.getppid() != parent_pid if direct else not _alive(parent_pid)
        if orphaned:
            os._exit(ORPHANED)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
