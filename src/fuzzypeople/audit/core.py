"""Audit one original/anonymised pair of pictures (a photo or a video frame).

:class:`Auditor` loads the independent detectors and the face recogniser
once. :meth:`Auditor.study` looks at an original (who is there, where their
faces are, what they look like); :meth:`Auditor.compare` checks an output
against it. The split lets the sweep study an original once and compare many
outputs. :meth:`Auditor.audit` does both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..people import BODY, FACE, People
from . import attacks, metrics
from .detectors import DEFAULT, Detectors
from .faces import MATCH_DISTANCE, SAME_PERSON, FaceRecognizer, Gallery, distractors, rank1_reidentified

GROUP_IOU = 0.3  # boxes from different detectors overlapping this much are one person
RESIDUAL_IOU = 0.5  # an output box overlapping an original one this much is the same person
FACE_GROW = 0.25  # faces grow by this share per side for the people region (hair, ears, chin)
LANDMARK_PREFERENCE = ("dlib-hog", "dlib-cnn", "mtcnn")  # dlib's landmarks were trained on dlib boxes
LOSSLESS_TOLERANCE = 0
LOSSY_TOLERANCE = 16  # JPEG q75-95 re-encoding changes < 0.5% of pixels by more than this
VIDEO_TOLERANCE = 24


@dataclass
class Original:
    """What the audit knows about an original picture."""

    rgb: np.ndarray
    found: People  # every detection, all detectors
    labels: np.ndarray  # person id (0-based, within its kind) of each detection
    faces: np.ndarray  # (F, 4) one box per face (union of its detections)
    bodies: np.ndarray  # (B, 4)
    shapes: object = None  # dlib full_object_detections of the faces
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    gallery_before: np.ndarray | None = None  # (F, people) distance of each original face to each gallery person
    truth: np.ndarray | None = None  # (F,) gallery person each original face is (index), -1 if not in the gallery


def implied_bodies(faces: np.ndarray) -> np.ndarray:
    """The body a face implies: 3 face-widths wide, from the face's top to 7 face-heights down.

    The audit's body detector (HOG) misses most seated, cropped or turned
    people; a face found is evidence enough that a body is below it, so the
    people region (inside which changes are expected) includes this box.

    >>> implied_bodies(np.array([[10, 10, 20, 20]], np.float32)).tolist()
    [[0.0, 10.0, 30.0, 80.0]]
    """
    f = np.asarray(faces, np.float32).reshape(-1, 4)
    w, h = f[:, 2] - f[:, 0], f[:, 3] - f[:, 1]
    cx = (f[:, 0] + f[:, 2]) / 2
    return np.column_stack([cx - 1.5 * w, f[:, 1], cx + 1.5 * w, f[:, 1] + 7 * h])


class Auditor:
    """Independent detectors + dlib face recognition, loaded once.

    Args:
        detectors: names from :data:`fuzzypeople.audit.detectors.ALL`.
        gallery: optional :class:`Gallery` of known faces for rank-1 identification.
        iou: IoU at which an output detection is the same person as an original one.
        match: face distance under which two faces are the same person.

    ``impostors`` (N, 128) holds other people's faces the rank-1 test
    compares every output crop with, besides the fixed distractors and the
    other faces of the same picture; :func:`fuzzypeople.audit.run` fills it
    with every face of the run's originals.
    """

    def __init__(self, detectors=DEFAULT, gallery: Gallery | None = None, iou: float = RESIDUAL_IOU,
                 match: float = MATCH_DISTANCE, fmr: float = attacks.FMR):
        self.detect = Detectors(detectors)
        self.recognizer = FaceRecognizer()
        self.gallery = gallery
        self.iou = iou
        self.match = match
        self.fmr = fmr
        self.impostors = np.zeros((0, 128), np.float32)
        self._threshold: tuple | None = None  # (gallery it was set on, threshold, impostor pairs)

    def verification_threshold(self) -> tuple[float, int]:
        """Attack (b)'s threshold: the face distance at which :attr:`fmr` of the
        impostor pairs (different people of the gallery, and gallery photos
        against the distractors; without a gallery, distractor pairs) are
        accepted. Returns ``(threshold, impostor pairs)``."""
        if self._threshold is None or self._threshold[0] is not self.gallery:
            g = self.gallery
            emb = g.embeddings if g is not None else np.zeros((0, 128), np.float32)
            pairs = attacks.impostor_distances(emb, g.names if g is not None else [], self.distractors())
            self._threshold = (g, attacks.threshold_at_fmr(pairs, self.fmr), int(len(pairs)))
        return self._threshold[1], self._threshold[2]

    def distractors(self) -> np.ndarray:
        """The fixed distractor faces' embeddings (computed on first use)."""
        return distractors(self.recognizer)

    def judge(self, frame: dict, extra: np.ndarray | None = None) -> dict:
        """(Re)apply the rank-1 test to a frame report from :meth:`compare`, in place.

        Impostors: the distractors, :attr:`impostors`, the faces of the
        frame's own original and ``extra``; those within
        :data:`~fuzzypeople.audit.faces.SAME_PERSON` of a face's original
        are not impostors for it. Also recomputes the frame's verdict.
        """
        emb = frame.get("_embeddings")
        if emb is not None and len(frame["faces"]):
            before, after = emb
            pool = [self.distractors(), self.impostors, before]
            if extra is not None:
                pool.append(extra)
            pool = np.vstack([np.asarray(p, np.float32).reshape(-1, 128) for p in pool])
            own = np.array([f["distance"] for f in frame["faces"]], np.float64)
            matches, reid, nearest = rank1_reidentified(own, after, before, pool, self.match, SAME_PERSON)
            for k, f in enumerate(frame["faces"]):
                f["matches_original"] = bool(matches[k])
                f["reidentified"] = bool(reid[k])
                finite = bool(np.isfinite(nearest[k]))
                f["impostor_distance"] = round(float(nearest[k]), 4) if finite else None
                f["margin"] = round(float(nearest[k] - own[k]), 4) if finite else None
                f["attack"] = metrics.deciding_attack(f)
        frame["verdict"], frame["reasons"] = metrics.verdict(frame["faces"], frame["people"], self.gallery is not None)
        return frame

    def load_gallery(self, folder) -> Gallery:
        self.gallery = Gallery.load(folder, self.detect, self.recognizer)
        return self.gallery

    # -- the original ------------------------------------------------------------
    def study(self, rgb: np.ndarray) -> Original:
        rgb = np.ascontiguousarray(rgb)
        found = self.detect(rgb)
        labels = np.zeros(len(found), np.int64)
        merged = {}
        for kind in (FACE, BODY):
            idx = np.flatnonzero(found.kinds == kind)
            lab = metrics.group(found.boxes[idx], GROUP_IOU)
            labels[idx] = lab
            n = int(lab.max()) + 1 if len(lab) else 0
            boxes = np.zeros((n, 4), np.float32)
            if n:
                b = found.boxes[idx]
                boxes[:, :2] = np.inf
                np.minimum.at(boxes[:, 0], lab, b[:, 0])
                np.minimum.at(boxes[:, 1], lab, b[:, 1])
                np.maximum.at(boxes[:, 2], lab, b[:, 2])
                np.maximum.at(boxes[:, 3], lab, b[:, 3])
            merged[kind] = boxes
        orig = Original(rgb, found, labels, merged[FACE], merged[BODY])
        if len(orig.faces):
            orig.shapes = self.recognizer.landmarks(rgb, self._landmark_boxes(found, labels, len(orig.faces)))
            orig.embeddings = self.recognizer.embed([rgb], orig.shapes)[0]
            if self.gallery is not None:
                _, d = attacks.person_distances(orig.embeddings, self.gallery.embeddings, self.gallery.names)
                orig.gallery_before = d
                # The attacker's closed set holds this face's person if the original is within the
                # match distance of someone's gallery photos; otherwise attack (a) does not apply to it.
                orig.truth = np.where(d.min(axis=1) < self.match, d.argmin(axis=1), -1)
        return orig

    @staticmethod
    def _landmark_boxes(found: People, labels: np.ndarray, n: int) -> np.ndarray:
        """Per face, the box of the detector dlib's landmarks like best."""
        is_face = found.kinds == FACE
        rank = np.array([LANDMARK_PREFERENCE.index(s) if s in LANDMARK_PREFERENCE else len(LANDMARK_PREFERENCE)
                         for s in found.source])
        boxes = np.zeros((n, 4), np.float32)
        best = np.full(n, np.inf)
        for i in np.flatnonzero(is_face):  # a handful of faces: plain loop
            key = rank[i] - found.scores[i] * 1e-3
            if key < best[labels[i]]:
                best[labels[i]], boxes[labels[i]] = key, found.boxes[i]
        return boxes

    # -- the output --------------------------------------------------------------
    def compare(self, orig: Original, out_rgb: np.ndarray, tolerance: int = LOSSLESS_TOLERANCE) -> dict:
        """Check an output against a studied original; returns the frame's report (a dict).

        The report also carries ``_after`` (the output's detections), for
        drawing, and ``_embeddings`` (the original's and the output crops'
        face embeddings) for :meth:`judge` to re-run the rank-1 test with more
        impostors.
        """
        out_rgb = np.ascontiguousarray(out_rgb)
        if out_rgb.shape != orig.rgb.shape:
            raise ValueError(f"size mismatch: original {orig.rgb.shape[1]}x{orig.rgb.shape[0]}, "
                             f"anonymised {out_rgb.shape[1]}x{out_rgb.shape[0]}")
        after = self.detect(out_rgb)
        still, match = metrics.residual(orig.found.boxes, orig.found.source, after.boxes, after.source, self.iou)
        faces = self._people(orig, FACE, orig.faces, still, match, after)
        bodies = self._people(orig, BODY, orig.bodies, still, match, after)

        if len(orig.faces):
            emb = self.recognizer.embed([out_rgb], orig.shapes)[0]
            dist = np.linalg.norm(emb.astype(np.float64) - orig.embeddings, axis=1)
            for k, f in enumerate(faces):
                f["distance"] = round(float(dist[k]), 4)
            self._attack(orig, emb, dist, faces)

        changed = metrics.altered(orig.rgb, out_rgb, tolerance)
        h, w = changed.shape
        found_mask = (metrics.boxes_mask(orig.faces, (h, w), FACE_GROW) | metrics.boxes_mask(orig.bodies, (h, w))
                      | metrics.boxes_mask(implied_bodies(orig.faces), (h, w)))
        region = metrics.people_region(found_mask, changed)
        sim = metrics.similarity(orig.rgb, out_rgb, region)
        outside = ~region
        change = {
            "tolerance": int(tolerance),
            "altered_share": float(changed.mean()),
            "people_share": float(region.mean()),
            "altered_outside_share": float((changed & outside).sum() / max(1, outside.sum())),
            "ssim": sim["ssim"],
            "ssim_inside": sim["ssim_inside"],
            "ssim_outside": sim["ssim_outside"],
            "psnr_outside_db": sim["psnr_outside"],
        }
        frame = {
            "width": int(w), "height": int(h),
            "verdict": None, "reasons": None,
            "faces": faces, "people": bodies, "change": change,
            "_after": after,
            "_embeddings": (orig.embeddings, emb) if len(orig.faces) else None,
        }
        return self.judge(frame)

    def _attack(self, orig: Original, emb: np.ndarray, dist: np.ndarray, faces: list[dict]) -> None:
        """Attacks (a) identification and (b) verification on each face's output crop."""
        thr, pairs = self.verification_threshold()
        people, d_after = (None, None)
        if self.gallery is not None:
            people, d_after = attacks.person_distances(emb, self.gallery.embeddings, self.gallery.names)
        # Other people's faces, for attack (b)'s "not near everyone" check: distractors, extra impostors,
        # and the gallery's photos of anyone but the claimed person.
        others = np.vstack([self.distractors(), np.asarray(self.impostors, np.float32).reshape(-1, 128)])
        to_others = np.linalg.norm(emb[:, None].astype(np.float64) - others[None], axis=2)
        g_dist = None
        if self.gallery is not None:
            g_dist = np.linalg.norm(emb[:, None].astype(np.float64) - self.gallery.embeddings[None], axis=2)
            g_names = np.array(self.gallery.names)
        for k, f in enumerate(faces):
            truth = -1 if orig.truth is None else int(orig.truth[k])
            imp = to_others[k]
            if g_dist is not None:
                not_claim = g_names != people[truth] if truth >= 0 else np.ones(len(g_names), bool)
                imp = np.concatenate([imp, g_dist[k][not_claim]])
            # Those within SAME_PERSON of the original are the same person (e.g. their photo among the distractors).
            own = np.linalg.norm(orig.embeddings[k].astype(np.float64) - others, axis=1) < SAME_PERSON
            imp = np.concatenate([to_others[k][~own], imp[len(to_others[k]):]])
            if truth >= 0:
                rank, pick = attacks.identify(d_after[k : k + 1], np.array([truth]))
                f["identification"] = {
                    "person": people[truth],
                    "answer": people[int(pick[0])],
                    "rank": int(rank[0]),
                    "candidates": len(people),
                    "chance": attacks.chance(len(people)),
                    "distance": round(float(d_after[k, truth]), 4),
                    "distance_before": round(float(orig.gallery_before[k, truth]), 4),
                    "identified": bool(rank[0] == 1),
                }
                claim, d = people[truth], float(d_after[k, truth])
            else:
                claim, d = None, float(dist[k])  # no gallery photo of this person: the original is the claim
            accepted = bool(attacks.verify([d], thr, imp[None], self.fmr)[0])
            f["verification"] = {"claim": claim, "distance": round(d, 4), "threshold": thr, "fmr": self.fmr,
                                 "impostor_pairs": pairs, "accepted": accepted}

    def _people(self, orig: Original, kind: str, boxes: np.ndarray, still, match, after: People) -> list[dict]:
        sel = np.flatnonzero(orig.found.kinds == kind)
        out = []
        for k, box in enumerate(boxes):
            members = sel[orig.labels[sel] == k]
            hit = members[still[members]]
            out.append({
                "id": k + 1,
                "box": [round(float(v), 1) for v in box],
                "found_by": sorted(set(orig.found.source[members].tolist())),
                "score": round(float(orig.found.scores[members].max()), 4),
                "residual": bool(len(hit)),
                "still_found_by": sorted(set(orig.found.source[hit].tolist())),
                "output_boxes": [[round(float(v), 1) for v in after.boxes[j]] for j in match[hit]],
            })
            if kind == FACE:
                out[-1].update(distance=None, matches_original=None, reidentified=None, impostor_distance=None,
                               margin=None, identification=None, verification=None, attack=None)
        return out

    def audit(self, before: np.ndarray, after: np.ndarray, tolerance: int = LOSSLESS_TOLERANCE) -> dict:
        """Study ``before`` and compare ``after`` with it (both HxWx3 uint8 RGB)."""
        return self.compare(self.study(before), after, tolerance)
