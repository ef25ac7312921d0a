"""fuzzypeople (bodies AND faces) against deface (faces only), same video, same run.

    python benchmarks/video_speed.py [VIDEO] [--rounds 1] [--hd-frames 200]

The 1080p-class clip is made here from the first ``--hd-frames`` frames of
the street video, upscaled to 1920x1440 (cached in benchmarks/out/, never
committed; ``--hd-frames 0`` skips it). Both clips are timed in one run.

Both are run as their command-line tools, end to end (start-up and model
loading included), with default settings, one after the other (alternating
when ``--rounds`` > 1; each tool's best round is kept). Printed per tool:
frames/s by wall clock, frames/s by CPU time (steadier when other processes
share the machine), and peak memory two ways: the RSS high-water mark from
``os.wait4`` (the largest single process: for deface, its Python process; the
ffmpeg processes it pipes frames through for decoding and encoding are left
out), and the peak of the summed PSS of the whole process tree, sampled every
0.1 s (fuzzypeople decodes and encodes in its own process, so both figures
count its codecs).

deface is installed by this script into its own virtualenv,
``benchmarks/.venv-deface`` (``deface==1.5.0`` and ``onnxruntime``, its
recommended backend), because deface depends on ``opencv-python``, which must
not be installed beside fuzzypeople's ``opencv-python-headless``. Nothing in
the tests needs it.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import venv
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import measure  # noqa: E402

HERE = Path(__file__).resolve().parent
VTEST = HERE.parents[1] / "shared" / "data" / "video" / "vtest.avi"
OUT = HERE / "out"
DEFACE_VENV = HERE / ".venv-deface"
DEFACE = DEFACE_VENV / "bin" / "deface"


def ensure_deface() -> Path:
    if not DEFACE.exists():
        print(f"installing deface==1.5.0 into {DEFACE_VENV} ...", flush=True)
        venv.create(DEFACE_VENV, with_pip=True)
        (DEFACE_VENV / ".gitignore").write_text("*\n")  # never committed, whatever `git add` is run
        subprocess.run([str(DEFACE_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        "deface==1.5.0", "onnxruntime"], check=True)
    subprocess.run([str(DEFACE), "--help"], check=True, capture_output=True)
    return DEFACE


def frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        n = c.streams.video[0].frames
        return n or sum(1 for _ in c.decode(video=0))


def make_hd(src: Path, frames: int, size=(1920, 1440)) -> Path:
    """The first ``frames`` frames of ``src`` upscaled to ``size`` (H.264, CRF 18), cached."""
    import cv2

    dst = OUT / f"{src.stem}_{size[1]}p_{frames}.mp4"
    if dst.exists():
        return dst
    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        v = inp.streams.video[0]
        s = out.add_stream("libx264", rate=v.average_rate or 10, options={"crf": "18", "preset": "veryfast"})
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for f, _ in zip(inp.decode(v), range(frames)):
            big = cv2.resize(f.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_CUBIC)
            out.mux(s.encode(av.VideoFrame.from_ndarray(big, format="rgb24")))
        out.mux(s.encode(None))
    tmp.rename(dst)
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--variant", action="append", default=[], metavar="ARGS",
                    help='also time fuzzypeople with these options, e.g. --variant "--tile-scale 0" (repeatable)')
    ap.add_argument("--hd-frames", type=int, default=200, help="frames of the upscaled 1920x1440 clip (0 = skip it)")
    args = ap.parse_args()
    if not args.video.exists():
        sys.exit(f"no video at {args.video}")
    deface = ensure_deface()
    OUT.mkdir(exist_ok=True)
    clips = [args.video] + ([make_hd(args.video, args.hd_frames)] if args.hd_frames else [])
    for clip in clips:
        compare(clip, deface, args)


def compare(video: Path, deface: Path, args) -> None:
    """Time deface and fuzzypeople (and variants) on ``video``; print frames/s, RSS and ratios."""
    args = argparse.Namespace(**{**vars(args), "video": video})
    n = frame_count(args.video)
    from fuzzypeople.detect.stack import DEFAULT_BODY, DEFAULT_FACE
    from fuzzypeople.pipeline.settings import DEFAULT_DETECT_SIZE, DEFAULT_EVERY

    tools = {
        "deface": [str(deface), str(args.video), "-o", str(OUT / f"deface_{args.video.stem}.mp4")],
        "fuzzypeople": [sys.executable, "-m", "fuzzypeople", str(args.video), "-o",
                        str(OUT / f"fuzzypeople_{args.video.stem}.mp4"), "-q", "--overwrite"],
    }
    for i, extra in enumerate(args.variant, 1):
        tools[f"fuzzypeople {extra}"] = [*tools["fuzzypeople"][:4], "-o", str(OUT / f"fuzzypeople_v{i}.mp4"), "-q", *shlex.split(extra)]
    best: dict[str, dict] = {}
    for r in range(args.rounds):
        for name, cmd in tools.items():
            m = measure(cmd)
            if m["rc"] != 0:
                sys.exit(f"{name} failed ({m['rc']}):\n{m['stderr']}")
            print(f"round {r + 1} {name:12s} {n / m['seconds']:6.2f} frames/s wall, {n / m['cpu']:6.2f} frames/CPU-s, "
                  f"peak RSS {m['rss_mib']:.0f} MiB, process tree {m['tree_mib']:.0f} MiB", flush=True)
            if name not in best or m["seconds"] < best[name]["seconds"]:
                best[name] = m
    d = best["deface"]
    print()
    print(f"video: {args.video.name}, {n} frames; fuzzypeople stack {DEFAULT_BODY}+{DEFAULT_FACE} "
          f"(bodies and faces), detect every {DEFAULT_EVERY} frames at {DEFAULT_DETECT_SIZE or 'full'} px; "
          "deface 1.5.0 defaults (faces only)")
    print(f"{'':12s} {'frames/s':>9s} {'frames/CPU-s':>13s} {'peak RSS MiB':>13s} {'tree PSS MiB':>13s}")
    for name, m in best.items():
        print(f"{name:12s} {n / m['seconds']:9.2f} {n / m['cpu']:13.2f} {m['rss_mib']:13.0f} {m['tree_mib']:13.0f}")
    for name, m in best.items():
        if name != "deface":
            print(f"ratio {name} / deface: {d['seconds'] / m['seconds']:.2f}x wall, {d['cpu'] / m['cpu']:.2f}x CPU, "
                  f"memory {m['rss_mib'] / d['rss_mib']:.2f}x (largest process), "
                  f"{m['tree_mib'] / d['tree_mib']:.2f}x (process tree)")


if __name__ == "__main__":
    main()
