"""Run a command as a child process; wall time, CPU time, its peak RSS, and the peak memory of
its whole process tree (a tool that pipes frames through ffmpeg processes has their memory too)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

# The command is started by a small launcher, not forked from this process: on Linux a child's
# ru_maxrss starts at the RSS of the process it was forked from (kept across exec), so a command
# forked from a benchmark holding a big test photo reported that photo's memory as its own peak
# (benchmarks/big_photo.py printed 953 MiB for a command peaking at 815).
_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, grandchildren...), from /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    found, frontier = [], [pid]
    while frontier:
        frontier = [c for c, pp in parent.items() if pp in frontier]
        found += frontier
    return found


def pss_mib(pids: list[int]) -> float:
    """Summed proportional set size (shared pages split between their users) of ``pids``."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def measure(cmd: list[str], **popen) -> dict:
    """Run ``cmd`` to completion; returns rc, seconds, cpu seconds, peak RSS (MiB) of the largest
    process, peak summed PSS of the command's process tree sampled every 0.1 s (``tree_mib``), and
    the stderr tail."""
    with tempfile.TemporaryDirectory(prefix="measure.") as tmp:
        out = os.path.join(tmp, "usage")
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, out, *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
        peak, done = [0.0], threading.Event()

        def sample():  # the launcher's descendants: the command and whatever it starts
            while not done.wait(0.1):
                peak[0] = max(peak[0], pss_mib(descendants(p.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        err = p.stderr.read()
        p.wait()
        done.set()
        sampler.join()
        seconds = time.perf_counter() - t0
        with open(out) as f:
            rc, cpu, maxrss = f.read().split()
    return dict(rc=int(rc), seconds=seconds, cpu=float(cpu), rss_mib=int(maxrss) / 1024, tree_mib=peak[0],
                stderr=err.decode(errors="replace")[-2000:])
