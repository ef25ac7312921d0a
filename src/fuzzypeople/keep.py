"""Who is kept: the people who consented stay, everyone else is hidden.

A :class:`Keeper` is made once per photo or video (``Anonymizer.keeper()``)
and sits between detection and the mask: the masker tells it what each
analysed frame holds (:meth:`Keeper.observe`, people with track ids), and the
mask is built from :meth:`Keeper.hidden` (everyone not kept). Since the mask
is built from the *others* only, every pixel that belongs to another person
stays hidden exactly as it would without keeping: keeping one person can
never un-hide another.

Who is kept, per analysed frame (decisions are per track id):

* **a person is a body** (a face when only faces are targeted), linked to a
  face when the face's centre lies inside exactly one body box. A body is
  *separable* when it holds at most one face centre and that face is its own;
  a body that is not separable is never kept (fail closed: two people may
  be inside it).
* ``keep_faces``: faces at least :data:`MIN_FACE` pixels wide and high are
  compared with the reference photos by the dlib ResNet embedding
  (:mod:`fuzzypeople.audit.faces`); a separable body whose face is nearer
  than ``keep_distance`` to a reference face is kept, whole body and face.
  In video a kept track stays kept on later analysed frames where its face
  is not visible (turned away, too small) only while it is detected on
  every analysed frame, separable, and not overlapping another body
  (:data:`APART`); a visible face that does not match ends it at once. So a
  stranger who takes over a kept person's track (crossing, re-detection) is
  hidden.
* ``keep``: the N most prominent bodies (area share times centrality,
  :func:`prominence`) are kept if they are separable; when the most
  prominent is not, nobody takes its place.
* people kept are taken out of the mask; others whose box meets a kept
  body's box are hidden by their whole box (grown as the mask grows boxes),
  not their traced outline.

>>> import numpy as np
>>> p = People([[0, 0, 40, 100], [50, 0, 90, 100], [10, 5, 30, 25]], [1, 1, 1], ["body", "body", "face"],
...            track_ids=[0, 1, 2])
>>> k = Keeper(keep=1)
>>> k.observe(np.zeros((100, 100, 3), np.uint8), p)
>>> sorted(k.kept), k.counts()        # the more central body... and its face
([1], (1, 1))
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .errors import FuzzyError
from .people import BODY, FACE, People, box_area, box_intersection, centres_inside, clip_boxes

MIN_FACE = 40  # pixels: smaller faces cannot be verified reliably, so they never keep anyone
APART = 0.1  # a kept track not re-verified by its face stays kept only if no other body covers more
#              than this share of its box (or of the other's)


def centres(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def prominence(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """How prominent each box is: its share of the picture times its centrality (1 centre, 0.5 corner).

    >>> prominence(np.array([[40, 40, 60, 60], [0, 0, 20, 20]], np.float32), (100, 100)).round(3).tolist()
    [0.04, 0.024]
    """
    h, w = shape
    area = box_area(boxes) / float(h * w)
    d = np.linalg.norm((centres(boxes) - [w / 2, h / 2]) / [w / 2, h / 2], axis=1) / np.sqrt(2)
    return area * (1 - 0.5 * np.clip(d, 0, 1))


def link(bodies: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces to bodies: ``face_of`` (B,) the index of each body's own face or -1, ``separable`` (B,).

    A face belongs to a body when its centre lies in that body's box and no
    other. A body is separable when it holds at most one face centre, its own.

    >>> b = np.array([[0, 0, 50, 100], [40, 0, 100, 100], [200, 0, 250, 100]], np.float32)
    >>> f = np.array([[10, 10, 20, 20], [42, 10, 48, 20], [60, 10, 70, 20]], np.float32)  # 2nd in both
    >>> face_of, sep = link(b, f); face_of.tolist(), sep.tolist()
    ([-1, -1, -1], [False, False, True])
    """
    nb = len(bodies)
    if len(faces) == 0:
        return np.full(nb, -1), np.ones(nb, bool)
    inside = centres_inside(faces, bodies)  # (F, B)
    owner = np.where(inside.sum(axis=1) == 1, inside.argmax(axis=1), -1)
    n_in = inside.sum(axis=0)
    first = inside.argmax(axis=0)
    face_of = np.where((n_in == 1) & (owner[first] == np.arange(nb)), first, -1)
    separable = (n_in == 0) | (face_of >= 0)
    return face_of, separable


def crowded(boxes: np.ndarray, share: float = APART) -> np.ndarray:
    """(N,) bool: does another box cover more than ``share`` of this box, or this one of it?"""
    n = len(boxes)
    if n < 2:
        return np.zeros(n, bool)
    inter = box_intersection(boxes, boxes)
    area = np.maximum(box_area(boxes), 1e-6)
    cover = inter / np.minimum(area[:, None], area[None])
    np.fill_diagonal(cover, 0)
    return (cover > share).any(axis=1)


class References:
    """The faces of the people to keep: one dlib ResNet embedding per reference photo."""

    def __init__(self, folder: str | Path, detect, distance: float):
        from .audit.faces import FaceRecognizer, Gallery
        from .io.image import EXTENSIONS

        folder = Path(folder)
        if not folder.is_dir():
            raise FuzzyError(folder, "--keep-faces must be a folder of photos of the people to keep")
        if not any(p.is_file() and p.suffix.lower() in EXTENSIONS for p in folder.rglob("*")):
            raise FuzzyError(folder, "--keep-faces folder holds no photos (JPEG, PNG, WebP, TIFF, BMP)")
        self.recognizer = FaceRecognizer()
        self.gallery = Gallery.load(folder, detect, self.recognizer)
        self.distance = float(distance)

    def match(self, rgb: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """Per face box: 1 matches a reference, 0 does not, -1 too small to tell."""
        from .audit.faces import rank1

        wh = faces[:, 2:] - faces[:, :2]
        out = np.where((wh >= MIN_FACE).all(axis=1), 0, -1)
        big = np.flatnonzero(out == 0)
        if len(big):
            rgb = np.ascontiguousarray(rgb)
            emb = self.recognizer.embed([rgb], self.recognizer.landmarks(rgb, faces[big]))[0]
            _, d = rank1(emb, self.gallery.embeddings)
            out[big[d < self.distance]] = 1
        return out


_REFERENCES: dict = {}


def references(folder: str | Path, detect, distance: float) -> References:
    """:class:`References` for ``folder``, read once per process (until its photos change)."""
    from .io.image import EXTENSIONS

    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS) \
        if folder.is_dir() else []
    key = (str(folder.resolve()), float(distance), tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    if key not in _REFERENCES:
        _REFERENCES[key] = References(folder, detect, distance)
    return _REFERENCES[key]


class Keeper:
    """The keep decisions of one photo or video (see the module docstring).

    Args:
        references: the faces to keep (:class:`References`) or None.
        keep: also keep the ``keep`` most prominent people.
        person: ``"body"`` (default) or ``"face"`` (only faces are targeted).
    """

    def __init__(self, references: References | None = None, keep: int = 0, person: str = BODY,
                 grow: dict[str, float] | None = None):
        self.references = references
        self.keep = int(keep)
        self.person = person
        self.grow = grow or {}  # boxes grow by this share per side (per kind) when the mask is built
        self.kept: set[int] = set()  # track ids kept on the last analysed frame (people and their faces)
        self.ever: set[int] = set()  # person track ids kept at least once
        self.seen: set[int] = set()  # person track ids seen

    def counts(self) -> tuple[int, int]:
        """``(kept, hidden)``: people kept at least once, and the others."""
        return len(self.ever), len(self.seen - self.ever)

    def observe(self, rgb: np.ndarray, people: People) -> None:
        """Decide who is kept on this analysed frame; ``people`` carry track ids."""
        previous, self.kept = self.kept, set()  # until decided (an error below leaves nobody kept)
        if people.track_ids is None:
            raise ValueError("Keeper.observe needs people with track ids")
        ids = people.track_ids
        pi = np.flatnonzero(people.kinds == self.person)
        fi = np.flatnonzero(people.kinds == FACE)
        pboxes, fboxes = people.boxes[pi], people.boxes[fi]
        if self.person == FACE:
            face_of, separable = np.arange(len(pi)), np.ones(len(pi), bool)
        else:
            face_of, separable = link(pboxes, fboxes)
        keep = np.zeros(len(pi), bool)
        if self.references is not None and len(pi):
            state = np.full(len(pi), -1)
            own = np.flatnonzero(separable & (face_of >= 0))
            if len(own):
                state[own] = self.references.match(rgb, fboxes[face_of[own]])
            before = np.isin(ids[pi], list(previous))
            keep |= separable & (state == 1)
            keep |= separable & (state == -1) & before & ~crowded(pboxes)
        if self.keep and len(pi):
            top = np.argsort(-prominence(pboxes, rgb.shape[:2]), kind="stable")[: self.keep]
            keep[top] |= separable[top]
        kept = set(ids[pi[keep]].tolist())
        self.ever |= kept
        self.seen |= set(ids[pi].tolist())
        faces = face_of[keep]
        kept |= set(ids[fi[faces[faces >= 0]]].tolist()) if self.person == BODY else set()
        self.kept = kept

    def hidden(self, people: People) -> People:
        """The people to hide: all but those kept; where one meets a kept body, their whole box."""
        if not self.kept or people.track_ids is None or len(people) == 0:
            return people
        kept = np.isin(people.track_ids, list(self.kept))
        if not kept.any():
            return people
        others = people[~kept]
        if others.masks is not None and len(others):
            kb = people.boxes[kept]
            lt = np.maximum(others.boxes[:, None, :2], kb[None, :, :2])
            rb = np.minimum(others.boxes[:, None, 2:], kb[None, :, 2:])
            meets = (rb > lt).all(axis=2).any(axis=1)
            if meets.any():
                masks = others.masks.copy()
                boxes = others.boxes[meets]
                share = np.array([self.grow.get(k, 0.0) for k in others.kinds[meets]], np.float32)[:, None]
                wh = (boxes[:, 2:] - boxes[:, :2]) * share
                grown = np.concatenate([boxes[:, :2] - wh, boxes[:, 2:] + wh], axis=1)
                for i, (x1, y1, x2, y2) in zip(np.flatnonzero(meets), clip_boxes(grown, masks.shape[1:])):
                    masks[i, y1:y2, x1:x2] = True  # a handful of people: their whole (grown) box
                others = replace(others, masks=masks)
        return others


def with_ids(people: People) -> People:
    """A photo's people numbered 0..N-1 as track ids (a photo is a one-frame track)."""
    if people.track_ids is not None:
        return people
    return replace(people, track_ids=np.arange(len(people)))
