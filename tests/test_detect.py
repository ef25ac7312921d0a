"""The default stack finds real people and leaves empty scenes alone."""

import numpy as np
import pytest

from fuzzypeople import Anonymizer, anonymize
from fuzzypeople.detect import DETECTORS, load
from fuzzypeople.io.image import read_image


@pytest.fixture(scope="module")
def stack():
    return Anonymizer("solid", color=(255, 0, 255))


def test_detectors_are_registered():
    assert {"centerface", "nanodet", "selfie", "centernet"} <= set(DETECTORS)
    for name, module in DETECTORS.items():
        assert module.KIND in ("body", "face") and module.HELP


def test_astronaut_found_and_hidden(stack, astronaut):
    people = stack.detect(astronaut)
    assert (people.kinds == "face").sum() == 1
    assert (people.kinds == "body").sum() >= 1
    face = people.of_kind("face").boxes[0]
    # Her face is around x 180-270, y 60-180 in skimage's astronaut.
    assert 150 < (face[0] + face[2]) / 2 < 300 and 50 < (face[1] + face[3]) / 2 < 200
    out = stack.anonymize(astronaut)
    hidden = (out == [255, 0, 255]).all(axis=2)
    assert hidden[80:160, 190:260].mean() > 0.99  # the face
    assert hidden[300:480, 100:350].mean() > 0.8  # the spacesuit body
    assert not hidden[:60, 420:].any()  # the flag in the top-right corner stays


def test_grace_hopper_found(stack, grace):
    rgb = read_image(grace).rgb
    hidden = (stack.anonymize(rgb) == [255, 0, 255]).all(axis=2)
    assert hidden[150:300, 200:330].mean() > 0.99  # her face
    assert hidden[450:, 100:400].mean() > 0.99  # her uniform


def test_outline_keeps_the_scene_around_a_person(grace):
    rgb = read_image(grace).rgb
    boxes = (Anonymizer("solid", color=(255, 0, 255), boxes=True).anonymize(rgb) == [255, 0, 255]).all(axis=2)
    outline = (Anonymizer("solid", color=(255, 0, 255)).anonymize(rgb) == [255, 0, 255]).all(axis=2)
    assert outline[150:300, 200:330].mean() > 0.99 and outline[450:, 100:400].mean() > 0.99
    assert outline.mean() < boxes.mean() - 0.1  # a good part of the flag is kept
    assert not outline[:60, :60].any()  # top-left corner of the flag


def test_outline_keeps_the_grass_below_the_cameraman(stack):
    """The cone below BlazePose's mask lets the selfie mask count only where it is sure: the
    cameraman is hidden, the grass between his coat and the tripod (the selfie's unsure fringe,
    painted until 2026-11-30) is not."""
    import skimage.data

    rgb = np.dstack([skimage.data.camera()] * 3)
    hidden = (stack.anonymize(rgb) == [255, 0, 255]).all(axis=2)
    assert hidden[100:180, 180:240].mean() > 0.99  # his face
    assert hidden[250:350, 40:140].mean() > 0.99  # his coat
    assert hidden[370:400, 213:243].mean() < 0.05  # grass left of the tripod
    assert hidden[401:431, 304:334].mean() < 0.05  # grass between the tripod's legs


def test_nobody_means_unchanged(stack, coffee):
    assert len(stack.detect(coffee)) == 0
    assert (stack.anonymize(coffee) == coffee).all()


def test_targets_faces_only_hides_just_the_face(astronaut):
    out = Anonymizer("solid", color=(255, 0, 255), targets="faces").anonymize(astronaut)
    hidden = (out == [255, 0, 255]).all(axis=2)
    assert hidden[80:160, 190:260].mean() > 0.99
    assert hidden.mean() < 0.15


def test_threshold_one_finds_nothing(astronaut):
    assert len(Anonymizer(threshold=1.0).detect(astronaut)) == 0


def test_one_call_api(astronaut):
    out = anonymize(astronaut, method="scramble", radius=8, seed=0)
    assert out.shape == astronaut.shape and (out != astronaut).any()


def test_bad_arrays_are_refused(stack):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        stack.anonymize(np.zeros((10, 10), np.uint8))


def test_face_detector_alone(astronaut):
    faces = load("centerface")(astronaut)
    assert len(faces) == 1 and faces.scores[0] > 0.5


def test_fail_safe_hides_everything_when_analysis_fails(astronaut):
    anon = Anonymizer("solid", fail_safe=True)

    def broken(_):
        raise RuntimeError("model crashed")

    anon.detector = broken
    assert (anon.anonymize(astronaut) == 0).all()
    anon.fail_safe = False
    with pytest.raises(RuntimeError):
        anon.anonymize(astronaut)


def test_nanodet_takes_any_input_size_multiple_of_32(astronaut):
    """The shipped NanoDet has symbolic H and W (tools/tfjs_to_onnx.py free_input_size): a
    frame seen at its own size finds the person where the 416 letterbox finds her, and a
    416 square gives the same outputs either way."""
    from fuzzypeople.detect.nanodet import NanoDet, preprocess

    det = NanoDet()
    assert det.session.get_inputs()[0].shape[2:] == ["H", "W"]
    square = np.ascontiguousarray(astronaut[48:464, 48:464])  # 416 x 416: both paths see the same input
    a, b = det.window(square), det.window(square, native=True)
    assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0])
    wide = np.zeros((480, 960, 3), np.uint8)
    wide[:, 500:980 - 20] = astronaut[:480, :460]
    x, scale = preprocess(wide, None)
    assert x.shape == (1, 3, 480, 960) and scale == 1
    boxes, scores = det.window(wide, native=True)
    best = boxes[np.argmax(scores)]
    assert scores.max() > 0.5 and best[0] > 450 and best[2] > 800  # her, on the right, in image pixels


def test_video_sees_small_people_in_windows_and_photos_in_tiles():
    """Settings.for_video turns on NanoDet's native windows; photos keep the 416 px tiles."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import Settings

    photo = Anonymizer(settings=Settings(targets="bodies", body_detector="nanodet"))
    video = Anonymizer(settings=Settings(targets="bodies", body_detector="nanodet").for_video())
    assert photo.detector.bodies[0].windows is False
    assert video.detector.bodies[0].windows is True


def test_video_faces_at_half_size_find_the_same_big_face(astronaut):
    """Settings.for_video runs the face detector at half size (a quarter of the work); a
    face big enough to matter is still found where the full-size pass finds it."""
    from fuzzypeople.detect.centerface import CenterFace
    from fuzzypeople.people import box_iou
    from fuzzypeople.pipeline import Settings

    video = Anonymizer(settings=Settings(targets="faces").for_video())
    half = video.detector.face
    assert half.scale == 0.5 and Anonymizer(settings=Settings(targets="faces")).detector.face.scale == 1
    seen = []
    run = half.session.run
    half.session.run = lambda names, feed: seen.append(feed["input.1"].shape) or run(names, feed)
    small, full = half(astronaut), CenterFace()(astronaut)
    assert seen == [(1, 3, 256, 256)]  # 512 x 512 seen at 256
    assert len(small) == len(full) == 1 and box_iou(small.boxes, full.boxes)[0, 0] > 0.7
    with pytest.raises(ValueError, match="face_scale"):
        Settings(face_scale=0)


def test_video_sessions_share_one_arena_and_find_the_same(astronaut):
    """Video model sessions draw memory from one arena kept for the process (no page faults
    per frame); it changes where activations live, not what is found. Photos keep none."""
    from fuzzypeople.detect._runtime import session_arena
    from fuzzypeople.detect.nanodet import NanoDet

    with session_arena(True):
        shared = NanoDet()
    own = NanoDet()
    def uses_shared(det) -> bool:
        options = det.session.get_session_options()
        key = "session.use_env_allocators"
        try:
            return options.get_session_config_entry(key) == "1"
        except RuntimeError:  # never set
            return False

    assert uses_shared(shared) and not uses_shared(own)
    for _ in range(2):  # the second run reuses the arena's memory
        a, b = shared(astronaut), own(astronaut)
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores) and len(a)
    from fuzzypeople.pipeline import Settings

    video = Anonymizer(settings=Settings().for_video()).detector
    assert all(uses_shared(d) for d in [*video.bodies, video.face] if hasattr(d, "session"))
    assert not uses_shared(Anonymizer().detector.face)


def test_video_runs_the_int8_nanodet_which_finds_whom_the_float_one_finds(astronaut, grace, coffee):
    """Settings.for_video loads NanoDet's int8 model (tools/quantize_nanodet.py); photos keep
    the float model. On photos it was not calibrated on, it finds the same person, nearly as
    sure, and nobody in an empty scene."""
    from fuzzypeople.detect.nanodet import NanoDet
    from fuzzypeople.people import box_iou
    from fuzzypeople.pipeline import Settings

    only = Settings(targets="bodies", body_detector="nanodet")
    assert Anonymizer(settings=only.for_video()).detector.bodies[0].session._model_path.endswith("nanodet_int8.onnx")
    assert Anonymizer(settings=only).detector.bodies[0].session._model_path.endswith("nanodet.onnx")
    assert Settings(int8=False).for_video().int8 is False and Settings().for_video().int8 is True
    exact, int8 = NanoDet(upscale=0), NanoDet(upscale=0, int8=True)
    for rgb in (astronaut, read_image(grace).rgb):
        a, b = exact(rgb), int8(rgb)
        i, j = np.argmax(a.scores), np.argmax(b.scores)
        assert a.scores[i] > 0.5 and abs(float(a.scores[i] - b.scores[j])) < 0.15
        assert box_iou(a.boxes[[i]], b.boxes[[j]])[0, 0] > 0.85
    assert len(int8(coffee)) == len(exact(coffee)) == 0


def test_video_runs_the_int8_movenet_which_finds_whom_the_float_one_finds(astronaut, grace, coffee):
    """Settings.for_video loads MoveNet with int8 weights in its largest convolutions
    (tools/quantize_movenet.py: a smaller session, for video memory); photos keep the float
    model. It finds the same people, as sure, and nobody in an empty scene."""
    from fuzzypeople.detect.movenet import MoveNet
    from fuzzypeople.people import box_iou
    from fuzzypeople.pipeline import Settings

    only = Settings(targets="bodies", body_detector="movenet")
    assert Anonymizer(settings=only.for_video()).detector.bodies[0].session._model_path.endswith("movenet_int8.onnx")
    assert Anonymizer(settings=only).detector.bodies[0].session._model_path.endswith("movenet.onnx")
    exact, int8 = MoveNet(), MoveNet(int8=True)
    for rgb in (astronaut, read_image(grace).rgb):
        a, b = exact(rgb), int8(rgb)
        assert len(a) == len(b) >= 1
        i, j = np.argmax(a.scores), np.argmax(b.scores)
        assert a.scores[i] > 0.3 and abs(float(a.scores[i] - b.scores[j])) < 0.05
        assert box_iou(a.boxes[[i]], b.boxes[[j]])[0, 0] > 0.9
        keypoints = np.abs(exact.last_keypoints[i, :, :2] - int8.last_keypoints[j, :, :2])
        assert np.median(keypoints) < 0.02 * max(rgb.shape[:2])  # the same body parts
    assert len(int8(coffee)) == len(exact(coffee)) == 0
