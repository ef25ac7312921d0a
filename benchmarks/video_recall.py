"""Recall of the video detection cadence: does detecting every N-th frame hide what every-frame detection finds?

Reference: the default stack run on every frame of the video. For each
cadence N, :class:`fuzzypeople.track.TemporalMasker` sees the reference
detections only on every N-th frame (the detector is deterministic, so that is
exactly what it would have found) and tracks in between. Reported per N:

* box recall: share of every-frame detections (bodies and faces) with >= 90%
  of their box inside the mask actually used on that frame;
* mean coverage of those boxes, and the share of the frame hidden (cost).

    python benchmarks/video_recall.py [VIDEO] [--frames 300] [--every 1,2,3,4,5,6] [--sizes 0,512]
    python benchmarks/video_recall.py --sweeps 1,2,3,4     # motion-gated tiles, real detection

With ``--sweeps``, the video's own detector (video settings: boxes, tiles at
1.0x) runs for real at the default cadence, its small-people tiles gated by
:class:`fuzzypeople.track.MotionTiles` with a full sweep every N analyses,
and the same recall is reported, with the share of tiles it ran and the
people less than half hidden on any frame.

Detection can also run on frames shrunk to a max side (``--sizes``); the
reference stays full size, so that column shows what shrinking costs.

Reference detections are cached beside the outputs (benchmarks/out/).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import av
import numpy as np

from fuzzypeople import Anonymizer
from fuzzypeople.detect.stack import DEFAULT_BODY, DEFAULT_FACE
from fuzzypeople.people import People, clip_boxes
from fuzzypeople.pipeline.settings import DEFAULT_DETECT_SIZE, DEFAULT_EVERY
from fuzzypeople.track import DEFAULT_HOLD, DEFAULT_LOOKAHEAD, TemporalMasker, scaled

VTEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "vtest.avi"
OUT = Path(__file__).resolve().parent / "out"


def frames_of(path: Path, limit: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f, _ in zip(c.decode(video=0), range(limit))]


def reference(anon: Anonymizer, frames, path: Path, size: int | None = None) -> list[People]:
    """Detections on every frame (at full size, or shrunk to ``size``), cached."""
    key = f"{path.resolve()}:{len(frames)}:{DEFAULT_BODY}:{DEFAULT_FACE}:{size}"
    key = hashlib.sha1(key.encode()).hexdigest()[:12]
    cache = OUT / f"recall_ref_{key}.npz"
    if cache.exists():
        z = np.load(cache)
        return [People(z[f"b{i}"], z[f"s{i}"], z[f"k{i}"]) for i in range(len(frames))]
    t = time.perf_counter()
    detect = scaled(anon.detect, size)
    ref = [detect(f) for f in frames]
    print(f"reference: {len(frames)} frames detected in {time.perf_counter() - t:.0f} s")
    OUT.mkdir(exist_ok=True)
    np.savez(cache, **{f"{k}{i}": v for i, p in enumerate(ref) for k, v in
                       (("b", p.boxes), ("s", p.scores), ("k", p.kinds))})
    return ref


def coverage(ref: list[People], masks: dict[int, np.ndarray]) -> np.ndarray:
    """Share of each reference box (every frame, every person) inside that frame's mask."""
    return np.asarray([masks[i][y1:y2, x1:x2].mean() for i, people in enumerate(ref)
                       for x1, y1, x2, y2 in clip_boxes(people.boxes, masks[i].shape) if x2 > x1 and y2 > y1])


def evaluate(anon: Anonymizer, frames, ref: list[People], every: int, hold: int, lookahead: int,
             seen: list[People] | None = None) -> dict:
    """Masks at cadence ``every`` (the detector finding ``seen``) scored against ``ref``."""
    index = {id(f): i for i, f in enumerate(frames)}
    seen = ref if seen is None else seen
    masker = TemporalMasker(lambda rgb: seen[index[id(rgb)]], anon.mask, every=every, hold=hold, lookahead=lookahead)
    masks = {}
    for i, f in enumerate(frames):
        for j, m in masker.push(i, f):
            masks[j] = m
    for j, m in masker.flush():
        masks[j] = m
    cov = coverage(ref, masks)
    area = [masks[i].mean() for i in range(len(ref))]
    return dict(every=every, boxes=len(cov), recall90=float((cov >= 0.9).mean()), recall99=float((cov >= 0.99).mean()),
                coverage=float(cov.mean()), hidden=float(np.mean(area)), analysed=masker.analysed)


def evaluate_sweep(frames, ref: list[People], sweep: int, every: int, hold: int, lookahead: int) -> dict:
    """Recall of the real video detector with tiles gated by motion (full sweep every ``sweep`` analyses)."""
    from fuzzypeople.pipeline import Settings
    from fuzzypeople.pipeline.video import video_detector

    settings = Settings(tile_sweep=sweep).for_video()
    anon = Anonymizer(settings=settings)
    detect = video_detector(anon, settings)
    masker = TemporalMasker(detect, anon.mask, every=every, hold=hold, lookahead=lookahead)
    t = time.perf_counter()
    masks = dict(m for i, f in enumerate(frames) for m in masker.push(i, f))
    masks.update(masker.flush())
    seconds = time.perf_counter() - t
    cov = coverage(ref, masks)
    gate = detect if hasattr(detect, "tiles_run") else None
    tiles = (gate.tiles_run / max(gate.tiles_seen, 1)) if gate else 1.0
    gated = gate.gated / max(gate.calls, 1) if gate else 0.0
    return dict(sweep=sweep, boxes=len(cov), recall90=float((cov >= 0.9).mean()), under_half=int((cov < 0.5).sum()),
                coverage=float(cov.mean()), tiles=gated * tiles + (1 - gated), seconds=seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--every", default="1,2,3,4,5,6")
    ap.add_argument("--hold", type=int, default=DEFAULT_HOLD)
    ap.add_argument("--lookahead", type=int, default=DEFAULT_LOOKAHEAD)
    ap.add_argument("--sizes", default=f"0,{DEFAULT_DETECT_SIZE}", help="detection max sides to try (0 = full size)")
    ap.add_argument("--sweeps", default=None, help="motion-gated tiles: full sweep every N analyses, e.g. 1,2,3,4")
    args = ap.parse_args()
    anon = Anonymizer(boxes=True)  # the strongest per-frame setting: tiles at 1.5x; boxes are what is scored
    frames = frames_of(args.video, args.frames)
    ref = reference(anon, frames, args.video)
    print(f"{args.video.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, "
          f"stack {DEFAULT_BODY}+{DEFAULT_FACE}, hold {args.hold}, lookahead {args.lookahead}; "
          "reference = every frame at full size")
    if args.sweeps:
        every = int(args.every.split(",")[0]) if "," not in args.every else DEFAULT_EVERY
        print(f"motion-gated tiles at every {every}: {'sweep':>5} {'boxes':>6} {'>=90% hidden':>13} "
              f"{'< 50% hidden':>13} {'mean cover':>11} {'tiles run':>10} {'seconds':>8}")
        for n in (int(x) for x in args.sweeps.split(",")):
            r = evaluate_sweep(frames, ref, n, every, args.hold, args.lookahead)
            print(f"{'':>28}{r['sweep']:>5} {r['boxes']:>6} {r['recall90']:>13.3f} {r['under_half']:>13} "
                  f"{r['coverage']:>11.3f} {r['tiles']:>10.2f} {r['seconds']:>8.1f}")
        return
    print(f"{'size':>5} {'every':>5} {'boxes':>6} {'>=90% hidden':>13} {'>=99% hidden':>13} "
          f"{'mean cover':>11} {'frame hidden':>13}")
    for size in (int(x) or None for x in args.sizes.split(",")):
        seen = ref if size is None else reference(anon, frames, args.video, size)
        for n in (int(x) for x in args.every.split(",")):
            r = evaluate(anon, frames, ref, n, args.hold, args.lookahead, seen)
            print(f"{size or 'full':>5} {r['every']:>5} {r['boxes']:>6} {r['recall90']:>13.3f} "
                  f"{r['recall99']:>13.3f} {r['coverage']:>11.3f} {r['hidden']:>13.3f}")


if __name__ == "__main__":
    main()
