"""Run a command as a child process; wall time, CPU time and peak RSS of that child alone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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


def measure(cmd: list[str], **popen) -> dict:
    """Run ``cmd`` to completion; returns rc, seconds, cpu seconds, peak RSS (MiB), stderr tail."""
    with tempfile.TemporaryDirectory(prefix="measure.") as tmp:
        out = os.path.join(tmp, "usage")
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, out, *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
        err = p.stderr.read()
        p.wait()
        seconds = time.perf_counter() - t0
        with open(out) as f:
            rc, cpu, maxrss = f.read().split()
    return dict(rc=int(rc), seconds=seconds, cpu=float(cpu), rss_mib=int(maxrss) / 1024,
                stderr=err.decode(errors="replace")[-2000:])
