"""benchmarks/background.py: the painted mask is split into the parts that paint it, and each
part's background pixels are counted, alone and shared."""

import sys
from pathlib import Path

import numpy as np

from fuzzypeople.detect.outline import MIN_HEIGHT
from fuzzypeople.people import People

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from background import attribute, parts  # noqa: E402


def test_the_astronaut_is_an_outline_a_face_and_a_ring(astronaut, anonymizer_solid):
    people, mask = anonymizer_solid.analyse(astronaut)
    split = parts(people, mask, MIN_HEIGHT)
    assert {"outline", "face", "ring"} <= set(split)
    # Together the parts are exactly the painted mask; the ring lies outside every person's own mask.
    assert np.array_equal(np.logical_or.reduce(list(split.values())), mask)
    assert not (split["ring"] & people.masks.any(axis=0)).any()
    assert 0 < split["ring"].sum() < 0.2 * mask.sum()
    # Her face box lies (almost all) inside her traced outline: it paints little alone.
    counts = attribute(split, np.ones(mask.shape, bool))
    assert counts["face"][0] > 0 and counts["face"][1] < 0.05 * counts["face"][0]
    assert counts["outline"][1] > 0.7 * mask.sum()


def test_unsure_and_short_bodies_are_named_by_how_they_were_kept():
    shape = (100, 100)
    boxes = [[10, 10, 40, 90], [50, 10, 80, 90], [85, 80, 95, 95], [20, 12, 30, 22]]
    masks = np.zeros((4, *shape), bool)
    masks[0, 20:80, 20:30] = True  # traced
    masks[1, 10:90, 50:80] = True  # its box: the segmenters were unsure
    masks[2, 80:95, 85:95] = True  # too short to trace
    masks[3, 12:22, 20:30] = True  # a face
    people = People(boxes, [0.9] * 4, ["body", "body", "body", "face"], masks=masks,
                    source=["nanodet", "face-rule", "nanodet", "centerface"])
    painted = masks.any(axis=0)
    painted[0, :] = True  # a strip no person covers: the dilation's
    split = parts(people, painted, min_height=20)
    assert set(split) == {"outline", "box, face-rule", "small box", "face", "ring"}
    assert split["ring"].sum() == 100
    background = np.ones(shape, bool)
    background[20:80, 20:30] = False  # the traced person's pixels are not background
    counts = attribute(split, background)
    assert counts["outline"] == (0, 0)
    assert counts["face"] == (8 * 10, 8 * 10)  # its rows 12-19 are background, and no other part's
    assert counts["box, face-rule"] == (80 * 30, 80 * 30)


def test_box_masks_split_too(astronaut):
    """With --boxes the people carry no instance masks: each body counts as its box, and what the
    mask paints beyond the boxes (their growth, the dilation) is the ring."""
    from fuzzypeople import Anonymizer

    people, mask = Anonymizer("solid", boxes=True).analyse(astronaut)
    assert people.masks is None
    split = parts(people, mask, MIN_HEIGHT)
    assert "outline" not in split and "ring" in split and any(k.startswith("box, ") for k in split)
    assert np.array_equal(np.logical_or.reduce(list(split.values())), mask)
