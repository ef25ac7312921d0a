"""The attacks the audit models, strongest first, on dlib ResNet embeddings.

An attacker holds the anonymised picture and knows where each face was (the
audit aligns the output crop with the landmarks found in the original).

(a) **closed-set identification** (:func:`identify`): the attacker knows the
    ``k`` people who could be in the picture and holds a few photos of each
    (a gallery, one folder per person). The output crop is compared with
    every gallery photo; the person with the nearest photo is the answer. It
    is right by luck once in ``k`` (:func:`chance`). No threshold: a closed
    set always gets an answer, which is why it is the strongest attack.
(b) **verification** (:func:`verify`): the attacker has a guess and checks it:
    the output crop is accepted as that person when nearer than a threshold
    set for a fixed false-match rate (:func:`threshold_at_fmr`, measured on
    pairs of *different* people from the gallery and distractor faces), and
    nearer than all but that share of the other people's faces (so noise that
    is near everyone is accepted as no one).
(c) **rank-1 against distractors**
    (:func:`fuzzypeople.audit.faces.rank1_reidentified`): the output crop is
    under 0.6 from its own original and nearer to it than to any distractor.

All work on ``(N, 128)`` embedding arrays; nothing here loads a model.
"""

from __future__ import annotations

from math import comb

import numpy as np

FMR = 0.01  # verification: the false-match rate the threshold is set for
ATTACKS = ("identification", "verification", "rank1")  # strongest first


def chance(k: int) -> float:
    """Chance of naming the right person among ``k`` candidates by luck.

    >>> chance(5), chance(26), chance(1)
    (0.2, 0.038461538461538464, 1.0)
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    return 1.0 / k


def person_distances(queries: np.ndarray, gallery: np.ndarray, names: list[str]) -> tuple[list[str], np.ndarray]:
    """``(people, D)``: ``D[i, p]`` the distance from query ``i`` to person ``p``'s nearest gallery photo.

    >>> people, d = person_distances(np.eye(2, 128), np.eye(3, 128), ["a", "b", "b"])
    >>> people, d.round(2).tolist()
    (['a', 'b'], [[0.0, 1.41], [1.41, 0.0]])
    """
    people = sorted(set(names))
    q = np.asarray(queries, np.float64).reshape(-1, 128)
    g = np.asarray(gallery, np.float64).reshape(-1, 128)
    d = np.linalg.norm(q[:, None] - g[None], axis=2) if len(q) and len(g) else np.zeros((len(q), len(g)))
    lab = np.array([people.index(n) for n in names], np.int64)
    out = np.full((len(q), len(people)), np.inf)
    for p in range(len(people)):  # one per person: a handful
        if (lab == p).any():
            out[:, p] = d[:, lab == p].min(axis=1)
    return people, out


def identify(dist: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-set identification over all candidates (columns of ``dist``).

    ``dist`` (N, k) from :func:`person_distances`, ``truth`` (N,) the column
    of the right person. Returns ``(rank, pick)``: the right person's rank
    (1 = identified; ties count against privacy) and the attacker's answer.

    >>> rank, pick = identify(np.array([[0.3, 0.5, 0.4], [0.6, 0.2, 0.6]]), np.array([0, 0]))
    >>> rank.tolist(), pick.tolist()
    ([1, 2], [0, 1])
    """
    dist = np.asarray(dist, np.float64)
    truth = np.asarray(truth, np.int64)
    if dist.size == 0:
        return np.zeros(len(truth), np.int64), np.zeros(len(truth), np.int64)
    own = dist[np.arange(len(truth)), truth]
    rank = 1 + (dist < own[:, None]).sum(axis=1)
    pick = np.where(rank == 1, truth, dist.argmin(axis=1))
    return rank.astype(np.int64), pick.astype(np.int64)


def identified_among(rank: np.ndarray, people: int, k: int) -> np.ndarray:
    """Probability, per face, that the right person is named among ``k`` candidates:
    the right one plus ``k - 1`` drawn at random from the other ``people - 1``.

    Exact (no sampling): the right person wins when none of the ``rank - 1``
    people nearer than them is drawn. Its mean over faces is the expected
    identification rate; at chance it is ``1 / k``.

    >>> identified_among(np.array([1, 2, 26]), 26, 5).round(3).tolist()
    [1.0, 0.84, 0.0]
    >>> float(identified_among(np.arange(1, 27), 26, 5).mean())  # a uniformly random rank: chance
    0.2
    """
    if not 1 <= k <= people:
        raise ValueError(f"k must be between 1 and {people}")
    rank = np.asarray(rank, np.int64)
    others = people - 1
    total = comb(others, k - 1)
    return np.array([comb(others - (r - 1), k - 1) / total for r in rank], np.float64)


def impostor_distances(gallery: np.ndarray, names: list[str], distractors: np.ndarray | None = None) -> np.ndarray:
    """Distances of every pair of *different* people: gallery photos of different
    people, and gallery photos against distractor faces (other people too)."""
    g = np.asarray(gallery, np.float64).reshape(-1, 128)
    lab = np.array([hash(n) for n in names])
    d = np.linalg.norm(g[:, None] - g[None], axis=2)
    iu = np.triu_indices(len(g), 1)
    pairs = [d[iu][(lab[:, None] != lab[None])[iu]]]
    if distractors is not None and len(distractors):
        x = np.asarray(distractors, np.float64).reshape(-1, 128)
        if len(g):
            pairs.append(np.linalg.norm(g[:, None] - x[None], axis=2).ravel())
        else:
            dx = np.linalg.norm(x[:, None] - x[None], axis=2)
            pairs.append(dx[np.triu_indices(len(x), 1)])
    return np.concatenate(pairs) if pairs else np.zeros(0)


def threshold_at_fmr(impostors: np.ndarray, fmr: float = FMR) -> float:
    """The distance under which at most ``fmr`` of the impostor pairs fall.

    >>> threshold_at_fmr(np.linspace(0.5, 1.49, 100), 0.05)  # 5 of 100 pairs below 0.55
    0.55
    """
    d = np.sort(np.asarray(impostors, np.float64).ravel())
    if not len(d):
        raise ValueError("no impostor pairs to set a threshold on")
    n = int(np.floor(fmr * len(d)))  # this many impostor pairs may fall below the threshold
    return round(float(d[n]), 4) if n < len(d) else float("inf")


def verify(dist_to_claim: np.ndarray, threshold: float, to_impostors: np.ndarray | None = None,
           fmr: float = FMR) -> np.ndarray:
    """Accepted as the claimed person, per face.

    Under ``threshold`` (set on real faces, :func:`threshold_at_fmr`) *and*,
    when ``to_impostors`` (N, M) gives each output crop's distances to other
    people's faces, nearer the claim than all but ``fmr`` of them: a crop of
    face-shaped noise sits about 0.55 from *everyone*, so it would pass a
    fixed threshold as anyone; an attacker who calibrated on such crops
    would not accept it, and neither does this test.

    >>> verify(np.array([0.3, 0.5]), 0.45).tolist()
    [True, False]
    >>> verify(np.array([0.3, 0.3]), 0.45, np.array([[0.5, 0.6], [0.2, 0.6]]), fmr=0.0).tolist()
    [True, False]
    """
    d = np.asarray(dist_to_claim, np.float64).reshape(-1)
    ok = d < threshold
    if to_impostors is not None:
        imp = np.sort(np.asarray(to_impostors, np.float64).reshape(len(d), -1), axis=1)
        if imp.shape[1]:
            n = min(int(np.floor(fmr * imp.shape[1])), imp.shape[1] - 1)
            ok &= d < imp[:, n]
    return ok


__all__ = ["ATTACKS", "FMR", "chance", "person_distances", "identify", "identified_among",
           "impostor_distances", "threshold_at_fmr", "verify"]
