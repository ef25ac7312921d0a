"""Memory stays flat however long the video: peak RSS on VIDEO and on VIDEO looped 10 times.

    python benchmarks/video_memory.py [VIDEO] [--times 10] [--args "-t faces"]

The long video is made here with PyAV by copying VIDEO's packets ``--times``
times (no re-encoding), then both are anonymised by the ``fuzzypeople``
command with default settings; the peak RSS of each process is compared.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import measure  # noqa: E402

HERE = Path(__file__).resolve().parent
VTEST = HERE.parents[1] / "shared" / "data" / "video" / "vtest.avi"
OUT = HERE / "out"


def loop_video(src: Path, dst: Path, times: int) -> int:
    """``src``'s video packets ``times`` times over into ``dst``; returns the frame count."""
    n = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        packets = None
        shift = 0
        for _ in range(times):
            inp.seek(0)
            last = 0
            for p in inp.demux(vin):
                if p.size == 0 or p.dts is None:
                    continue
                p.dts += shift
                if p.pts is not None:
                    p.pts += shift
                last = max(last, p.dts + (p.duration or 1))
                p.stream = vout
                out.mux(p)
                n += 1
            shift = last
        del packets
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("--times", type=int, default=10)
    ap.add_argument("--args", default="", help='extra fuzzypeople options for both runs, e.g. "-t faces" (quicker)')
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    long = OUT / f"{args.video.stem}_x{args.times}{args.video.suffix}"
    frames = loop_video(args.video, long, args.times)
    results = {}
    for path in (args.video, long):
        m = measure([sys.executable, "-m", "fuzzypeople", str(path), "-o", str(OUT / f"mem_{path.stem}.mp4"), "-q", "--overwrite",
                     *args.args.split()])
        if m["rc"] != 0:
            sys.exit(f"fuzzypeople failed on {path}:\n{m['stderr']}")
        results[path] = m
        print(f"{path.name}: {m['seconds']:.0f} s, peak RSS {m['rss_mib']:.0f} MiB", flush=True)
    short, longer = results[args.video]["rss_mib"], results[long]["rss_mib"]
    print(f"{args.times}x longer ({frames} frames): peak RSS {longer:.0f} MiB vs {short:.0f} MiB = "
          f"{longer / short:.3f} ({'within' if abs(longer / short - 1) <= 0.10 else 'NOT within'} 10%)")


if __name__ == "__main__":
    main()
