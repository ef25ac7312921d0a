"""Where the painted background comes from: issue #7's "background altered", taken apart.

``benchmarks/detection.py`` says how much of the scene the mask paints; this
script says which part of the mask paints it, on which photos, on what, and how
far from the people, so that work on the figure starts from the largest share
instead of a guess. Each photo of ../shared/data/coco-people goes through
``Anonymizer.analyse`` (the exact mask that is painted); the mask is split
into parts (:func:`parts`):

* ``outline``: bodies traced by segmentation,
* ``box, SOURCE``: bodies kept as their box because the segmenters were unsure
  (fail closed), per detector (``nanodet``, ``movenet``, ``face-rule``),
* ``small box``: bodies too short to trace (``outline.MIN_HEIGHT``),
* ``face``: face boxes,
* ``ring``: what the mask paints beyond all of them: the dilation
  (``--dilate``), and with ``--boxes`` the boxes' growth too.

For each part it prints the share of all background pixels (pooled over the
photos with people, as detection.py) that the part paints, and that it alone
paints (no other part covers them: what removing the part would save), with
the photos where it paints the most. Then the painted background by what COCO
labels there (a held teddy bear, the motorbike under a rider, or nothing), and
by distance to the nearest annotated person (within the dilation, a COCO
polygon's coarse edge, or far away).

    python benchmarks/background.py
    python benchmarks/background.py --candidate '{"dilate": 3}'

``--candidate`` takes :class:`fuzzypeople.Settings` fields as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import DATA  # noqa: E402

DISTANCES = (2, 4, 8, 16, 32)  # px: the bands of distance to the nearest annotated person


def parts(people, mask: np.ndarray, min_height: float) -> dict[str, np.ndarray]:
    """Split a painted ``mask`` (HxW bool) into the parts that paint it, from the ``people``
    (with instance masks) it was built from: see the module's docstring for the names.

    A body whose instance mask is exactly its (clipped) box was kept as a box
    (without instance masks, with ``--boxes``, every body is); one shorter than
    ``min_height`` is a ``small box``. Parts may overlap; the ``ring`` is the
    mask's pixels that no person's own mask or box covers.

    >>> from fuzzypeople.people import People
    >>> m = np.zeros((2, 20, 20), bool); m[0, 2:9, 3:5] = True; m[1, 10:20, 10:20] = True
    >>> p = People([[2, 2, 8, 10], [10, 10, 20, 20]], [0.9, 0.4], ["body"] * 2, masks=m,
    ...            source=["nanodet", "movenet"])
    >>> painted = m.any(axis=0); painted[1, 3] = True
    >>> {k: int(v.sum()) for k, v in parts(p, painted, min_height=5).items()}
    {'outline': 14, 'box, movenet': 100, 'ring': 1}
    """
    from fuzzypeople.people import BODY, clip_boxes

    out: dict[str, np.ndarray] = {}
    shape = mask.shape
    people = people.with_masks(shape)
    clipped = clip_boxes(people.boxes, shape)
    for i in range(len(people)):
        x1, y1, x2, y2 = clipped[i]
        own = people.masks[i]
        box = np.zeros(shape, bool)
        box[y1:y2, x1:x2] = True
        if people.kinds[i] != BODY:
            name = "face"
        elif people.boxes[i, 3] - people.boxes[i, 1] < min_height:
            name = "small box"
        elif np.array_equal(own, box):
            name = f"box, {people.source[i]}"
        else:
            name = "outline"
        out[name] = out.get(name, np.zeros(shape, bool)) | own
    out["ring"] = mask & ~people.masks.any(axis=0)  # with_masks gives nobody a (0, H, W) stack
    return {k: v for k, v in out.items() if v.any()}


def attribute(split: dict[str, np.ndarray], background: np.ndarray) -> dict[str, tuple[int, int]]:
    """Per part: ``(paints, alone)``, the background pixels it paints, and those no other part paints.

    >>> a, b = np.zeros((1, 4), bool), np.zeros((1, 4), bool)
    >>> a[0, :3] = True; b[0, 2:] = True
    >>> attribute({"a": a, "b": b}, np.array([[True, True, True, False]]))
    {'a': (3, 2), 'b': (1, 0)}
    """
    count = sum(v.astype(np.uint8) for v in split.values())
    return {k: (int((v & background).sum()), int((v & background & (count == 1)).sum())) for k, v in split.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidate", default=None, help="Settings fields as JSON (default: the default settings)")
    ap.add_argument("--top", type=int, default=5, help="photos named per part (default 5)")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"evaluation data not found at {DATA}", file=sys.stderr)
        return 2
    from pycocotools.coco import COCO

    from fuzzypeople import Anonymizer, Settings
    from fuzzypeople.detect.outline import MIN_HEIGHT
    from fuzzypeople.io.image import read_image

    try:
        settings = Settings(method="solid", **json.loads(args.candidate or "{}"))
    except (ValueError, TypeError) as exc:
        print(f"--candidate: {exc}", file=sys.stderr)
        return 2
    anon = Anonymizer(settings=settings)
    coco = COCO(str(DATA / "annotations.json"))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    paints, alone, per_photo = Counter(), Counter(), defaultdict(Counter)
    labelled, bands, total = Counter(), np.zeros(len(DISTANCES) + 1, np.int64), 0
    for img_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(img_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=None))
        people_anns = [a for a in anns if a["category_id"] == 1]
        if not people_anns:
            continue
        people, mask = anon.analyse(read_image(DATA / "images" / info["file_name"]).rgb)
        anyone = np.logical_or.reduce([coco.annToMask(a).astype(bool) for a in people_anns])
        background = ~anyone
        total += int(background.sum())
        for part, (p, a) in attribute(parts(people, mask, MIN_HEIGHT), background).items():
            paints[part] += p
            alone[part] += a
            per_photo[part][img_id] += a
        painted = mask & background
        taken = np.zeros(mask.shape, bool)  # each pixel once, smallest object first (a cup on a table)
        for a in sorted((a for a in anns if a["category_id"] != 1), key=lambda a: a["area"]):
            on = coco.annToMask(a).astype(bool) & painted & ~taken
            labelled[names[a["category_id"]]] += int(on.sum())
            taken |= on
        labelled["(nothing labelled)"] += int((painted & ~taken).sum())
        dist = cv2.distanceTransform(background.astype(np.uint8), cv2.DIST_L2, 5)[painted]
        bands += np.bincount(np.searchsorted(DISTANCES, dist, side="left"), minlength=len(bands))
    share = lambda n: n / max(total, 1)  # noqa: E731
    print(f"# background altered, taken apart: python benchmarks/background.py {' '.join(argv or sys.argv[1:])}")
    print(f"background altered {share(sum(bands)):.4f} of {total} background pixels (photos with people)\n")
    print("| part | paints | alone | where it paints most, alone (photo id: share) |\n|---|---|---|---|")
    for part, p in paints.most_common():
        top = ", ".join(f"{i}: {share(n):.4f}" for i, n in per_photo[part].most_common(args.top) if n)
        print(f"| {part} | {share(p):.4f} | {share(alone[part]):.4f} | {top} |")
    print("\n| on what (COCO's label) | share |\n|---|---|")
    for what, n in labelled.most_common(12):
        print(f"| {what} | {share(n):.4f} |")
    edges = (0, *DISTANCES)
    print("\n| distance to the nearest person (px) | share |\n|---|---|")
    for k, n in enumerate(bands):
        print(f"| {f'{edges[k]}-{edges[k + 1]}' if k < len(DISTANCES) else f'> {edges[k]}'} | {share(n):.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
