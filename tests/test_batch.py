"""Many files at once (fuzzypeople.batch): process pool, run log and resume, Ray.

The folder is real photos shipped in installed packages (skimage's
astronaut and camera, matplotlib's Grace Hopper), a short test-made video and
one corrupt file, nested, run through the real command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from conftest import GRACE
from test_video import make_video

from fuzzypeople import batch
from fuzzypeople.detect._runtime import cores

CMD = [sys.executable, "-m", "fuzzypeople"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(Path(batch.__file__).parents[2]),
                                                                os.environ.get("PYTHONPATH", "")] if p)}


def run(*args, env=None, **kw):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=600, **kw)


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """in/astronaut.png, in/people/grace.jpg, in/people/more/camera.jpg, in/people/more/astronaut.jpg,
    in/clips/walk.mp4, in/people/broken.jpg (not a JPEG)."""
    root = tmp_path_factory.mktemp("batch") / "in"
    (root / "people" / "more").mkdir(parents=True)
    (root / "clips").mkdir()
    Image.fromarray(data.astronaut()).save(root / "astronaut.png")
    shutil.copy(GRACE, root / "people" / "grace.jpg")
    Image.fromarray(data.camera()).convert("RGB").save(root / "people" / "more" / "camera.jpg", quality=92)
    Image.fromarray(data.astronaut()[::-1]).save(root / "people" / "more" / "astronaut.jpg", quality=92)
    make_video(root / "clips" / "walk.mp4", frames=8)
    (root / "people" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a photo")
    return root


GOOD = ["astronaut.png", "clips/walk.mp4", "people/grace.jpg", "people/more/astronaut.jpg",
        "people/more/camera.jpg"]


@pytest.fixture(scope="module")
def one_worker(folder, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("w1") / "out"
    return out, run(folder, "-o", out, "--seed", "7", "--workers", "1")


def test_two_workers_write_the_same_bytes_as_one_and_log_every_file(folder, one_worker, tmp_path):
    out1, r1 = one_worker
    out2, log = tmp_path / "out", tmp_path / "run.jsonl"
    r2 = run(folder, "-o", out2, "--seed", "7", "--workers", "2", "--log", log)
    for r in (r1, r2):
        assert r.returncode == 1, r.stderr  # the corrupt file fails the run...
        assert "people/broken.jpg" in r.stderr and "Traceback" not in r.stderr
        assert "5 files anonymised" in r.stderr and "1 failed" in r.stderr
    one, two = files(out1), files(out2)
    assert sorted(one) == GOOD  # ...the others are written, layout kept, nothing for the broken one
    assert one == two  # byte for byte, photos and video
    src = Image.open(folder / "people" / "grace.jpg").convert("RGB")
    assert np.abs(np.asarray(Image.open(out2 / "people" / "grace.jpg"), np.int16) - np.asarray(src)).mean() > 10

    lines = log_lines(log)
    assert sorted(Path(rec["input"]).relative_to(folder).as_posix() for rec in lines) == sorted(GOOD + ["people/broken.jpg"])
    by = {Path(rec["input"]).name: rec for rec in lines if rec["input"].endswith(("broken.jpg", "grace.jpg", "walk.mp4"))}
    assert by["broken.jpg"]["status"] == "failed" and by["broken.jpg"]["output"] is None
    assert "broken.jpg" in by["broken.jpg"]["error"] and "cannot decode" in by["broken.jpg"]["error"]
    assert by["grace.jpg"]["status"] == "done" and by["grace.jpg"]["error"] is None
    assert by["grace.jpg"]["people"] >= 1 and by["grace.jpg"]["seconds"] > 0
    assert Path(by["grace.jpg"]["output"]) == out2 / "people" / "grace.jpg"
    assert by["walk.mp4"]["status"] == "done" and by["walk.mp4"]["people"] >= 1
    # two worker processes, each with its share of the cores
    assert len({rec["pid"] for rec in lines}) == 2
    assert {rec["threads"] for rec in lines} == {max(1, cores() // 2)}


def test_rerun_with_the_log_resumes_and_other_settings_do_not(folder, tmp_path):
    out, log = tmp_path / "out", tmp_path / "run.jsonl"
    small = tmp_path / "in"
    shutil.copytree(folder / "people", small)  # grace, broken, more/camera, more/astronaut
    first = run(small, "-o", out, "--seed", "3", "--workers", "2", "--log", log, "--method", "pixelate")
    assert first.returncode == 1 and len(log_lines(log)) == 4
    written = {p: (out / p).stat().st_mtime_ns for p in ["grace.jpg", "more/camera.jpg", "more/astronaut.jpg"]}

    again = run(small, "-o", out, "--seed", "3", "--workers", "2", "--log", log, "--method", "pixelate")
    assert again.returncode == 1  # the broken file is tried again, and fails again
    assert "3 finished by an earlier run" in again.stderr and "already exists" not in again.stderr
    lines = log_lines(log)[4:]
    assert sorted(rec["status"] for rec in lines) == ["failed", "skipped", "skipped", "skipped"]
    assert {p: (out / p).stat().st_mtime_ns for p in written} == written  # not rewritten

    other = run(small, "-o", out, "--seed", "4", "--workers", "2", "--log", log, "--method", "pixelate")
    assert other.returncode == 1 and other.stderr.count("already exists") == 3  # other settings: not "finished"
    redo = run(small, "-o", out, "--seed", "3", "--workers", "2", "--log", log, "--method", "pixelate", "--overwrite")
    assert redo.returncode == 1 and "3 files anonymised" in redo.stderr
    assert all((out / p).stat().st_mtime_ns != t for p, t in written.items())


def big_photos(folder, n: int, name: str) -> None:
    """``n`` 1024 px astronaut photos in ``folder`` (made here), each shifted, named ``name.format(i)``:
    slow enough to process that a run can be interrupted in the middle."""
    folder.mkdir()
    big = np.asarray(Image.fromarray(data.astronaut()).resize((1024, 1024)))
    for i in range(n):
        Image.fromarray(np.roll(big, 40 * i, axis=1)).save(folder / name.format(i))


def test_ctrl_c_stops_the_workers_and_leaves_no_half_written_file(tmp_path):
    src, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "run.jsonl"
    big_photos(src, 8, "p{:02d}.png")
    proc = subprocess.Popen([*CMD, str(src), "-o", str(out), "--workers", "2", "--log", str(log), "--seed", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (log.exists() and log.read_text().count("\n") >= 1):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    t = time.monotonic()
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - t < 30  # the workers stop at once, not after their files
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    left = sorted(p.name for p in out.rglob("*"))
    assert left and all(not name.startswith(".") for name in left)  # no temporary file left behind
    done = {Path(rec["output"]).name for rec in log_lines(log) if rec["status"] == "done"}
    assert set(left) == done and len(done) < 8  # every output there is one the log says was finished
    for name in left:
        assert Image.open(out / name).size == (1024, 1024)  # and complete
    time.sleep(1)
    assert not [p for p in _children_of(proc.pid)]  # no worker left running

    again = run(src, "-o", out, "--workers", "2", "--log", log, "--seed", "1")  # resume
    assert again.returncode == 0, again.stderr
    assert f"{8 - len(done)} file" in again.stderr and f"{len(done)} finished by an earlier run" in again.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"p{i:02d}.png" for i in range(8)]


def test_a_worker_killed_fails_only_its_file_and_is_replaced(tmp_path):
    src, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "run.jsonl"
    big_photos(src, 5, "p{}.png")
    proc = subprocess.Popen([*CMD, str(src), "-o", str(out), "--workers", "2", "--log", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (log.exists() and log.read_text().count("\n") >= 1):
        time.sleep(0.1)
    workers = [w for w in _children_of(proc.pid) if b"spawn_main" in _cmdline(w)]  # not the resource tracker
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's OOM killer would
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in err
    lines = log_lines(log)
    died = [rec for rec in lines if rec["status"] == "failed"]
    assert len(lines) == 5 and len(died) == 1, err
    assert "worker process died" in died[0]["error"] and "signal 9" in died[0]["error"]
    written = sorted(p.name for p in out.iterdir())  # no temporary file of the killed one either
    assert written == sorted(Path(rec["output"]).name for rec in lines if rec["status"] == "done")
    assert len(written) == 4 and Path(died[0]["input"]).name not in written  # nothing of the killed file
    assert len({rec["pid"] for rec in lines if rec["status"] == "done"}) >= 2


def test_a_worker_killed_after_its_rename_leaves_no_output_the_log_calls_failed(tmp_path):
    """The kill can land between the worker's atomic rename and its report: the output it finished
    goes too, so the folder agrees with the log ("nothing written"); an older file is not touched."""
    from fuzzypeople.batch.jobs import Job
    from fuzzypeople.batch.local import _remove_leftovers

    old, new = tmp_path / "old.png", tmp_path / "new.png"
    old.write_bytes(b"from an earlier run")
    os.utime(old, ns=(time.time_ns() - 10**10,) * 2)
    since = time.time_ns()
    new.write_bytes(b"finished by the killed worker")
    _remove_leftovers(Job("in.png", str(new), None, False), since)
    _remove_leftovers(Job("in2.png", str(old), None, False), since)
    assert not new.exists() and old.exists()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def test_workers_option_is_checked():
    r = run("x.jpg", "--workers", "0")
    assert r.returncode == 2 and "--workers" in r.stderr


RAY_SCRIPT = """
import json, sys
from pathlib import Path
from fuzzypeople import batch
src, out, log = sys.argv[1:4]
records = batch.run([src], out, ray="local", ray_cpus=2, log=log, seed=7)
import ray
kids = [p for p in Path("/proc/self/task").glob("*/children") if p.read_text().split()]
print(json.dumps({"statuses": sorted(r["status"] for r in records), "ray_running": ray.is_initialized(),
                  "children": len(kids)}))
"""


def test_ray_writes_the_same_outputs_as_the_local_pool(folder, one_worker, tmp_path):
    pytest.importorskip("ray")
    out1, _ = one_worker
    out, log = tmp_path / "out", tmp_path / "run.jsonl"
    # A local cluster of 2 CPUs, started and stopped by the run; whole-CPU actors would hang it (issue #15).
    r = subprocess.run([sys.executable, "-c", RAY_SCRIPT, str(folder), str(out), str(log)], capture_output=True,
                       text=True, env=ENV, timeout=420)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary == {"statuses": ["done"] * 5 + ["failed"], "ray_running": False, "children": 0}
    assert files(out) == files(out1)
    lines = log_lines(log)
    assert len(lines) == 6 and len({rec["pid"] for rec in lines}) == 2  # two actors
    broken = [rec for rec in lines if rec["status"] == "failed"]
    assert len(broken) == 1 and "cannot decode" in broken[0]["error"]


def test_uris_in_and_out_give_the_same_bytes(folder, one_worker, tmp_path):
    pytest.importorskip("pyarrow")
    out1, _ = one_worker
    out, private = tmp_path / "out", tmp_path / "tmp"
    private.mkdir()
    r = run(folder.as_uri(), "-o", out.as_uri() + "/", "--seed", "7", "--workers", "2",
            env={**ENV, "TMPDIR": str(private)})
    assert r.returncode == 1 and f"{folder.as_uri()}/people/broken.jpg" in r.stderr, r.stderr
    assert files(out) == files(out1)
    assert list(private.glob("fuzzypeople.*")) == []  # the private copies are gone
    again = run(folder.as_uri(), "-o", out.as_uri() + "/", "--seed", "7", "--workers", "2")
    assert again.stderr.count("already exists") == 5  # no silent replacement through a URI either
