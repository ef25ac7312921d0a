"""The recall-first stack: a face implies a body, outlines fall back to boxes when unsure."""

import numpy as np
import pytest
from PIL import Image

from fuzzypeople import Anonymizer
from fuzzypeople.detect.outline import MIN_HEIGHT, Outliner
from fuzzypeople.detect.stack import FACE_RULE, bodies_below_faces, merge_overlapping
from fuzzypeople.io.image import read_image
from fuzzypeople.people import People

MAGENTA = [255, 0, 255]


def hidden(out: np.ndarray) -> np.ndarray:
    return (out == MAGENTA).all(axis=2)


@pytest.fixture(scope="module")
def outliner():
    return Outliner()


def test_a_face_with_no_body_still_gets_its_body_hidden(tmp_path, coffee):
    """Body detectors silenced (every score forced to zero): the region below the face is hidden."""
    from conftest import GRACE

    canvas = np.asarray(Image.fromarray(coffee).resize((900, 1000))).copy()
    person = np.asarray(Image.open(GRACE).convert("RGB").resize((256, 300)))
    canvas[100:400, 300:556] = person  # a head-and-shoulders portrait; the body "continues" below
    anon = Anonymizer("solid", color=(255, 0, 255))
    silenced = [lambda rgb: People.empty() for _ in anon.detector.bodies]
    anon.detector.bodies = silenced
    people = anon.detect(canvas)
    assert (people.source == FACE_RULE).sum() == 1 and (people.kinds == "face").sum() == 1
    mask = hidden(anon.anonymize(canvas))
    face = people.of_kind("face").boxes[0]
    fh = face[3] - face[1]
    cx = int((face[0] + face[2]) / 2)
    below = mask[int(face[3]) + 5 : int(face[3] + 3 * fh), cx - 20 : cx + 20]
    assert below.size and below.all(), "the body below the face must be hidden"
    # Without the rule, only the face would be hidden.
    anon.detector.face_rule = False
    assert not hidden(anon.anonymize(canvas))[int(face[3] + 2 * fh) : int(face[3] + 3 * fh), cx].any()


def test_face_rule_geometry_and_faces_inside_bodies():
    faces = People([[100, 50, 120, 80], [300, 50, 320, 80]], [0.9, 0.8], ["face", "face"])
    bodies = People([[280, 40, 340, 300]], [0.9], ["body"])
    added = bodies_below_faces(faces, bodies, (200, 400))
    assert len(added) == 1 and added.source.tolist() == [FACE_RULE]
    x1, y1, x2, y2 = added.boxes[0]
    assert x1 == 80 and x2 == 140 and y1 == pytest.approx(44) and y2 == 200  # clipped to the image


def test_merge_keeps_separate_people_apart():
    b = People([[0, 0, 10, 30], [100, 0, 110, 30]], [0.5, 0.6], ["body", "body"])
    assert len(merge_overlapping(b)) == 2


def test_outline_traces_a_real_person_inside_her_box(outliner, grace):
    rgb = read_image(grace).rgb
    box = People([[0, 0, rgb.shape[1], rgb.shape[0]]], [0.9], ["body"])
    mask = outliner(rgb, box).masks[0]
    assert mask[200:330, 200:330].all()  # her face
    assert mask[480:, 150:350].all()  # her uniform
    assert 0.3 < mask.mean() < 0.9  # the sky and the flag are not all hers


def test_unsure_segmentation_falls_back_to_the_box(outliner, grace):
    rgb = read_image(grace).rgb
    box = People([[100, 100, 400, 500]], [0.9], ["body"])
    sure = outliner(rgb, box).masks[0]
    assert not sure[100:500, 100:400].all()  # traced: not simply the box

    class Unsure:
        def __call__(self, x):  # a segmenter that sees "maybe a person" everywhere
            return np.full(x.shape[:2], 0.45, np.float32)

    unsure = Outliner.__new__(Outliner)
    unsure.threshold, unsure.segmenters = outliner.threshold, [Unsure()]
    mask = unsure(rgb, box).masks[0]
    assert mask[100:500, 100:400].all() and mask.sum() == 300 * 400  # exactly the box


def test_small_bodies_and_faces_keep_their_boxes(outliner, grace):
    rgb = read_image(grace).rgb
    small = People([[10, 10, 30, 10 + MIN_HEIGHT - 1], [200, 150, 330, 300]], [0.9, 0.9], ["body", "face"])
    masks = outliner(rgb, small).masks
    assert masks[0].sum() == 20 * (MIN_HEIGHT - 1) and masks[1].sum() == 130 * 150


def test_video_runs_the_second_body_detector_on_every_other_analysis(astronaut):
    """Settings.for_video: NanoDet and the face detector see every analysed frame, MoveNet
    every other one (the tracks cover the analyses between); photos run everything."""
    from fuzzypeople.pipeline import Settings

    assert Settings().extra_every is None and Settings().for_video().extra_every == 2
    assert Settings(extra_every=1).for_video().extra_every == 1
    with pytest.raises(ValueError, match="extra_every"):
        Settings(extra_every=0)
    for settings, expected in ((Settings(), [1, 1, 1, 1, 1]), (Settings().for_video(), [1, 0, 1, 0, 1])):
        stack = Anonymizer(settings=settings).detector
        runs, calls = {"nanodet": 0, "movenet": 0}, []

        def counted(run, name, runs=runs):  # count each model's inference runs
            return lambda *a, **k: runs.__setitem__(name, runs[name] + 1) or run(*a, **k)

        for det, name in zip(stack.bodies, ("nanodet", "movenet")):
            det.session.run = counted(det.session.run, name)
        for _ in range(5):
            before = dict(runs)
            people = stack(astronaut)
            calls.append(int(runs["movenet"] > before["movenet"]))
            assert runs["nanodet"] > before["nanodet"] and len(people)  # NanoDet and a person every time
        assert calls == expected
        before = runs["movenet"]
        stack.everyone(astronaut)  # a video's last analysis: every model, whatever the cadence
        assert runs["movenet"] == before + 1
