import numpy as np

from fuzzypeople.masks import build_mask, dilate, union
from fuzzypeople.people import People


def test_union_of_boxes_and_dilation():
    p = People(np.array([[2, 2, 4, 4], [10, 10, 12, 14]]), [0.9, 0.8], ["body", "face"])
    m = union(p, (20, 20))
    assert m.sum() == 4 + 8
    grown = build_mask(p, (20, 20), dilate=2)
    assert grown.sum() > m.sum() and grown[m].all()
    assert not build_mask(People.empty(), (5, 5), 3).any()


def test_instance_masks_win_over_boxes():
    masks = np.zeros((1, 10, 10), bool)
    masks[0, 3, 3] = True
    p = People(np.array([[0, 0, 10, 10]]), [1.0], ["body"], masks=masks)
    assert union(p, (10, 10)).sum() == 1


def test_dilate_zero_is_identity():
    m = np.eye(5, dtype=bool)
    assert (dilate(m, 0) == m).all()


def test_people_select_and_concat():
    a = People(np.array([[0, 0, 1, 1]]), [0.5], ["face"])
    b = People(np.array([[0, 0, 2, 2], [1, 1, 3, 3]]), [0.9, 0.2], ["body", "body"])
    both = People.concat([a, b])
    assert len(both) == 3 and both.kinds.tolist() == ["face", "body", "body"]
    assert len(both.of_kind("body")) == 2
    assert len(both[both.scores > 0.4]) == 2


def test_boxes_grow_only_where_boxes_are_painted():
    """A face box grows 25% per side when boxes stand for people (video, --boxes); once the
    outliner has given everyone a mask (traced photos), the face is painted as found."""
    from fuzzypeople import Anonymizer

    anon = Anonymizer("solid", dilate=0)
    face = People(np.array([[40, 40, 60, 60]]), [1.0], ["face"])  # 20 px: 5 px more per side
    boxes = anon.mask(face, (100, 100))
    assert boxes[35:65, 35:65].all() and boxes.sum() == 30 * 30
    traced = anon.mask(face.with_masks((100, 100)), (100, 100))
    assert traced[40:60, 40:60].all() and traced.sum() == 20 * 20
