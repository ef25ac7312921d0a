"""Motion-gated tiles (video): people found stay found; still, empty tiles are skipped."""

import numpy as np
import pytest
from PIL import Image

from fuzzypeople.detect.stack import Stack
from fuzzypeople.track import MotionTiles


@pytest.fixture(scope="module")
def small_person_scene(coffee):
    """A 1600x1200 scene with Grace Hopper 40x48 px: NanoDet needs its tiles to find her."""
    from conftest import GRACE

    canvas = np.asarray(Image.fromarray(coffee).resize((1600, 1200))).copy()
    canvas[900:948, 1300:1340] = np.asarray(Image.open(GRACE).convert("RGB").resize((40, 48)))
    return canvas


@pytest.fixture(scope="module")
def stack():
    return Stack(targets="bodies", body="nanodet", tile_scale=1.5, outline=False)


def found_her(people) -> bool:
    return any(x1 < 1320 < x2 and y1 < 924 < y2 for x1, y1, x2, y2 in people.boxes)


def test_tiles_find_the_small_person_only_where_they_run(stack, small_person_scene):
    assert found_her(stack(small_person_scene))  # all tiles
    assert stack.gate_tiles(lambda *box: False)  # NanoDet tiles, so the gate is taken
    try:
        assert not found_her(stack(small_person_scene))  # no tiles: too small for the whole-image pass
    finally:
        stack.gate_tiles(None)


def test_a_person_found_keeps_their_tiles_without_motion(stack, small_person_scene):
    gate = MotionTiles(stack, stack, sweep=100)
    assert found_her(gate(small_person_scene))  # first call: full sweep
    for _ in range(3):  # nothing moves; her tiles run because she was found last time
        assert found_her(gate(small_person_scene))
    assert gate.gated == 3 and 0 < gate.area_run < 0.1 * gate.area_seen  # only the area around her ran


def test_motion_brings_tiles_back(stack, small_person_scene, coffee):
    empty = np.asarray(Image.fromarray(coffee).resize((1600, 1200)))
    gate = MotionTiles(stack, stack, sweep=100)
    assert not found_her(gate(empty))  # full sweep of an empty scene
    assert found_her(gate(small_person_scene))  # she walks in: the changed tiles run


def test_the_gate_is_lifted_when_detection_fails(stack, small_person_scene):
    def broken(rgb):
        assert stack.bodies[0].tile_gate is not None
        raise RuntimeError("model crashed")

    gate = MotionTiles(broken, stack, sweep=100)
    gate.previous = np.zeros((300, 400), np.uint8)  # a previous frame: this call is gated
    gate.calls = 1
    with pytest.raises(RuntimeError):
        gate(small_person_scene)
    assert stack.bodies[0].tile_gate is None
