"""Run a command as a child process; wall time, CPU time and peak RSS of that child alone."""

from __future__ import annotations

import os
import subprocess
import time


def measure(cmd: list[str], **popen) -> dict:
    """Run ``cmd`` to completion; returns rc, seconds, cpu seconds, peak RSS (MiB), stderr tail."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage, not all children's
    p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    return dict(rc=p.returncode, seconds=seconds, cpu=usage.ru_utime + usage.ru_stime,
                rss_mib=usage.ru_maxrss / 1024, stderr=err.decode(errors="replace")[-2000:])
