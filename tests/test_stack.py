"""The recall-first stack: a face implies a body, outlines fall back to boxes when unsure."""

import numpy as np
import pytest
from PIL import Image

from fuzzypeople import Anonymizer
from fuzzypeople.detect.outline import GATE, MIN_HEIGHT, SIZE, AlignedPose, Outliner, square_crop
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


class Maps:
    """A stand-in segmenter: the same probability map (SIZE x SIZE) for any crop."""

    def __init__(self, prob):
        self.prob = prob

    def __call__(self, x):
        return self.prob


def test_the_selfie_mask_counts_only_near_blazepose_or_below_it():
    """Selfie spill beside the body (a flag) is dropped, what it adds next to and below the body is kept."""
    body = np.zeros((SIZE, SIZE), np.float32)
    body[40:160, 100:160] = 0.9  # BlazePose: head and torso
    selfie = body.copy()
    selfie[160:215, 100:160] = 0.9  # the legs, straight below: kept
    selfie[40:160, 160:168] = 0.9  # an arm beside the body, within the gate: kept
    selfie[30:70, 200:240] = 0.9  # a flag far to the side: dropped
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    box = [25.6, 25.6, 230.4, 230.4]  # its square crop (1.25 x 204.8 px) is the picture itself
    assert square_crop(box) == (0, 0, SIZE)
    gated = Outliner.__new__(Outliner)
    gated.threshold, gated.segmenters = 0.3, [Maps(selfie), Maps(body)]
    mask = gated.trace(rgb, box)
    assert mask is not None  # the two agree well enough inside the box (IoU >= 0.5)
    assert mask[60:150, 110:150].all() and mask[170:210, 110:150].all() and mask[60:150, 161:167].all()
    assert not mask[35:65, 205:235].any(), "selfie spill far from BlazePose's mask must be dropped"
    assert GATE * SIZE / 1.25 < 200 - 160  # (the flag is farther than the gate)
    # Without the gate (one segmenter, as before) the flag would be painted.
    alone = Outliner.__new__(Outliner)
    alone.threshold, alone.segmenters = 0.3, [Maps(selfie)]
    assert alone.trace(rgb, box)[35:65, 205:235].all()


def test_the_gate_opens_sideways_below_for_a_close_ups_shoulders(monkeypatch):
    """A close-up cut by the picture's bottom edge: BlazePose fades out on the shoulders, the selfie
    mask has them. They reach out sideways below the head, beyond the gate: the widening cone keeps
    them (a straight column down left them visible in held-out portraits)."""
    from fuzzypeople.detect import outline

    body = np.zeros((SIZE, SIZE), np.float32)
    body[40:230, 100:156] = 0.9  # BlazePose: head, neck and the middle of the chest
    selfie = body.copy()
    selfie[150:230, 40:216] = 0.9  # the shoulders and upper arms, out to both sides
    selfie[30:60, 215:250] = 0.9  # something beside the head, far from it: still dropped
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    box = [25.6, 25.6, 230.4, 230.4]  # its square crop is the picture itself
    portrait = Outliner.__new__(Outliner)
    portrait.threshold, portrait.segmenters = 0.3, [Maps(selfie), Maps(body)]
    shoulders = (slice(160, 225), np.r_[45:75, 181:211])
    assert 100 - GATE * SIZE / 1.25 > 75 and 156 + GATE * SIZE / 1.25 < 181  # (beyond the gate at their height)
    mask = portrait.trace(rgb, box)
    assert mask is not None
    assert mask[shoulders].all(), "the shoulders below and beside the head must be hidden"
    assert not mask[32:58, 218:248].any(), "spill beside the head, far from it, must still be dropped"
    monkeypatch.setattr(outline, "GATE_SLOPE", 0.0)  # a straight column down, as before
    assert not portrait.trace(rgb, box)[shoulders].any()


def test_the_cone_below_blazepose_stops_at_the_body_boxs_bottom_edge():
    """The detector's box ends at the feet: below it the selfie's seat or floor spill is dropped
    (beyond the gate), while the shins BlazePose misses inside the box are kept by the cone."""
    body = np.zeros((SIZE, SIZE), np.float32)
    body[40:200, 100:156] = 0.9  # BlazePose: head to knees
    selfie = body.copy()
    selfie[200:230, 100:156] = 0.9  # the shins, inside the box: kept
    selfie[232:256, 30:226] = 0.9  # a bench or the floor, below the box's bottom edge (row 231)
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    box = [25.6, 25.6, 230.4, 230.4]  # its square crop is the picture itself
    seated = Outliner.__new__(Outliner)
    seated.threshold, seated.segmenters = 0.3, [Maps(selfie), Maps(body)]
    mask = seated.trace(rgb, box)
    assert mask is not None
    assert mask[45:229, 105:150].all(), "the body and its shins must be hidden"
    assert not mask[234:256, 35:221].any(), "spill below the box's bottom edge must be dropped"
    # The cone alone, with no foot to stop it, reaches that spill.
    assert (seated.gated(selfie, body)[234:256, 35:221] >= 0.3).all()


class PoseMaps(Maps):
    """A stand-in for BlazePose's aligned pass: a fixed map and fixed landmarks seen (SIZE grid)."""

    def __init__(self, prob, seen):
        super().__init__(prob)
        self.seen = seen

    def aligned_pass(self, crop, x=None):
        return self.prob, self.seen


def test_disagreeing_segmenters_keep_the_trace_when_it_reaches_every_landmark_blazepose_sees():
    """BlazePose marks only the upper body and the selfie model the whole body (IoU 0.34 inside
    the box: they disagree). The traced mask stays when every body landmark BlazePose sees is on
    it; one landmark off the mask (a hand reaching out) and the whole box is kept again."""
    selfie = np.zeros((SIZE, SIZE), np.float32)
    selfie[40:215, 100:160] = 0.9
    pose = np.zeros((SIZE, SIZE), np.float32)
    pose[40:100, 100:160] = 0.9
    body = np.array([[130.0, 50.0 + 20 * i] for i in range(8)])  # head to feet, all on the selfie mask
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    box = [25.6, 25.6, 230.4, 230.4]  # its square crop is the picture itself

    def trace(seen, selfie=selfie, pose=pose):
        outliner = Outliner.__new__(Outliner)
        outliner.threshold, outliner.segmenters = 0.3, [Maps(selfie), PoseMaps(pose, seen)]
        return outliner.trace(rgb, box)

    mask = trace(body)
    assert mask is not None and mask[45:210, 105:155].all() and not mask[:, :90].any()
    assert trace(np.vstack([body, [[40.0, 120.0]]])) is None  # a hand far off the mask: keep the box
    assert trace(body[:5]) is None  # too few landmarks seen to vouch for the mask
    assert trace(None) is None  # no aligned pass (BlazePose saw nobody)
    # A trace that would paint more than the box (the selfie spilling over the crop): the box.
    wide_selfie, wide_pose = np.zeros_like(selfie), np.zeros_like(pose)
    wide_selfie[20:, 20:236], wide_pose[40:100, 20:236] = 0.9, 0.9
    assert trace(body, wide_selfie, wide_pose) is None


def test_blazepose_second_pass_runs_on_the_upright_region_and_maps_back():
    """First pass: hips at (128, 160), scale point at (200, 160) (a body lying, head to the right).
    The second pass must see that point straight above the hips, and its mask of the region's
    upper half must land to the right of the hips in the crop."""
    seen = []

    class Fake(AlignedPose):
        def __init__(self):
            pass

        def run(self, x):
            seen.append(x)
            landmarks = np.zeros((39, 5), np.float32)
            if len(seen) == 1:
                landmarks[33, :2], landmarks[34, :2] = (128, 160), (200, 160)
                return landmarks, 0.9, np.zeros((SIZE, SIZE), np.float32)
            mask = np.zeros((SIZE, SIZE), np.float32)
            mask[: SIZE // 2] = 1.0  # the region's upper half: from the hips towards the head
            landmarks[:, 3] = -5.0  # visibility logits: nothing seen ...
            landmarks[0] = (SIZE / 2, SIZE / 2 * (1 - 1 / 1.5), 0, 5.0, 5.0)  # ... but the head, at the scale point
            return landmarks, 0.9, mask

    crop = np.zeros((512, 512, 3), np.uint8)
    crop[316:324, 396:404] = 255  # a white mark on the scale point (200, 160) x 2
    out = Fake().aligned_pass(crop)[0]
    assert len(seen) == 2
    roi = seen[1][..., 0]
    y, x = np.unravel_index(np.argmax(roi), roi.shape)
    assert abs(x - SIZE / 2) <= 2 and abs(y - SIZE / 2 * (1 - 1 / 1.5)) <= 3  # straight above the hips' centre
    assert out[150:170, 140:190].min() > 0.9 and out[150:170, 60:118].max() < 0.1  # right of the hips, not left
    seen.clear()
    _, landmarks = Fake().aligned_pass(crop)  # the landmarks it sees, back on the crop's SIZE grid
    assert landmarks.shape == (1, 2) and np.allclose(landmarks[0], (200, 160), atol=1.5)
    # No person on the first pass: its own mask, no second pass.
    seen.clear()

    class Nobody(Fake):
        def run(self, x):
            seen.append(x)
            return np.zeros((39, 5), np.float32), 0.01, np.full((SIZE, SIZE), 0.2, np.float32)

    assert (Nobody().aligned_pass(crop)[0] == 0.2).all() and len(seen) == 1


def test_blazepose_aligned_pass_on_a_real_person(outliner, astronaut):
    """On the astronaut the first pass finds her (so the second, aligned pass runs) and the
    aligned mask still covers her face, in the crop's own coordinates."""
    pose = outliner.segmenters[1]
    x0, y0, side = square_crop([0, 0, 400, 512])
    crop = np.zeros((side, side, 3), np.uint8)
    crop[-y0 : -y0 + 512, -x0 : -x0 + 400] = astronaut[:, :400]
    landmarks, presence, _ = pose.run(np.asarray(Image.fromarray(crop).resize((SIZE, SIZE), Image.BOX), np.float32) / 255)
    assert presence > 0.5
    runs = []
    original = pose.run
    pose.run = lambda x: runs.append(1) or original(x)
    try:
        mask = pose.aligned_pass(crop)[0]
    finally:
        del pose.run
    assert len(runs) == 2
    face = (np.array([[182, 58], [270, 178]]) - [x0, y0]) * SIZE / side  # CenterFace's box, on the SIZE grid
    (fx1, fy1), (fx2, fy2) = face.round().astype(int)
    assert (mask[fy1:fy2, fx1:fx2] > 0.5).mean() > 0.95


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


def test_the_selfie_mask_does_not_count_inside_a_held_things_box_where_blazepose_sees_no_one():
    """A teddy bear held beside the body: the selfie model takes it for part of the person, BlazePose
    does not. Inside the box NanoDet gives the teddy, only BlazePose's mask counts; the body stays
    whole, also where the teddy's box overlaps it, and without the box the teddy is painted."""
    body = np.zeros((SIZE, SIZE), np.float32)
    body[40:215, 100:160] = 0.9  # BlazePose: the whole body
    selfie = body.copy()
    selfie[120:200, 160:175] = 0.9  # the teddy, beside the body within the gate
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    box = [25.6, 25.6, 230.4, 230.4]  # its square crop is the picture itself
    outliner = Outliner.__new__(Outliner)
    outliner.threshold, outliner.segmenters = 0.3, [Maps(selfie), Maps(body)]
    teddy = np.array([[150.0, 115.0, 200.0, 205.0]])  # overlaps the body's right edge
    assert outliner.trace(rgb, box)[125:195, 162:173].all(), "without its box, the teddy is painted"
    mask = outliner.trace(rgb, box, held=teddy)
    assert mask is not None
    assert not mask[125:195, 162:173].any(), "the selfie's spill onto the held thing must be dropped"
    assert mask[45:210, 105:155].all(), "the body, also inside the thing's box, must stay hidden"


def test_a_held_things_box_that_is_mostly_a_face_is_that_persons_head():
    """NanoDet takes a close-up head for a cat: a 'held thing' box three quarters covered by a face
    box is not used, so the selfie keeps the hair beside the face; a real thing with a small face
    in it (a teddy hugged beside the cheek) still is."""
    body = np.zeros((SIZE, SIZE), np.float32)
    body[60:200, 90:170] = 0.9  # BlazePose: the face and neck
    selfie = body.copy()
    selfie[40:200, 75:90] = 0.9  # hair beside the face, within the gate
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    people = People([[25.6, 25.6, 230.4, 230.4], [85, 55, 175, 185]], [0.9, 0.9], ["body", "face"])
    outliner = Outliner.__new__(Outliner)
    outliner.threshold, outliner.segmenters = 0.3, [Maps(selfie), Maps(body)]
    hair = (slice(45, 195), slice(77, 88))
    cat = np.array([[70.0, 40.0, 185.0, 205.0]])  # the head's box, as NanoDet's "cat"
    assert outliner(rgb, people, held=cat).masks[0][hair].all()
    teddy = np.array([[0.0, 0.0, 256.0, 256.0]])  # a big thing with the face in a corner of it
    assert not outliner(rgb, people, held=teddy).masks[0][hair].any()


def test_nanodet_sees_the_things_people_hold_in_the_same_run():
    """skimage's cat and coffee cup are held things, found by the person detector's own run; a
    photo with a person in it keeps the same people whether or not the things are asked for."""
    from skimage import data

    from fuzzypeople.detect.nanodet import CARRIERS, CLASSES, HELD, WORN, NanoDet

    names = {CLASSES[i] for i in HELD}
    assert {"cat", "cup", "teddy bear"} <= names and not names & (CARRIERS | WORN | {"person"})
    detector = NanoDet()
    for image in (data.chelsea(), data.coffee()):
        people, held = detector.find(image, held=True)
        assert len(people) == 0 and len(held) >= 1
        h, w = image.shape[:2]
        assert (held[:, 2] - held[:, 0]).max() > w / 3 and (held[:, :2] >= 0).all() and (held[:, 2:] <= [w, h]).all()
    astronaut = data.astronaut()
    people, held = detector.find(astronaut, held=True)
    assert np.array_equal(people.boxes, detector(astronaut).boxes) and detector.find(astronaut)[1] is None


def test_the_stack_hands_the_held_things_to_the_outliner(monkeypatch):
    """With outlines on, the stack passes NanoDet's held-thing boxes to the outliner."""
    from skimage import data

    from fuzzypeople.detect.stack import Stack

    stack = Stack(outline=True)
    seen = []
    monkeypatch.setattr(stack, "outliner", lambda rgb, people, held=None: seen.append(held) or people)
    stack(data.chelsea())
    assert seen and seen[0] is not None and len(seen[0]) >= 1
