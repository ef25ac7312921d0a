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
and the same recall is reported, with the share of tile area it ran and the
people less than half hidden on any frame. The reference includes what the
strongest setting mistakes for people; so the recall is printed a second
time without the boxes that are scene, not people:

* *still* boxes: found at one place (IoU >= 0.5) in frames spanning >= 80% of
  the clip (on vtest the traffic cone, the bollards and the sign);
* *scenery* boxes: on that frame the box shows the clip's empty scene (fewer
  than 5% of its pixels differ by more than 25 grey levels from the median
  of the clip's frames). The detector flickers on a bollard or a tripod on a
  few frames here and there, which the first rule misses; a walker, even one
  passing in front of the bollard, changes the pixels.

Both rules assume that nobody stays at one place for most of the clip (true
of vtest: looked at by eye); on a clip where someone does, they would count
as scene, so always look at ``--crops FILE``: it writes every place where a
reference box was less than half hidden, excluded or not.

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
from fuzzypeople.models import FILES
from fuzzypeople.people import People, box_iou, clip_boxes
from fuzzypeople.pipeline.settings import DEFAULT_DETECT_SIZE, DEFAULT_EVERY
from fuzzypeople.track import DEFAULT_HOLD, DEFAULT_LOOKAHEAD, TemporalMasker, scaled

VTEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "vtest.avi"
OUT = Path(__file__).resolve().parent / "out"
REFERENCE_VERSION = 3  # bump when the detection code changes what the reference finds


def frames_of(path: Path, limit: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f, _ in zip(c.decode(video=0), range(limit))]


def reference(anon: Anonymizer, frames, path: Path, size: int | None = None) -> list[People]:
    """Detections on every frame (at full size, or shrunk to ``size``), cached."""
    # The key names the models and the detection code's version, so a changed detector is re-run.
    models = ",".join(FILES.get(f"{name}.onnx", name) for name in (*DEFAULT_BODY, DEFAULT_FACE))
    key = f"{path.resolve()}:{len(frames)}:{DEFAULT_BODY}:{DEFAULT_FACE}:{size}:{models}:{REFERENCE_VERSION}"
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


def boxes_in(people: People, shape: tuple[int, int]) -> np.ndarray:
    """``people``'s boxes as whole pixels clipped to a frame of ``shape``, those with an area left:
    the reference boxes every per-box list here (:func:`coverage`, :func:`still`, :func:`scenery`)
    counts, in this order.

    >>> boxes_in(People([[-5, 0, 10, 8], [20, 0, 30, 8]], [1, 1], ["body"] * 2), (10, 20)).tolist()
    [[0, 0, 10, 8]]
    """
    b = clip_boxes(people.boxes, shape)
    return b[(b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])]


def coverage(ref: list[People], masks: dict[int, np.ndarray]) -> np.ndarray:
    """Share of each reference box (every frame, every person) inside that frame's mask."""
    return np.asarray([masks[i][y1:y2, x1:x2].mean() for i, people in enumerate(ref)
                       for x1, y1, x2, y2 in boxes_in(people, masks[i].shape)])


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


def still(ref: list[People], shape: tuple[int, int], span: float = 0.8) -> np.ndarray:
    """Per reference box (:func:`boxes_in` frames of ``shape``, in :func:`coverage`'s order): found
    at this same place (IoU >= 0.5) in frames spanning >= ``span`` of the clip, i.e. an object that
    never moves (however often the detector flickers on it). A walker stays at one place for a few
    frames only."""
    boxes = [boxes_in(p, shape) for p in ref]
    frame = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
    boxes = np.concatenate(boxes).astype(np.float64)
    same = box_iou(boxes, boxes) >= 0.5
    first = np.where(same, frame[None, :], len(ref)).min(axis=1)
    last = np.where(same, frame[None, :], -1).max(axis=1)
    return last - first >= span * (len(ref) - 1)


SCENERY_DIFF = 25  # grey levels: a pixel this far from the clip's median frame has something in front of the scene
SCENERY_SHARE = 0.05  # a box with fewer such pixels shows the empty scene


def scenery(frames, ref: list[People], step: int = 3) -> np.ndarray:
    """Per reference box (in :func:`coverage`'s order): does it show the clip's empty scene on its frame?

    The scene is the per-pixel median of every ``step``-th frame (people walk
    through; the street stays), in grey levels.
    """
    import cv2

    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.int16) for f in frames]
    scene = np.median(np.stack(greys[::step]), axis=0).astype(np.int16)
    out = []
    for i, people in enumerate(ref):
        changed = np.abs(greys[i] - scene) > SCENERY_DIFF
        out += [changed[y1:y2, x1:x2].mean() < SCENERY_SHARE
                for x1, y1, x2, y2 in boxes_in(people, changed.shape)]
    return np.asarray(out, bool)


def write_crops(frames, ref: list[People], masks: dict, path: Path, limit: int = 24) -> None:
    """A contact sheet of the reference boxes less than half hidden (one per place, in red)."""
    import cv2

    tiles, places = [], set()
    for i, people in enumerate(ref):
        for x1, y1, x2, y2 in boxes_in(people, masks[i].shape):
            if masks[i][y1:y2, x1:x2].mean() >= 0.5 or (x1 // 40, y1 // 40) in places:
                continue
            places.add((x1 // 40, y1 // 40))
            a, b = max(0, x1 - 30), max(0, y1 - 30)
            crop = frames[i][b : y2 + 30, a : x2 + 30].copy()
            cv2.rectangle(crop, (x1 - a, y1 - b), (x2 - a, y2 - b), (255, 0, 0), 1)
            tiles.append(cv2.resize(crop, (120, 160)))
    if tiles:
        tiles = tiles[:limit] + [np.zeros_like(tiles[0])] * (-len(tiles[:limit]) % 8)
        sheet = np.vstack([np.hstack(tiles[k : k + 8]) for k in range(0, len(tiles), 8)])
        cv2.imwrite(str(path), sheet[:, :, ::-1])
    print(f"{len(places)} places with a reference box less than half hidden" + (f": {path}" if tiles else ""))


def evaluate_sweep(frames, ref: list[People], sweep: int, every: int, hold: int, lookahead: int,
                   left_out: tuple[np.ndarray, np.ndarray], crops: Path | None = None) -> dict:
    """Recall of the real video detector with tiles gated by motion (full sweep every ``sweep`` analyses).

    ``left_out``: :func:`still` and :func:`scenery` of the reference boxes (the same for every sweep).
    """
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
    is_still, is_scenery = left_out
    moving = ~is_still & ~is_scenery
    if crops is not None:
        write_crops(frames, ref, masks, crops)
    gate = detect if hasattr(detect, "area_run") else None
    tiles = (gate.area_run / max(gate.area_seen, 1)) if gate else 1.0
    gated = gate.gated / max(gate.calls, 1) if gate else 0.0
    return dict(sweep=sweep, boxes=len(cov), recall90=float((cov >= 0.9).mean()), under_half=int((cov < 0.5).sum()),
                moving=int(moving.sum()), moving90=float((cov[moving] >= 0.9).mean()),
                moving_under_half=int((cov[moving] < 0.5).sum()), still=int(is_still.sum()),
                scenery=int((is_scenery & ~is_still).sum()),
                scenery_under_half=int(((cov < 0.5) & is_scenery & ~is_still).sum()),
                coverage=float(cov.mean()), hidden=float(np.mean([m.mean() for m in masks.values()])),
                tiles=gated * tiles + (1 - gated), seconds=seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--every", default="1,2,3,4,5,6")
    ap.add_argument("--hold", type=int, default=DEFAULT_HOLD)
    ap.add_argument("--lookahead", type=int, default=DEFAULT_LOOKAHEAD)
    ap.add_argument("--sizes", default="0" if DEFAULT_DETECT_SIZE is None else f"0,{DEFAULT_DETECT_SIZE}",
                    help="detection max sides to try (0 = full size, the default since frames are no longer shrunk)")
    ap.add_argument("--sweeps", default=None, help="motion-gated tiles: full sweep every N analyses, e.g. 1,2,3,4")
    ap.add_argument("--crops", type=Path, default=None, help="with --sweeps: write the under-half-hidden reference boxes here (PNG)")
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
              f"{'< 50% hidden':>13} {'mean cover':>11} {'frame hidden':>13} {'tile area':>10} {'seconds':>8} | without still and scenery boxes: "
              f"{'boxes':>6} {'>=90% hidden':>13} {'< 50% hidden':>13}")
        left_out = still(ref, frames[0].shape[:2]), scenery(frames, ref)
        for n in (int(x) for x in args.sweeps.split(",")):
            r = evaluate_sweep(frames, ref, n, every, args.hold, args.lookahead, left_out, args.crops)
            print(f"{'':>28}{r['sweep']:>5} {r['boxes']:>6} {r['recall90']:>13.3f} {r['under_half']:>13} "
                  f"{r['coverage']:>11.3f} {r['hidden']:>13.3f} {r['tiles']:>10.2f} {r['seconds']:>8.1f} | {'':>21}{r['moving']:>6} "
                  f"{r['moving90']:>13.3f} {r['moving_under_half']:>13}")
            print(f"{'':>28}left out: {r['still']} still boxes, {r['scenery']} more showing the empty scene "
                  f"({r['scenery_under_half']} of them < 50% hidden)")
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
