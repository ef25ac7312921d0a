"""MoveNet MultiPose Lightning: boxes and keypoints on real photos and a test-made crowd."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from fuzzypeople.detect import DETECTORS, movenet
from fuzzypeople.people import BODY, box_iou

GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
ASTRONAUT_FACE = (182, 58, 270, 178)  # x1, y1, x2, y2 of Eileen Collins' face (CenterFace's box)


@pytest.fixture(scope="module")
def detector():
    return movenet.load()


@pytest.fixture(scope="module")
def crowd(coffee):
    """Grace Hopper pasted at three places on the (enlarged) coffee photo, and where."""
    canvas = np.asarray(Image.fromarray(coffee).resize((1200, 800))).copy()
    person = np.asarray(Image.open(GRACE).convert("RGB").resize((200, 256)))
    spots = [(50, 100), (450, 300), (850, 150)]
    for x, y in spots:
        canvas[y : y + 256, x : x + 200] = person
    return canvas, np.array([[x, y, x + 200, y + 256] for x, y in spots], np.float32)


def test_registered():
    assert DETECTORS["movenet"] is movenet
    assert movenet.KIND == BODY and 0 < movenet.THRESHOLD < 1


def test_astronaut_one_box_over_her_upper_body(detector, astronaut):
    people, kp = detector.detect(astronaut)
    assert len(people) == 1
    assert people.kinds.tolist() == ["body"] and people.source.tolist() == ["movenet"]
    assert people.scores[0] > 0.4
    x1, y1, x2, y2 = people.boxes[0]
    fx1, fy1, fx2, fy2 = ASTRONAUT_FACE
    assert x1 <= fx1 and y1 <= fy1 and x2 >= fx2 and y2 >= fy2  # her face is inside
    assert y2 - y1 > 0.8 * astronaut.shape[0]  # head to the bottom edge: the whole upper body
    assert 0 <= x1 < x2 <= astronaut.shape[1] and 0 <= y1 < y2 <= astronaut.shape[0]
    # keypoints in pixels (y, x, score): nose on the face, shoulders below it
    assert kp.shape == (1, 17, 3)
    nose, l_sh, r_sh = kp[0, movenet.KEYPOINTS.index("nose")], kp[0, 5], kp[0, 6]
    assert nose[2] > 0.5 and fx1 <= nose[1] <= fx2 and fy1 <= nose[0] <= fy2
    assert l_sh[0] > fy2 and r_sh[0] > fy2
    np.testing.assert_array_equal(detector.last_keypoints, kp)


def test_coffee_nobody(detector, coffee):
    assert len(detector(coffee)) == 0
    assert len(movenet.load(sizes=(256, 512))(coffee)) == 0
    assert detector.keypoints(coffee).shape == (0, 17, 3)


def test_several_people(crowd):
    image, spots = crowd
    people = movenet.load(sizes=(256, 512))(image)
    assert len(people) == 3
    iou = box_iou(spots, people.boxes)
    assert (iou.max(axis=1) > 0.6).all()  # every pasted person has a box of their own
    assert sorted(iou.argmax(axis=1).tolist()) == [0, 1, 2]
    # 256 alone sees the people at 1/4.7 scale: it still finds more than one
    assert len(movenet.load()(image)) >= 2


def test_sizes_must_be_multiples_of_32():
    with pytest.raises(ValueError):
        movenet.load(size=300)
    with pytest.raises(ValueError):
        movenet.preprocess(np.zeros((10, 10, 3), np.uint8), 100)


def test_preprocess_centres_the_image():
    rgb = np.full((100, 200, 3), 255, np.uint8)
    x, scale, (top, left) = movenet.preprocess(rgb, 256)
    assert x.shape == (1, 256, 256, 3) and x.dtype == np.int32
    assert scale == 256 / 200 and (top, left) == (64, 0)
    assert x[0, 64:192].min() == 255 and x[0, :64].max() == 0 and x[0, 192:].max() == 0
