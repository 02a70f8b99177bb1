"""Run one command and report its rusage, as JSON on stdout (stdlib only).

    python -I measured_child.py COMMAND [ARG ...]

Why a separate small process: Linux carries a process's memory high-water mark across
``exec``, and a child forked (or vforked) from a big parent starts with the parent's RSS.
Spawned from the benchmark process (TensorFlow loaded, ~900 MB), every child would report
~900 MB peak RSS. Spawned from this ~10 MB interpreter, ``ru_maxrss`` is the child's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def measure(command: list[str]) -> dict:
    """cpu_s (user + sys), max_rss_kb, first_line_s (start to first stdout line), lines."""
    start = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout and child.stderr
    first = child.stdout.readline()
    first_line_s = time.monotonic() - start
    lines = 1 if first else 0
    for _ in child.stdout:
        lines += 1
    stderr = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": child.returncode,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "first_line_s": first_line_s,
        "wall_s": time.monotonic() - start,
        "lines": lines,
        "stderr": stderr[-2000:],
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:])))
