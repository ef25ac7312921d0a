"""Issue #7's held-out check: how much of each pedestrian the real anonymiser hides, measured
against per-pixel person masks on street photos no model was trained on.

The folder has the Penn-Fudan layout (170 street photos, 423 pedestrians; the
project does not ship it and must not copy it): ``DIR/PNGImages/NAME.png``
and ``DIR/PedMasks/NAME_mask.png``, where pixel value ``k > 0`` marks
pedestrian ``k`` and 0 is background. Any folder laid out the same way works
(photos may be PNG or JPEG).

Every photo goes through ``Anonymizer.analyse``, which returns the exact mask
that ``fuzzypeople`` paints. The script prints:

* the mean share of each pedestrian's pixels hidden (issue goal >= 0.99),
* how many pedestrians are less than half hidden (goal: none), and which,
* how many are at least 90% hidden,
* background altered: the share of non-pedestrian pixels inside the mask,
  pooled over all photos (goal <= 0.10). Penn-Fudan labels the prominent
  walkers only; people it leaves unlabelled count as background here;
* seconds per photo (models loaded once; reading, detection and the mask).

    python benchmarks/pedestrians.py ~/data/PennFudanPed
    python benchmarks/pedestrians.py ~/data/PennFudanPed --candidate '{"tile_scale": 2.0}' --crops shown.png

``--candidate`` takes :class:`fuzzypeople.Settings` fields as JSON; ``--crops``
writes a contact sheet of the pedestrians left less than half hidden, to look
at with your own eyes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

PHOTOS, MASKS = "PNGImages", "PedMasks"
SUFFIXES = (".png", ".jpg", ".jpeg")


def pairs(root: Path) -> list[tuple[Path, Path]]:
    """``(photo, mask)`` paths of a Penn-Fudan-style folder, sorted; ValueError saying what is missing."""
    photos_dir, masks_dir = root / PHOTOS, root / MASKS
    for d in (photos_dir, masks_dir):
        if not d.is_dir():
            raise ValueError(f"{d}: no such folder (expected {PHOTOS}/ and {MASKS}/ in {root})")
    photos = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in SUFFIXES)
    if not photos:
        raise ValueError(f"{photos_dir}: no photos ({', '.join(SUFFIXES)})")
    out = []
    for p in photos:
        m = masks_dir / f"{p.stem}_mask.png"
        if not m.is_file():
            raise ValueError(f"{m}: missing (the mask of {p.name})")
        out.append((p, m))
    return out


def score(hidden: np.ndarray, labels: np.ndarray) -> tuple[list[int], list[float], int, int]:
    """The pedestrians' labels (``k > 0`` present, ascending) and the share of each one's pixels
    ``hidden`` covers; and the background pixels (label 0) hidden, and in all.

    >>> labels = np.array([[0, 1, 1, 0], [0, 2, 2, 2]])
    >>> hidden = np.array([[True, True, False, False], [False, True, True, True]])
    >>> score(hidden, labels)
    ([1, 2], [0.5, 1.0], 1, 3)
    """
    if hidden.shape != labels.shape:
        raise ValueError(f"mask {hidden.shape} != labels {labels.shape}")
    n = int(labels.max()) + 1
    total = np.bincount(labels.ravel(), minlength=n)
    covered = np.bincount(labels.ravel(), weights=hidden.ravel(), minlength=n)
    ids = [k for k in range(1, n) if total[k]]
    return ids, [float(covered[k] / total[k]) for k in ids], int(covered[0]), int(total[0])


def read_labels(path: Path) -> np.ndarray:
    """A mask PNG as integer labels (HxW); ValueError if it is not a one-channel image."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im)
    if a.ndim != 2:
        raise ValueError(f"{path}: expected a one-channel label image, got shape {a.shape}")
    return a.astype(np.int64)


def evaluate(anon, photos: list[tuple[Path, Path]]) -> dict:
    """The figures above for ``anon`` (an :class:`fuzzypeople.Anonymizer`) on ``photos``;
    ``shown`` lists ``(photo, pedestrian label, share hidden)`` for those under half hidden,
    ``masks`` keeps their photo's painted mask and labels for :func:`crops`."""
    from fuzzypeople.io.image import read_image

    shares, shown, masks, bg_hidden, bg_total, seconds = [], [], {}, 0, 0, 0.0
    for photo, mask_path in photos:
        labels = read_labels(mask_path)
        t0 = time.perf_counter()
        rgb = read_image(photo).rgb
        _, hidden = anon.analyse(rgb)
        seconds += time.perf_counter() - t0
        if hidden.shape != labels.shape:
            raise ValueError(f"{mask_path}: {labels.shape} does not match its photo {hidden.shape}")
        ids, s, bh, bt = score(hidden, labels)
        for k, share in zip(ids, s):
            if share < 0.5:
                shown.append((photo, k, share))
                masks[photo] = hidden, labels
        shares += s
        bg_hidden, bg_total = bg_hidden + bh, bg_total + bt
    return {
        "photos": len(photos),
        "pedestrians": len(shares),
        "mean_hidden": float(np.mean(shares)) if shares else float("nan"),
        "under_half": len(shown),
        "hidden90": float(np.mean(np.array(shares) >= 0.9)) if shares else float("nan"),
        "background_altered": bg_hidden / max(bg_total, 1),
        "seconds_per_photo": seconds / max(len(photos), 1),
        "shown": shown,
        "masks": masks,
    }


def crops(r: dict, width: int = 6) -> np.ndarray:
    """A contact sheet: per pedestrian left under half hidden, the photo around them with the
    mask in magenta and the pedestrian's own pixels outlined in green, labelled with the photo."""
    import cv2

    from fuzzypeople.io.image import read_image

    tiles = []
    for photo, k, share in r["shown"]:
        img = read_image(photo).rgb.copy()
        hidden, labels = r["masks"][photo]
        person = labels == k
        img[hidden] = (img[hidden] * 0.4 + np.array([255, 0, 255]) * 0.6).astype(np.uint8)
        edge = cv2.morphologyEx(person.view(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        img[edge] = (0, 255, 0)
        ys, xs = np.nonzero(person)
        y1, y2, x1, x2 = max(ys.min() - 20, 0), ys.max() + 20, max(xs.min() - 20, 0), xs.max() + 20
        tile = cv2.resize(img[y1:y2, x1:x2], (150, 240), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, f"{photo.stem} #{k} {share:.2f}", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 0), 1)
        tiles.append(tile)
    tiles += [np.zeros((240, 150, 3), np.uint8)] * (-len(tiles) % width)
    return np.vstack([np.hstack(tiles[i : i + width]) for i in range(0, len(tiles), width)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a folder with PNGImages/ and PedMasks/ (Penn-Fudan's layout)")
    ap.add_argument("--candidate", default=None, help="Settings fields as JSON (default: the default settings)")
    ap.add_argument("--limit", type=int, default=None, help="first N photos only")
    ap.add_argument("--crops", type=Path, default=None, help="write a contact sheet of the pedestrians left shown")
    args = ap.parse_args(argv)
    from fuzzypeople import Anonymizer, Settings
    from fuzzypeople.errors import FuzzyError

    try:
        photos = pairs(args.folder)[: args.limit]
        settings = Settings(method="solid", **json.loads(args.candidate or "{}"))
        r = evaluate(Anonymizer(settings=settings), photos)
    except (ValueError, TypeError, OSError, FuzzyError) as e:
        print(f"pedestrians.py: {e}", file=sys.stderr)
        return 2
    print(f"# python benchmarks/pedestrians.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print("| photos | pedestrians | mean hidden | under half hidden | >= 90% hidden | background altered | s / photo |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {r['photos']} | {r['pedestrians']} | {r['mean_hidden']:.3f} | {r['under_half']} | {r['hidden90']:.3f} "
          f"| {r['background_altered']:.3f} | {r['seconds_per_photo']:.3f} |")
    for photo, k, share in r["shown"]:
        print(f"under half hidden: {photo.name} pedestrian {k}: {share:.2f}")
    if args.crops and r["shown"]:
        import cv2

        cv2.imwrite(str(args.crops), crops(r)[:, :, ::-1])
        print(f"crops: {args.crops}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
